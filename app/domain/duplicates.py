"""Duplicate accounts and contacts: the keys two records are compared by, and how strong a match is.

Pure rules. The only import beyond the standard library is `publicsuffixlist`, a data library
(the Public Suffix List bundled with it; no network at run time) that says which part of a host
name is registrable ("shop.acme.co.uk" -> "acme.co.uk").
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from .accounts import normalise_domain

REASONS = ("domain", "name", "similar_name", "contact_email", "contact_phone")
CONTACT_REASONS = ("email", "phone", "telegram", "name")

# How strong each reason is alone (the score of a pair is the strongest reason, raised a little by
# every further one). Domain and the same name are near-certain; a similar name is a hint.
WEIGHTS = {
    "domain": 0.95, "name": 0.9, "contact_email": 0.85, "contact_phone": 0.8, "similar_name": 0.6,
    "email": 0.95, "phone": 0.85, "telegram": 0.9,
}
SIMILARITY_THRESHOLD = 0.5  # pg_trgm similarity of two name keys that counts as "similar"

FREE_MAIL = frozenset("""
gmail.com googlemail.com mail.ru bk.ru list.ru inbox.ru internet.ru yandex.ru yandex.com ya.ru
yandex.by yandex.kz yandex.ua narod.ru rambler.ru lenta.ru autorambler.ru myrambler.ru ro.ru
outlook.com hotmail.com live.com msn.com yahoo.com ymail.com rocketmail.com icloud.com me.com
mac.com proton.me protonmail.com pm.me aol.com gmx.com gmx.de gmx.net web.de mail.com zoho.com
yahoo.co.uk hotmail.co.uk tutanota.com tuta.io fastmail.com hey.com qq.com 163.com 126.com
mail.ua ukr.net i.ua meta.ua tut.by
""".split())

LEGAL_FORMS = frozenset("""
ооо оао зао пао ао ип нко чп тоо уп гуп муп фгуп ано тсж пк llc inc incorporated ltd limited
gmbh llp plc corp corporation co company sa ag bv nv srl sarl spa oy ab as kg ohg ug pte pty lp
""".split())

_QUOTES = re.compile("[«»\"'“”„‘’‚`´]")
_NON_WORD = re.compile(r"[^\w]+")
_SPACES = re.compile(r"\s+")


@lru_cache(maxsize=1)
def _suffixes():
    from publicsuffixlist import PublicSuffixList
    return PublicSuffixList()


def registrable_domain(domain: str | None) -> str | None:
    """'www.acme.com', 'shop.acme.com', an URL or an e-mail -> 'acme.com'; a free-mail domain, a
    public suffix alone or nothing -> None."""
    host = normalise_domain(domain) if domain else None
    if not host or "." not in host:
        return None
    try:
        host = host.encode("idna").decode("ascii") if not host.isascii() else host
    except UnicodeError:
        return None
    registrable = _suffixes().privatesuffix(host)
    if registrable is None or registrable in FREE_MAIL or host in FREE_MAIL:
        return None
    try:
        return registrable.encode("ascii").decode("idna")  # "ещё.рф" stays readable
    except UnicodeError:
        return registrable


def email_domain(email: str | None) -> str | None:
    """The registrable, non-free domain of an e-mail address (None for free mail or no address)."""
    if not email or "@" not in email:
        return None
    return registrable_domain(email.rsplit("@", 1)[1])


def name_key(name: str | None) -> str:
    """The name as compared: lower case, ё as е, no quotes, legal forms or punctuation, single
    spaces. «Точка роста» and ООО "Точка Роста" -> "точка роста"; "ACME Robotics Inc." ->
    "acme robotics"."""
    text = unicodedata.normalize("NFKC", name or "").lower().replace("ё", "е")
    text = _QUOTES.sub(" ", text)
    words = [w for w in _NON_WORD.sub(" ", text.replace("_", " ")).split() if w not in LEGAL_FORMS]
    return _SPACES.sub(" ", " ".join(words)).strip()


def first_word(key: str | None) -> str:
    """The first word of a name key of at least three letters (the SQLite stand-in for trigram
    similarity: two names are "similar" there when they start with the same significant word)."""
    for word in (key or "").split():
        if len(word) >= 3:
            return word
    return ""


def score(reasons) -> float:
    """0..1: the strongest reason's weight, each further reason closing a third of the gap to 1."""
    weights = sorted((WEIGHTS.get(r, 0.5) for r in reasons), reverse=True)
    if not weights:
        return 0.0
    value = weights[0]
    for _ in weights[1:]:
        value += (1 - value) / 3
    return round(value, 3)


def ordered(reasons, order=REASONS + CONTACT_REASONS) -> list[str]:
    """Reasons without repeats, strongest first (the order of REASONS / CONTACT_REASONS)."""
    seen = set(reasons)
    return [r for r in dict.fromkeys(order) if r in seen]


def pair_key(a, b) -> tuple[str, str]:
    """The one way a pair is stored: the smaller id first (as text, the same on every database)."""
    a, b = str(a), str(b)
    return (a, b) if a < b else (b, a)
