from __future__ import annotations

import uuid
from datetime import datetime

from flask_appbuilder import Model
from sqlalchemy import (Boolean, CheckConstraint, DateTime, ForeignKey, Index, Integer, String, Text,
                        UniqueConstraint, false, func)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .choices import DIRECTIONS, INBOUND_SOURCES, THREAD_STATUSES, check_in
from .mixins import Timestamps, UUIDPk
from .types import GUID, JSONType, utcnow


class InboundThread(UUIDPk, Timestamps, Model):
    """A conversation from Chatwoot or Telegram, attached to an account or waiting in triage."""

    __tablename__ = "inbound_threads"
    __table_args__ = (
        CheckConstraint(check_in("source", INBOUND_SOURCES), name="ck_inbound_threads_source"),
        CheckConstraint(check_in("status", THREAD_STATUSES), name="ck_inbound_threads_status"),
        UniqueConstraint("source", "external_key", name="uq_inbound_threads_source_key"),
        Index("ix_inbound_threads_status_last", "status", "last_message_at"),
        Index("ix_inbound_threads_account", "account_id"),
    )

    source: Mapped[str] = mapped_column(String(16), nullable=False)
    external_key: Mapped[str] = mapped_column(String(255), nullable=False)
    title: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="unassigned", server_default="unassigned")
    account_id: Mapped[uuid.UUID | None] = mapped_column(GUID(), ForeignKey("accounts.id"))
    contact_id: Mapped[uuid.UUID | None] = mapped_column(GUID(), ForeignKey("contacts.id"))
    opportunity_id: Mapped[uuid.UUID | None] = mapped_column(GUID(), ForeignKey("opportunities.id"))
    project_id: Mapped[uuid.UUID | None] = mapped_column(GUID(), ForeignKey("projects.id"), index=True)
    first_message_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_message_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    message_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    assigned_by_user_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("ab_user.id"))
    assigned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    account = relationship("Account", foreign_keys=[account_id], lazy="joined")
    contact = relationship("Contact", foreign_keys=[contact_id], lazy="joined")
    opportunity = relationship("Opportunity", foreign_keys=[opportunity_id], lazy="joined")
    assigned_by = relationship("User", foreign_keys=[assigned_by_user_id], lazy="joined")

    def __repr__(self) -> str:
        return self.title or self.external_key or ""


class InboundMessage(UUIDPk, Model):
    """One message of an inbound thread; unique per source by its external key."""

    __tablename__ = "inbound_messages"
    __table_args__ = (
        CheckConstraint(check_in("source", INBOUND_SOURCES), name="ck_inbound_messages_source"),
        CheckConstraint(check_in("direction", DIRECTIONS), name="ck_inbound_messages_direction"),
        UniqueConstraint("source", "external_key", name="uq_inbound_messages_source_key"),
        Index("ix_inbound_messages_thread_sent", "thread_id", "sent_at"),
    )

    thread_id: Mapped[uuid.UUID] = mapped_column(GUID(), ForeignKey("inbound_threads.id", ondelete="CASCADE"), nullable=False)
    source: Mapped[str] = mapped_column(String(16), nullable=False)
    external_key: Mapped[str] = mapped_column(String(255), nullable=False)
    direction: Mapped[str] = mapped_column(String(8), nullable=False)
    private: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default=false())
    sender_name: Mapped[str | None] = mapped_column(String(255))
    sender_handle: Mapped[str | None] = mapped_column(String(255))
    sender_email: Mapped[str | None] = mapped_column(String(320))
    sender_phone: Mapped[str | None] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text, nullable=False, default="", server_default="")
    sent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    edited_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    raw: Mapped[dict | None] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow, server_default=func.now()
    )

    thread = relationship("InboundThread", lazy="joined", innerjoin=True)

    def __repr__(self) -> str:
        return (self.text or "")[:60]


class InboundThreadEvent(UUIDPk, Model):
    """A triage action on a thread (assign, create account, propose opportunity, ignore, undo)."""

    __tablename__ = "inbound_thread_events"
    __table_args__ = (Index("ix_inbound_thread_events_thread", "thread_id", "created_at"),)

    thread_id: Mapped[uuid.UUID] = mapped_column(GUID(), ForeignKey("inbound_threads.id", ondelete="CASCADE"), nullable=False)
    action: Mapped[str] = mapped_column(String(32), nullable=False)
    actor_user_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("ab_user.id"))
    details: Mapped[dict | None] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow, server_default=func.now()
    )

    actor = relationship("User", foreign_keys=[actor_user_id], lazy="joined")
