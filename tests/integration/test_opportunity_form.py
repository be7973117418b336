"""The generated edit form goes through the same rules: evidence, next step, versions."""
import re

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Account, Opportunity, OpportunityEvent
from tests.helpers import change_context


@pytest.fixture()
def opp(app, clean_db, users):
    with app.app_context(), change_context(actor_id=users["Sales"]):
        account = Account(name="Acme", domain="acme.com")
        deal = Opportunity(account=account, name="Website", owner_user_id=users["Sales"])
        db.session.add(deal)
        db.session.commit()
        return {"id": deal.id, "account": account.id, "owner": users["Sales"]}


def form_data(opp, **changes):
    data = {"account": str(opp["account"]), "name": "Website", "stage": "lead", "currency": "RUB",
            "owner": str(opp["owner"]), "expected_version": "1",
            "forecast_category": "pipeline"}
    data.update(changes)
    return data


def events(app):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(OpportunityEvent))


def test_stage_change_without_evidence_is_an_error_on_the_evidence_field(app, client, as_role, opp):
    as_role("Sales")
    before = events(app)
    page = client.post(f"/opportunityview/edit/{opp['id']}", data=form_data(
        opp, stage="qualified", next_step_text="Call", next_step_due_at="2030-01-10 10:00:00"))
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert re.search(r'id="evidence".*?needs evidence', html, re.S)
    assert events(app) == before


def test_qualified_without_next_step_is_an_error_on_that_field(app, client, as_role, opp):
    as_role("Sales")
    page = client.post(f"/opportunityview/edit/{opp['id']}", data=form_data(opp, stage="qualified", evidence="https://x.ru/mail"))
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert re.search(r'id="next_step_due_at".*?due date', html, re.S)
    with app.app_context():
        assert db.session.get(Opportunity, opp["id"]).stage == "lead"


def test_a_valid_move_from_the_form_is_audited_with_the_evidence(app, client, as_role, opp, users):
    as_role("Sales")
    response = client.post(f"/opportunityview/edit/{opp['id']}", data=form_data(
        opp, stage="qualified", next_step_text="Call", next_step_due_at="2030-01-10 10:00:00",
        evidence="https://mail.example.com/1\nClient confirmed on the phone"))
    assert response.status_code == 302
    with app.app_context():
        stage_event = db.session.scalars(select(OpportunityEvent).where(OpportunityEvent.event_type == "stage_changed")).one()
        assert stage_event.actor_user_id == users["Sales"]
        assert stage_event.evidence_refs == [{"type": "url", "url": "https://mail.example.com/1"},
                                             {"type": "note", "text": "Client confirmed on the phone"}]


def test_a_stale_form_is_refused_and_names_who_changed_it(app, client, as_role, opp):
    as_role("Sales")
    assert client.post(f"/opportunityview/edit/{opp['id']}", data=form_data(opp, next_step_text="First")).status_code == 302
    page = client.post(f"/opportunityview/edit/{opp['id']}", data=form_data(opp, next_step_text="Second"))
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "changed by someone else" in html and "Last changed by Sales User" in html
    with app.app_context():
        assert db.session.get(Opportunity, opp["id"]).next_step_text == "First"
