"""What the CRM refuses, and that a refusal changes nothing: deleting audit rows and deals (ORM
and REST), database refusals turned into field messages, and triage actions on bad input."""
import html
import sqlite3
import uuid
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.domain.errors import ConflictError, RuleViolation
from app.extensions import db
from app.inbound import chatwoot
from app.models import Account, Contact, InboundThread, InboundThreadEvent, Opportunity, OpportunityEvent
from app.services.context import SYSTEM, ChangeRequest
from app.services.db_errors import CONSTRAINTS, integrity_error
from app.services.inbound import ingest
from app.services.records import delete_record
from tests.helpers import change_context, committed, request_as
from tests.inbound_payloads import cw_message


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


# --- deals and their audit are never deleted ---------------------------------------------------

@pytest.fixture()
def deal(app, clean_db, users):
    """A deal with its `created` audit row."""
    with app.app_context():
        with change_context(actor_id=users["Sales"]), committed():
            db.session.add(Opportunity(account=Account(name="Acme", domain="acme.ru"), name="Website"))
        opp_id, event_id = db.session.execute(select(OpportunityEvent.opportunity_id, OpportunityEvent.id)).one()
        return SimpleNamespace(id=opp_id, event_id=event_id)


@pytest.mark.smoke
@pytest.mark.parametrize("role", ["Admin", "Owner", "Sales"])
def test_the_delete_verb_refuses_to_delete_an_audit_event_and_it_stays(app, deal, users, role):
    with app.app_context():
        event = db.session.get(OpportunityEvent, deal.event_id)
        with pytest.raises(RuleViolation) as refused:
            delete_record(request_as(users[role]), event)
        assert refused.value.messages == {"id": ["Audit events cannot be changed or deleted."]}
    with app.app_context():
        assert db.session.get(OpportunityEvent, deal.event_id) is not None
        assert count(OpportunityEvent, OpportunityEvent.opportunity_id == deal.id) == 1


@pytest.mark.smoke
def test_a_direct_orm_delete_of_an_audit_event_is_refused_in_its_flush(app, deal, users):
    with app.app_context():
        with pytest.raises(RuleViolation) as refused:
            with change_context(actor_id=users["Admin"]), committed() as session:
                session.delete(session.get(OpportunityEvent, deal.event_id))
        assert set(refused.value.messages) == {"id"}
    with app.app_context():
        assert db.session.get(OpportunityEvent, deal.event_id).event_type == "created"


@pytest.mark.smoke
def test_the_delete_verb_refuses_to_delete_a_deal_and_keeps_it_with_its_history(app, deal, users):
    with app.app_context():
        opp = db.session.get(Opportunity, deal.id)
        with pytest.raises(RuleViolation) as refused:
            delete_record(request_as(users["Admin"]), opp)
        assert refused.value.messages == {"id": ["Opportunities are never deleted: close them as lost instead."]}
    with app.app_context():
        opp = db.session.get(Opportunity, deal.id)
        assert opp is not None and opp.name == "Website" and opp.status == "open"
        assert count(OpportunityEvent, OpportunityEvent.opportunity_id == deal.id) == 1


@pytest.mark.smoke
@pytest.mark.parametrize("role", ["Admin", "Owner", "Sales"])
def test_rest_has_no_delete_for_deals_or_audit_events(app, client, api, deal, role):
    """DELETE is not routed for either resource (GET on the same URL is): 405, and both stay."""
    for url in (f"/api/v1/opportunities/{deal.id}", f"/api/v1/opportunity_events/{deal.event_id}"):
        assert client.get(url, headers=api(role)).status_code == 200
        assert client.delete(url, headers=api(role)).status_code == 405, url
    with app.app_context():
        assert db.session.get(Opportunity, deal.id) is not None
        assert db.session.get(OpportunityEvent, deal.event_id) is not None


# --- database refusals as field messages -----------------------------------------------------

class PgError(Exception):
    """What psycopg2 raises: the server's text, and the violated constraint in `diag`."""

    def __init__(self, text, constraint_name=None):
        super().__init__(text)
        self.diag = SimpleNamespace(constraint_name=constraint_name)


def refusal(orig) -> IntegrityError:
    return IntegrityError("INSERT INTO accounts (name) VALUES (%(name)s)", {"name": None}, orig)


