"""The triage queue: a person decides; every action once, recorded with its actor, undoable."""
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlparse

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Account, Contact, InboundMessage, InboundThread, InboundThreadEvent, Opportunity, OpportunityEvent
from app.services.context import SYSTEM, ChangeRequest
from app.services.inbound import ingest
from app.inbound import chatwoot
from tests.helpers import change_context
from tests.inbound_payloads import CW_CONTACT, cw_message


@pytest.fixture()
def thread(app, clean_db):
    """An unassigned Chatwoot thread from a free-mail sender."""
    payload = cw_message()
    payload["sender"]["email"] = payload["conversation"]["meta"]["sender"]["email"] = "anna.p@gmail.com"
    with app.app_context():
        ingest(ChangeRequest(SYSTEM), chatwoot.parse_webhook(payload))
        return db.session.scalars(select(InboundThread)).one().id


def add_accounts(app, actor_id, *accounts):
    """Seed accounts as this user would (audited records need a change request); their ids."""
    with app.app_context(), change_context(actor_id=actor_id):
        db.session.add_all(accounts)
        db.session.commit()
        return [account.id for account in accounts]


def events(app, action=None):
    with app.app_context():
        query = select(InboundThreadEvent).order_by(InboundThreadEvent.created_at)
        if action:
            query = query.where(InboundThreadEvent.action == action)
        return db.session.scalars(query).all()


def state(app, thread_id):
    with app.app_context():
        return db.session.get(InboundThread, thread_id)


@pytest.mark.parametrize("role,code", [("Owner", 200), ("Sales", 200), ("PM", 403), ("Admin", 200)])
def test_queue_is_for_owner_and_sales(client, as_role, thread, role, code):
    as_role(role)
    response = client.get("/triage/")
    assert response.status_code == code
    if code == 200:
        page = response.get_data(as_text=True)
        assert "Anna Petrova" in page and "Hello, we need a new website" in page


@pytest.mark.parametrize("role,allowed", [("Owner", True), ("Sales", True), ("PM", False)])
def test_each_action_per_role(app, client, as_role, thread, users, role, allowed):
    account_id, = add_accounts(app, users["Owner"], Account(name="Кофейня Зерно", domain="zerno-coffee.ru"))
    as_role(role)
    code = client.post(f"/triage/{thread}/assign", data={"account_id": str(account_id)}).status_code
    assert code == (302 if allowed else 403)
    for action in ("propose", "ignore", "undo"):
        assert client.post(f"/triage/{thread}/{action}").status_code == (302 if allowed else 403)
    if allowed:
        assert [e.actor_user_id for e in events(app)] == [users[role]] * 4


def test_assign_twice_and_propose_twice_create_nothing_twice(app, client, as_role, thread, users):
    account_id, = add_accounts(app, users["Sales"], Account(name="Zerno", domain="zerno.ru"))
    as_role("Sales")
    for _ in range(2):
        client.post(f"/triage/{thread}/assign", data={"account_id": str(account_id)})
        client.post(f"/triage/{thread}/propose", data={"name": "Website from chat"})
    assert len(events(app, "assigned")) == 1 and len(events(app, "opportunity_proposed")) == 1
    with app.app_context():
        opp = db.session.scalars(select(Opportunity)).one()
        assert opp.proposed and opp.name == "Website from chat" and opp.account_id == account_id
        assert state(app, thread).opportunity_id == opp.id
        assert db.session.get(Account, account_id).last_touch_at is not None
    board = client.get("/board/").get_data(as_text=True)
    assert "board-proposed" in board and "Website from chat" in board


def test_create_account_and_contact_from_the_sender(app, client, as_role, thread):
    as_role("Sales")
    page = client.get("/triage/").get_data(as_text=True)
    assert 'value="Кофейня Зерно"' in page and 'value="anna.p@gmail.com"' in page  # prefilled
    form = {"account_name": "Кофейня Зерно", "domain": "zerno-coffee.ru", "contact_name": "Anna Petrova",
            "email": "anna.p@gmail.com", "phone": "+7 916 555-12-34"}
    client.post(f"/triage/{thread}/create_account", data=form)
    client.post(f"/triage/{thread}/create_account", data=form)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Account)) == 1
        contact = db.session.scalars(select(Contact)).one()
        assert contact.phone == "+79165551234" and contact.account.domain == "zerno-coffee.ru"
        assert state(app, thread).status == "assigned" and state(app, thread).contact_id == contact.id
    bad = client.post(f"/triage/{thread}/create_account", data={"account_name": ""}, follow_redirects=True)
    assert bad.status_code == 200


