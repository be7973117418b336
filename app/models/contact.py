from __future__ import annotations

import uuid
from datetime import datetime

from flask_appbuilder import Model
from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from app.domain.accounts import normalise_email, normalise_handle, normalise_phone
from app.domain.duplicates import email_domain, name_key

from .mixins import Timestamps, UUIDPk
from .types import GUID, TagList


class Contact(UUIDPk, Timestamps, Model):
    """A person inside an account."""

    __tablename__ = "contacts"
    __table_args__ = (
        CheckConstraint("influence_score BETWEEN 0 AND 100", name="ck_contacts_influence_score"),
        Index("ix_contacts_account", "account_id"),
    )

    account_id: Mapped[uuid.UUID] = mapped_column(GUID(), ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False)
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(64))
    telegram_handle: Mapped[str | None] = mapped_column(String(64))
    role_tags: Mapped[list[str]] = mapped_column(TagList, nullable=False, default=list)
    influence_score: Mapped[int | None] = mapped_column(Integer)
    # Duplicate detection (app.domain.duplicates), kept by the validators below: the name as
    # compared and the registrable, non-free domain of the e-mail.
    name_key: Mapped[str | None] = mapped_column(String(255))
    domain_key: Mapped[str | None] = mapped_column(String(255))
    merged_into_id: Mapped[uuid.UUID | None] = mapped_column(GUID(), ForeignKey("contacts.id"))
    merged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    audit_entity = "contact"
    audit_fields = ("account_id", "name", "email", "phone", "telegram_handle", "role_tags", "influence_score")

    account = relationship("Account", back_populates="contacts", lazy="joined")

    def audit_scope(self):
        return self.account_id or (self.account.id if self.account else None), None

    @validates("email")
    def _normalise_email(self, _key, value):
        email = normalise_email(value)
        self.domain_key = email_domain(email)
        return email

    @validates("name")
    def _keep_name_key(self, _key, value):
        self.name_key = name_key(value) or None if isinstance(value, str) else None
        return value

    @validates("phone")
    def _normalise_phone(self, _key, value):
        """Stored as +digits when it is a phone number, so inbound senders can be matched."""
        return normalise_phone(value) or (value.strip() or None if isinstance(value, str) else value)

    @validates("telegram_handle")
    def _normalise_handle(self, _key, value):
        return normalise_handle(value)

    def __repr__(self) -> str:
        return self.name or ""


Index(
    "uq_contacts_email_lower", func.lower(Contact.email), unique=True,
    postgresql_where=Contact.email.isnot(None), sqlite_where=Contact.email.isnot(None),
)
Index("ix_contacts_telegram_handle", func.lower(Contact.telegram_handle))
Index("ix_contacts_phone", Contact.phone)
Index("ix_contacts_domain_key", Contact.domain_key)
Index("ix_contacts_account_name_key", Contact.account_id, Contact.name_key)
