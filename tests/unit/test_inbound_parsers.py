"""Chatwoot and Telegram payloads become the same normalised records, with every trap handled."""
from datetime import datetime, timezone

import pytest

from app.inbound import chatwoot, telegram
from app.inbound.matching import email_domain, normalise_phone, similarity
from app.inbound.records import UnusablePayload
from app.inbound.signatures import SignatureError, sign_chatwoot, verify_chatwoot, verify_telegram
from tests.inbound_payloads import SUPERGROUP, cw_conversation, cw_message, tg_export, tg_update


def test_chatwoot_incoming_message_keys_and_fields():
    (record,) = chatwoot.parse_webhook(cw_message())
    assert record.external_key == "3:1001" and record.thread.external_key == "3:42"
    assert record.direction == "incoming" and not record.private
    assert record.sent_at == datetime(2026, 11, 20, 10, 15, tzinfo=timezone.utc)
    assert record.sender_email == "anna@zerno-coffee.ru" and record.sender_name == "Anna Petrova"


def test_chatwoot_display_ids_are_per_account():
    a = chatwoot.parse_webhook(cw_message(account_id=3))[0]
    b = chatwoot.parse_webhook(cw_message(account_id=4, message_id=1002))[0]
    assert a.thread.external_key != b.thread.external_key


def test_chatwoot_outgoing_private_and_activity():
    (out,) = chatwoot.parse_webhook(cw_message(message_type="outgoing", message_id=5))
    assert out.direction == "outgoing" and out.sender_name == "Studio Agent"
    (note,) = chatwoot.parse_webhook(cw_message(private=True, message_type="outgoing", message_id=6))
    assert note.private
    assert chatwoot.parse_webhook(cw_message(message_type="activity")) == []


def test_chatwoot_nested_messages_use_integer_types_and_unix_times():
    records = chatwoot.parse_webhook(cw_conversation())
    assert [r.external_key for r in records] == ["3:2001"]  # the activity message is skipped
    assert records[0].sent_at == datetime.fromtimestamp(1763633700, tz=timezone.utc)


def test_chatwoot_update_is_an_edit_and_other_events_carry_nothing():
    (edit,) = chatwoot.parse_webhook(cw_message(event="message_updated", content="Fixed",
                                                updated_at="2026-11-20T11:00:00Z"))
    assert edit.edited_at == datetime(2026, 11, 20, 11, tzinfo=timezone.utc) and edit.text == "Fixed"
    assert chatwoot.parse_webhook({"event": "contact_created", "id": 5}) == []
    assert chatwoot.parse_webhook({"event": "webwidget_triggered"}) == []
    with pytest.raises(UnusablePayload):
        chatwoot.parse_webhook({"event": "message_created", "id": 1, "message_type": "incoming"})


def test_telegram_private_group_topic_and_bot():
    (private,) = telegram.parse_update(tg_update())
    assert private.external_key == "123456789:10" and private.thread.external_key == "123456789"
    assert private.sender_handle == "@ivan_k" and private.direction == "incoming"
    (topic,) = telegram.parse_update(tg_update(chat=SUPERGROUP, message_id=77, message_thread_id=5, is_topic_message=True))
    assert topic.thread.external_key == "-1001234567890:5" and topic.thread.title == "Acme × Studio"
    (general,) = telegram.parse_update(tg_update(chat=SUPERGROUP, message_id=78))
    assert general.thread.external_key == "-1001234567890"
    (bot,) = telegram.parse_update(tg_update(sender={"id": 1, "is_bot": True, "first_name": "StudioBot"}))
    assert bot.direction == "outgoing"


def test_telegram_edits_channel_posts_captions_and_other_kinds():
    (edit,) = telegram.parse_update(tg_update(kind="edited_message", text="исправлено", edit_date=1763634000))
    assert edit.external_key == "123456789:10" and edit.edited_at == datetime.fromtimestamp(1763634000, tz=timezone.utc)
    (post,) = telegram.parse_update({"update_id": 3, "channel_post": {"message_id": 1, "chat": {"id": -1009, "type": "channel", "title": "News"},
                                                                     "date": 1763633700, "caption": "photo caption"}})
    assert post.text == "photo caption"
    assert telegram.parse_update({"update_id": 4, "callback_query": {"id": "1"}}) == []


def test_telegram_export_maps_ids_text_lists_times_and_skips_service_entries():
    records, skipped = telegram.parse_export(tg_export())
    assert skipped == 1
    assert [r.external_key for r in records] == ["-1001234567890:2", "-1001234567890:3", "-1001234567890:4"]
    assert records[1].text == "Бриф тут: https://acme.example/brief — посмотрите"
    assert records[0].sent_at == datetime.fromtimestamp(1761991260, tz=timezone.utc)
    assert records[1].edited_at == datetime.fromtimestamp(1761991500, tz=timezone.utc)
    assert records[2].sender_name is None
    (webhook,) = telegram.parse_update(tg_update(chat=SUPERGROUP, message_id=2))
    assert webhook.external_key == records[0].external_key and webhook.thread.external_key == records[0].thread.external_key
    with pytest.raises(UnusablePayload):
        telegram.parse_export({"name": "x"})


def test_chatwoot_signature():
    body, now = b'{"event": "message_created"}', 1_800_000_000
    good = sign_chatwoot("s3cret", body, now)
    verify_chatwoot("s3cret", body, str(now), good, now=now + 10)
    for secret, ts, sig, at in [("s3cret", str(now), good.replace("a", "b", 1), now),  # bad
                                ("s3cret", str(now), good, now + 3600),  # stale
                                ("s3cret", None, None, now),  # absent
                                (None, str(now), good, now),  # no secret configured
                                ("s3cret", "soon", good, now)]:
        with pytest.raises(SignatureError):
            verify_chatwoot(secret, body, ts, sig, now=at)
    with pytest.raises(SignatureError):
        verify_chatwoot("s3cret", body + b" ", str(now), good, now=now)


def test_telegram_secret_token():
    verify_telegram("tok", "tok")
    for secret, header in [("tok", "nope"), ("tok", None), (None, "tok")]:
        with pytest.raises(SignatureError):
            verify_telegram(secret, header)


def test_matching_helpers():
    assert email_domain("Anna@Zerno-Coffee.RU") == "zerno-coffee.ru"
    assert email_domain("someone@gmail.com") is None and email_domain("x@yandex.ru") is None
    assert normalise_phone("8 (916) 555-12-34") == "+79165551234" == normalise_phone("+7 916 555 12 34")
    assert similarity("ООО «Кофейня Зерно»", "Кофейня Зерно") > 0.9
    assert similarity("Acme LLC", "Northwind") < 0.5
