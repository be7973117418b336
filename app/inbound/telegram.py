"""Telegram Bot API updates and Telegram Desktop exports as MessageRecords.

Traps handled: message_id is unique within its chat only (keys are "chat_id:message_id"); forum
topics are threads of their own ("chat_id:message_thread_id"); edits arrive as edited_message
with the same ids; an export's `id` lacks the Bot API's -100 prefix for supergroups and channels;
its `date` has no time zone (date_unixtime is used); its `text` is a string or a list of strings
and entity objects; service entries are not messages.
"""
from __future__ import annotations

from app.domain.text import scrub

from .records import MessageRecord, ThreadRecord, UnusablePayload, clean, from_unix, ident, obj, raw_of, text_of

SOURCE = "telegram"
UPDATE_KINDS = {"message": False, "channel_post": False, "edited_message": True, "edited_channel_post": True,
                "business_message": False, "edited_business_message": True}


def _title(chat: dict) -> str | None:
    names = " ".join(filter(None, [clean(chat.get("first_name")), clean(chat.get("last_name"))]))
    username = clean(chat.get("username"))
    return clean(chat.get("title")) or clean(names) or (clean(f"@{username}") if username else None)


def _thread(chat_id, topic_id, title) -> ThreadRecord:
    key = f"{chat_id}:{topic_id}" if topic_id is not None else str(chat_id)
    return ThreadRecord(SOURCE, key, title)


def _handle(username) -> str | None:
    username = clean(username)
    return clean(f"@{username.lower()}") if username else None


def parse_update(update: dict) -> list[MessageRecord]:
    """One Bot API Update: its message (new or edited); other kinds carry nothing for us."""
    if not isinstance(update, dict):
        raise UnusablePayload("update is not an object")
    kind = next((k for k in UPDATE_KINDS if isinstance(update.get(k), dict)), None)
    if kind is None:
        return []
    message = update[kind]
    chat = obj(message.get("chat"))
    chat_id, message_id = ident(chat.get("id")), ident(message.get("message_id"))
    if chat_id is None or message_id is None:
        raise UnusablePayload("message without a usable chat id or message id")
    topic = ident(message.get("message_thread_id")) if message.get("is_topic_message") is True else None
    sender = obj(message.get("from")) or obj(message.get("sender_chat"))
    name = clean(" ".join(filter(None, [clean(sender.get("first_name")), clean(sender.get("last_name"))]))) \
        or clean(sender.get("title"))
    text = text_of(message.get("text") or message.get("caption"))
    if text is None:
        raise UnusablePayload("message text is not text")
    edited = UPDATE_KINDS[kind]
    return [MessageRecord(
        source=SOURCE, external_key=f"{chat_id}:{message_id}", thread=_thread(chat_id, topic, _title(chat)),
        direction="outgoing" if sender.get("is_bot") is True else "incoming", text=text,
        sent_at=from_unix(message.get("date")), sender_name=name or None, sender_handle=_handle(sender.get("username")),
        edited_at=from_unix(message.get("edit_date")) if edited and message.get("edit_date") else
        (from_unix(message.get("date")) if edited else None), raw=raw_of(update))]


def export_chat_id(data: dict):
    """The Bot API chat id of an export: -100… for supergroups and channels, -… for basic groups."""
    raw = data.get("id")
    if raw is None:
        raise UnusablePayload("export without chat id")
    kind = data.get("type") if isinstance(data.get("type"), str) else ""
    try:
        number = int(raw) if not isinstance(raw, bool) and isinstance(raw, (int, str)) else None
    except ValueError:
        number = None
    if number is None:
        raise UnusablePayload("export without a usable chat id")
    if kind.endswith("supergroup") or kind.endswith("channel"):
        return int(f"-100{abs(number)}")
    if kind == "private_group":
        return -abs(number)
    return number


def export_text(text) -> str:
    """An export's text: a plain string, or a list of strings and {"type", "text"} entities."""
    if isinstance(text, str):
        return text
    if isinstance(text, list):
        return "".join(part if isinstance(part, str) else (obj(part).get("text") if isinstance(obj(part).get("text"), str)
                                                             else "") for part in text)
    return ""


def parse_export(data: dict) -> tuple[list[MessageRecord], int]:
    """A Telegram Desktop result.json → (messages, skipped entries)."""
    if not isinstance(data, dict) or not isinstance(data.get("messages"), list):
        raise UnusablePayload("not a Telegram chat export (no messages list)")
    chat_id = export_chat_id(data)
    records, skipped = [], 0
    for item in data["messages"]:
        message_id = ident(item.get("id")) if isinstance(item, dict) else None
        if message_id is None or item.get("type") != "message":
            skipped += 1
            continue
        topic = ident(item.get("message_thread_id")) if item.get("is_topic_message") is True else None
        try:
            records.append(MessageRecord(
                source=SOURCE, external_key=f"{chat_id}:{message_id}", thread=_thread(chat_id, topic, clean(data.get("name"))),
                direction="incoming", text=scrub(export_text(item.get("text"))),
                sent_at=from_unix(item.get("date_unixtime")), sender_name=clean(item.get("from")),
                sender_handle=None,
                edited_at=from_unix(item["edited_unixtime"]) if item.get("edited_unixtime") else None, raw=raw_of(item)))
        except UnusablePayload:
            skipped += 1
    return records, skipped
