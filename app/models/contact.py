from __future__ import annotations

import uuid

from flask_appbuilder import Model
from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from app.domain.accounts import normalise_email, normalise_handle, normalise_phone

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

    audit_entity = "contact"
    audit_fields = ("account_id", "name", "email", "phone", "telegram_handle", "role_tags", "influence_score")

    account = relationship("Account", back_populates="contacts", lazy="joined")

    def audit_scope(self):
        return self.account_id or (self.account.id if self.account else None), None

    @validates("email")
    def _normalise_email(self, _key, value):
        return normalise_email(value)

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
