"""Webhooks and imports store each message once, whatever arrives twice, late or out of order."""
import json
import threading
import time

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.inbound.signatures import sign_chatwoot
from app.models import Account, Contact, InboundMessage, InboundThread, InboundThreadEvent
from tests.conftest import USE_SQLITE
from tests.helpers import change_context
from tests.inbound_payloads import SUPERGROUP, cw_conversation, cw_message, tg_export, tg_update

SECRET = "cw-secret"  # set on the test app in conftest


def post_chatwoot(client, payload, *, secret=SECRET, ts=None, raw=None):
    body = raw if raw is not None else json.dumps(payload).encode()
    ts = int(time.time()) if ts is None else ts
    headers = {"X-Chatwoot-Timestamp": str(ts), "X-Chatwoot-Signature": sign_chatwoot(secret, body, ts),
               "X-Chatwoot-Delivery": "d1", "Content-Type": "application/json"}
    return client.post("/webhooks/chatwoot", data=body, headers=headers)


def post_telegram(client, update, token="tg-secret"):
    headers = {"X-Telegram-Bot-Api-Secret-Token": token} if token else {}
    return client.post("/webhooks/telegram", json=update, headers=headers)


def count(app, model, *where):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def messages(app):
    with app.app_context():
        return {m.external_key: m for m in db.session.scalars(select(InboundMessage))}


@pytest.mark.parametrize("kind", ["valid", "wrong secret", "stale", "absent", "future"])
def test_chatwoot_signature_matrix(app, client, clean_db, kind):
    payload = cw_message()
    if kind == "valid":
        assert post_chatwoot(client, payload).status_code == 200
        assert count(app, InboundMessage) == 1
        return
    if kind == "absent":
        response = client.post("/webhooks/chatwoot", json=payload)
    else:
        ts = {"stale": int(time.time()) - 3600, "future": int(time.time()) + 3600}.get(kind)
        response = post_chatwoot(client, payload, secret="other" if kind == "wrong secret" else SECRET, ts=ts)
    assert response.status_code == 401
    assert count(app, InboundMessage) == 0


def test_without_a_configured_secret_everything_is_refused(app, client, clean_db):
    app.config["CHATWOOT_WEBHOOK_SECRET"], app.config["TELEGRAM_WEBHOOK_SECRET"] = None, None
    try:
        assert post_chatwoot(client, cw_message(), secret="anything").status_code == 401
        assert post_telegram(client, tg_update(), token="anything").status_code == 401
    finally:
        app.config["CHATWOOT_WEBHOOK_SECRET"], app.config["TELEGRAM_WEBHOOK_SECRET"] = "cw-secret", "tg-secret"


def test_telegram_secret_token_is_required(app, client, clean_db):
    assert post_telegram(client, tg_update(), token=None).status_code == 401
    assert post_telegram(client, tg_update(), token="wrong").status_code == 401
    assert post_telegram(client, tg_update()).status_code == 200
    assert count(app, InboundMessage) == 1


def test_malformed_json_is_400_and_unusable_payload_is_200_with_nothing_stored(app, client, clean_db):
    assert post_chatwoot(client, None, raw=b"{not json").status_code == 400
    assert post_chatwoot(client, {"event": "message_created", "id": 5}).status_code == 200
    assert post_telegram(client, {"update_id": 1, "callback_query": {"id": "x"}}).status_code == 200
    assert count(app, InboundMessage) == 0 and count(app, InboundThread) == 0


@pytest.mark.smoke
def test_the_same_delivery_twice_is_one_message(app, client, clean_db):
    for _ in range(2):
        assert post_chatwoot(client, cw_message()).status_code == 200
        assert post_telegram(client, tg_update()).status_code == 200
    post_chatwoot(client, cw_conversation(messages=[{"id": 1001, "content": "Hello, we need a new website",
                                                     "message_type": 0, "created_at": 1763633700}]))
    assert count(app, InboundMessage) == 2
    with app.app_context():
        thread = db.session.scalars(select(InboundThread).where(InboundThread.source == "chatwoot")).one()
        assert thread.message_count == 1


