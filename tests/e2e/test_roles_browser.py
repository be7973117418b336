"""Screens that fit the role, in real Chromium: a PM lands on the deals of their projects with no
control they cannot use; a salesperson cannot drag or move another's deal, only their own."""
import pytest

from app.extensions import db
from app.models import Account, Opportunity
from tests.e2e.conftest import screenshot
from tests.helpers import add_project, change_context

pytestmark = pytest.mark.browser


@pytest.fixture()
def world(app, clean_db, users):
    with app.app_context():
        with change_context(actor_id=users["Admin"]):
            account = Account(name="Точка роста", domain="tochka.ru", owner_user_id=users["Owner"])
            db.session.add(account)
            db.session.commit()
            account_id = account.id
        project_id = add_project(account_id, name="Сайт", pm_user_id=users["PM"], members=[users["Owner"]])
        with change_context(actor_id=users["Admin"]):
            theirs = Opportunity(account_id=account_id, name="Доработка сайта", owner_user_id=users["Owner"],
                                 project_id=project_id)
            mine = Opportunity(account_id=account_id, name="Брендбук", owner_user_id=users["Sales"])
            other = Opportunity(account_id=account_id, name="Логотип", owner_user_id=users["Owner"])
            db.session.add_all([theirs, mine, other])
            db.session.commit()
            return {"theirs": str(theirs.id), "mine": str(mine.id), "other": str(other.id)}


def test_pm_lands_on_their_projects_deals_without_controls(page_as, live_server, world):
    page = page_as("PM", "ru")
    page.goto(live_server + "/")
    page.wait_for_load_state()
    assert "/board/" in page.url
    card = page.locator(f'[data-opportunity-id="{world["theirs"]}"]')
    assert card.count() == 1 and "is-locked" in card.get_attribute("class")
    assert page.locator(".move-menu").count() == 0
    screenshot(page, "pm-board-ru")
    page.goto(f"{live_server}/opportunities/{world['theirs']}")
    body = page.inner_text("body")
    assert page.locator("#opp-move").count() == 0 and page.locator(".mark").count() == 0
    assert "Создать предложение" not in body and "Редактировать" not in body
    assert page.locator("#note-text").count() == 1  # a PM may add notes


def test_sales_moves_only_their_own_deals(page_as, live_server, world):
    page = page_as("Sales", "ru")
    page.goto(live_server + "/board/?owner=all")
    assert page.locator(f'[data-opportunity-id="{world["theirs"]}"]').count() == 0  # not their project
    other = page.locator(f'[data-opportunity-id="{world["other"]}"]')
    mine = page.locator(f'[data-opportunity-id="{world["mine"]}"]')
    assert "is-locked" in other.get_attribute("class") and other.locator(".move-menu").count() == 0
    assert "is-locked" not in mine.get_attribute("class") and mine.locator(".move-menu").count() == 1
    # dragging another's card does nothing: no dialog, the card stays in its column
    other.locator(".card-account").hover()
    page.mouse.down()
    box = page.locator('.board-cards[data-stage="qualified"]').bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + 40, steps=12)
    page.mouse.up()
    assert not page.locator("#move-dialog").is_visible()
    assert page.locator(f'.board-cards[data-stage="lead"] [data-opportunity-id="{world["other"]}"]').count() == 1
    screenshot(page, "sales-board-ru")
    page.goto(f"{live_server}/opportunities/{world['other']}")
    assert page.locator("#opp-move").count() == 0
    assert "изменить её может только её владелец" in page.inner_text("body")
    page.goto(f"{live_server}/opportunities/{world['mine']}")
    assert page.locator("#opp-move").count() == 1
