from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from flask_appbuilder import Model
from sqlalchemy import (Boolean, CheckConstraint, Date, DateTime, ForeignKey, Index, Integer, Numeric,
                        String, Text, false)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .choices import FORECAST_CATEGORIES, OPPORTUNITY_STATUSES, STAGES, check_in
from .mixins import Timestamps, UUIDPk
from .types import GUID, utcnow


class Opportunity(UUIDPk, Timestamps, Model):
    """A deal (sale or upsell) moving through the stages; every change is audited."""

    __tablename__ = "opportunities"
    __table_args__ = (
        CheckConstraint(check_in("stage", STAGES), name="ck_opportunities_stage"),
        CheckConstraint(check_in("status", OPPORTUNITY_STATUSES), name="ck_opportunities_status"),
        CheckConstraint(check_in("forecast_category", FORECAST_CATEGORIES), name="ck_opportunities_forecast_category"),
        CheckConstraint("probability BETWEEN 0 AND 1", name="ck_opportunities_probability"),
        CheckConstraint("amount_estimate >= 0", name="ck_opportunities_amount"),
        CheckConstraint("discount_percent BETWEEN 0 AND 100", name="ck_opportunities_discount"),
        CheckConstraint("length(currency) = 3", name="ck_opportunities_currency"),
        Index("ix_opportunities_owner_stage_status", "owner_user_id", "stage", "status"),
        Index("ix_opportunities_account_status", "account_id", "status"),
        # The board: each column's first cards straight from the index, in the board's order.
        Index("ix_opportunities_stage_next_step", "stage", "next_step_due_at", "id"),
        Index("ix_opportunities_stage_closed", "stage", "closed_at", "id"),
    )

    account_id: Mapped[uuid.UUID] = mapped_column(GUID(), ForeignKey("accounts.id"), nullable=False)
    # An upsell or change request inside a project: only the project's members see it.
    project_id: Mapped[uuid.UUID | None] = mapped_column(GUID(), ForeignKey("projects.id"), index=True)
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    stage: Mapped[str] = mapped_column(String(32), nullable=False, default="lead", server_default="lead")
    amount_estimate: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    currency: Mapped[str] = mapped_column(String(3), nullable=False, default="RUB", server_default="RUB")
    probability: Mapped[Decimal | None] = mapped_column(Numeric(4, 3))
    forecast_category: Mapped[str] = mapped_column(String(16), nullable=False, default="pipeline", server_default="pipeline")
    close_date_target: Mapped[date | None] = mapped_column(Date)
    source: Mapped[str | None] = mapped_column(String(64))
    primary_competitor: Mapped[str | None] = mapped_column(String(255))
    owner_user_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("ab_user.id"))
    next_step_text: Mapped[str | None] = mapped_column(Text)
    next_step_due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(8), nullable=False, default="open", server_default="open")
    lost_reason: Mapped[str | None] = mapped_column(Text)
    discount_percent: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    stage_entered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Created from inbound triage and not yet accepted by a person (safe-by-default).
    proposed: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default=false())
    # A proposal a person withdrew (triage undo): kept, audited, counted nowhere.
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}

    account = relationship("Account", back_populates="opportunities", lazy="joined", innerjoin=True)
    owner = relationship("User", foreign_keys=[owner_user_id], lazy="joined")
    project = relationship("Project", foreign_keys=[project_id], lazy="select")
    events = relationship("OpportunityEvent", back_populates="opportunity", lazy="select",
                          order_by="OpportunityEvent.created_at.desc()", viewonly=True)
    offers = relationship("Offer", back_populates="opportunity", lazy="select", viewonly=True)

    def __repr__(self) -> str:
        return self.name or ""


# The board search and the deal lookup (ILIKE '%…%'): a trigram index on PostgreSQL only.
Index("ix_opportunities_name_trgm", Opportunity.name, postgresql_using="gin",
      postgresql_ops={"name": "gin_trgm_ops"}).ddl_if(dialect="postgresql")
