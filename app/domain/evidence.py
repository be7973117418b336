"""Evidence refs: the links, notes and messages that back an important change."""
from __future__ import annotations

from urllib.parse import urlsplit

from .errors import N_, RuleViolation

# "merge" names the audit row of a merge of duplicates: the evidence of the values the merge copied.
_KEYS = {"url": {"type", "url"}, "note": {"type", "text"}, "message": {"type", "id"}, "merge": {"type", "id"}}


def _bad(message: str) -> RuleViolation:
    return RuleViolation({"evidence_refs": [message]})


def _is_url(text: str) -> bool:
    parts = urlsplit(text)
    return parts.scheme in ("http", "https") and bool(parts.netloc) and " " not in text


def _parse_one(item) -> dict:
    if not isinstance(item, dict) or item.get("type") not in _KEYS:
        raise _bad(N_("Each evidence ref is {type: url|note|message, ...}."))
    kind = item["type"]
    if set(item) != _KEYS[kind]:
        raise _bad(N_("An evidence ref has exactly the fields of its type."))
    if kind == "url":
        url = item["url"].strip() if isinstance(item["url"], str) else ""
        if not _is_url(url):
            raise _bad(N_("An evidence link must be an http(s) URL."))
        return {"type": "url", "url": url}
    if kind == "note":
        text = item["text"].strip() if isinstance(item["text"], str) else ""
        if not text:
            raise _bad(N_("An evidence note must not be blank."))
        return {"type": "note", "text": text}
    ident = item["id"]
    if isinstance(ident, bool) or not isinstance(ident, (str, int)) or not str(ident).strip():
        raise _bad(N_("An evidence message needs the message id."))
    return {"type": kind, "id": str(ident).strip()}


def parse_evidence_refs(raw, *, required: bool = True) -> list[dict]:
    """A normalised non-empty list of evidence refs, or a field error on evidence_refs."""
    if raw is None or raw == []:
        if required:
            raise _bad(N_("This change needs evidence: a link, a note or a message."))
        return []
    if not isinstance(raw, list):
        raise _bad(N_("Evidence must be a list."))
    return [_parse_one(item) for item in raw]


def parse_evidence_text(text: str) -> list[dict]:
    """A form textarea: each non-blank line is a link if it is a URL, a message ref if it reads
    "message:<id>", else a note."""
    refs = []
    for line in (text or "").splitlines():
        line = line.strip()
        if not line:
            continue
        if line.lower().startswith("message:") and line[8:].strip():
            refs.append({"type": "message", "id": line[8:].strip()})
        else:
            refs.append({"type": "url", "url": line} if _is_url(line) else {"type": "note", "text": line})
    return refs