@pytest.mark.smoke
def test_a_known_constraint_named_by_the_server_is_a_message_on_its_field():
    error = integrity_error(refusal(PgError(
        'duplicate key value violates unique constraint "uq_contacts_email_lower"\n'
        "DETAIL:  Key (lower(email::text))=(anna@zerno.ru) already exists.", "uq_contacts_email_lower")))
    assert isinstance(error, ConflictError)
    assert error.messages == {"email": ["A contact with this e-mail already exists."]}
    check = integrity_error(refusal(PgError(
        'new row for relation "accounts" violates check constraint "ck_accounts_icp_fit_score"',
        "ck_accounts_icp_fit_score")))
    assert type(check) is RuleViolation and check.messages == {"icp_fit_score": ["Must be between 0 and 100."]}


@pytest.mark.smoke
@pytest.mark.parametrize("text,field,conflict", [
    ("UNIQUE constraint failed: index 'uq_accounts_domain_lower'", "domain", True),
    ("CHECK constraint failed: ck_opportunities_probability", "probability", False),
    ("CHECK constraint failed: ck_projects_dates", "end_date", False),
])
def test_sqlite_names_the_constraint_only_in_its_text(text, field, conflict):
    error = integrity_error(refusal(sqlite3.IntegrityError(text)))
    assert type(error) is (ConflictError if conflict else RuleViolation)
    assert error.messages == {field: [CONSTRAINTS[text.rsplit(" ", 1)[-1].strip("'")][1]]}


@pytest.mark.smoke
@pytest.mark.parametrize("orig", [
    PgError('null value in column "name" of relation "accounts" violates not-null constraint\n'
            "DETAIL:  Failing row contains (...).", None),
    sqlite3.IntegrityError("NOT NULL constraint failed: accounts.name"),
], ids=["postgresql", "sqlite"])
def test_an_unknown_not_null_refusal_is_a_missing_field_rule(orig):
    error = integrity_error(refusal(orig))
    assert type(error) is RuleViolation
    assert error.messages == {"_schema": ["A required field is missing."]}


@pytest.mark.smoke
@pytest.mark.parametrize("orig", [
    PgError('insert or update on table "contacts" violates foreign key constraint "contacts_account_id_fkey"\n'
            'DETAIL:  Key (account_id)=(0d6c...) is not present in table "accounts".', "contacts_account_id_fkey"),
    PgError('update or delete on table "accounts" violates foreign key constraint "opportunities_account_id_fkey" '
            'on table "opportunities"', "opportunities_account_id_fkey"),
    sqlite3.IntegrityError("FOREIGN KEY constraint failed"),
], ids=["pg-missing-parent", "pg-still-in-use", "sqlite"])
def test_an_unknown_foreign_key_refusal_is_a_rule_on_the_whole_record(orig):
    error = integrity_error(refusal(orig))
    assert type(error) is RuleViolation
    assert error.messages == {"_schema": ["A referenced record does not exist or is still in use."]}


@pytest.mark.smoke
@pytest.mark.parametrize("orig", [
    PgError('duplicate key value violates unique constraint "ab_user_username_key"', "ab_user_username_key"),
    PgError("exclusion constraint violated", None),
    sqlite3.IntegrityError("UNIQUE constraint failed: ab_user.username"),
], ids=["pg-unknown-unique", "pg-no-name", "sqlite-unknown-unique"])
def test_any_other_refusal_is_a_conflict_without_sql_text(orig):
    error = integrity_error(refusal(orig))
    assert type(error) is ConflictError
    assert error.messages == {"_schema": ["The change conflicts with existing data."]}
    assert "ab_user" not in str(error) and "constraint" not in str(error)


@pytest.fixture()
def account_id(app, clean_db, users):
    with app.app_context():
        with change_context(actor_id=users["Sales"]), committed():
            db.session.add(Account(name="Кофейня Зерно", domain="zerno-coffee.ru"))
        return str(db.session.scalars(select(Account.id)).one())


