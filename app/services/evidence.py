"""Evidence that points at stored data: message refs must name inbound messages that exist."""
from __future__ import annotations

import uuid

from sqlalchemy import select

from app.domain.errors import N_, RuleViolation
from app.models import InboundMessage


def check_message_refs(session, refs: list[dict]) -> None:
    """Every {"type": "message", "id": …} names an inbound message we hold."""
    wanted = [ref["id"] for ref in refs if ref.get("type") == "message"]
    if not wanted:
        return
    try:
        ids = {uuid.UUID(str(value)) for value in wanted}
    except ValueError:
        raise RuleViolation({"evidence_refs": [N_("No such inbound message.")]}) from None
    with session.no_autoflush:
        found = set(session.scalars(select(InboundMessage.id).where(InboundMessage.id.in_(ids))))
    if found != ids:
        raise RuleViolation({"evidence_refs": [N_("No such inbound message.")]})
