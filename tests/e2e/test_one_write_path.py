"""Every entry point writes through the verbs: generated forms keep each session's own filters,
and "may reopen" is a permission an admin can give to any role."""
from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import Account, Opportunity
from tests.conftest import PASSWORD, login
from app.services.opportunities import update_opportunity
from tests.helpers import change_context, request_as

NOTE = [{"type": "note", "text": "Client called back"}]


def _account(app, users) -> str:
    with app.app_context(), change_context(actor_id=users["Admin"]):
        account = Account(name="Leak Check Ltd", domain="leak-check.example")
        db.session.add(account)
        db.session.commit()
        return str(account.id)


def test_a_list_filter_of_one_session_never_reaches_another_sessions_add_form(app, clean_db, users):
    account_id = _account(app, users)
    sales, admin = login(app.test_client(), "Sales"), login(app.test_client(), "Admin")
    assert sales.get(f"/opportunityview/list/?_flt_0_owner={users['Sales']}").status_code == 200

    form = admin.get("/opportunityview/add").get_data(as_text=True)
    assert 'name="owner"' in form, "the admin's add form lost its owner field"
    response = admin.post("/opportunityview/add", data={
        "account": account_id, "name": "Admin's own deal", "stage": "lead", "currency": "RUB",
        "owner": str(users["Admin"])})
    assert response.status_code == 302, response.get_data(as_text=True)[-3000:]
    with app.app_context():
        deal = db.session.scalars(select(Opportunity).where(Opportunity.name == "Admin's own deal")).one()
        assert deal.owner_user_id == users["Admin"]


def _won_deal(app, users, account_id) -> str:
    with app.app_context():
        with change_context(actor_id=users["Admin"]):
            deal = Opportunity(account_id=account_id, name="Closed deal", owner_user_id=users["Sales"])
            db.session.add(deal)
            db.session.commit()
        update_opportunity(request_as(users["Admin"], {"stage": "won"}, evidence_refs=NOTE), deal.id)
        # left without an owner: whether a salesperson may reopen is the permission's question here
        # (ownership has its own matrix in tests/e2e/test_ownership.py)
        update_opportunity(request_as(users["Admin"], {"owner_user_id": None}), deal.id)
        return str(deal.id)


def _reopen(client, deal_id):
    return client.patch(f"/api/v1/opportunities/{deal_id}", json={
        "stage": "qualified", "next_step_text": "Restart", "next_step_due_at": "2031-01-10T10:00:00Z",
        "evidence_refs": NOTE})


def test_a_custom_role_with_only_the_reopen_permission_lets_its_user_reopen(app, clean_db, users):
    account_id = _account(app, users)
    deal = _won_deal(app, users, account_id)
    with app.app_context():
        sm = app.appbuilder.sm
        reopeners = sm.find_role("Reopeners") or sm.add_role("Reopeners")
        sm.add_permission_role(reopeners, sm.find_permission_view_menu("can_reopen", "Opportunity"))
        if not sm.find_user(username="senior"):
            sm.add_user(username="senior", first_name="Senior", last_name="Sales", email="senior@studio.test",
                        role=[sm.find_role("Sales"), reopeners], password=PASSWORD)

    sales = login(app.test_client(), "Sales")
    refused = _reopen(sales, deal)
    assert refused.status_code == 422 and "stage" in refused.get_json()["message"]

    senior = app.test_client()
    senior.post("/login/", data={"username": "senior", "password": PASSWORD})
    allowed = _reopen(senior, deal)
    assert allowed.status_code == 200, allowed.get_json()
    assert "reopened" in [e["event_type"] for e in allowed.get_json()["events"]]