@pytest.mark.skipif(USE_SQLITE, reason="concurrency on PostgreSQL")
def test_identical_deliveries_at_the_same_moment_are_one_message(app, clean_db):
    barrier = threading.Barrier(4)
    codes = []

    def deliver(i):
        client = app.test_client()
        barrier.wait(timeout=10)
        if i % 2:
            codes.append(post_chatwoot(client, cw_message()).status_code)
        else:
            codes.append(post_telegram(client, tg_update()).status_code)

    threads = [threading.Thread(target=deliver, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert codes == [200] * 4
    assert count(app, InboundMessage) == 2 and count(app, InboundThread) == 2


@pytest.mark.smoke
def test_edits_in_order_and_out_of_order_end_with_the_newest_text(app, client, clean_db):
    post_telegram(client, tg_update(text="v1"))
    post_telegram(client, tg_update(kind="edited_message", text="v3", edit_date=1763634300))
    post_telegram(client, tg_update(kind="edited_message", text="v2", edit_date=1763634000))  # late, older edit
    post_telegram(client, tg_update(message_id=11, kind="edited_message", text="edited first", edit_date=1763634000))
    post_telegram(client, tg_update(message_id=11, text="original arrives late"))
    stored = messages(app)
    assert len(stored) == 2
    assert stored["123456789:10"].text == "v3" and stored["123456789:11"].text == "edited first"
    post_chatwoot(client, cw_message())
    post_chatwoot(client, cw_message(event="message_updated", content="Hello, we need a new website and a logo",
                                     updated_at="2026-11-20T12:00:00Z"))
    assert messages(app)["3:1001"].text.endswith("and a logo") and count(app, InboundMessage) == 3


@pytest.mark.smoke
def test_private_notes_and_outgoing_messages_are_kept_apart(app, client, clean_db, users):
    with app.app_context(), change_context(actor_id=users["Sales"]):
        db.session.add(Contact(account=Account(name="Zerno", domain="zerno-coffee.ru"), name="Anna",
                               email="anna@zerno-coffee.ru"))
        db.session.commit()
    post_chatwoot(client, cw_message(message_id=1, message_type="outgoing", private=True, content="internal: cheap client",
                                     created_at="2026-11-21T10:00:00Z"))
    post_chatwoot(client, cw_message(message_id=2, message_type="outgoing", content="Sure, let's talk",
                                     created_at="2026-11-20T11:00:00Z"))
    stored = messages(app)
    assert stored["3:1"].private and stored["3:1"].direction == "outgoing"
    assert stored["3:2"].direction == "outgoing" and not stored["3:2"].private
    post_chatwoot(client, cw_message(message_id=3))
    with app.app_context():
        account = db.session.scalars(select(Account)).one()
        # the private note (newest) is not a client touch; the outgoing reply is the latest touch
        assert account.last_touch_at.replace(tzinfo=None).isoformat().startswith("2026-11-20T11:00")


def test_topics_are_threads_of_their_own(app, client, clean_db):
    post_telegram(client, tg_update(chat=SUPERGROUP, message_id=1, message_thread_id=7, is_topic_message=True))
    post_telegram(client, tg_update(chat=SUPERGROUP, message_id=2, message_thread_id=8, is_topic_message=True))
    post_telegram(client, tg_update(chat=SUPERGROUP, message_id=3))
    with app.app_context():
        keys = set(db.session.scalars(select(InboundThread.external_key)))
    assert keys == {"-1001234567890:7", "-1001234567890:8", "-1001234567890"}


@pytest.mark.smoke
def test_export_twice_and_overlapping_webhooks_add_nothing_new(app, client, clean_db, tmp_path):
    post_telegram(client, tg_update(chat=SUPERGROUP, message_id=2, text="Добрый день! Нужен сайт."))
    path = tmp_path / "result.json"
    path.write_text(json.dumps(tg_export(), ensure_ascii=False), encoding="utf-8")
    runner = app.test_cli_runner()
    first = runner.invoke(args=["crm", "telegram-import", str(path)])
    assert first.exit_code == 0, first.output
    assert "new: 2, already known: 1, skipped: 1" in first.output
    second = runner.invoke(args=["crm", "telegram-import", str(path)])
    assert "new: 0, already known: 3, skipped: 1" in second.output
    assert count(app, InboundMessage) == 3 and count(app, InboundThread) == 1
    bad = tmp_path / "bad.json"
    bad.write_text("{oops", encoding="utf-8")
    refused = runner.invoke(args=["crm", "telegram-import", str(bad)])
    assert refused.exit_code != 0 and "not JSON" in refused.output


def test_threads_attach_only_when_exactly_one_match(app, client, clean_db, users):
    with app.app_context(), change_context(actor_id=users["Sales"]):
        zerno = Account(name="Zerno", domain="zerno-coffee.ru")
        db.session.add_all([zerno, Contact(account=Account(name="Ivan's shop"), name="Ivan", telegram_handle="@Ivan_K"),
                            Account(name="Gmail Co", domain="gmail.com")])
        db.session.commit()
        zerno_id = zerno.id
    post_chatwoot(client, cw_message())  # domain of anna@zerno-coffee.ru → Zerno
    post_telegram(client, tg_update())  # @ivan_k → Ivan's contact
    free = cw_message(message_id=9, display_id=43)
    free["sender"]["email"] = free["conversation"]["meta"]["sender"]["email"] = "someone@gmail.com"
    post_chatwoot(client, free)  # free mail: never matched by domain
    with app.app_context():
        threads = {t.external_key: t for t in db.session.scalars(select(InboundThread))}
        assert threads["3:42"].account_id == zerno_id and threads["3:42"].status == "assigned"
        assert threads["123456789"].contact_id is not None
        assert threads["3:43"].status == "unassigned" and threads["3:43"].account_id is None
        assert db.session.scalar(select(func.count()).select_from(InboundThreadEvent)
                                 .where(InboundThreadEvent.action == "auto_attached")) == 2
    assert count(app, Account) == 3 and count(app, Contact) == 1  # nothing created on arrival


def test_ambiguous_domain_stays_unassigned(app, client, clean_db, users):
    with app.app_context(), change_context(actor_id=users["Sales"]):
        db.session.add_all([Contact(account=Account(name="A"), name="Anna 1", email="anna@zerno-coffee.ru"),
                            Contact(account=Account(name="B"), name="Anna 2", phone="+79165551234")])
        db.session.commit()
    post_chatwoot(client, cw_message())  # e-mail matches one contact, phone the other: ambiguous
    with app.app_context():
        assert db.session.scalars(select(InboundThread)).one().status == "unassigned"
