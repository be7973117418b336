"""Generated forms: proper widgets, tags stored as a real list, bad input is a form error (never a 500)."""
import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Account, Contact
from tests.helpers import change_context

pytestmark = pytest.mark.smoke


def _count(app, model):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def test_domain_is_normalised_on_the_way_in(app, client, as_role, clean_db):
    as_role("Sales")
    response = client.post("/accountview/add", data={"name": "Acme", "domain": "https://www.Acme.COM/about",
                                                      "segment": "smb", "status": "active"})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(Account.domain)) == "acme.com"


def test_duplicate_domain_in_another_case_is_a_form_error(app, client, as_role, clean_db):
    as_role("Sales")
    client.post("/accountview/add", data={"name": "Acme", "domain": "acme.com", "segment": "smb", "status": "active"})
    response = client.post("/accountview/add", data={"name": "Acme 2", "domain": "ACME.com", "segment": "smb",
                                                      "status": "active"})
    assert response.status_code == 200
    assert "already exists" in response.get_data(as_text=True)
    assert _count(app, Account) == 1


def test_score_out_of_range_is_a_form_error(app, client, as_role, clean_db):
    as_role("Sales")
    response = client.post("/accountview/add", data={"name": "Acme", "segment": "smb", "status": "active",
                                                      "icp_fit_score": "150"})
    assert response.status_code == 200
    assert "between 0 and 100" in response.get_data(as_text=True)
    assert _count(app, Account) == 0


def test_malformed_email_is_a_form_error(app, client, as_role, clean_db):
    as_role("Sales")
    client.post("/accountview/add", data={"name": "Acme", "segment": "smb", "status": "active"})
    with app.app_context():
        account_id = db.session.scalar(select(Account.id))
    response = client.post("/contactview/add", data={"account": str(account_id), "name": "Anna",
                                                      "email": "anna(at)acme"})
    assert response.status_code == 200
    assert "Not a valid e-mail" in response.get_data(as_text=True)
    assert _count(app, Contact) == 0


def test_role_tags_round_trip_as_a_real_list(app, client, as_role, clean_db):
    as_role("Sales")
    client.post("/accountview/add", data={"name": "Acme", "segment": "smb", "status": "active"})
    with app.app_context():
        account_id = db.session.scalar(select(Account.id))
    response = client.post("/contactview/add", data={"account": str(account_id), "name": "Anna",
                                                      "email": "Anna@Acme.com", "role_tags": "decision maker, budget,  "})
    assert response.status_code == 302
    with app.app_context():
        contact = db.session.scalars(select(Contact)).one()
        assert contact.role_tags == ["decision maker", "budget"]
        assert contact.email == "anna@acme.com"
        contact_id = contact.id
    page = client.get(f"/contactview/edit/{contact_id}").get_data(as_text=True)
    assert 'value="decision maker, budget"' in page


def test_enum_columns_are_selects_and_dates_have_pickers(client, as_role, clean_db):
    as_role("Sales")
    page = client.get("/opportunityview/add").get_data(as_text=True)
    assert '<select' in page and 'value="proposal_sent"' in page
    assert 'appbuilder_datetime' in page and 'appbuilder_date' in page


def test_relation_fields_search_instead_of_listing_every_account(app, client, as_role, clean_db, users):
    with app.app_context(), change_context(actor_id=users["Sales"]):
        db.session.add_all([Account(name=f"Client {i:02}", domain=f"c{i}.ru") for i in range(30)])
        db.session.commit()
    as_role("Sales")
    page = client.get("/opportunityview/add").get_data(as_text=True)
    assert "record-select" in page and "Client 07" not in page  # no table dumped into the form
    found = client.get("/lookup/accounts/?q=client 0").get_json()["results"]
    assert len(found) == 10 and found[0]["text"] == "Client 00 (c0.ru)"
    as_role("PM")
    assert client.get("/lookup/accounts/?q=c1").status_code == 200
    assert client.get("/opportunityview/add").status_code == 403


def test_an_unknown_account_id_is_a_form_error(app, client, as_role, clean_db):
    as_role("Sales")
    response = client.post("/contactview/add", data={"account": "00000000-0000-0000-0000-000000000000", "name": "Anna"})
    assert response.status_code == 200 and "Not a valid choice" in response.get_data(as_text=True)
    assert _count(app, Contact) == 0
