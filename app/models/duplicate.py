from __future__ import annotations

import uuid
from datetime import datetime

from flask_appbuilder import Model
from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Integer, String, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .choices import check_in
from .mixins import UUIDPk
from .types import GUID, utcnow

DUPLICATE_KINDS = ("account", "contact")
DUPLICATE_DECISIONS = ("keep_separate",)


class DuplicateDecision(UUIDPk, Model):
    """A person's decision on a proposed pair of duplicates: "keep separate" (the pair is not
    proposed again while the decision stands; undoing it deletes the row). The pair is stored in
    one order, the smaller id first, so a pair has at most one decision."""

    __tablename__ = "duplicate_decisions"
    __table_args__ = (
        CheckConstraint(check_in("kind", DUPLICATE_KINDS), name="ck_duplicate_decisions_kind"),
        CheckConstraint(check_in("decision", DUPLICATE_DECISIONS), name="ck_duplicate_decisions_decision"),
        CheckConstraint("a_id < b_id", name="ck_duplicate_decisions_order"),
        UniqueConstraint("kind", "a_id", "b_id", name="uq_duplicate_decisions_pair"),
    )

    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    a_id: Mapped[uuid.UUID] = mapped_column(GUID(), nullable=False)
    b_id: Mapped[uuid.UUID] = mapped_column(GUID(), nullable=False)
    decision: Mapped[str] = mapped_column(String(16), nullable=False, default="keep_separate",
                                          server_default="keep_separate")
    decided_by_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("ab_user.id"))
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow,
                                                 server_default=func.now())

    decided_by = relationship("User", foreign_keys=[decided_by_id], lazy="joined")

    def __repr__(self) -> str:
        return f"{self.kind} {self.a_id} / {self.b_id}: {self.decision}"


class SimilarName(Model):
    """Two accounts whose names are similar (not the same): kept by the flush listener of
    app.services.merge on every account whose name changes (one trigram probe of the GIN index on
    PostgreSQL; the first-word rule on SQLite), because comparing every name with every other at
    read time costs a probe per account. The smaller id first."""

    __tablename__ = "account_similar_names"
    __table_args__ = (CheckConstraint("a_id < b_id", name="ck_account_similar_names_order"),)

    a_id: Mapped[uuid.UUID] = mapped_column(GUID(), ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    b_id: Mapped[uuid.UUID] = mapped_column(GUID(), ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True,
                                            index=True)
