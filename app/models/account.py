from __future__ import annotations

import uuid
from datetime import datetime

from flask_appbuilder import Model
from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, Integer, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from app.domain.accounts import normalise_domain
from app.domain.duplicates import name_key, registrable_domain

from .choices import ACCOUNT_STATUSES, SEGMENTS, check_in
from .mixins import Timestamps, UUIDPk
from .types import GUID


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
    # Duplicate detection (app.domain.duplicates), kept by the validators below: the name as
    # compared (no case, quotes or legal forms) and the registrable, non-free domain.
    name_key: Mapped[str | None] = mapped_column(String(255))
    domain_key: Mapped[str | None] = mapped_column(String(255))
    # A merged account is kept (its history, its old id answering the survivor), hidden by the read
    # scope everywhere; it points at the account it was merged into.
    merged_into_id: Mapped[uuid.UUID | None] = mapped_column(GUID(), ForeignKey("accounts.id"))
    merged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

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
        domain = normalise_domain(value)
        self.domain_key = registrable_domain(domain)
        return domain

    @validates("name")
    def _keep_name_key(self, _key, value):
        self.name_key = name_key(value) or None if isinstance(value, str) else None
        return value

    def __repr__(self) -> str:
        return self.name or ""


Index(
    "uq_accounts_domain_lower", func.lower(Account.domain), unique=True,
    postgresql_where=Account.domain.isnot(None), sqlite_where=Account.domain.isnot(None),
)
Index("ix_accounts_name_key", Account.name_key)
Index("ix_accounts_domain_key", Account.domain_key)
Index("ix_accounts_merged_into", Account.merged_into_id)
# Similar names (pg_trgm's % operator over the name key): PostgreSQL only.
Index("ix_accounts_name_key_trgm", Account.name_key, postgresql_using="gin",
      postgresql_ops={"name_key": "gin_trgm_ops"}).ddl_if(dialect="postgresql")
# The searches (ILIKE '%…%', app.queries.conditions.contains): trigram indexes on PostgreSQL only.
Index("ix_accounts_name_trgm", Account.name, postgresql_using="gin",
      postgresql_ops={"name": "gin_trgm_ops"}).ddl_if(dialect="postgresql")
Index("ix_accounts_domain_trgm", Account.domain, postgresql_using="gin",
      postgresql_ops={"domain": "gin_trgm_ops"}).ddl_if(dialect="postgresql")
