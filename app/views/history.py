"""History people read: the audit rows of one user action (a move to lost writes stage_changed,
lost and the changed probability and forecast category, one row per field) shown as one entry
listing its changes, with the client messages its evidence names."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from app.queries.inbox import messages_by_id

# the event that names an action, most telling first
PRIORITY = ("won", "lost", "reopened", "accepted", "withdrawn", "created", "stage_changed", "note_added",
            "amount_changed", "discount_changed", "next_step_changed", "probability_changed", "field_changed")
# fields that say nothing new next to the event's own name
REDUNDANT = {"won": {"stage"}, "lost": {"stage"}, "accepted": {"proposed"}, "withdrawn": {"withdrawn_at"},
             "reopened": set()}


@dataclass
class Action:
    """One user action on one deal: what it was, when, by whom, its changes and evidence."""

    event_type: str
    created_at: datetime
    actor: object
    opportunity_id: object
    opportunity: object
    note: str | None = None
    changes: list[tuple[str, object, object]] = field(default_factory=list)
    evidence_refs: list[dict] = field(default_factory=list)


def _key(event) -> tuple:
    return (event.opportunity_id, event.created_at, event.actor_user_id)


def _action(events: list) -> Action:
    events = sorted(events, key=lambda e: PRIORITY.index(e.event_type) if e.event_type in PRIORITY else len(PRIORITY))
    first = events[0]
    old, new, order = {}, {}, []
    for event in events:
        if event.event_type in ("created", "note_added"):
            continue
        for name, value in (event.new_value or {}).items():
            if name not in order:
                order.append(name)
                old[name] = (event.old_value or {}).get(name)
            new[name] = value
    skip = REDUNDANT.get(first.event_type, set())
    refs, seen = [], set()
    for event in events:
        for ref in event.evidence_refs or []:
            marker = tuple(sorted((k, str(v)) for k, v in ref.items()))
            if marker not in seen:
                seen.add(marker)
                refs.append(ref)
    note = next(((e.new_value or {}).get("text") for e in events if e.event_type == "note_added"), None)
    return Action(first.event_type, first.created_at, first.actor, first.opportunity_id,
                  getattr(first, "opportunity", None), note,
                  [(n, old[n], new[n]) for n in order if n not in skip and old[n] != new[n]], refs)


def group_events(events) -> list[Action]:
    """Consecutive audit rows of one deal, time and actor become one Action (rows come newest first)."""
    actions, run = [], []
    for event in events:
        if run and _key(run[-1]) != _key(event):
            actions.append(_action(run))
            run = []
        run.append(event)
    if run:
        actions.append(_action(run))
    return actions


def group_timeline(entries: list[dict]) -> list[dict]:
    """A paged timeline's entries with the deal events of one action merged into one entry."""
    result, run = [], []

    def flush():
        if run:
            result.append({**run[0], "item": _action([r["item"] for r in run])})
            run.clear()

    for entry in entries:
        if entry["kind"] == "event":
            if run and _key(run[-1]["item"]) != _key(entry["item"]):
                flush()
            run.append(entry)
            continue
        flush()
        result.append(entry)
    flush()
    return result


def evidence_messages(actions) -> dict:
    """The client messages the evidence of these actions (or audit rows) names, by id."""
    return messages_by_id(ref.get("id") for action in actions for ref in (getattr(action, "evidence_refs", None) or [])
                          if ref.get("type") == "message")
