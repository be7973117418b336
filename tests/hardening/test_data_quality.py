"""Data quality at the boundary: names that are blank once trimmed (zero-width characters too) are
refused on every path, the owner given twice is ambiguous, a note goes only to a deal of the
account in the URL, actions redirect only to the app's own pages, generated lists have no CSV
export that a spreadsheet could run."""
import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Account, Opportunity, OpportunityEvent
from app.services.opportunities import create_opportunity
from app.services.records import save_record
from tests.helpers import request_as


@pytest.fixture()
def two_accounts(app, clean_db, users):
    with app.app_context():
        a = save_record(request_as(users["Sales"]), Account(name="Alder"))
        b = save_record(request_as(users["Sales"]), Account(name="Birch"))
        deal_b, _ = create_opportunity(request_as(users["Sales"], {"account_id": b.id, "name": "Birch site"}))
        return {"a": a.id, "b": b.id, "deal_b": deal_b.id}


@pytest.mark.smoke
@pytest.mark.parametrize("name", ["   ", "\u200b\u200b", "\ufeff \u2060"])
def test_blank_names_are_refused_on_the_api(app, client, api, clean_db, name):
    response = client.post("/api/v1/accounts/", json={"name": name}, headers=api("Sales"))
    assert response.status_code in (400, 422) and "name" in response.get_json()["message"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Account)) == 0


def test_a_blank_name_is_refused_in_the_form_too(app, client, as_role, clean_db):
    as_role("Sales")
    response = client.post("/accountview/add", data={"name": "\u200b", "status": "active"}, follow_redirects=True)
    assert "A name must not be blank." in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Account)) == 0


def test_owner_given_twice_is_refused(client, api, two_accounts, users):
    response = client.post("/api/v1/opportunities/", json={"account_id": str(two_accounts["a"]), "name": "X",
                                                           "owner": "me", "owner_user_id": users["Sales"]},
                           headers=api("Sales"))
    assert response.status_code == 422 and "owner" in response.get_json()["message"]


def test_a_note_goes_only_to_a_deal_of_the_account_in_the_url(app, client, as_role, two_accounts):
    as_role("Sales")
    with app.app_context():
        before = db.session.scalar(select(func.count()).select_from(OpportunityEvent))
    response = client.post(f"/accounts/{two_accounts['a']}/notes",
                           data={"text": "wrong place", "opportunity_id": str(two_accounts["deal_b"])})
    assert response.status_code == 404
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(OpportunityEvent)) == before


def test_actions_never_redirect_to_a_foreign_referrer(app, client, as_role, two_accounts):
    as_role("Sales")
    with app.app_context():
        deal = db.session.get(Opportunity, two_accounts["deal_b"])
        assert deal is not None
    response = client.post(f"/board/accept/{two_accounts['deal_b']}", data={"name": "x", "amount_estimate": "1"},
                           headers={"Referer": "https://evil.example/phish"})
    assert response.status_code == 302 and "evil.example" not in response.headers["Location"]


def test_generated_lists_offer_no_csv_export(client, as_role, clean_db):
    as_role("Admin")
    assert client.get("/accountview/download/csv").status_code == 404
