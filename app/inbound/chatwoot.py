"""Chatwoot webhooks and REST pages as MessageRecords.

Traps handled: message_type is a string at the top level of a message_* webhook but an integer
(0 incoming, 1 outgoing, 2 activity, 3 template) in nested messages and in the REST API;
created_at is ISO 8601 at the top level but unix seconds when nested; a conversation's `id` is
its display id, unique per Chatwoot account only, so threads are keyed "account:display_id".
"""
from __future__ import annotations

import logging
from datetime import datetime, timezone

from .records import (EMAIL_LENGTH, PHONE_LENGTH, MessageRecord, ThreadRecord, UnusablePayload, clean, from_iso,
                      from_unix, ident, items, obj, raw_of, text_of)

log = logging.getLogger(__name__)
SOURCE = "chatwoot"
TYPES = {0: "incoming", 1: "outgoing", 2: "activity", 3: "template",
         "incoming": "incoming", "outgoing": "outgoing", "activity": "activity", "template": "template"}
MESSAGE_EVENTS = ("message_created", "message_updated")
CONVERSATION_EVENTS = ("conversation_created", "conversation_updated", "conversation_status_changed")


def _account_id(payload: dict, conversation: dict | None = None) -> str:
    for holder in (payload, conversation or {}):
        account = ident(obj(holder.get("account")).get("id"))
        if account is not None:
            return account
        account = ident(holder.get("account_id"))
        if account is not None:
            return account
    raise UnusablePayload("no Chatwoot account id")


def _sender_of(conversation: dict) -> dict:
    return obj(obj(conversation.get("meta")).get("sender"))


def thread_of(account_id, conversation: dict, contact: dict | None = None) -> ThreadRecord:
    """The thread of a conversation (by account and display id)."""
    conversation = obj(conversation)
    display_id = ident(conversation.get("display_id", conversation.get("id")))
    if display_id is None:
        raise UnusablePayload("no conversation id")
    contact = obj(contact) or _sender_of(conversation)
    inbox = clean(obj(conversation.get("inbox")).get("name"))
    name = clean(contact.get("name")) or clean(contact.get("email")) or f"#{display_id}"
    return ThreadRecord(SOURCE, f"{account_id}:{display_id}", clean(f"{name} · {inbox}" if inbox else name))


def _message(account_id, message: dict, thread: ThreadRecord, contact: dict | None, *, edited_at=None) -> MessageRecord | None:
    raw_type = message.get("message_type")
    kind = TYPES.get(raw_type) if isinstance(raw_type, (int, str)) and not isinstance(raw_type, bool) else None
    if kind not in ("incoming", "outgoing"):
        return None  # activity and template messages are not conversation content
    message_id = ident(message.get("id"))
    if message_id is None:
        raise UnusablePayload("message without a usable id")
    text = text_of(message.get("content"))
    if text is None:
        raise UnusablePayload("message content is not text")
    sender = obj(message.get("sender"))
    if kind == "incoming":
        sender = sender or obj(contact)
    created = message.get("created_at")
    return MessageRecord(
        source=SOURCE, external_key=f"{account_id}:{message_id}", thread=thread, direction=kind,
        text=text, private=message.get("private") is True,
        sent_at=from_unix(created) if isinstance(created, (int, float)) and not isinstance(created, bool) else from_iso(created),
        sender_name=clean(sender.get("name")) or clean(sender.get("available_name")),
        sender_handle=clean(sender.get("identifier")), sender_email=clean(sender.get("email"), EMAIL_LENGTH),
        sender_phone=clean(sender.get("phone_number"), PHONE_LENGTH), edited_at=edited_at, raw=raw_of(message))


def parse_webhook(payload: dict, *, received_at: datetime | None = None) -> list[MessageRecord]:
    """The messages a webhook delivery carries (none for contact, typing and unknown events)."""
    if not isinstance(payload, dict):
        raise UnusablePayload("payload is not an object")
    event = payload.get("event")
    if event in MESSAGE_EVENTS:
        if "conversation" in payload and not isinstance(payload["conversation"], (dict, type(None))):
            raise UnusablePayload("conversation is not an object")
        conversation = obj(payload.get("conversation"))
        account_id = _account_id(payload, conversation)
        contact = _sender_of(conversation) or (
            obj(payload.get("sender")) if payload.get("message_type") == "incoming" else None)
        edited = None
        if event == "message_updated":
            edited = from_iso(payload["updated_at"]) if payload.get("updated_at") else (received_at or datetime.now(timezone.utc))
        record = _message(account_id, payload, thread_of(account_id, conversation, contact), contact, edited_at=edited)
        return [record] if record else []
    if event in CONVERSATION_EVENTS:
        account_id = _account_id(payload)
        contact = _sender_of(payload)
        thread = thread_of(account_id, payload, contact)
        return _messages(account_id, items(payload.get("messages")), thread, contact)
    return []


def _messages(account_id, messages: list, thread: ThreadRecord, contact: dict | None) -> list[MessageRecord]:
    """The usable messages of a list (one unusable message does not lose the others: it is logged)."""
    records = []
    for message in messages:
        if not isinstance(message, dict):
            continue
        try:
            record = _message(account_id, message, thread, contact)
        except UnusablePayload as exc:
            log.warning("chatwoot: a message of %s skipped: %s", thread.external_key, exc)
            continue
        if record:
            records.append(record)
    return records


def parse_rest_conversations_page(payload: dict) -> list[dict]:
    """`GET /api/v1/accounts/{id}/conversations?status=all&page=N` → the conversations of the page."""
    data = payload.get("data", payload) if isinstance(payload, dict) else {}
    items = data.get("payload") if isinstance(data, dict) else None
    return [c for c in items or [] if isinstance(c, dict)]


def parse_rest_messages_page(payload: dict, account_id, conversation: dict) -> list[MessageRecord]:
    """`GET …/conversations/{display_id}/messages` → MessageRecords (nested format, newest first)."""
    conversation = obj(conversation)
    contact = _sender_of(conversation)
    thread = thread_of(account_id, conversation, contact)
    return _messages(account_id, items(obj(payload).get("payload")), thread, contact)
