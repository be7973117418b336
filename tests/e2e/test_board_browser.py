"""The board in real Chromium, as a sales person uses it."""
from datetime import datetime, timedelta, timezone

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.domain.localtime import zone
from app.extensions import db
from app.models import Account, Opportunity, OpportunityEvent
from tests.helpers import change_context
from tests.e2e.conftest import screenshot

pytestmark = pytest.mark.browser


@pytest.fixture()
def deals(app, clean_db, users):
    now = datetime.now(timezone.utc)
    # deals created past lead carry evidence, like a person creating them would give
    # seeded by an Admin (who may give deals to anyone); "today" is the studio's (Moscow) day
    with app.app_context(), change_context(actor_id=users["Admin"], evidence_refs=[{"type": "note", "text": "seeded"}]):
        account = Account(name="Кофейня «Зерно»", domain="zerno.ru", owner_user_id=users["Sales"])
        lead = Opportunity(account=account, name="Website redesign", owner_user_id=users["Sales"], amount_estimate=100000)
        late = Opportunity(account=account, name="Brand book", owner_user_id=users["Sales"], stage="qualified",
                           next_step_text="Call back", next_step_due_at=now - timedelta(days=2))
        today = Opportunity(account=account, name="Menu design", owner_user_id=users["Sales"], stage="discovery",
                            next_step_text="Send moodboard", next_step_due_at=now.astimezone(zone("Europe/Moscow")).replace(hour=23, minute=59))
        other = Opportunity(account=account, name="Someone else's deal", owner_user_id=users["Owner"])
        db.session.add_all([lead, late, today, other])
        db.session.commit()
        return {"lead": str(lead.id), "late": str(late.id), "today": str(today.id), "other": str(other.id),
                "account": str(account.id)}


def card(page, opp_id):
    return page.locator(f'[data-opportunity-id="{opp_id}"]')


def drag(page, opp_id, stage):
    source = card(page, opp_id).locator(".card-account")
    target = page.locator(f'.board-cards[data-stage="{stage}"]')
    source.hover()
    page.mouse.down()
    box = target.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + 40, steps=12)
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + 50, steps=4)
    page.mouse.up()


def test_sales_drags_a_lead_to_qualified_through_the_dialog(page_as, live_server, deals, app):
    page = page_as("Sales")
    page.goto(live_server + "/board/")
    assert card(page, deals["other"]).count() == 0  # the default filter is "mine" for Sales
    assert page.locator('[data-stage="lead"] .column-count').inner_text() == "1"
    drag(page, deals["lead"], "qualified")
    dialog = page.locator("#move-dialog")
    dialog.wait_for(state="visible")
    assert dialog.locator('[data-field="next_step_due_at"]').is_visible()
    assert not dialog.locator('[data-field="lost_reason"]').is_visible()
    dialog.locator("#move-next-step-text").fill("Send the brief")
    dialog.locator("#move-next-step-due").fill("2030-01-10T10:00")
    dialog.locator("#move-evidence").fill("https://mail.example.com/thread/1")
    screenshot(page, "board-move-dialog")
    dialog.locator(".move-submit").click()
    page.locator(f'.board-cards[data-stage="qualified"] [data-opportunity-id="{deals["lead"]}"]').wait_for()
    expect(page.locator('[data-stage="qualified"] .column-count')).to_have_text("2")  # no eval: the CSP forbids it
    assert page.locator('[data-stage="lead"] .column-count').inner_text() == "0"
    screenshot(page, "board-after-move")
    with app.app_context():
        event = db.session.scalars(select(OpportunityEvent).where(
            OpportunityEvent.opportunity_id == deals["lead"], OpportunityEvent.event_type == "stage_changed")).one()
        assert event.new_value == {"stage": "qualified"}
        assert event.evidence_refs == [{"type": "url", "url": "https://mail.example.com/thread/1"}]


