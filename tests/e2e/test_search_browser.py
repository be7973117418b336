"""Cyrillic search in real Chromium, in any letter case. Smoke: also runs on SQLite, the zero-setup
default (`make run`), whose own lower() folds ASCII only."""
import pytest

from app.extensions import db
from app.models import Account, Opportunity
from tests.e2e.conftest import screenshot
from tests.helpers import change_context

pytestmark = [pytest.mark.browser, pytest.mark.smoke]


@pytest.fixture()
def seeded(app, clean_db, users):
    with app.app_context(), change_context(actor_id=users["Owner"]):
        tochka = Account(name="Точка роста", domain="tochka-rosta.ru", owner_user_id=users["Owner"])
        db.session.add_all([tochka, Account(name="Acme Studio", domain="acme.com", owner_user_id=users["Owner"]),
                            Opportunity(account=tochka, name="Брендбук для Точки", owner_user_id=users["Owner"])])
        db.session.commit()


@pytest.mark.parametrize("term", ["точка", "ТОЧКА"])
def test_accounts_list_search_typed_in_russian(page_as, live_server, seeded, term):
    page = page_as("Owner", "ru")
    page.goto(live_server + "/accounts/")
    page.fill("#a-q", term)
    with page.expect_navigation():
        page.press("#a-q", "Enter")
    rows = page.locator("tr[data-account-id]")
    assert rows.all_inner_texts() and [text.split("\t")[0].strip() for text in rows.all_inner_texts()] == ["Точка роста"]
    screenshot(page, f"search-accounts-{'lower' if term.islower() else 'upper'}")


def test_board_search_typed_in_russian(page_as, live_server, seeded):
    page = page_as("Owner", "ru")
    page.goto(live_server + "/board/?owner=all")
    page.fill("#f-q", "БРЕНДБУК")
    with page.expect_navigation():
        page.press("#f-q", "Enter")
    cards = page.locator("[data-opportunity-id]")
    assert cards.count() == 1 and "Брендбук для Точки" in cards.first.inner_text()
