"""`flask crm import-telegram` (the issue's name) and `telegram-import` with --as; message evidence refs."""
import json
import os
import threading
import uuid

import pytest
from sqlalchemy import func, select

from app.domain.errors import RuleViolation
from app.extensions import db
from app.models import Account, Contact, InboundMessage, InboundThread, InboundThreadEvent
from app.queries.inbox import messages_for_account
from app import scope
from app.services.context import SYSTEM, ChangeRequest
from app.services.evidence import check_message_refs
from app.services.inbound import ingest
from app.inbound.telegram import parse_export, parse_update
from tests.helpers import change_context, request_as
from tests.inbound_payloads import tg_export, tg_update


@pytest.fixture
def export_path(tmp_path):
    path = tmp_path / "result.json"
    path.write_text(json.dumps(tg_export(), ensure_ascii=False), encoding="utf-8")
    return path


@pytest.mark.smoke
def test_import_telegram_alias_with_actor(app, clean_db, users, export_path):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["crm", "import-telegram", str(export_path), "--as", "sales"])
    assert first.exit_code == 0, first.output
    assert "new: 3, already known: 0, skipped: 1" in first.output
    again = runner.invoke(args=["crm", "telegram-import", str(export_path), "--as", "sales"])
    assert "new: 0, already known: 3, skipped: 1" in again.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(InboundMessage)) == 3
        assert db.session.scalar(select(func.count()).select_from(InboundThread)) == 1
        assert db.session.scalar(select(func.count()).select_from(Account)) == 0  # nothing created on arrival


@pytest.mark.smoke
def test_automatic_attachment_records_the_actor_of_the_run(app, clean_db, users):
    with app.app_context():
        with change_context(actor_id=users["Sales"]):
            db.session.add(Contact(account=Account(name="Ivan's shop"), name="Ivan", telegram_handle="@ivan_k"))
            db.session.commit()
        ingest(request_as(users["Sales"]), parse_update(tg_update()))
        event = db.session.scalars(select(InboundThreadEvent)).one()
        assert event.action == "auto_attached" and event.actor_user_id == users["Sales"]


def test_import_refuses_an_unknown_actor_and_changes_nothing(app, clean_db, export_path):
    result = app.test_cli_runner().invoke(args=["crm", "import-telegram", str(export_path), "--as", "nobody"])
    assert result.exit_code != 0 and "no active user 'nobody'" in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(InboundMessage)) == 0


@pytest.mark.smoke
def test_message_refs_must_name_stored_messages(app, clean_db, users):
    with app.app_context():
        records, _ = parse_export(tg_export())
        ingest(ChangeRequest(SYSTEM), records)
        message_id = db.session.scalars(select(InboundMessage.id)).first()
        check_message_refs(db.session, [{"type": "message", "id": str(message_id)}, {"type": "note", "text": "call"}])
        check_message_refs(db.session, [])
        for bad in (str(uuid.uuid4()), "not-a-uuid"):
            with pytest.raises(RuleViolation) as err:
                check_message_refs(db.session, [{"type": "message", "id": bad}])
            assert "evidence_refs" in err.value.messages
        thread = db.session.scalars(select(InboundThread)).one()
        with change_context(actor_id=users["Sales"]):
            account = Account(name="Acme")
            db.session.add(account)
            db.session.flush()
            thread.account_id = account.id
            db.session.commit()
        picked = messages_for_account(account.id, 2)
        assert len(picked) == 2 and picked[0].sent_at >= picked[1].sent_at


ODD_TELEGRAM = [[], "x", 1, None, {}, {"update_id": "abc"}, {"update_id": 1, "message": []},
                {"update_id": 1, "message": {"message_id": 1}},
                {"update_id": 1, "message": {"message_id": 1, "chat": {"id": "nope"}, "date": "x"}},
                {"update_id": 1, "message": {"message_id": None, "chat": {"id": 5}, "date": 1763633700}},
                {"update_id": 1, "message": {"message_id": 1, "chat": {"id": 5}, "date": 1e20, "text": None}},
                {"update_id": 1, "edited_message": {"message_id": 1, "chat": {"id": 5}, "date": 1763633700,
                                                    "edit_date": "later", "text": {"a": 1}}},
                {"update_id": 1, "callback_query": {"id": "1"}}]
