from __future__ import annotations

import uuid
from decimal import Decimal

from flask_appbuilder import Model
from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column, object_session, relationship

from .choices import OFFER_STATUSES, check_in
from .mixins import Timestamps, UUIDPk
from .types import GUID


class Offer(UUIDPk, Timestamps, Model):
    """Minimal commercial offer (spec 0012's smallest honest version), made from an opportunity."""

    __tablename__ = "offers"
    __table_args__ = (
        CheckConstraint(check_in("status", OFFER_STATUSES), name="ck_offers_status"),
        CheckConstraint("amount >= 0", name="ck_offers_amount"),
        CheckConstraint("discount_percent BETWEEN 0 AND 100", name="ck_offers_discount"),
        Index("ix_offers_opportunity", "opportunity_id"),
    )

    opportunity_id: Mapped[uuid.UUID] = mapped_column(GUID(), ForeignKey("opportunities.id"), nullable=False)
    title: Mapped[str] = mapped_column(String(255), nullable=False)
    amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    currency: Mapped[str] = mapped_column(String(3), nullable=False, default="RUB", server_default="RUB")
    discount_percent: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="draft", server_default="draft")
    created_by_user_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("ab_user.id"))

    audit_entity = "offer"
    audit_fields = ("opportunity_id", "title", "amount", "currency", "discount_percent", "status", "created_by_user_id")

    opportunity = relationship("Opportunity", back_populates="offers", lazy="joined", innerjoin=True)

    def audit_scope(self):
        from .opportunity import Opportunity

        opp = self.opportunity
        if opp is None and self.opportunity_id is not None:
            opp = object_session(self).get(Opportunity, self.opportunity_id)
        return (opp.account_id, opp.project_id) if opp is not None else (None, None)
    created_by = relationship("User", foreign_keys=[created_by_user_id], lazy="joined")

    def __repr__(self) -> str:
        return self.title or ""