@pytest.mark.smoke
@pytest.mark.parametrize("second_email", ["anna@zerno-coffee.ru", "Anna@Zerno-Coffee.RU"])
def test_a_second_contact_with_the_same_email_is_a_409_on_email(app, client, api, account_id, second_email):
    first = client.post("/api/v1/contacts/", headers=api("Sales"),
                        json={"account_id": account_id, "name": "Anna", "email": "anna@zerno-coffee.ru"})
    assert first.status_code == 201, first.get_data(as_text=True)
    second = client.post("/api/v1/contacts/", headers=api("Sales"),
                         json={"account_id": account_id, "name": "Anna P.", "email": second_email})
    assert second.status_code == 409, second.get_data(as_text=True)
    assert second.get_json()["message"] == {"email": ["A contact with this e-mail already exists."]}
    with app.app_context():
        assert count(Contact) == 1
    # The session is usable again after the refusal: the next request works.
    third = client.post("/api/v1/contacts/", headers=api("Sales"),
                        json={"account_id": account_id, "name": "Boris", "email": "boris@zerno-coffee.ru"})
    assert third.status_code == 201
    with app.app_context():
        assert count(Contact) == 2


# --- triage refusals over HTTP ---------------------------------------------------------------

@pytest.fixture()
def thread(app, clean_db):
    """An unassigned Chatwoot thread from a free-mail sender (no account matches it)."""
    payload = cw_message()
    payload["sender"]["email"] = payload["conversation"]["meta"]["sender"]["email"] = "anna.p@gmail.com"
    with app.app_context():
        ingest(ChangeRequest(SYSTEM), chatwoot.parse_webhook(payload))
        return db.session.scalars(select(InboundThread)).one().id


def thread_state(app, thread_id):
    with app.app_context():
        t = db.session.get(InboundThread, thread_id)
        actions = db.session.scalars(select(InboundThreadEvent.action).where(InboundThreadEvent.thread_id == thread_id)).all()
        return SimpleNamespace(status=t.status, account_id=t.account_id, opportunity_id=t.opportunity_id, actions=actions)


def page_text(response) -> str:
    assert response.status_code == 200
    return html.unescape(response.get_data(as_text=True))


@pytest.mark.smoke
def test_create_account_with_bad_sender_fields_shows_every_message_and_creates_nothing(app, client, as_role, thread):
    as_role("Sales")
    response = client.post(f"/triage/{thread}/create_account", follow_redirects=True, data={
        "account_name": "   ", "domain": "not a domain", "contact_name": "Anna", "email": "x@"})
    page = page_text(response)
    assert "An account needs a name." in page
    assert "Not a valid domain, e.g. studio.ru" in page
    assert "Not a valid e-mail address." in page
    assert "Done." not in page
    with app.app_context():
        assert count(Account) == 0 and count(Contact) == 0
    state = thread_state(app, thread)
    assert (state.status, state.account_id, state.actions) == ("unassigned", None, [])


@pytest.mark.smoke
@pytest.mark.parametrize("account_id", [lambda: str(uuid.uuid4()), lambda: ""], ids=["unknown", "blank"])
def test_assign_to_an_account_that_does_not_exist_is_refused(app, client, as_role, thread, account_id):
    as_role("Sales")
    page = page_text(client.post(f"/triage/{thread}/assign", data={"account_id": account_id()},
                                 follow_redirects=True))
    assert "No such account." in page and "Done." not in page
    state = thread_state(app, thread)
    assert (state.status, state.account_id, state.actions) == ("unassigned", None, [])


@pytest.mark.smoke
def test_assign_with_an_account_id_that_is_no_id_at_all_is_refused_not_a_crash(app, client, as_role, thread):
    """A hand-edited form (or a stale select box) can send anything; the user gets the message."""
    as_role("Sales")
    response = client.post(f"/triage/{thread}/assign", data={"account_id": "not-a-uuid"}, follow_redirects=True)
    assert "No such account." in page_text(response)
    assert thread_state(app, thread).status == "unassigned"


@pytest.mark.smoke
def test_propose_before_assigning_asks_to_assign_first_and_proposes_nothing(app, client, as_role, thread):
    as_role("Sales")
    page = page_text(client.post(f"/triage/{thread}/propose", data={"name": "Website from chat"},
                                 follow_redirects=True))
    assert "Assign the thread to an account first." in page and "Done." not in page
    with app.app_context():
        assert count(Opportunity) == 0 and count(OpportunityEvent) == 0
    state = thread_state(app, thread)
    assert (state.status, state.opportunity_id, state.actions) == ("unassigned", None, [])