def test_a_refused_move_snaps_back_and_says_why(page_as, live_server, deals, app):
    page = page_as("Sales")
    page.goto(live_server + "/board/")
    drag(page, deals["lead"], "lost")
    dialog = page.locator("#move-dialog")
    dialog.wait_for(state="visible")
    dialog.locator("#move-evidence").fill("Client went silent")
    dialog.locator(".move-submit").click()
    error = dialog.locator('.field-error[data-for="lost_reason"]')
    error.wait_for()
    expect(error).not_to_be_empty()
    assert "reason" in error.inner_text()
    assert page.locator(f'.board-cards[data-stage="lead"] [data-opportunity-id="{deals["lead"]}"]').count() == 1
    screenshot(page, "board-refused-move")
    dialog.locator(".move-cancel").first.click()
    with app.app_context():
        assert db.session.get(Opportunity, deals["lead"]).stage == "lead"


def test_keyboard_move_menu_moves_a_card(page_as, live_server, deals, app):
    page = page_as("Sales")
    page.goto(live_server + "/board/")
    card(page, deals["today"]).locator(".move-menu").select_option("proposal_sent")
    dialog = page.locator("#move-dialog")
    dialog.wait_for(state="visible")
    assert dialog.locator("#move-next-step-text").input_value() == "Send moodboard"
    dialog.locator("#move-evidence").fill("Brief approved by e-mail")
    dialog.locator(".move-submit").click()
    dialog.wait_for(state="hidden")
    page.locator(f'.board-cards[data-stage="proposal_sent"] [data-opportunity-id="{deals["today"]}"]').wait_for()
    with app.app_context():
        assert db.session.get(Opportunity, deals["today"]).stage == "proposal_sent"


def test_overdue_and_due_today_look_different(page_as, live_server, deals):
    page = page_as("Sales")
    page.goto(live_server + "/board/")
    assert "is-overdue" in card(page, deals["late"]).get_attribute("class")
    assert "is-due-today" in card(page, deals["today"]).get_attribute("class")
    assert "is-overdue" not in card(page, deals["today"]).get_attribute("class")
    late_color = card(page, deals["late"]).evaluate("e => getComputedStyle(e).borderLeftColor")
    today_color = card(page, deals["today"]).evaluate("e => getComputedStyle(e).borderLeftColor")
    assert late_color != today_color


def test_russian_labels_on_the_board(page_as, live_server, deals):
    page = page_as("Sales", "ru")
    page.goto(live_server + "/board/")
    assert "Лид" in page.locator('.board-column[data-stage="lead"] h3').inner_text()
    assert "Квалифицирована" in page.locator('.board-column[data-stage="qualified"] h3').inner_text()
    screenshot(page, "board-ru")


def test_account_and_opportunity_pages(page_as, live_server, deals):
    page = page_as("Sales")
    page.goto(f"{live_server}/accounts/")
    page.locator(f'[data-account-id="{deals["account"]}"] a').click()
    page.wait_for_url(f"**/accounts/{deals['account']}")
    assert "Website redesign" in page.locator(".deals-table").inner_text()
    assert page.locator(".health").first.is_visible()
    screenshot(page, "account-page")
    page.goto(f"{live_server}/opportunities/{deals['late']}")
    assert page.locator(".next-step").get_attribute("data-state") == "overdue"
    page.locator(".opp-actions .mark[data-stage=lost]").click()
    dialog = page.locator("#move-dialog")
    dialog.wait_for(state="visible")
    assert dialog.locator('[data-field="lost_reason"]').is_visible()
    dialog.locator("#move-lost-reason").fill("Budget cut")
    dialog.locator("#move-evidence").fill("https://mail.example.com/no")
    dialog.locator(".move-submit").click()
    page.wait_for_selector(".opp-stage:has-text('Lost')")
    assert "Budget cut" in page.locator(".key-fields").inner_text()
    assert "https://mail.example.com/no" in page.locator(".evidence-block").inner_text()
    screenshot(page, "opportunity-page")