def test_ignore_and_undo(app, client, as_role, thread):
    as_role("Owner")
    client.post(f"/triage/{thread}/ignore")
    assert state(app, thread).status == "ignored"
    assert "Nothing waits" in client.get("/triage/").get_data(as_text=True)
    client.post(f"/triage/{thread}/undo")
    assert state(app, thread).status == "unassigned"
    client.post(f"/triage/{thread}/undo")  # nothing left to undo
    assert [e.action for e in events(app)] == ["ignored", "undone"]


def test_undoing_a_proposal_withdraws_the_proposed_deal(app, client, as_role, thread, users):
    account_id, = add_accounts(app, users["Sales"], Account(name="Zerno"))
    as_role("Sales")
    client.post(f"/triage/{thread}/assign", data={"account_id": str(account_id)})
    client.post(f"/triage/{thread}/propose")
    client.post(f"/triage/{thread}/undo")
    with app.app_context():
        # Issue 11: undo withdraws the proposal (kept, still a proposal in lead, audited) instead of losing it.
        opp = db.session.scalars(select(Opportunity)).one()
        assert opp.proposed and opp.stage == "lead" and opp.withdrawn_at is not None
        assert opp.status != "lost" and opp.lost_reason is None and opp.closed_at is None
        withdrawn = db.session.scalars(select(OpportunityEvent).where(OpportunityEvent.opportunity_id == opp.id,
                                                                      OpportunityEvent.event_type == "withdrawn")).one()
        assert withdrawn.actor_user_id == users["Sales"]
        assert not db.session.scalars(select(OpportunityEvent).where(OpportunityEvent.opportunity_id == opp.id,
                                                                     OpportunityEvent.event_type == "lost")).all()
        assert state(app, thread).opportunity_id is None and state(app, thread).account_id == account_id


def test_account_search_for_the_assign_box(app, client, as_role, clean_db, users):
    add_accounts(app, users["Sales"], Account(name="Кофейня Зерно", domain="zerno.ru"), Account(name="Acme", domain="acme.com"))
    as_role("Sales")
    found = client.get("/triage/accounts?q=зерно").get_json()
    assert [a["text"] for a in found] == ["Кофейня Зерно (zerno.ru)"]
    assert client.get("/triage/accounts?q=acme.c").get_json()[0]["text"].startswith("Acme")


def test_chatwoot_backfill_pages_the_rest_api(app, clean_db):
    conversation = {"id": 42, "inbox_id": 9, "status": "open", "meta": {"sender": CW_CONTACT}}
    pages = {
        ("/api/v1/accounts/3/conversations", "1"): {"data": {"meta": {"all_count": 1}, "payload": [conversation]}},
        ("/api/v1/accounts/3/conversations", "2"): {"data": {"meta": {"all_count": 1}, "payload": []}},
        ("/api/v1/accounts/3/conversations/42/messages", None): {"meta": {}, "payload": [
            {"id": 1001, "content": "Hello, we need a new website", "message_type": 0, "created_at": 1763633700},
            {"id": 1000, "content": "Hi", "message_type": 0, "created_at": 1763633600}]},
        ("/api/v1/accounts/3/conversations/42/messages", "1000"): {"meta": {}, "payload": [
            {"id": 999, "content": "Conversation started", "message_type": 2, "created_at": 1763633500}]},
        ("/api/v1/accounts/3/conversations/42/messages", "999"): {"meta": {}, "payload": []},
    }
    seen_tokens = []

    class Recorded(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            url = urlparse(self.path)
            query = parse_qs(url.query)
            key = query.get("page", query.get("before", [None]))[0]
            seen_tokens.append(self.headers.get("api_access_token"))
            body = json.dumps(pages.get((url.path, key), {"payload": []})).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Recorded)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        runner = app.test_cli_runner()
        args = ["crm", "chatwoot-backfill", "--url", base, "--account-id", "3", "--token", "t0k"]
        first = runner.invoke(args=args)
        assert first.exit_code == 0, first.output
        assert "new: 2, already known: 0" in first.output
        assert "new: 0, already known: 2" in runner.invoke(args=args).output
        assert set(seen_tokens) == {"t0k"}
        refused = runner.invoke(args=["crm", "chatwoot-backfill", "--url", "http://127.0.0.1:1", "--account-id", "3",
                                      "--token", "x"])
        assert refused.exit_code != 0 and "cannot reach Chatwoot" in refused.output
    finally:
        server.shutdown()
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(InboundMessage)) == 2
        assert db.session.scalars(select(InboundThread)).one().external_key == "3:42"
