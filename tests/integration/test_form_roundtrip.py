"""Two daily paths that crashed: the deal page with a discount, and the edit form refusing the
next-step date it had itself filled in."""
import re
from datetime import datetime, timezone
from decimal import Decimal

from app.domain.localtime import as_utc
from app.extensions import db
from app.models import Account, Opportunity
from app.services.opportunities import create_opportunity
from tests.helpers import change_context, request_as


def _deal(app, users, **values):
    with app.app_context():
        with change_context(actor_id=users["Sales"]):
            account = Account(name="Roundtrip Ltd", domain="roundtrip.example")
            db.session.add(account)
            db.session.commit()
        deal, _ = create_opportunity(request_as(users["Sales"], {
            "account_id": account.id, "name": "Brand book", "owner_user_id": users["Sales"], **values}))
        return deal.id, account.id


def test_the_deal_page_shows_a_discount(app, clean_db, users, client, as_role):
    deal_id, _ = _deal(app, users, discount_percent=Decimal("12.5"))
    as_role("Sales", "ru")
    page = client.get(f"/opportunities/{deal_id}")
    assert page.status_code == 200
    assert "Скидка, % 12.50" in page.get_data(as_text=True)


def test_the_edit_form_accepts_the_next_step_date_it_filled_in(app, clean_db, users, client, as_role):
    due = datetime(2031, 3, 4, 11, 0, tzinfo=timezone.utc)
    deal_id, account_id = _deal(app, users, stage="lead", next_step_text="Call", next_step_due_at=due)
    as_role("Sales")
    html = client.get(f"/opportunityview/edit/{deal_id}").get_data(as_text=True)
    shown = re.search(r'name="next_step_due_at"[^>]*value="([^"]*)"|value="([^"]*)"[^>]*name="next_step_due_at"', html)
    value = next(v for v in shown.groups() if v)
    assert value == "2031-03-04 14:00:00"  # 11:00 UTC shown in the studio's zone (Moscow, UTC+3)
    response = client.post(f"/opportunityview/edit/{deal_id}", data={
        "account": str(account_id), "name": "Brand book renamed", "stage": "lead", "currency": "RUB",
        "owner": str(users["Sales"]), "forecast_category": "pipeline", "next_step_text": "Call",
        "next_step_due_at": value, "expected_version": "1"})
    assert response.status_code == 302
    with app.app_context():
        deal = db.session.get(Opportunity, deal_id)
        assert deal.name == "Brand book renamed"
        assert as_utc(deal.next_step_due_at) == due


def test_a_time_typed_in_the_edit_form_is_the_viewers_local_time(app, clean_db, users, client, as_role):
    deal_id, account_id = _deal(app, users, stage="lead")
    as_role("Sales")
    response = client.post(f"/opportunityview/edit/{deal_id}", data={
        "account": str(account_id), "name": "Brand book", "stage": "lead", "currency": "RUB",
        "owner": str(users["Sales"]), "forecast_category": "pipeline", "next_step_text": "Call",
        "next_step_due_at": "2031-03-04 14:00", "expected_version": "1"})
    assert response.status_code == 302
    with app.app_context():
        assert as_utc(db.session.get(Opportunity, deal_id).next_step_due_at) == datetime(2031, 3, 4, 11, 0, tzinfo=timezone.utc)
