"""Each role against each generated view and API endpoint: 200 or 403 exactly as README's table says."""
import pytest
from sqlalchemy import select

from app.extensions import db
from app.inbound import chatwoot
from app.models import (Account, Contact, InboundMessage, InboundThread, InboundThreadEvent, Offer, Opportunity, Project,
                        ProjectMember)
from app.services import triage
from app.services.context import SYSTEM, ChangeRequest
from app.services.inbound import ingest
from tests.helpers import change_context, request_as
from tests.inbound_payloads import cw_message

# entity -> (view endpoint, api resource or None)
ENTITIES = {
    "account": ("accountview", "accounts"),
    "contact": ("contactview", "contacts"),
    "opportunity": ("opportunityview", "opportunities"),
    "project": ("projectview", "projects"),
    "project_member": ("projectmemberview", "project_members"),
    "offer": ("offerview", "offers"),
    "event": ("opportunityeventview", "opportunity_events"),
    "inbound_thread": ("inboundthreadview", "inbound_threads"),
    "inbound_message": ("inboundmessageview", None),
    "inbound_event": ("inboundthreadeventview", None),
}
# No add/edit form and no PUT: audit rows, and inbound data (a thread changes only through the
# triage actions, whose rights tests/e2e/test_inbound_api.py checks per role).
READ_ONLY = {"event", "inbound_thread", "inbound_message", "inbound_event"}
R, W, D = "read", "write", "delete"
INBOUND = {"inbound_thread": {R}, "inbound_message": {R}, "inbound_event": {R}}
NO_INBOUND = {"inbound_thread": set(), "inbound_message": set(), "inbound_event": set()}
# README "Roles": what each role may do with each entity (project members go with projects;
# inbound threads, messages and their history with triage: Owner, Sales and Admin).
TABLE = {
    "Admin": {"account": {R, W, D}, "contact": {R, W, D}, "opportunity": {R, W}, "project": {R, W, D},
              "project_member": {R, W, D}, "offer": {R, W, D}, "event": {R}, **INBOUND},
    "Owner": {"account": {R, W, D}, "contact": {R, W, D}, "opportunity": {R, W}, "project": {R, W, D},
              "project_member": {R, W, D}, "offer": {R, W, D}, "event": {R}, **INBOUND},
    "Sales": {"account": {R, W}, "contact": {R, W}, "opportunity": {R, W}, "project": {R},
              "project_member": {R}, "offer": {R, W}, "event": {R}, **INBOUND},
    "PM": {"account": {R}, "contact": {R}, "opportunity": {R}, "project": {R, W}, "project_member": {R, W},
           "offer": {R}, "event": {R}, **NO_INBOUND},
}


@pytest.fixture()
def records(app, clean_db, users):
    with app.app_context(), change_context(actor_id=users["Admin"]):
        # owned by the Sales user: this table is about role rights; whose records Sales may
        # change is tests/e2e/test_ownership.py's matrix
        account = Account(name="Role Test", domain="roletest.ru", owner_user_id=users["Sales"])
        contact = Contact(account=account, name="Anna")
        opp = Opportunity(account=account, name="Deal", owner_user_id=users["Sales"])
        project = Project(account=account, name="Site")
        db.session.add_all([account, contact, opp, project])
        db.session.flush()
        offer = Offer(opportunity_id=opp.id, title="Offer")
        member = ProjectMember(project_id=project.id, user_id=users["PM"], role="PM")
        # Sales works on the project too: this table is about role rights; what a non-member may
        # see of a project is tests/e2e/test_project_scope.py's matrix.
        db.session.add_all([offer, member, ProjectMember(project_id=project.id, user_id=users["Sales"], role="sales")])
        db.session.commit()
        event_id = opp.events[0].id
        ids = {"account": account.id, "contact": contact.id, "opportunity": opp.id, "project": project.id,
               "project_member": member.id, "offer": offer.id, "event": event_id}
    with app.app_context():
        ingest(ChangeRequest(SYSTEM), chatwoot.parse_webhook(cw_message()))
        thread_id = db.session.scalars(select(InboundThread.id)).one()
        triage.ignore_thread(request_as(users["Sales"]), thread_id)
        ids.update(inbound_thread=thread_id, inbound_message=db.session.scalars(select(InboundMessage.id)).one(),
                   inbound_event=db.session.scalars(select(InboundThreadEvent.id)).one())
    return ids


def expected(role, entity, right):
    return 200 if right in TABLE[role][entity] else 403


@pytest.mark.parametrize("role", list(TABLE))
@pytest.mark.parametrize("entity", list(ENTITIES))
def test_generated_views_answer_as_the_role_table_says(client, as_role, records, role, entity):
    view, _ = ENTITIES[entity]
    as_role(role)
    pk = records[entity]
    assert client.get(f"/{view}/list/").status_code == expected(role, entity, R)
    assert client.get(f"/{view}/show/{pk}").status_code == expected(role, entity, R)
    if entity not in READ_ONLY:
        assert client.get(f"/{view}/add").status_code == expected(role, entity, W)
        assert client.get(f"/{view}/edit/{pk}").status_code == expected(role, entity, W)


@pytest.mark.parametrize("role", list(TABLE))
@pytest.mark.parametrize("entity", [entity for entity, (_, resource) in ENTITIES.items() if resource])
def test_generated_api_answers_as_the_role_table_says(client, api, records, role, entity):
    _, resource = ENTITIES[entity]
    headers = api(role)
    pk = records[entity]
    assert client.get(f"/api/v1/{resource}/", headers=headers).status_code == expected(role, entity, R)
    assert client.get(f"/api/v1/{resource}/{pk}", headers=headers).status_code == expected(role, entity, R)
    if entity not in READ_ONLY:
        code = client.put(f"/api/v1/{resource}/{pk}", json={}, headers=headers).status_code
        assert code == expected(role, entity, W) or (code == 422 and W in TABLE[role][entity])


@pytest.mark.parametrize("role", list(TABLE))
def test_deleting_needs_the_delete_right(client, api, records, role):
    for entity in ("contact", "offer", "project_member", "project"):
        _, resource = ENTITIES[entity]
        code = client.delete(f"/api/v1/{resource}/{records[entity]}", headers=api(role)).status_code
        assert code == expected(role, entity, D), (entity, code)


@pytest.mark.parametrize("role,code", [("Admin", 200), ("Owner", 403), ("Sales", 403), ("PM", 403)])
def test_only_admin_administers_users(client, as_role, role, code):
    as_role(role)
    assert client.get("/users/list/").status_code == code


def test_anonymous_is_sent_to_login(client):
    client.get("/logout/")
    response = client.get("/accountview/list/")
    assert response.status_code == 302 and "/login/" in response.headers["Location"]
    assert client.get("/api/v1/accounts/").status_code == 401
