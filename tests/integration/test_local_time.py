"""Local time: pages show times in the viewer's zone (theirs, else the studio's CRM_TIMEZONE),
inputs are read in it, "today" is their local day; the API speaks ISO 8601 with an offset."""
from datetime import date, datetime, timezone

import pytest

from app.domain.localtime import as_utc, period_bounds, zone
from app.domain.next_step import DUE_TODAY, LATER, next_step_state
from app.extensions import db
from app.models import Account, Opportunity
from app.services.opportunities import create_opportunity
from app.services.records import save_record
from tests.helpers import request_as

MOSCOW = zone("Europe/Moscow")


def test_today_is_the_viewers_local_day():
    due = datetime(2026, 12, 1, 22, 30, tzinfo=timezone.utc)  # 01:30 on 2 December in Moscow
    now = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
    assert next_step_state(due, now) == DUE_TODAY  # a UTC viewer: later today
    assert next_step_state(due, now.astimezone(MOSCOW)) == LATER  # a Moscow viewer: tomorrow


def test_a_period_of_local_days_starts_at_local_midnight():
    start, end = period_bounds(date(2026, 12, 1), date(2026, 12, 31), MOSCOW)
    assert start == datetime(2026, 11, 30, 21, 0, tzinfo=timezone.utc)
    assert end == datetime(2026, 12, 31, 21, 0, tzinfo=timezone.utc)


@pytest.fixture()
def deal(app, clean_db, users):
    with app.app_context():
        account = save_record(request_as(users["Sales"]), Account(name="Точка роста"))
        opp, _ = create_opportunity(request_as(users["Sales"], {
            "account_id": account.id, "name": "Брендбук",
            "next_step_text": "Созвон", "next_step_due_at": datetime(2030, 1, 10, 11, 0, tzinfo=timezone.utc)}))
        return opp.id


@pytest.mark.smoke
def test_pages_show_the_studios_zone_by_default_and_the_users_own_when_chosen(app, client, as_role, deal, users):
    as_role("Sales", "ru")
    assert "10.01.2030, 14:00" in client.get(f"/opportunities/{deal}").get_data(as_text=True)
    response = client.post("/userinfoeditview/form", data={"first_name": "Sales", "last_name": "User",
                                                          "timezone": "Asia/Yekaterinburg"})
    assert response.status_code == 302
    try:
        page = client.get(f"/opportunities/{deal}").get_data(as_text=True)
        assert "10.01.2030, 16:00" in page  # UTC+5
        assert "Asia/Yekaterinburg" in client.get("/users/userinfo/").get_data(as_text=True)
    finally:
        with app.app_context():
            app.appbuilder.sm.get_user_by_id(users["Sales"]).timezone = None
            db.session.commit()


def test_the_profile_refuses_an_unknown_zone(app, client, as_role, users):
    as_role("Sales")
    response = client.post("/userinfoeditview/form", data={"first_name": "Sales", "last_name": "User",
                                                          "timezone": "Mars/Olympus"})
    assert response.status_code == 200 and "Not a valid choice" in response.get_data(as_text=True)
    with app.app_context():
        assert not app.appbuilder.sm.get_user_by_id(users["Sales"]).timezone


def test_the_api_refuses_a_time_without_an_offset_and_accepts_any_offset(app, client, api, deal):
    h = api("Sales")
    naive = client.patch(f"/api/v1/opportunities/{deal}", json={"next_step_due_at": "2030-01-11T14:00:00"}, headers=h)
    assert naive.status_code == 400 and "next_step_due_at" in naive.get_json()["message"]
    other = client.patch(f"/api/v1/opportunities/{deal}", json={"next_step_due_at": "2030-01-11T14:00:00+05:00"}, headers=h)
    assert other.status_code == 200
    assert other.get_json()["result"]["next_step_due_at"] in ("2030-01-11T09:00:00+00:00", "2030-01-11T09:00:00Z")


def test_the_cli_reads_a_time_without_an_offset_in_the_users_zone(app, deal):
    result = app.test_cli_runner().invoke(args=["crm", "opportunity-update", str(deal), "--set",
                                                "next_step_due_at=2030-01-12T10:00", "--as", "sales"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert as_utc(db.session.get(Opportunity, deal).next_step_due_at) == datetime(2030, 1, 12, 7, 0, tzinfo=timezone.utc)


def test_the_dashboard_period_follows_the_local_day(app, client, as_role, clean_db, users):
    """A deal won at 22:30 UTC on 30 November was won on 1 December in Moscow."""
    from app.services.opportunities import update_opportunity

    with app.app_context():
        account = save_record(request_as(users["Sales"]), Account(name="Зерно"))
        opp, _ = create_opportunity(request_as(users["Sales"], {"account_id": account.id, "name": "Сайт"}))
        update_opportunity(request_as(users["Sales"], {"stage": "won"}, evidence_refs=[{"type": "note", "text": "signed"}],
                                      at=datetime(2026, 11, 30, 22, 30, tzinfo=timezone.utc)), opp.id)
    as_role("Sales")
    december = client.get("/api/v1/metrics/win-rate?from=2026-12-01&to=2026-12-31")
    assert december.status_code == 200, december.get_data(as_text=True)
    december = december.get_json()
    november = client.get("/api/v1/metrics/win-rate?from=2026-11-01&to=2026-11-30").get_json()
    assert december["result"]["overall"]["won"] == 1
    assert november["result"]["overall"]["won"] == 0
