"""The navbar is one row at 1366×768 for every role in both languages (issue 14); the admin's
Security entries open from the user menu. Screenshots of the bar go to test-output/."""
import pytest

from tests.conftest import ROLES
from tests.e2e.conftest import screenshot

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("lang", ["ru", "en"])
@pytest.mark.parametrize("role", ROLES)
def test_the_navbar_is_one_row_at_1366(page_as, live_server, role, lang):
    page = page_as(role, lang)
    page.set_viewport_size({"width": 1366, "height": 768})
    page.goto(live_server + "/board/")
    bar = page.locator(".navbar").first.bounding_box()
    entries = page.locator(".navbar .navbar-collapse > .nav > li")
    tops = {round(entries.nth(i).bounding_box()["y"]) for i in range(entries.count())}
    heights = {round(entries.nth(i).bounding_box()["height"]) for i in range(entries.count())}
    assert len(tops) == 1, tops  # every entry, left and right, on the first row
    assert bar["height"] <= max(heights) + 2, (bar, heights)  # and the bar is that one row high
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366
    if role == "Admin":
        page.locator(".navbar-right > li.dropdown").last.locator("a.dropdown-toggle").click()
        users = {"ru": "Список пользователей", "en": "List Users"}[lang]
        link = page.locator(".navbar-right .dropdown-menu a", has_text=users)
        assert link.is_visible()
        screenshot(page, f"navbar-admin-user-menu-1366-{lang}")
        link.click()
        page.wait_for_url("**/users/list/**")
