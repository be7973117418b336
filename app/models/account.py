from __future__ import annotations

from datetime import datetime

from flask_appbuilder import Model
from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, Integer, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from app.domain.accounts import normalise_domain

from .choices import ACCOUNT_STATUSES, SEGMENTS, check_in
from .mixins import Timestamps, UUIDPk


class Account(UUIDPk, Timestamps, Model):
    """A client company: the top-level container of the relationship."""

    __tablename__ = "accounts"
    __table_args__ = (
        CheckConstraint(check_in("segment", SEGMENTS), name="ck_accounts_segment"),
        CheckConstraint(check_in("status", ACCOUNT_STATUSES), name="ck_accounts_status"),
        CheckConstraint("icp_fit_score BETWEEN 0 AND 100", name="ck_accounts_icp_fit_score"),
        Index("ix_accounts_owner_status", "owner_user_id", "status"),
    )

    name: Mapped[str] = mapped_column(String(255), nullable=False)
    domain: Mapped[str | None] = mapped_column(String(255))
    industry: Mapped[str | None] = mapped_column(String(255))
    segment: Mapped[str] = mapped_column(String(20), nullable=False, default="smb", server_default="smb")
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="active", server_default="active")
    owner_user_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("ab_user.id"))
    icp_fit_score: Mapped[int | None] = mapped_column(Integer)
    icp_fit_reason: Mapped[str | None] = mapped_column(Text)
    # Latest client touch (audit event, note or inbound message), kept by the session hooks
    # so the accounts list can sort and show it without scanning the timeline.
    last_touch_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    # Audited by the flush listener (one audit row per create/change/delete; touches are not edits).
    audit_entity = "account"
    audit_fields = ("name", "domain", "industry", "segment", "status", "owner_user_id", "icp_fit_score",
                    "icp_fit_reason")

    owner = relationship("User", foreign_keys=[owner_user_id], lazy="joined")

    def audit_scope(self):
        """(account, project) an audit row of this record belongs to."""
        return self.id, None
    contacts = relationship("Contact", back_populates="account", order_by="Contact.name", lazy="select")
    opportunities = relationship("Opportunity", back_populates="account", lazy="select")
    projects = relationship("Project", back_populates="account", order_by="Project.name", lazy="select")

    @validates("domain")
    def _normalise_domain(self, _key, value):
        return normalise_domain(value)

    def __repr__(self) -> str:
        return self.name or ""


Index(
    "uq_accounts_domain_lower", func.lower(Account.domain), unique=True,
    postgresql_where=Account.domain.isnot(None), sqlite_where=Account.domain.isnot(None),
)
# The searches (ILIKE '%…%', app.queries.conditions.contains): trigram indexes on PostgreSQL only.
Index("ix_accounts_name_trgm", Account.name, postgresql_using="gin",
      postgresql_ops={"name": "gin_trgm_ops"}).ddl_if(dialect="postgresql")
Index("ix_accounts_domain_trgm", Account.domain, postgresql_using="gin",
      postgresql_ops={"domain": "gin_trgm_ops"}).ddl_if(dialect="postgresql")
