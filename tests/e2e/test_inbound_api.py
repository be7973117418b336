"""Inbound over REST as a script drives it: read threads and their messages, run each triage action
(idempotent, recorded once), refusals in their order (404 → 401/403 → 400 → 409 → 422), and the
project members endpoint."""
import uuid

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.inbound import chatwoot, telegram
from app.models import Account, Contact, InboundThread, InboundThreadEvent, Opportunity, Project, ProjectMember
from app.services.context import SYSTEM, ChangeRequest
from app.services import triage
from app.services.inbound import ingest
from tests.conftest import count_statements
from tests.helpers import change_context, request_as
from tests.inbound_payloads import cw_message, tg_update

BASE = "/api/v1/inbound_threads"
MISSING = "00000000-0000-4000-8000-000000000000"


def _ingest(app, records):
    with app.app_context():
        ingest(ChangeRequest(SYSTEM), records)


@pytest.fixture()
def thread(app, clean_db):
    """An unassigned Chatwoot thread (free-mail sender: nothing attaches it) with two client messages."""
    first = cw_message(message_id=1001, content="Hello, we need a new website", created_at="2026-11-20T10:15:00.000Z")
    second = cw_message(message_id=1002, content="Budget is about 300k", created_at="2026-11-20T10:20:00.000Z")
    for payload in (first, second):
        payload["sender"]["email"] = payload["conversation"]["meta"]["sender"]["email"] = "anna.p@gmail.com"
        _ingest(app, chatwoot.parse_webhook(payload))
    with app.app_context():
        return str(db.session.scalars(select(InboundThread)).one().id)


@pytest.fixture()
def account(app, thread, users):
    with app.app_context(), change_context(actor_id=users["Admin"]):
        acc = Account(name="Кофейня Зерно", domain="zerno-coffee.ru")
        db.session.add(acc)
        db.session.commit()
        return str(acc.id)


def counts(app):
    with app.app_context():
        return {m.__name__: db.session.scalar(select(func.count()).select_from(m))
                for m in (Account, Contact, Opportunity, InboundThreadEvent)}


def thread_events(app, action=None):
    with app.app_context():
        query = select(InboundThreadEvent.action)
        if action:
            query = query.where(InboundThreadEvent.action == action)
        return list(db.session.scalars(query))


# ---- who may do what -----------------------------------------------------------------------------

READERS = [("Admin", 200), ("Owner", 200), ("Sales", 200), ("PM", 403)]


@pytest.mark.parametrize("role,code", READERS)
def test_reading_threads_is_for_the_triage_roles(client, api, thread, role, code):
    assert client.get(f"{BASE}/", headers=api(role)).status_code == code
    assert client.get(f"{BASE}/?status=unassigned", headers=api(role)).status_code == code
    assert client.get(f"{BASE}/{thread}", headers=api(role)).status_code == code
    assert client.get(f"{BASE}/_info", headers=api(role)).status_code == code


@pytest.mark.parametrize("role,code", READERS)
def test_each_triage_action_is_for_the_triage_roles(app, client, api, thread, account, role, code):
    h = api(role)
    assert client.post(f"{BASE}/{thread}/assign", json={"account_id": account}, headers=h).status_code == code
    assert client.post(f"{BASE}/{thread}/propose", json={}, headers=h).status_code == code
    assert client.post(f"{BASE}/{thread}/ignore", headers=h).status_code == code
    assert client.post(f"{BASE}/{thread}/undo", headers=h).status_code == code
    fresh = client.post(f"{BASE}/{thread}/create_account", json={"account_name": "Other"}, headers=h)
    assert fresh.status_code == code
    if code == 403:
        assert thread_events(app) == []


def test_anonymous_gets_401(client, thread):
    client.get("/logout/")
    assert client.get(f"{BASE}/").status_code == 401
    assert client.get(f"{BASE}/{thread}").status_code == 401
    assert client.post(f"{BASE}/{thread}/ignore").status_code == 401
    assert client.get("/api/v1/project_members/").status_code == 401


def test_no_generated_writes_on_threads(client, api, thread):
    h = api("Admin")
    assert client.post(f"{BASE}/", json={"title": "x"}, headers=h).status_code == 405
    assert client.put(f"{BASE}/{thread}", json={"status": "ignored"}, headers=h).status_code == 405
    assert client.delete(f"{BASE}/{thread}", headers=h).status_code == 405


# ---- reads ---------------------------------------------------------------------------------------

