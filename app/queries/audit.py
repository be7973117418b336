"""Reads of the record audit trail (accounts, contacts, projects, members, offers)."""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.models import AuditEvent

EVENTS_PAGE = 25


def record_events(entity_type: str, entity_id, page: int = 0, size: int = EVENTS_PAGE,
                  whole_account: bool = False) -> tuple[int, list[AuditEvent]]:
    """A record's audit rows, newest first, paged; for an account optionally every row that
    belongs to it (its contacts, projects, members and offers too)."""
    from app.queries.duplicates import history_accounts  # an account's trail includes those merged into it

    where = [AuditEvent.account_id.in_(history_accounts(entity_id))] if whole_account else \
        [AuditEvent.entity_type == entity_type, AuditEvent.entity_id == entity_id]
    total = db.session.scalar(select(func.count()).select_from(AuditEvent).where(*where))
    rows = db.session.scalars(select(AuditEvent).where(*where).options(joinedload(AuditEvent.actor))
                              .order_by(AuditEvent.created_at.desc(), AuditEvent.id)
                              .offset(page * size).limit(size)).all()
    return total, list(rows)
