"""The admin's inbound views (threads, messages, triage history): read-only, for the triage roles,
a thread's messages on its page, filters that never load a whole table, and a flat statement count."""
import pytest
from sqlalchemy import select

from app.extensions import db
from app.inbound import chatwoot, telegram
from app.models import InboundMessage, InboundThread, InboundThreadEvent
from app.services import triage
from app.services.context import SYSTEM, ChangeRequest
from app.services.inbound import ingest
from tests.conftest import count_statements
from tests.helpers import request_as
from tests.inbound_payloads import cw_message, tg_update

VIEWS = {"thread": "inboundthreadview", "message": "inboundmessageview", "event": "inboundthreadeventview"}


def _ingest(app, records):
    with app.app_context():
        ingest(ChangeRequest(SYSTEM), records)


@pytest.fixture()
def seeded(app, clean_db, users):
    """One Chatwoot thread with two messages, created into an account and contact, with a proposed deal."""
    for message_id, text, at in ((1001, "Hello, we need a new website", "2026-11-20T10:15:00.000Z"),
                                 (1002, "Budget is about 300k " + "and more details " * 20, "2026-11-20T10:20:00.000Z")):
        payload = cw_message(message_id=message_id, content=text, created_at=at)
        payload["sender"]["email"] = payload["conversation"]["meta"]["sender"]["email"] = "anna.p@gmail.com"
        _ingest(app, chatwoot.parse_webhook(payload))
    with app.app_context():
        thread_id = db.session.scalars(select(InboundThread.id)).one()
        triage.create_account_from_sender(request_as(users["Sales"], {
            "account_name": "Кофейня Зерно", "domain": "zerno-coffee.ru", "contact_name": "Anna Petrova"}), thread_id)
        triage.propose_opportunity(request_as(users["Sales"]), thread_id, "Website from chat")
        return {"thread": thread_id,
                "message": db.session.scalars(select(InboundMessage.id).order_by(InboundMessage.sent_at)).first(),
                "event": db.session.scalars(select(InboundThreadEvent.id)).first()}


@pytest.mark.parametrize("role,code", [("Admin", 200), ("Owner", 200), ("Sales", 200), ("PM", 403)])
@pytest.mark.parametrize("kind", list(VIEWS))
def test_views_are_for_the_triage_roles(client, as_role, seeded, role, code, kind):
    as_role(role)
    view = VIEWS[kind]
    assert client.get(f"/{view}/list/").status_code == code
    assert client.get(f"/{view}/show/{seeded[kind]}").status_code == code


@pytest.mark.parametrize("kind", list(VIEWS))
def test_anonymous_is_sent_to_login(client, seeded, kind):
    client.get("/logout/")
    response = client.get(f"/{VIEWS[kind]}/list/")
    assert response.status_code == 302 and "/login/" in response.headers["Location"]


@pytest.mark.parametrize("kind", list(VIEWS))
def test_no_one_edits_threads_messages_or_history_in_the_admin(client, as_role, seeded, kind):
    as_role("Admin")
    view, pk = VIEWS[kind], seeded[kind]
    assert client.get(f"/{view}/add").status_code == 404
    assert client.get(f"/{view}/edit/{pk}").status_code == 404
    assert client.post(f"/{view}/delete/{pk}").status_code in (404, 405)
    page = client.get(f"/{view}/show/{pk}").get_data(as_text=True)
    assert f"/{view}/edit/" not in page and f"/{view}/delete/" not in page


def test_thread_page_shows_its_messages_newest_first_and_its_history_link(client, as_role, seeded):
    as_role("Sales")
    page = client.get(f"/inboundthreadview/show/{seeded['thread']}").get_data(as_text=True)
    assert "Кофейня Зерно" in page and "Anna Petrova" in page and "Website from chat" in page
    assert page.index("Budget is about 300k") < page.index("Hello, we need a new website")
    assert f"/inboundthreadeventview/list/?_flt_0_thread_id={seeded['thread']}" in page
    history = client.get(f"/inboundthreadeventview/list/?_flt_0_thread_id={seeded['thread']}").get_data(as_text=True)
    assert "Account created from the sender" in history and "Opportunity proposed" in history
    assert "Account created" not in client.get(
        "/inboundthreadeventview/list/?_flt_0_thread_id=00000000-0000-4000-8000-000000000000").get_data(as_text=True)