def test_list_with_plain_filters(app, client, api, thread, account):
    h = api("Sales")
    body = client.get(f"{BASE}/?status=unassigned&source=chatwoot", headers=h).get_json()
    assert body["count"] == 1 and body["ids"] == [thread]
    row = body["result"][0]
    assert row["status"] == "unassigned" and row["source"] == "chatwoot" and row["message_count"] == 2
    assert row["last_message_at"].endswith("+00:00")
    assert client.get(f"{BASE}/?status=assigned,ignored", headers=h).get_json()["count"] == 0
    assert client.get(f"{BASE}/?source=telegram", headers=h).get_json()["count"] == 0
    assert client.get(f"{BASE}/?account_id={account}", headers=h).get_json()["count"] == 0
    client.post(f"{BASE}/{thread}/assign", json={"account_id": account}, headers=h)
    assert client.get(f"{BASE}/?account_id={account}", headers=h).get_json()["ids"] == [thread]


def test_list_with_rison_q(client, api, thread):
    h = api("Sales")
    found = client.get(f"{BASE}/?q=(filters:!((col:status,opr:eq,value:unassigned)))", headers=h)
    assert found.status_code == 200 and found.get_json()["ids"] == [thread]
    assert client.get(f"{BASE}/?q=(filters:!((col:status,opr:eq,value:ignored)))", headers=h).get_json()["count"] == 0
    # a UUID column filters by equality; a malformed id matches nothing (never a 500)
    by_account = client.get(f"{BASE}/?q=(filters:!((col:account_id,opr:eq,value:nope)))", headers=h)
    assert by_account.status_code == 200 and by_account.get_json()["count"] == 0


@pytest.mark.parametrize("query,field", [
    ("status=open", "status"), ("status=", "status"), ("source=whatsapp", "source"),
    ("source=chatwoot,email", "source"), ("account_id=42", "account_id"), ("status=assigned&page=-1", "page"),
    ("status=assigned&page_size=0", "page_size"), ("status=assigned&page_size=101", "page_size"),
    ("status=assigned&page=x", "page"), ("status=assigned&q=(page:0)", "q"),
])
def test_bad_filter_is_400_naming_it(client, api, thread, query, field):
    response = client.get(f"{BASE}/?{query}", headers=api("Sales"))
    assert response.status_code == 400, response.get_json()
    assert field in response.get_json()["message"]


def test_bad_rison_is_400(client, api, thread):
    response = client.get(f"{BASE}/?q=(filters:!((col:nope,opr:eq,value:x)))", headers=api("Sales"))
    assert response.status_code == 400


def test_one_thread_with_its_messages_newest_first_and_paged(app, client, api, thread):
    h = api("Sales")
    body = client.get(f"{BASE}/{thread}", headers=h).get_json()
    assert body["id"] == thread
    result = body["result"]
    assert result["status"] == "unassigned" and result["messages_total"] == 2
    assert [m["text"] for m in result["messages"]] == ["Budget is about 300k", "Hello, we need a new website"]
    assert result["messages"][0]["direction"] == "incoming" and "raw" not in result["messages"][0]
    assert (result["messages_page"], result["messages_page_size"]) == (0, 50)
    second = client.get(f"{BASE}/{thread}?messages_page=1&messages_page_size=1", headers=h).get_json()["result"]
    assert [m["text"] for m in second["messages"]] == ["Hello, we need a new website"]
    assert second["messages_total"] == 2


def test_one_thread_refusals_in_order(client, api, thread):
    h = api("Sales")
    assert client.get(f"{BASE}/{MISSING}", headers=h).status_code == 404
    assert client.get(f"{BASE}/{MISSING}?messages_page=x", headers=h).status_code == 404
    bad = client.get(f"{BASE}/{thread}?messages_page_size=500", headers=h)
    assert bad.status_code == 400 and "messages_page_size" in bad.get_json()["message"]
    assert client.get(f"{BASE}/not-a-uuid", headers=h).status_code == 404


def fill_threads(app, users, start, n):
    """n Telegram threads; every other one attached (account, contact, proposed deal) by triage."""
    for i in range(start, start + n):
        person = {"id": 5000 + i, "type": "private", "first_name": f"P{i}", "username": f"p{i}"}
        _ingest(app, telegram.parse_update(tg_update(update_id=i, message_id=i, chat=person,
                                                     sender={**person, "is_bot": False})))
        if i % 2:
            with app.app_context():
                thread_id = db.session.scalar(select(InboundThread.id).where(InboundThread.external_key == str(5000 + i)))
                triage.create_account_from_sender(request_as(users["Sales"], {
                    "account_name": f"Client {i}", "domain": f"client{i}.ru", "contact_name": f"P{i}"}), thread_id)
                triage.propose_opportunity(request_as(users["Sales"]), thread_id)


