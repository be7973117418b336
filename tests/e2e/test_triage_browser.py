"""Triage in real Chromium: find an account, assign the thread, use its message as evidence."""
import pytest
from sqlalchemy import select

from app.extensions import db
from app.inbound import chatwoot
from app.models import Account, InboundMessage, InboundThread, Opportunity, OpportunityEvent
from tests.helpers import change_context
from app.services.context import SYSTEM, ChangeRequest
from app.services.inbound import ingest
from tests.e2e.conftest import screenshot
from tests.inbound_payloads import cw_message

pytestmark = pytest.mark.browser


@pytest.fixture()
def queued(app, clean_db, users):
    payload = cw_message()
    payload["sender"]["email"] = payload["conversation"]["meta"]["sender"]["email"] = "anna.p@gmail.com"
    with app.app_context():
        with change_context(actor_id=users["Sales"]):
            account = Account(name="Кофейня «Зерно»", domain="zerno-coffee.ru")
            opp = Opportunity(account=account, name="Menu design", owner_user_id=users["Sales"])
            db.session.add(opp)
            db.session.commit()
        ingest(ChangeRequest(SYSTEM), chatwoot.parse_webhook(payload))
        return {"thread": str(db.session.scalars(select(InboundThread)).one().id), "account": str(account.id),
                "opp": str(opp.id), "message": str(db.session.scalars(select(InboundMessage)).one().id)}


def test_assign_a_thread_from_the_queue_and_use_its_message_as_evidence(page_as, live_server, queued, app, users):
    page = page_as("Sales")
    page.goto(live_server + "/triage/")
    thread = page.locator(f'[data-thread-id="{queued["thread"]}"]')
    assert "Hello, we need a new website" in thread.inner_text()
    thread.locator(".account-search-input").fill("зерно")
    button = thread.locator(".assign-found").first
    button.wait_for()
    screenshot(page, "triage-search")
    button.click()
    page.wait_for_load_state()
    assert "Nothing waits for triage" in page.content()
    with app.app_context():
        assigned = db.session.get(InboundThread, queued["thread"])
        assert str(assigned.account_id) == queued["account"] and assigned.assigned_by_user_id == users["Sales"]

    page.goto(f"{live_server}/accounts/{queued['account']}")
    assert "Hello, we need a new website" in page.locator(".timeline").inner_text()
    page.goto(f"{live_server}/opportunities/{queued['opp']}")
    page.select_option("#opp-move", "qualified")
    dialog = page.locator("#move-dialog")
    dialog.wait_for(state="visible")
    dialog.locator("#move-next-step-text").fill("Call Anna")
    dialog.locator("#move-next-step-due").fill("2030-02-01T12:00")
    dialog.locator(".message-picker").select_option(queued["message"])
    assert dialog.locator("#move-evidence").input_value() == f"message:{queued['message']}"
    dialog.locator(".move-submit").click()
    page.wait_for_selector(".opp-stage:has-text('Qualified')")
    assert "Hello, we need a new website" in page.locator(".evidence-block").inner_text()
    screenshot(page, "opportunity-message-evidence")
    with app.app_context():
        event = db.session.scalars(select(OpportunityEvent).where(OpportunityEvent.event_type == "stage_changed")).one()
        assert event.evidence_refs == [{"type": "message", "id": queued["message"]}]
