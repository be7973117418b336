"""Account and contact rules: how domains, e-mails and handles are normalised on the way in."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

from .errors import N_

_DOMAIN_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9\u0400-\u04ff-]{1,63}\.)+[a-z\u0400-\u04ff0-9-]{2,63}$")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalise_domain(value: str | None) -> str | None:
    """"https://www.Acme.COM/about" -> "acme.com"; an e-mail gives its domain; blank -> None."""
    if value is None:
        return None
    text = value.strip().lower()
    if not text:
        return None
    if "@" in text and "//" not in text:
        text = text.rsplit("@", 1)[1]
    if "//" not in text:
        text = "//" + text
    try:
        host = (urlsplit(text).hostname or "").strip(".")
    except ValueError:
        return text.strip("/")
    if host.startswith("www."):
        host = host[4:]
    return host or None


def is_valid_domain(domain: str) -> bool:
    """A normalised domain has at least two labels of letters, digits and hyphens."""
    return bool(_DOMAIN_RE.match(domain))


def normalise_email(value: str | None) -> str | None:
    """E-mails are kept trimmed and lower-cased; blank -> None."""
    text = (value or "").strip().lower()
    return text or None


def is_valid_email(email: str) -> bool:
    """One @, something before it, a dotted domain after it, no spaces."""
    return bool(_EMAIL_RE.match(email))


BAD_EMAIL = N_("Not a valid e-mail address.")
BAD_DOMAIN = N_("Not a valid domain, e.g. studio.ru")


def email_error(value: str | None) -> str | None:
    """Why a typed e-mail cannot be stored (None when it is blank or valid)."""
    email = normalise_email(value)
    return BAD_EMAIL if email and not is_valid_email(email) else None


def domain_error(value: str | None) -> str | None:
    """Why a typed domain cannot be stored (None when it is blank or valid)."""
    domain = normalise_domain(value)
    return BAD_DOMAIN if domain and not is_valid_domain(domain) else None


def normalise_handle(value: str | None) -> str | None:
    """'@User', 'User' or 't.me/User' -> '@user'; blank -> None."""
    text = (value or "").strip()
    if not text:
        return None
    text = re.sub(r"^(https?://)?(t\.me|telegram\.me)/", "", text, flags=re.I)
    return "@" + text.lstrip("@").lower()


def normalise_phone(phone: str | None) -> str | None:
    """Digits with a leading +; a Russian 8XXXXXXXXXX becomes +7XXXXXXXXXX; too short -> None."""
    digits = re.sub(r"\D", "", phone or "")
    if len(digits) < 7:
        return None
    if len(digits) == 11 and digits.startswith("8"):
        digits = "7" + digits[1:]
    return "+" + digits
