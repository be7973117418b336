import pytest

pytestmark = pytest.mark.browser


def test_select2_texts(app, clean_db, live_server, page_as):
    page = page_as("Admin", "ru")
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{live_server}/accountview/add")
    page.wait_for_load_state("load")
    owner = page.locator("#select2-owner-container")
    print("owner shows:", owner.inner_text())
    page.locator("#owner + .select2").click()
    page.keyboard.type("zzzz")
    page.wait_for_timeout(300)
    print("FAB select:", page.locator(".select2-results").inner_text())
    page.keyboard.press("Escape")
    page.goto(f"{live_server}/opportunityview/add")
    page.wait_for_load_state("load")
    page.locator("#account + .select2").click()
    page.keyboard.type("нетуcoбой")
    page.wait_for_timeout(800)
    print("record select:", page.locator(".select2-results").inner_text())
    print("forecast:", page.locator("#select2-forecast_category-container").inner_text())
    assert not errors, errors