def test_message_list_previews_long_texts_and_the_show_page_has_them_whole(client, as_role, seeded):
    as_role("Sales")
    listed = client.get("/inboundmessageview/list/").get_data(as_text=True)
    assert "Budget is about 300k" in listed and "and more details " * 20 not in listed
    with client.application.app_context():
        long_id = db.session.scalars(select(InboundMessage.id).order_by(InboundMessage.sent_at.desc())).first()
    assert "and more details " * 20 in client.get(f"/inboundmessageview/show/{long_id}").get_data(as_text=True)


@pytest.mark.parametrize("url,shown,hidden", [
    ("/inboundthreadview/list/?_flt_3_status=assigned", "Кофейня Зерно", None),
    ("/inboundthreadview/list/?_flt_3_status=ignored", None, "Кофейня Зерно"),
    ("/inboundthreadview/list/?_flt_0_account_id=not-a-uuid", None, "Кофейня Зерно"),
    ("/inboundmessageview/list/?_flt_2_text=website", "Hello, we need a new website", "Budget is about"),
    ("/inboundthreadeventview/list/?_flt_3_action=opportunity_proposed", "Opportunity proposed", "Account created"),
])
def test_list_filters(client, as_role, seeded, url, shown, hidden):
    as_role("Owner")
    response = client.get(url)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    if shown:
        assert shown in page
    if hidden:
        assert hidden not in _rows(page)


def _rows(page: str) -> str:
    """The list table only (the search form and the menu stay out of it)."""
    start = page.find("<table")
    return page[start:page.find("</table>", start)] if start >= 0 else ""


def test_search_forms_hold_no_related_table(app, client, as_role, seeded):
    """A relation among the filters would put a whole table into a select: none do."""
    as_role("Admin")
    for view in VIEWS.values():
        page = client.get(f"/{view}/list/").get_data(as_text=True)
        assert "Кофейня Зерно</option>" not in page and "Anna Petrova</option>" not in page


def test_russian_labels(client, as_role, seeded):
    as_role("Sales", "ru")
    page = client.get("/inboundthreadview/list/").get_data(as_text=True)
    assert "Входящие диалоги" in page and "Последнее сообщение" in page


def _fill(app, users, start, n):
    """n Telegram threads; every other one attached (account, contact, proposed deal) by triage."""
    for i in range(start, start + n):
        person = {"id": 7000 + i, "type": "private", "first_name": f"P{i}", "username": f"p{i}"}
        _ingest(app, telegram.parse_update(tg_update(update_id=i, message_id=i, chat=person,
                                                     sender={**person, "is_bot": False})))
        if i % 2:
            with app.app_context():
                thread_id = db.session.scalar(select(InboundThread.id).where(InboundThread.external_key == str(7000 + i)))
                triage.create_account_from_sender(request_as(users["Sales"], {
                    "account_name": f"Client {i}", "domain": f"client{i}.ru", "contact_name": f"P{i}"}), thread_id)
                triage.propose_opportunity(request_as(users["Sales"]), thread_id)


@pytest.mark.parametrize("url", ["/inboundthreadview/list/?psize_InboundThreadView=100",
                                 "/inboundmessageview/list/?psize_InboundMessageView=100",
                                 "/inboundthreadeventview/list/?psize_InboundThreadEventView=100"])
def test_list_page_statement_count_does_not_grow_with_rows(app, client, as_role, clean_db, users, url):
    as_role("Sales")
    _fill(app, users, 0, 5)
    small = count_statements(app, client, url)
    _fill(app, users, 5, 45)
    large = count_statements(app, client, url)
    assert small == large, (small, large)


def test_thread_page_statement_count_does_not_grow_with_messages(app, client, as_role, clean_db, users):
    as_role("Sales")
    chat = {"id": 9001, "type": "private", "first_name": "Ivan", "username": "ivan_k"}

    def send(start, n):
        _ingest(app, [record for i in range(start, start + n) for record in telegram.parse_update(
            tg_update(update_id=i, message_id=i, chat=chat, sender={**chat, "is_bot": False}, text=f"message {i}",
                      date=1763633700 + i))])
    send(0, 5)
    with app.app_context():
        thread_id = db.session.scalars(select(InboundThread.id)).one()
    url = f"/inboundthreadview/show/{thread_id}"
    small = count_statements(app, client, url)
    send(5, 45)
    large = count_statements(app, client, url)
    assert small == large, (small, large)