ODD_CHATWOOT = [[], {}, {"event": "message_created"}, {"event": "message_created", "id": 1, "account": {"id": 3}},
                {"event": "message_created", "id": 1, "message_type": "incoming", "account": {"id": 3},
                 "conversation": {"id": 4}, "created_at": "yesterday"},
                {"event": "message_created", "id": 1, "message_type": "incoming", "account": {"id": 3},
                 "conversation": "4", "created_at": "2026-11-20T10:15:00Z"},
                {"event": "conversation_created", "id": 4, "account": {"id": 3}, "messages": [{"id": "x"}, 5]},
                {"event": "webwidget_triggered"}]


@pytest.mark.parametrize("body", ODD_TELEGRAM)
def test_odd_telegram_updates_never_500(app, client, clean_db, body):
    response = client.post("/webhooks/telegram", json=body, headers={"X-Telegram-Bot-Api-Secret-Token": "tg-secret"})
    assert response.status_code in (200, 400), response.get_data(as_text=True)


@pytest.mark.parametrize("body", ODD_CHATWOOT)
def test_odd_chatwoot_deliveries_never_500(app, client, clean_db, body):
    from tests.integration.test_inbound_ingest import post_chatwoot

    response = post_chatwoot(client, body)
    assert response.status_code in (200, 400), response.get_data(as_text=True)
    bad_ts = client.post("/webhooks/chatwoot", json=body, headers={"X-Chatwoot-Timestamp": "soon",
                                                                    "X-Chatwoot-Signature": "sha256=00"})
    assert bad_ts.status_code == 401


def _thread_stats(app):
    with app.app_context():
        thread = db.session.scalars(select(InboundThread)).one()
        stored = db.session.scalar(select(func.count()).select_from(InboundMessage))
        return thread.message_count, stored, thread.first_message_at, thread.last_message_at


@pytest.mark.smoke
def test_thread_counters_and_times_follow_the_rows(app, client, clean_db):
    headers = {"X-Telegram-Bot-Api-Secret-Token": "tg-secret"}
    for message_id, date in ((5, 1763633900), (3, 1763633700), (4, 1763633800), (3, 1763633700)):
        client.post("/webhooks/telegram", json=tg_update(update_id=message_id, message_id=message_id, date=date),
                    headers=headers)
    client.post("/webhooks/telegram", json=tg_update(message_id=6, kind="edited_message", text="edit first",
                                                     date=1763634000, edit_date=1763634100), headers=headers)
    client.post("/webhooks/telegram", json=tg_update(message_id=6, text="original", date=1763634000), headers=headers)
    n, stored, first, last = _thread_stats(app)
    assert n == stored == 4
    assert int(first.timestamp()) == 1763633700 and int(last.timestamp()) == 1763634000


@pytest.mark.skipif(os.environ.get("CRM_TEST_DB") == "sqlite", reason="concurrency on PostgreSQL")
def test_overlapping_imports_at_the_same_moment_count_each_message_once(app, clean_db):
    export = tg_export()
    export["messages"] = [{"id": i, "type": "message", "date_unixtime": str(1763633000 + i), "from": "Ivan K",
                           "from_id": "user1", "text": f"m{i}"} for i in range(1, 301)]
    records, _ = parse_export(export)
    slices = [records[0:200], records[100:300], records[50:250], records[::-1]]
    barrier = threading.Barrier(len(slices))
    errors = []

    def run(part):
        with app.app_context(), scope.scoped(scope.SYSTEM):  # a new thread starts with no read scope
            barrier.wait(timeout=10)
            try:
                ingest(ChangeRequest(SYSTEM), part)
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
            finally:
                db.session.remove()

    workers = [threading.Thread(target=run, args=(part,)) for part in slices]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert not errors
    n, stored, first, last = _thread_stats(app)
    assert n == stored == 300
    assert int(first.timestamp()) == 1763633001 and int(last.timestamp()) == 1763633300
