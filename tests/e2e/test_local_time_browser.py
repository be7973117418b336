"""Deadlines in the user's zone, in real Chromium: a next step set at 14:00 in the move dialog is
14:00 after a reload, in the dialog and on the card, 11:00Z in the API (Moscow is UTC+3), and an
untouched dialog saves nothing new — whatever zone the browser itself is in."""
from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from app.domain.localtime import as_utc
from app.extensions import db
from app.models import Account, Opportunity, OpportunityEvent
from tests.e2e.conftest import screenshot
from tests.helpers import change_context

pytestmark = pytest.mark.browser


@pytest.fixture()
def lead(app, clean_db, users):
    with app.app_context(), change_context(actor_id=users["Sales"]):
        account = Account(name="Точка роста", domain="tochka.ru", owner_user_id=users["Sales"])
        deal = Opportunity(account=account, name="Брендбук", owner_user_id=users["Sales"])
        db.session.add(deal)
        db.session.commit()
        return str(deal.id)


def _move(page, opp_id, stage, due=None):
    page.select_option(f"#move-{opp_id}", stage)
    dialog = page.locator("#move-dialog")
    dialog.wait_for(state="visible")
    if due is not None:
        dialog.locator("#move-next-step-text").fill("Созвон по брифу")
        dialog.locator("#move-next-step-due").fill(due)
    dialog.locator("#move-evidence").fill("Клиент подтвердил по телефону")
    prefilled = dialog.locator("#move-next-step-due").input_value()
    dialog.locator(".move-submit").click()
    page.locator(f'.board-cards[data-stage="{stage}"] [data-opportunity-id="{opp_id}"]').wait_for()
    dialog.wait_for(state="hidden")
    return prefilled


@pytest.mark.parametrize("browser_zone", ["Europe/Moscow", "America/New_York"])
def test_a_next_step_at_14_00_stays_14_00(page_as, live_server, lead, app, client, api, browser_zone):
    page = page_as("Sales", "ru", timezone_id=browser_zone)
    page.goto(live_server + "/board/")
    _move(page, lead, "qualified", due="2030-01-10T14:00")
    card = page.locator(f'[data-opportunity-id="{lead}"] .card-due')
    assert "10.01.2030, 14:00" in card.inner_text()  # before the reload, drawn by the page's script

    page.reload()
    assert "10.01.2030, 14:00" in page.locator(f'[data-opportunity-id="{lead}"] .card-due').inner_text()
    screenshot(page, f"board-local-time-{browser_zone.replace('/', '-')}")
    api_due = client.get(f"/api/v1/opportunities/{lead}", headers=api("Sales")).get_json()["result"]["next_step_due_at"]
    assert datetime.fromisoformat(api_due.replace("Z", "+00:00")) == datetime(2030, 1, 10, 11, 0, tzinfo=timezone.utc)

    # the dialog again: pre-filled with 14:00; saved without touching the date, nothing drifts
    prefilled = _move(page, lead, "discovery")
    assert prefilled == "2030-01-10T14:00"
    with app.app_context():
        deal = db.session.get(Opportunity, lead)
        assert as_utc(deal.next_step_due_at) == datetime(2030, 1, 10, 11, 0, tzinfo=timezone.utc)
        changes = db.session.scalars(select(OpportunityEvent).where(
            OpportunityEvent.opportunity_id == lead, OpportunityEvent.event_type == "next_step_changed")).all()
        assert len(changes) == 1  # set by the first move, untouched by the second

    page.goto(f"{live_server}/opportunities/{lead}")
    assert "10.01.2030, 14:00" in page.locator(".next-step").inner_text()


def test_a_user_in_another_zone_sees_and_types_their_own_time(page_as, live_server, lead, app, users):
    with app.app_context():
        user = app.appbuilder.sm.get_user_by_id(users["Sales"])
        user.timezone = "Asia/Yekaterinburg"  # UTC+5
        db.session.commit()
    try:
        page = page_as("Sales", "ru", timezone_id="Europe/Moscow")
        page.goto(live_server + "/board/")
        _move(page, lead, "qualified", due="2030-01-10T14:00")
        with app.app_context():
            assert as_utc(db.session.get(Opportunity, lead).next_step_due_at) == datetime(2030, 1, 10, 9, 0, tzinfo=timezone.utc)
        page.reload()
        assert "10.01.2030, 14:00" in page.locator(f'[data-opportunity-id="{lead}"] .card-due').inner_text()
    finally:
        with app.app_context():
            app.appbuilder.sm.get_user_by_id(users["Sales"]).timezone = None
            db.session.commit()
