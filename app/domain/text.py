"""Text a client sends that the database cannot store, and JSON shapes too deep to walk.

PostgreSQL refuses NUL (U+0000) in any text and JSONB, and a lone UTF-16 surrogate (U+D800–U+DFFF,
which JSON can spell as "\\ud800") cannot be encoded at all: both are refused at the boundary with a
field message, before any query runs. Webhook payloads are cleaned instead (`scrub`): a client's
message is kept, minus what cannot be stored.
"""
from __future__ import annotations

import re
from collections.abc import Iterator

from .errors import N_

BAD_TEXT = N_("Contains a character that is not allowed (NUL or a broken Unicode character).")
TOO_DEEP = N_("Nested too deeply.")
MAX_JSON_DEPTH = 32  # objects and arrays inside each other; the CRM's own bodies use 3

_BAD = re.compile("[\x00\ud800-\udfff]")  # a Python str holds a surrogate only when it is unpaired


def text_error(value) -> str | None:
    """BAD_TEXT when a string holds NUL or a lone surrogate; None otherwise (and for non-strings)."""
    return BAD_TEXT if isinstance(value, str) and _BAD.search(value) else None


def scrub(value: str) -> str:
    """A string the database can store: NUL removed, lone surrogates as U+FFFD."""
    return _BAD.sub(lambda m: "" if m.group() == "\x00" else "\ufffd", value)


def scrub_json(value):
    """A JSON value with every string (keys included) scrubbed."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {scrub(str(k)): scrub_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub_json(v) for v in value]
    return value


def _walk(value) -> Iterator[tuple[object, int]]:
    """Every value inside a JSON value with its depth (iteratively: no recursion limit to hit)."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        yield item, depth
        if isinstance(item, dict):
            stack.extend((k, depth) for k in item)
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)


def json_depth(value) -> int:
    """How many objects and arrays are nested at the deepest point (a scalar is 0)."""
    return max((d + 1 for item, d in _walk(value) if isinstance(item, (dict, list))), default=0)


def json_errors(body, max_depth: int = MAX_JSON_DEPTH) -> dict[str, list[str]]:
    """Field messages for a parsed JSON body: a string (or key) with NUL or a lone surrogate,
    named by the top-level field that holds it; nesting deeper than `max_depth`."""
    if json_depth(body) > max_depth:
        return {"_schema": [TOO_DEEP]}
    fields = body.items() if isinstance(body, dict) else [("_schema", body)]
    errors: dict[str, list[str]] = {}
    for name, value in fields:
        field = name if isinstance(name, str) and not text_error(name) else "_schema"
        if field != name or any(text_error(item) for item, _ in _walk(value)):
            errors[field] = [BAD_TEXT]
    return errors


def text_field_errors(values) -> dict[str, list[str]]:
    """Field messages for form values (a mapping of name -> value, lists included) whose text the
    database cannot store: for a form's validation, so the form re-renders with the message."""
    return {name: [BAD_TEXT] for name, value in values.items()
            if text_error(value) or (isinstance(value, (list, tuple)) and any(text_error(v) for v in value))}


BLANK_NAME = N_("A name must not be blank.")
_INVISIBLE = re.compile(r"[\s\u00ad\u180e\u200b-\u200f\u2028-\u202f\u205f-\u206f\ufeff]+")


def blank(value) -> bool:
    """Whether a text is empty once spaces and invisible characters (zero-width, BOM) are removed."""
    return value is None or (isinstance(value, str) and not _INVISIBLE.sub("", value))