def test_list_and_show_statements_do_not_grow_with_rows(app, client, as_role, clean_db, users):
    as_role("Sales")  # the API also takes the session cookie (GETs need no CSRF token)
    fill_threads(app, users, 0, 5)
    with app.app_context():
        one = str(db.session.scalars(select(InboundThread.id).limit(1)).one())
    urls = [f"{BASE}/?page_size=100", f"{BASE}/?status=unassigned,assigned&page_size=100",
            f"{BASE}/?q=(page_size:100)", f"{BASE}/{one}"]
    small = [count_statements(app, client, url) for url in urls]
    fill_threads(app, users, 5, 45)
    assert client.get(f"{BASE}/?page_size=100").get_json()["count"] == 50
    large = [count_statements(app, client, url) for url in urls]
    assert small == large


# ---- triage actions ------------------------------------------------------------------------------

def test_assign_twice_writes_once(app, client, api, thread, account, users):
    h = api("Sales")
    first = client.post(f"{BASE}/{thread}/assign", json={"account_id": account}, headers=h)
    assert first.status_code == 200, first.get_json()
    body = first.get_json()
    assert body["action"] == "assign" and body["changed"] is True and body["id"] == thread
    assert body["result"] == {"status": "assigned", "account_id": account, "contact_id": None, "opportunity_id": None}
    before = counts(app)
    again = client.post(f"{BASE}/{thread}/assign", json={"account_id": account}, headers=h)
    assert again.status_code == 200 and again.get_json()["changed"] is False
    assert again.get_json()["result"] == body["result"]
    assert counts(app) == before
    assert thread_events(app, "assigned") == ["assigned"]
    with app.app_context():
        event = db.session.scalars(select(InboundThreadEvent)).one()
        assert event.actor_user_id == users["Sales"]


def test_assign_refusals_in_order(app, client, api, thread):
    h = api("Sales")
    # 404 for a missing thread comes before a malformed body
    assert client.post(f"{BASE}/{MISSING}/assign", json={"nope": 1}, headers=h).status_code == 404
    unknown = client.post(f"{BASE}/{thread}/assign", json={"account_id": MISSING, "nope": 1}, headers=h)
    assert unknown.status_code == 400 and "nope" in unknown.get_json()["message"]
    not_json = client.post(f"{BASE}/{thread}/assign", data="account_id=1", headers=h,
                           content_type="application/x-www-form-urlencoded")
    assert not_json.status_code == 400
    no_account = client.post(f"{BASE}/{thread}/assign", json={"account_id": MISSING}, headers=h)
    assert no_account.status_code == 422 and "account_id" in no_account.get_json()["message"]
    malformed = client.post(f"{BASE}/{thread}/assign", json={"account_id": "42"}, headers=h)
    assert malformed.status_code == 422 and "account_id" in malformed.get_json()["message"]
    assert client.post(f"{BASE}/{thread}/assign", json={}, headers=h).status_code == 422
    assert thread_events(app) == []


def test_create_account_validation_is_422_per_field_and_writes_nothing(app, client, api, thread):
    h = api("Sales")
    before = counts(app)
    response = client.post(f"{BASE}/{thread}/create_account", json={
        "account_name": " ", "domain": "not a domain", "contact_name": "Anna", "email": "anna@"}, headers=h)
    assert response.status_code == 422, response.get_json()
    messages = response.get_json()["message"]
    assert set(messages) == {"account_name", "domain", "email"}
    assert all(isinstance(m, list) and m for m in messages.values())
    too_long = client.post(f"{BASE}/{thread}/create_account", json={"account_name": "x" * 300}, headers=h)
    assert too_long.status_code == 422 and "account_name" in too_long.get_json()["message"]
    unknown = client.post(f"{BASE}/{thread}/create_account", json={"account_name": "A", "city": "Moscow"}, headers=h)
    assert unknown.status_code == 400
    assert counts(app) == before
    russian = client.post(f"{BASE}/{thread}/create_account?_l_=ru", json={"account_name": ""}, headers=h)
    assert russian.status_code == 422 and russian.get_json()["message"]["account_name"] != ["An account needs a name."]


