"""CRM_REPORTS_DATABASE_URL: the dashboard, the stall report (page and CSV) and the metrics API
read through a second engine (a read replica in production; here the test database under another
engine), the read scope applies to those reads, and unset everything reads the main database."""
from __future__ import annotations

import pytest
from sqlalchemy import event

from app import reporting, scope
from app.queries import metrics
from app.extensions import db
from tests.conftest import PASSWORD, USE_SQLITE
from tests.integration.test_metrics import fill

pytestmark = pytest.mark.skipif(USE_SQLITE, reason="PostgreSQL")

REPORT_URLS = ("/dashboard/", "/stall/", "/stall/csv", "/api/v1/metrics/pipeline", "/api/v1/metrics/aging",
               "/api/v1/metrics/win-rate", "/api/v1/metrics/sla")
FIGURES = ("report_", "opportunities", "opportunity_events")  # what only reports read in these requests


@pytest.fixture()
def replica_app(app, database_url):
    """A second app like the session's, whose reports database is the test database (another engine)."""
    from app import create_app

    application = create_app(SQLALCHEMY_DATABASE_URI=database_url, CRM_REPORTS_DATABASE_URL=database_url,
                             TESTING=True, WTF_CSRF_ENABLED=False)
    yield application
    with application.app_context():
        reporting.engine().dispose()
        db.session.remove()
        db.engine.dispose()


def _statements(application, client, urls, login):
    """The statements each engine ran, and how many the reports engine ran per URL."""
    seen = {"main": [], "reports": [], "per_url": {}}
    with application.app_context():
        main, reports = db.engine, reporting.engine()
    assert main is not reports
    listeners = [(main, lambda *a: seen["main"].append(a[2])), (reports, lambda *a: seen["reports"].append(a[2]))]
    client.post("/login/", data={"username": login, "password": PASSWORD})
    client.get("/lang/en")
    for engine, listener in listeners:
        event.listen(engine, "before_cursor_execute", listener)
    try:
        for url in urls:
            before = len(seen["reports"])
            response = client.get(url)
            response.get_data()
            assert response.status_code == 200, url
            seen["per_url"][url] = len(seen["reports"]) - before
    finally:
        for engine, listener in listeners:
            event.remove(engine, "before_cursor_execute", listener)
    return seen


def test_reports_read_through_the_reports_engine(replica_app, clean_db, users):
    fill(replica_app, users, 12, seed=21)
    seen = _statements(replica_app, replica_app.test_client(), REPORT_URLS, "owner")
    assert all(n >= 1 for n in seen["per_url"].values()) and len(seen["per_url"]) == len(REPORT_URLS), seen["per_url"]
    # the figures and the report rows never come from the main engine (it only serves the login,
    # the permissions and the project filter's choices)
    assert not [s for s in seen["main"] if any(t in s for t in ("report_pipeline", "report_stays",
                                                                   "FROM opportunities", "opportunity_events"))]


def test_the_read_scope_applies_to_the_reports_engine(replica_app, clean_db, users):
    from app.extensions import db as main_db
    from tests.helpers import add_project, change_context
    from app.models import Account, Opportunity

    with replica_app.app_context():
        with change_context(actor_id=users["Owner"]):
            account = Account(name="Replica Ltd")
            main_db.session.add(account)
            main_db.session.flush()
            hidden = add_project(account.id, "Hidden", members=(users["Owner"],))
            main_db.session.add(Opportunity(account=account, name="Hidden upsell", project_id=hidden,
                                            owner_user_id=users["Owner"], amount_estimate=1000))
            main_db.session.add(Opportunity(account=account, name="Open deal", owner_user_id=users["Sales"],
                                            amount_estimate=10))
            main_db.session.commit()
            account_id = account.id
    owner = replica_app.test_client()
    owner.post("/login/", data={"username": "owner", "password": PASSWORD})
    everyone = owner.get("/api/v1/metrics/pipeline").get_json()["result"]["stages"]
    assert sum(s["count"] for s in everyone) == 2
    # the same reads under a scope without the project (a Sales user who is not a member; a PM of
    # another project who sees only its account's deals): the hidden deal is in no figure or row
    sales_scope = scope.Scope(all_projects=False, all_accounts=True)
    pm_scope = scope.Scope(all_projects=False, all_accounts=False, account_ids=(account_id,))
    with replica_app.app_context():
        reads = []
        listener = lambda *a: reads.append(a[2])  # noqa: E731
        event.listen(reporting.engine(), "before_cursor_execute", listener)
        try:
            for view in (sales_scope, pm_scope):
                with scope.scoped(view):
                    f = metrics.default_filters()
                    assert sum(s["count"] for s in metrics.pipeline(f)) == 1, view
                    assert [r["name"] for r in metrics.stalled(f)] == ["Open deal"], view
        finally:
            event.remove(reporting.engine(), "before_cursor_execute", listener)
        assert reads


def test_without_the_setting_reports_read_the_main_database(app):
    with app.app_context():
        assert reporting.session() is db.session
        assert reporting.engine() is db.engine
