"""How an inbound sender is matched to contacts and accounts."""
from __future__ import annotations

import re
from difflib import SequenceMatcher

from app.domain.accounts import normalise_domain, normalise_email, normalise_handle, normalise_phone

FREE_MAIL_DOMAINS = frozenset({
    "gmail.com", "googlemail.com", "yandex.ru", "ya.ru", "yandex.com", "mail.ru", "bk.ru", "inbox.ru", "list.ru",
    "internet.ru", "rambler.ru", "outlook.com", "hotmail.com", "live.com", "msn.com", "yahoo.com", "icloud.com",
    "me.com", "mac.com", "proton.me", "protonmail.com", "gmx.com", "gmx.de", "gmx.net", "aol.com", "zoho.com",
})
LEGAL_FORMS = re.compile(r"\b(ооо|оао|зао|пао|ао|ип|llc|ltd|inc|gmbh|corp|co|plc|sa|ag)\b\.?", re.IGNORECASE)

__all__ = ["FREE_MAIL_DOMAINS", "email_domain", "normalise_domain", "normalise_email", "normalise_handle",
           "normalise_phone", "similarity"]


def email_domain(email: str | None) -> str | None:
    """The company domain of an e-mail address; None for free-mail providers."""
    email = normalise_email(email)
    if not email or "@" not in email:
        return None
    domain = normalise_domain(email.rsplit("@", 1)[1])
    return None if domain in FREE_MAIL_DOMAINS else domain


def _bare_name(name: str) -> str:
    text = LEGAL_FORMS.sub(" ", name.casefold())
    return " ".join(re.sub(r"[«»\"'()]", " ", text).split())


def similarity(a: str, b: str) -> float:
    """0..1: how alike two company names are, ignoring case, quotes and legal forms (ООО, LLC …)."""
    left, right = _bare_name(a or ""), _bare_name(b or "")
    if not left or not right:
        return 0.0
    if left in right or right in left:
        return max(0.8, SequenceMatcher(None, left, right).ratio())
    return SequenceMatcher(None, left, right).ratio()