def test_create_account_and_contact_then_again_creates_nothing(app, client, api, thread):
    h = api("Owner")
    body = {"account_name": "Кофейня Зерно", "domain": "https://www.Zerno-Coffee.ru/", "contact_name": "Anna Petrova",
            "email": "Anna.P@gmail.com", "phone": "+7 916 555-12-34", "telegram_handle": "@anna_p"}
    first = client.post(f"{BASE}/{thread}/create_account", json=body, headers=h)
    assert first.status_code == 200, first.get_json()
    answer = first.get_json()
    assert answer["changed"] is True and answer["account"]["domain"] == "zerno-coffee.ru"
    assert answer["contact"]["name"] == "Anna Petrova"
    assert answer["result"]["status"] == "assigned"
    assert answer["result"]["account_id"] == answer["account"]["id"]
    assert answer["result"]["contact_id"] == answer["contact"]["id"]
    before = counts(app)
    again = client.post(f"{BASE}/{thread}/create_account", json={**body, "account_name": "Another"}, headers=h)
    assert again.status_code == 200 and again.get_json()["changed"] is False
    assert again.get_json()["account"]["id"] == answer["account"]["id"]
    assert counts(app) == before and thread_events(app, "account_created") == ["account_created"]


def test_create_account_with_a_taken_domain_is_409_with_that_account(app, client, api, thread, account):
    before = counts(app)
    response = client.post(f"{BASE}/{thread}/create_account", json={"account_name": "Zerno again",
                                                                     "domain": "ZERNO-coffee.ru"}, headers=api("Sales"))
    assert response.status_code == 409, response.get_json()
    assert response.get_json()["id"] == account and "domain" in response.get_json()["message"]
    assert counts(app) == before


def test_propose_twice_returns_the_same_opportunity(app, client, api, thread, account):
    h = api("Sales")
    early = client.post(f"{BASE}/{thread}/propose", headers=h)
    assert early.status_code == 422 and "account_id" in early.get_json()["message"]
    client.post(f"{BASE}/{thread}/assign", json={"account_id": account}, headers=h)
    first = client.post(f"{BASE}/{thread}/propose", json={"name": "Website from chat"}, headers=h)
    assert first.status_code == 200, first.get_json()
    opp = first.get_json()["opportunity"]
    assert first.get_json()["changed"] is True and opp["proposed"] is True and opp["name"] == "Website from chat"
    assert first.get_json()["result"]["opportunity_id"] == opp["id"]
    again = client.post(f"{BASE}/{thread}/propose", json={"name": "Something else"}, headers=h)
    assert again.status_code == 200 and again.get_json()["changed"] is False
    assert again.get_json()["opportunity"]["id"] == opp["id"]
    assert counts(app)["Opportunity"] == 1 and thread_events(app, "opportunity_proposed") == ["opportunity_proposed"]


def test_ignore_and_undo(app, client, api, thread):
    h = api("Sales")
    first = client.post(f"{BASE}/{thread}/ignore", headers=h)
    assert first.status_code == 200 and first.get_json()["changed"] is True
    assert first.get_json()["result"]["status"] == "ignored"
    assert client.post(f"{BASE}/{thread}/ignore", json={}, headers=h).get_json()["changed"] is False
    assert client.post(f"{BASE}/{thread}/ignore", json={"why": "spam"}, headers=h).status_code == 400
    undo = client.post(f"{BASE}/{thread}/undo", headers=h)
    assert undo.status_code == 200 and undo.get_json()["undone"] == "ignored"
    assert undo.get_json()["changed"] is True and undo.get_json()["result"]["status"] == "unassigned"
    nothing = client.post(f"{BASE}/{thread}/undo", headers=h).get_json()
    assert nothing["changed"] is False and nothing["undone"] is None
    assert thread_events(app) == ["ignored", "undone"]
    assert client.post(f"{BASE}/{MISSING}/undo", headers=h).status_code == 404


def test_undoing_a_proposal_withdraws_the_deal(app, client, api, thread, account):
    h = api("Sales")
    client.post(f"{BASE}/{thread}/assign", json={"account_id": account}, headers=h)
    opp_id = client.post(f"{BASE}/{thread}/propose", headers=h).get_json()["opportunity"]["id"]
    undo = client.post(f"{BASE}/{thread}/undo", headers=h).get_json()
    assert undo["undone"] == "opportunity_proposed" and undo["result"]["opportunity_id"] is None
    assert undo["result"]["account_id"] == account
    with app.app_context():
        assert db.session.get(Opportunity, uuid.UUID(opp_id)) is not None  # withdrawn, never deleted


