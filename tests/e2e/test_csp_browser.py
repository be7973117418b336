"""The app's own pages satisfy its Content-Security-Policy in Chromium (issue 16): no CSP
violation and no script error on the board, the move dialog, the account, opportunity
and project pages, the dashboard, the stall report, triage, the generated list/show/add/edit pages,
the security pages, login and Swagger UI; and no page can be framed."""
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from app.extensions import db
from app.models import Account, Opportunity
from app import sessions
from tests.helpers import add_project, change_context

pytestmark = pytest.mark.browser

REPORT_VIOLATIONS = """
document.addEventListener('securitypolicyviolation', e =>
  console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || 'inline'} at ${e.sourceFile}:${e.lineNumber}`));
"""


@pytest.fixture()
def records(app, clean_db, users):
    now = datetime.now(timezone.utc)
    with app.app_context(), change_context(actor_id=users["Admin"], evidence_refs=[{"type": "note", "text": "seeded"}]):
        account = Account(name="Кофейня «Зерно»", domain="zerno.ru", owner_user_id=users["Sales"])
        deal = Opportunity(account=account, name="Сайт-визитка", owner_user_id=users["Sales"],
                           amount_estimate=Decimal("150000"), stage="qualified", next_step_text="Созвон",
                           next_step_due_at=now + timedelta(days=2))
        db.session.add_all([account, deal])
        db.session.commit()
        ids = {"account": str(account.id), "opportunity": str(deal.id)}
        ids["project"] = str(add_project(account.id, pm_user_id=users["PM"], actor_id=users["Admin"]))
    return ids


def watch(page) -> list[str]:
    """Collect CSP violations and script errors of the page."""
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(f"console {msg.type}: {msg.text}")
            if msg.type == "error" and ("Content Security Policy" in msg.text or "CSP violation" in msg.text) else None)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.add_init_script(REPORT_VIOLATIONS)
    return problems


def visit(page, url: str, problems: list[str]) -> None:
    response = page.goto(url)
    assert response is not None and response.status == 200, (url, response and response.status)
    page.wait_for_load_state("load")
    page.wait_for_timeout(300)  # scripts that run after load (select2, Swagger UI) report too
    assert not problems, (url, problems)


def test_the_apps_pages_raise_no_csp_violation(app, live_server, page_as, browser, records):
    sessions.reset_login_failures(app)
    page = page_as("Admin")
    problems = watch(page)
    base = live_server
    for path in (
        "/board/", f"/accounts/{records['account']}", "/accounts/", f"/opportunities/{records['opportunity']}",
        f"/projects/{records['project']}", "/dashboard/", "/triage/",
        "/accountview/list/", f"/accountview/show/{records['account']}", "/accountview/add",
        f"/accountview/edit/{records['account']}", "/opportunityview/list/", "/opportunityview/add",
        f"/opportunityview/edit/{records['opportunity']}", "/contactview/add", "/users/list/", "/roles/list/",
        "/users/userinfo/", "/resetmypassword/form", "/swagger/v1",
    ):
        visit(page, base + path, problems)

    # the scripts the CSP lets run do run: the move dialog opens, Swagger UI draws the spec
    visit(page, base + f"/opportunities/{records['opportunity']}", problems)
    page.locator('.opp-actions .mark[data-stage="lost"]').click()
    page.locator("#move-dialog").wait_for(state="visible")
    visit(page, base + "/swagger/v1", problems)
    page.locator(".opblock").first.wait_for(timeout=60000)  # the spec is built on first request
    assert not problems, problems

    anonymous = browser.new_context()
    try:
        login_page = anonymous.new_page()
        login_problems = watch(login_page)
        visit(login_page, base + "/login/", login_problems)
    finally:
        anonymous.close()


def test_no_page_renders_inside_a_foreign_frame(live_server, browser, page_as):
    page = page_as("Admin")
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text))
    page.set_content(f'<iframe id="f" src="{live_server}/board/" width="800" height="600"></iframe>')
    page.wait_for_timeout(1500)
    frame = page.frame_locator("#f")
    assert frame.locator("#board").count() == 0
    assert any("frame-ancestors" in text or "X-Frame-Options" in text for text in problems), problems


def test_the_stall_report_raises_no_csp_violation(app, live_server, page_as, records):
    sessions.reset_login_failures(app)
    page = page_as("Admin")
    problems = watch(page)
    visit(page, live_server + "/stall/", problems)
