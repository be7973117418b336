from __future__ import annotations

import uuid
from datetime import datetime

from flask_appbuilder import Model
from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .choices import EVENT_TYPES, check_in
from .mixins import UUIDPk
from .types import GUID, JSONType, utcnow


class OpportunityEvent(UUIDPk, Model):
    """One audited change of an opportunity: append-only (a trigger refuses UPDATE/DELETE)."""

    __tablename__ = "opportunity_events"
    __table_args__ = (
        CheckConstraint(check_in("event_type", EVENT_TYPES), name="ck_opportunity_events_type"),
        Index("ix_opportunity_events_opportunity_created", "opportunity_id", "created_at"),
        Index("ix_opportunity_events_type_created", "event_type", "created_at"),
    )

    opportunity_id: Mapped[uuid.UUID] = mapped_column(GUID(), ForeignKey("opportunities.id"), nullable=False)
    event_type: Mapped[str] = mapped_column(String(32), nullable=False)
    old_value: Mapped[dict | None] = mapped_column(JSONType)
    new_value: Mapped[dict | None] = mapped_column(JSONType)
    actor_user_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("ab_user.id"))
    evidence_refs: Mapped[list] = mapped_column(JSONType, nullable=False, default=list)
    # On stage_changed: when the deal had entered the stage it left (aging of past stages).
    previous_stage_entered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # On stage_changed: the deal's owner and project as the change left them (the dashboard's past
    # stays are counted per owner and project of their time: app/models/reports.py).
    owner_user_id: Mapped[int | None] = mapped_column(Integer)
    project_id: Mapped[uuid.UUID | None] = mapped_column(GUID())
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow, server_default=func.now()
    )

    opportunity = relationship("Opportunity", back_populates="events", lazy="joined", innerjoin=True)
    actor = relationship("User", foreign_keys=[actor_user_id], lazy="joined")

    def __repr__(self) -> str:
        return f"{self.event_type} {self.created_at:%Y-%m-%d %H:%M}" if self.created_at else self.event_type