def test_openapi_documents_the_inbound_endpoints(client, api):
    spec = client.get("/api/v1/_openapi", headers=api("Admin")).get_json()
    paths = spec["paths"]
    for path in ("/inbound_threads/", "/inbound_threads/{pk}", "/inbound_threads/{pk}/assign",
                 "/inbound_threads/{pk}/create_account", "/inbound_threads/{pk}/propose",
                 "/inbound_threads/{pk}/ignore", "/inbound_threads/{pk}/undo", "/project_members/"):
        assert "/api/v1" + path in paths, path
    assign = paths["/api/v1/inbound_threads/{pk}/assign"]["post"]
    assert "TriageAssignSchema" in str(assign["requestBody"]) and {"200", "400", "404", "422"} <= set(assign["responses"])
    assert "messages_page" in str(paths["/api/v1/inbound_threads/{pk}"]["get"])
    assert "TriageResultSchema" in spec["components"]["schemas"]


# ---- project members -----------------------------------------------------------------------------

@pytest.fixture()
def project(app, clean_db, users):
    """A project whose PM is the PM user (a member, so they may manage its members)."""
    with app.app_context(), change_context(actor_id=users["Admin"]):
        acc = Account(name="Members Inc")
        proj = Project(account=acc, name="Site", pm_user_id=users["PM"])
        db.session.add_all([acc, proj, ProjectMember(project=proj, user_id=users["PM"], role="pm")])
        db.session.commit()
        return str(proj.id)


# Project rights (README "Roles"): Admin and Owner read, write, delete; PM read, write; Sales read.
MEMBER_RIGHTS = {"Admin": {"read", "write", "delete"}, "Owner": {"read", "write", "delete"},
                 "Sales": {"read"}, "PM": {"read", "write"}}


@pytest.mark.parametrize("role", list(MEMBER_RIGHTS))
def test_project_members_follow_the_project_rights(app, client, api, project, users, role):
    rights, h, admin = MEMBER_RIGHTS[role], api(role), api("Admin")
    created = client.post("/api/v1/project_members/", json={"project_id": project, "user_id": users["Sales"],
                                                            "role": "designer"}, headers=h)
    assert created.status_code == (201 if "write" in rights else 403), created.get_json()
    if created.status_code != 201:
        created = client.post("/api/v1/project_members/", json={"project_id": project, "user_id": users["Sales"],
                                                                "role": "designer"}, headers=admin)
    member = created.get_json()["id"]
    listed = client.get(f"/api/v1/project_members/?q=(filters:!((col:project_id,opr:eq,value:'{project}')))",
                        headers=h)
    assert listed.status_code == 200 and member in listed.get_json()["ids"] and listed.get_json()["count"] == 2
    assert client.get(f"/api/v1/project_members/{member}", headers=h).get_json()["result"]["role"] == "designer"
    put = client.put(f"/api/v1/project_members/{member}", json={"role": "lead designer"}, headers=h)
    assert put.status_code == (200 if "write" in rights else 403)
    deleted = client.delete(f"/api/v1/project_members/{member}", headers=h)
    assert deleted.status_code == (200 if "delete" in rights else 403)


def test_project_member_refusals(app, client, api, project, users):
    h = api("PM")
    body = {"project_id": project, "user_id": users["Sales"], "role": "designer"}
    assert client.post("/api/v1/project_members/", json=body, headers=h).status_code == 201
    duplicate = client.post("/api/v1/project_members/", json=body, headers=h)
    assert duplicate.status_code == 409, duplicate.get_json()
    unknown = client.post("/api/v1/project_members/", json={**body, "colour": "red"}, headers=h)
    assert unknown.status_code == 400
    no_project = client.post("/api/v1/project_members/", json={**body, "project_id": MISSING}, headers=h)
    assert no_project.status_code == 422, no_project.get_json()
    assert client.get(f"/api/v1/project_members/{MISSING}", headers=h).status_code == 404
    malformed = client.get("/api/v1/project_members/?q=(filters:!((col:project_id,opr:eq,value:nope)))", headers=h)
    assert malformed.status_code == 200 and malformed.get_json()["count"] == 0
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ProjectMember)) == 2  # the PM and the one added
