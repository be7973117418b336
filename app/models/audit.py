from __future__ import annotations

import uuid
from datetime import datetime

from flask_appbuilder import Model
from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .choices import AUDIT_ACTIONS, AUDITED_ENTITIES, check_in
from .mixins import UUIDPk
from .types import GUID, JSONType, utcnow


class AuditEvent(UUIDPk, Model):
    """One audited create, change or delete of an account, contact, project, project member or
    offer: append-only (a trigger refuses UPDATE/DELETE). It names its entity by type and id (no
    foreign key, so the entity can be deleted) and carries the account and project it belongs to."""

    __tablename__ = "audit_events"
    __table_args__ = (
        CheckConstraint(check_in("entity_type", AUDITED_ENTITIES), name="ck_audit_events_entity_type"),
        CheckConstraint(check_in("action", AUDIT_ACTIONS), name="ck_audit_events_action"),
        Index("ix_audit_events_entity_created", "entity_type", "entity_id", "created_at"),
        Index("ix_audit_events_account_created", "account_id", "created_at"),
    )

    entity_type: Mapped[str] = mapped_column(String(32), nullable=False)
    entity_id: Mapped[uuid.UUID] = mapped_column(GUID(), nullable=False)
    account_id: Mapped[uuid.UUID | None] = mapped_column(GUID())
    project_id: Mapped[uuid.UUID | None] = mapped_column(GUID())
    action: Mapped[str] = mapped_column(String(16), nullable=False)
    old_value: Mapped[dict | None] = mapped_column(JSONType)
    new_value: Mapped[dict | None] = mapped_column(JSONType)
    actor_user_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("ab_user.id"))
    evidence_refs: Mapped[list] = mapped_column(JSONType, nullable=False, default=list)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow, server_default=func.now()
    )

    actor = relationship("User", foreign_keys=[actor_user_id], lazy="joined")

    def __repr__(self) -> str:
        return f"{self.entity_type} {self.action}"
