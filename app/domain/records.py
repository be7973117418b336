"""Audit of the plain records (accounts, contacts, projects, project members, offers): which
fields a change touched, and which settings must carry evidence."""
from __future__ import annotations

from collections.abc import Iterable, Mapping

from .errors import N_
from .events import json_safe
from .stages import _same

# Setting these (to a non-blank value that differs) must carry evidence, like a deal's discount.
EVIDENCE_FIELDS_OF = {"offer": ("discount_percent",), "account": ("icp_fit_reason",)}
NEEDS_EVIDENCE = N_("This change needs evidence: a link, a note or a message.")


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == []


def touched(old: Mapping | None, new: Mapping | None, fields: Iterable[str]) -> tuple[dict | None, dict | None]:
    """(old values, new values) of the fields a create, change or delete touched, JSON-safe;
    (None, None) when a change touched nothing."""
    if old is None:
        values = {f: json_safe(new[f]) for f in fields if not _blank(new.get(f))}
        return None, values
    if new is None:
        return {f: json_safe(old.get(f)) for f in fields if not _blank(old.get(f))}, None
    changed = [f for f in fields if not _same(old.get(f), new.get(f))]
    if not changed:
        return None, None
    return {f: json_safe(old.get(f)) for f in changed}, {f: json_safe(new.get(f)) for f in changed}


def evidence_needed(entity: str, old: Mapping | None, new: Mapping | None) -> list[str]:
    """The fields of this change that must carry evidence (set to a non-blank, different value)."""
    if new is None:
        return []
    return [f for f in EVIDENCE_FIELDS_OF.get(entity, ())
            if not _blank(new.get(f)) and (old is None or not _same(old.get(f), new.get(f)))]
