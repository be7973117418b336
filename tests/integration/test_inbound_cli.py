"""`flask crm import-telegram` (the issue's name) and `telegram-import` with --as; message evidence refs."""
import json
import uuid

import pytest
from sqlalchemy import func, select

from app.domain.errors import RuleViolation
from app.extensions import db
from app.models import Account, Contact, InboundMessage, InboundThread, InboundThreadEvent
from app.services.inbound import check_message_refs, ingest, messages_for_account
from app.inbound.telegram import parse_export, parse_update
from app.services.context import change_context
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
        db.session.add(Contact(account=Account(name="Ivan's shop"), name="Ivan", telegram_handle="@ivan_k"))
        db.session.commit()
        with change_context(actor_id=users["Sales"]):
            ingest(parse_update(tg_update()))
        db.session.commit()
        event = db.session.scalars(select(InboundThreadEvent)).one()
        assert event.action == "auto_attached" and event.actor_user_id == users["Sales"]


def test_import_refuses_an_unknown_actor_and_changes_nothing(app, clean_db, export_path):
    result = app.test_cli_runner().invoke(args=["crm", "import-telegram", str(export_path), "--as", "nobody"])
    assert result.exit_code != 0 and "no active user 'nobody'" in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(InboundMessage)) == 0


@pytest.mark.smoke
def test_message_refs_must_name_stored_messages(app, clean_db):
    with app.app_context():
        records, _ = parse_export(tg_export())
        ingest(records)
        db.session.commit()
        message_id = db.session.scalars(select(InboundMessage.id)).first()
        check_message_refs([{"type": "message", "id": str(message_id)}, {"type": "note", "text": "call"}])
        check_message_refs([])
        for bad in (str(uuid.uuid4()), "not-a-uuid"):
            with pytest.raises(RuleViolation) as err:
                check_message_refs([{"type": "message", "id": bad}])
            assert "evidence_refs" in err.value.messages
        thread = db.session.scalars(select(InboundThread)).one()
        account = Account(name="Acme")
        db.session.add(account)
        db.session.flush()
        thread.account_id = account.id
        db.session.commit()
        picked = messages_for_account(account.id, 2)
        assert len(picked) == 2 and picked[0].sent_at >= picked[1].sent_at
