"""Chatwoot webhooks and REST pages as MessageRecords.

Traps handled: message_type is a string at the top level of a message_* webhook but an integer
(0 incoming, 1 outgoing, 2 activity, 3 template) in nested messages and in the REST API;
created_at is ISO 8601 at the top level but unix seconds when nested; a conversation's `id` is
its display id, unique per Chatwoot account only, so threads are keyed "account:display_id".
"""
from __future__ import annotations

from datetime import datetime, timezone

from .records import MessageRecord, ThreadRecord, UnusablePayload, clean, from_iso, from_unix

SOURCE = "chatwoot"
TYPES = {0: "incoming", 1: "outgoing", 2: "activity", 3: "template",
         "incoming": "incoming", "outgoing": "outgoing", "activity": "activity", "template": "template"}
MESSAGE_EVENTS = ("message_created", "message_updated")
CONVERSATION_EVENTS = ("conversation_created", "conversation_updated", "conversation_status_changed")


def _account_id(payload: dict, conversation: dict | None = None) -> int:
    for holder in (payload, conversation or {}):
        account = holder.get("account")
        if isinstance(account, dict) and account.get("id") is not None:
            return account["id"]
        if holder.get("account_id") is not None:
            return holder["account_id"]
    raise UnusablePayload("no Chatwoot account id")


def thread_of(account_id, conversation: dict, contact: dict | None = None) -> ThreadRecord:
    """The thread of a conversation (by account and display id)."""
    display_id = conversation.get("display_id", conversation.get("id"))
    if display_id is None:
        raise UnusablePayload("no conversation id")
    contact = contact or (conversation.get("meta") or {}).get("sender") or {}
    inbox = clean((conversation.get("inbox") or {}).get("name")) if isinstance(conversation.get("inbox"), dict) else None
    name = clean(contact.get("name")) or clean(contact.get("email")) or f"#{display_id}"
    return ThreadRecord(SOURCE, f"{account_id}:{display_id}", f"{name} · {inbox}" if inbox else name)


def _message(account_id, message: dict, thread: ThreadRecord, contact: dict | None, *, edited_at=None) -> MessageRecord | None:
    kind = TYPES.get(message.get("message_type"))
    if kind not in ("incoming", "outgoing"):
        return None  # activity and template messages are not conversation content
    if message.get("id") is None:
        raise UnusablePayload("message without id")
    sender = message.get("sender") if isinstance(message.get("sender"), dict) else None
    if kind == "incoming":
        sender = sender or contact or {}
    sender = sender or {}
    created = message.get("created_at")
    return MessageRecord(
        source=SOURCE, external_key=f"{account_id}:{message['id']}", thread=thread, direction=kind,
        text=str(message.get("content") or ""), private=bool(message.get("private")),
        sent_at=from_unix(created) if isinstance(created, (int, float)) else from_iso(created),
        sender_name=clean(sender.get("name") or sender.get("available_name")),
        sender_handle=clean(sender.get("identifier")), sender_email=clean(sender.get("email")),
        sender_phone=clean(sender.get("phone_number")), edited_at=edited_at, raw=message)


def parse_webhook(payload: dict, *, received_at: datetime | None = None) -> list[MessageRecord]:
    """The messages a webhook delivery carries (none for contact, typing and unknown events)."""
    if not isinstance(payload, dict):
        raise UnusablePayload("payload is not an object")
    event = payload.get("event")
    if event in MESSAGE_EVENTS:
        conversation = payload.get("conversation") or {}
        if not isinstance(conversation, dict):
            raise UnusablePayload("conversation is not an object")
        account_id = _account_id(payload, conversation)
        contact = (conversation.get("meta") or {}).get("sender") or (
            payload.get("sender") if payload.get("message_type") == "incoming" else None)
        edited = None
        if event == "message_updated":
            edited = from_iso(payload["updated_at"]) if payload.get("updated_at") else (received_at or datetime.now(timezone.utc))
        record = _message(account_id, payload, thread_of(account_id, conversation, contact), contact, edited_at=edited)
        return [record] if record else []
    if event in CONVERSATION_EVENTS:
        account_id = _account_id(payload)
        contact = (payload.get("meta") or {}).get("sender")
        thread = thread_of(account_id, payload, contact)
        return [r for r in (_message(account_id, m, thread, contact) for m in payload.get("messages") or []
                            if isinstance(m, dict)) if r]
    return []


def parse_rest_conversations_page(payload: dict) -> list[dict]:
    """`GET /api/v1/accounts/{id}/conversations?status=all&page=N` → the conversations of the page."""
    data = payload.get("data", payload) if isinstance(payload, dict) else {}
    items = data.get("payload") if isinstance(data, dict) else None
    return [c for c in items or [] if isinstance(c, dict)]


def parse_rest_messages_page(payload: dict, account_id, conversation: dict) -> list[MessageRecord]:
    """`GET …/conversations/{display_id}/messages` → MessageRecords (nested format, newest first)."""
    contact = (conversation.get("meta") or {}).get("sender")
    thread = thread_of(account_id, conversation, contact)
    items = payload.get("payload") if isinstance(payload, dict) else None
    return [r for r in (_message(account_id, m, thread, contact) for m in items or [] if isinstance(m, dict)) if r]
