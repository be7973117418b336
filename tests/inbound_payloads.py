"""Realistic Chatwoot and Telegram payloads (shapes as the services send them), built per test."""
from __future__ import annotations

import copy

CW_CONTACT = {"id": 71, "name": "Anna Petrova", "email": "anna@zerno-coffee.ru", "phone_number": "+7 916 555-12-34",
              "identifier": None, "thumbnail": "", "type": "contact",
              "additional_attributes": {"company_name": "Кофейня Зерно", "city": "Moscow"}}


def cw_message(message_id=1001, content="Hello, we need a new website", message_type="incoming", private=False,
               display_id=42, account_id=3, event="message_created", created_at="2026-11-20T10:15:00.000Z", **extra):
    """A message_created / message_updated webhook body (message at the top level)."""
    sender = copy.deepcopy(CW_CONTACT) if message_type == "incoming" else \
        {"id": 5, "name": "Studio Agent", "email": "agent@studio.ru", "type": "user"}
    body = {"event": event, "id": message_id, "content": content, "message_type": message_type, "private": private,
            "created_at": created_at, "content_type": "text", "content_attributes": {}, "source_id": None,
            "sender": sender, "inbox": {"id": 9, "name": "Website"}, "account": {"id": account_id, "name": "Studio"},
            "conversation": {"id": display_id, "inbox_id": 9, "status": "open", "channel": "Channel::WebWidget",
                             "contact_inbox": {"source_id": "abc"}, "meta": {"sender": copy.deepcopy(CW_CONTACT)},
                             "additional_attributes": {}, "unread_count": 1},
            "additional_attributes": {}}
    body.update(extra)
    return body


def cw_conversation(display_id=42, account_id=3, messages=None, event="conversation_created"):
    """A conversation_* webhook body with nested messages (integer message_type, unix created_at)."""
    return {"event": event, "id": display_id, "inbox_id": 9, "status": "open", "account": {"id": account_id},
            "meta": {"sender": copy.deepcopy(CW_CONTACT), "assignee": None},
            "messages": messages if messages is not None else [
                {"id": 2001, "content": "Hi! Do you design menus?", "message_type": 0, "private": False,
                 "created_at": 1763633700, "conversation_id": display_id, "sender": copy.deepcopy(CW_CONTACT)},
                {"id": 2002, "content": "Conversation was opened", "message_type": 2, "private": False,
                 "created_at": 1763633701, "conversation_id": display_id},
            ], "contact_inbox": {"source_id": "abc"}, "timestamp": 1763633700}


def tg_update(update_id=1, message_id=10, chat=None, text="Здравствуйте, нужен брендбук", date=1763633700,
              sender=None, kind="message", **extra):
    chat = chat or {"id": 123456789, "type": "private", "first_name": "Ivan", "username": "ivan_k"}
    sender = sender or {"id": 123456789, "is_bot": False, "first_name": "Ivan", "last_name": "K", "username": "Ivan_K"}
    message = {"message_id": message_id, "from": sender, "chat": chat, "date": date, "text": text}
    message.update(extra)
    return {"update_id": update_id, kind: message}


SUPERGROUP = {"id": -1001234567890, "type": "supergroup", "title": "Acme × Studio", "is_forum": True}


def tg_export():
    """A Telegram Desktop result.json of a supergroup (id without the -100 prefix)."""
    return {"name": "Acme × Studio", "type": "private_supergroup", "id": 1234567890, "messages": [
        {"id": 1, "type": "service", "date": "2026-11-01T10:00:00", "date_unixtime": "1761991200",
         "actor": "Ivan", "actor_id": "user1", "action": "create_group", "title": "Acme × Studio", "text": ""},
        {"id": 2, "type": "message", "date": "2026-11-01T10:01:00", "date_unixtime": "1761991260",
         "from": "Ivan K", "from_id": "user123456789", "text": "Добрый день! Нужен сайт.", "text_entities": []},
        {"id": 3, "type": "message", "date": "2026-11-01T10:02:00", "date_unixtime": "1761991320",
         "edited": "2026-11-01T10:05:00", "edited_unixtime": "1761991500", "from": "Ivan K", "from_id": "user123456789",
         "text": ["Бриф тут: ", {"type": "link", "text": "https://acme.example/brief"}, " — посмотрите"],
         "text_entities": []},
        {"id": 4, "type": "message", "date": "2026-11-01T10:03:00", "date_unixtime": "1761991380",
         "from": None, "from_id": "channel1234567890", "text": "Posted by the channel"},
    ]}
