"""The "why deals stall" report as people read it: a new deal is touched, "today" instead of 0
days, the amount column and the sort, the CSV in the viewer's language (Russian: ';', BOM,
Russian labels, decimal comma), formula-safe and streamed; and the dashboard's months, numbers
and percentages by locale."""
import csv
import io
import re
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from app.extensions import db
from app.models import Account
from app.queries import metrics
from app.services.opportunities import create_opportunity
from app.settings import current as settings
from tests.helpers import add_project, change_context, request_as

NOTE = [{"type": "note", "text": "Agreed on a call"}]
NOW = datetime.now(timezone.utc)
RAW_CODES = ("proposal_sent", "no_next_step", "past_threshold", "no_touch", "qualified", "lead", "RUB")


def viewer_now(app) -> datetime:
    with app.app_context():
        return datetime.now(ZoneInfo(settings().timezone))


def earlier_today(app) -> datetime:
    """A moment of the viewer's today that has already passed (whatever the hour now)."""
    now = viewer_now(app)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return (midnight + (now - midnight) / 2).astimezone(timezone.utc)


def old_account(users, name="Old Client Ltd", days=28):
    """An account last touched `days` ago."""
    with change_context(actor_id=users["Owner"], at=NOW - timedelta(days=days + 30)):
        account = Account(name=name, last_touch_at=NOW - timedelta(days=days))
        db.session.add(account)
        db.session.commit()
    return account.id


def deal(users, account_id, name, amount=None, stage="lead", due=None, owner="Owner"):
    values = {"account_id": account_id, "name": name, "owner_user_id": users[owner], "stage": stage}
    if amount is not None:
        values["amount_estimate"] = Decimal(amount)
    if stage != "lead":
        values.update(next_step_text="Send the estimate", next_step_due_at=due)
    opp, _ = create_opportunity(request_as(users[owner], values, evidence_refs=NOTE if stage != "lead" else None))
    return str(opp.id)


@pytest.fixture()
def report(app, clean_db, users):
    """Three stalled deals on an account quiet for 28 days: a big one, a small one due earlier today,
    one without an amount (and a name a spreadsheet would run as a formula)."""
    with app.app_context():
        account = old_account(users)
        ids = {"big": deal(users, account, "Big rebrand", "1250000.50", stage="proposal_sent", due=NOW - timedelta(days=3)),
               "today": deal(users, account, "Small fix", "30000", stage="qualified", due=earlier_today(app)),
               "formula": deal(users, account, "=HYPERLINK(\"https://evil.test\")")}
    return ids


def shown_ids(page: str) -> list[str]:
    return re.findall(r'data-opportunity-id="([^"]+)"', page)


def csv_rows(response, delimiter):
    text = response.get_data(as_text=True)
    return list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=delimiter))


# --- touch and days ------------------------------------------------------------------------------

@pytest.mark.smoke
def test_a_deal_created_today_is_touched_today(app, client, as_role, clean_db, users):
    with app.app_context():
        account = old_account(users, days=28)
        new = deal(users, account, "Fresh lead")
        rows = {r["id"]: r for r in metrics.stalled(metrics.default_filters())}
    # it is a lead without a next step (so it is listed), but it was touched today: its creation
    assert {r["reason"] for r in rows[new]["reasons"]} == {"no_next_step"}
    as_role("Owner")
    page = client.get("/stall/").get_data(as_text=True)
    assert new in page and "reason-no_touch" not in page and not re.search(r">\s*0 d\s*<", page)
    assert re.search(rf'data-opportunity-id="{new}".*?<td class="days">today</td>', page, re.S)


def test_a_step_due_earlier_today_is_overdue_today_not_0_days(app, client, as_role, report):
    as_role("Owner")
    page = client.get("/stall/").get_data(as_text=True)
    assert "overdue today" in page and "overdue 0" not in page
    assert "overdue 3 d" in page
    as_role("Owner", "ru")
    page = client.get("/stall/").get_data(as_text=True)
    assert "просрочено сегодня" in page and "просрочено 0" not in page and "0 дн." not in page


def test_days_are_days_of_the_viewers_calendar(app):
    """Entered the stage at 23:30 yesterday, now 00:30: one day in the stage, not "today"; due at
    00:10 today: overdue today."""
    zone = ZoneInfo("Asia/Novosibirsk")
    now = datetime(2026, 11, 5, 0, 30, tzinfo=zone)
    row = SimpleNamespace(id="x", name="Deal", account="Acc", stage="qualified", owner_user_id=None, owner=None,
                          amount_estimate=None, currency="RUB", next_step_text="Call",
                          stage_entered_at=datetime(2026, 11, 4, 23, 30, tzinfo=zone),
                          next_step_due_at=datetime(2026, 11, 5, 0, 10, tzinfo=zone),
                          last_touch=datetime(2026, 11, 4, 23, 30, tzinfo=zone))
    got = metrics._stall(row, now, {"qualified": 14}, 21)
    assert got["days_in_stage"] == 1 and got["reasons"] == [{"reason": "overdue", "days": 0}]


# --- amount and sort ----------------------------------------------------------------------------

@pytest.mark.smoke
def test_the_amount_column_and_the_sort(app, client, as_role, report):
    as_role("Owner")
    page = client.get("/stall/").get_data(as_text=True)
    assert "<th" in page and ">Amount" in page and "RUB\u00a01,250,000.50" in page
    # default: the biggest amount first, a deal without an amount last
    assert shown_ids(page) == [report["big"], report["today"], report["formula"]]
    assert 'aria-sort="descending"' in page and "sort=amount&amp;dir=asc" in page
    ascending = client.get("/stall/?sort=amount&dir=asc").get_data(as_text=True)
    assert shown_ids(ascending) == [report["formula"], report["today"], report["big"]]
    by_name = client.get("/stall/?sort=deal").get_data(as_text=True)
    named = [i for i in shown_ids(by_name) if i != report["formula"]]
    assert named == [report["big"], report["today"]]  # "Big rebrand", "Small fix"
    by_name_desc = client.get("/stall/?sort=deal&dir=desc").get_data(as_text=True)
    assert [i for i in shown_ids(by_name_desc) if i != report["formula"]] == [report["today"], report["big"]]
    # an unknown key falls back to the default order
    assert shown_ids(client.get("/stall/?sort=drop%20table&dir=sideways").get_data(as_text=True)) == shown_ids(page)
    # the filters keep the order
    assert 'name="sort" value="deal"' in by_name
    as_role("Owner", "ru")
    assert "1\u00a0250\u00a0000,50\u00a0₽" in client.get("/stall/").get_data(as_text=True)


def test_every_sort_key_answers_in_both_directions(app, client, as_role, report):
    as_role("Owner")
    for key in metrics.STALL_SORTS:
        for direction in ("asc", "desc"):
            page = client.get(f"/stall/?sort={key}&dir={direction}").get_data(as_text=True)
            assert sorted(shown_ids(page)) == sorted(report.values()), (key, direction)
    days = client.get("/stall/?sort=due&dir=asc").get_data(as_text=True)
    assert shown_ids(days) == [report["formula"], report["big"], report["today"]]  # no next step first


# --- CSV -----------------------------------------------------------------------------------------

@pytest.mark.smoke
def test_the_russian_csv_opens_as_columns_in_russian_excel(app, client, as_role, report):
    as_role("Owner", "ru")
    response = client.get("/stall/csv")
    assert response.is_streamed and response.mimetype == "text/csv"
    body = response.get_data()
    assert body.startswith("\ufeff".encode("utf-8"))
    rows = csv_rows(response, ";")
    assert rows[0][:6] == ["Сделка", "Клиент", "Ответственный", "Стадия", "Сумма", "Валюта"]
    assert all(len(r) == len(rows[0]) for r in rows)
    by_name = {r[0]: r for r in rows[1:]}
    big = by_name["Big rebrand"]
    assert big[3] == "КП отправлено" and big[4] == "1250000,50" and big[5] == "₽"
    assert "просрочено 3 дн." in big[9]
    assert "просрочено сегодня" in by_name["Small fix"][9] and by_name["Small fix"][4] == "30000"
    assert re.fullmatch(r"\d\d\.\d\d\.\d{4}", big[7])
    text = body.decode("utf-8")
    for code in RAW_CODES:
        assert code not in text, code


def test_the_english_csv_uses_commas_and_english_headers(app, client, as_role, report):
    as_role("Owner", "en")
    response = client.get("/stall/csv")
    assert not response.get_data().startswith("\ufeff".encode("utf-8"))
    rows = csv_rows(response, ",")
    assert rows[0] == ["Deal", "Account", "Owner", "Stage", "Amount", "Currency", "Days in stage", "Next step due",
                       "Last touch", "Why", "Link"]
    big = {r[0]: r for r in rows[1:]}["Big rebrand"]
    assert big[3] == "Proposal sent" and big[4] == "1250000.50" and big[10].endswith(f"/opportunities/{report['big']}")


def test_a_cell_a_spreadsheet_would_run_is_quoted(app, client, as_role, report):
    as_role("Owner")
    rows = csv_rows(client.get("/stall/csv"), ",")
    names = [r[0] for r in rows[1:]]
    assert "'=HYPERLINK(\"https://evil.test\")" in names
    assert not any(cell[:1] in "=+-@" for r in rows for cell in r if cell)


def test_the_csv_is_streamed_with_the_pages_rows_in_the_pages_order(app, client, as_role, report, users):
    with app.app_context():
        account = old_account(users, "Second Ltd", days=40)
        for i in range(25):
            deal(users, account, f"Lead {i:02}", amount=str(1000 * (i + 1)))
    as_role("Owner")
    for query in ("", "?sort=days", "?sort=owner&dir=desc"):
        page = client.get(f"/stall/{query}").get_data(as_text=True)
        response = client.get(f"/stall/csv{query}")
        assert response.is_streamed
        rows = csv_rows(response, ",")
        assert len(rows) - 1 == len(shown_ids(page)) == 28
        assert [r[10].rsplit("/", 1)[1] for r in rows[1:]] == shown_ids(page), query


@pytest.fixture()
def stall_reader(app):
    """A user whose role reads the report and everyone's numbers and every account, but not every
    project (removed afterwards: the other tests know four users)."""
    from tests.conftest import PASSWORD

    with app.app_context():
        sm = app.appbuilder.sm
        role = sm.find_role("StallReader") or sm.add_role("StallReader")
        for permission, view in (("can_read", "StallReport"), ("can_read", "TeamMetrics"), ("can_read", "AllAccounts")):
            sm.add_permission_role(role, sm.find_permission_view_menu(permission, view))
        if not sm.find_user(username="stallreader"):
            sm.add_user(username="stallreader", first_name="Stall", last_name="Reader", email="stallreader@studio.test",
                        role=role, password=PASSWORD)
    yield "stallreader"
    with app.app_context():
        sm = app.appbuilder.sm
        db.session.delete(sm.find_user(username="stallreader"))
        db.session.delete(sm.find_role("StallReader"))
        db.session.commit()


def test_the_csv_obeys_the_read_scope_inside_the_stream(app, client, clean_db, users, stall_reader):
    """A role that reads the report and everyone's numbers but not every project: the deal inside a
    project it is no member of is in neither the page nor the streamed CSV."""
    from tests.conftest import login

    with app.app_context():
        account = old_account(users, "Scoped Ltd")
        project = add_project(account, "Secret project", members=[users["Owner"]])
        create_opportunity(request_as(users["Owner"], {"account_id": account, "name": "Secret upsell",
                                                       "project_id": project, "owner_user_id": users["Owner"]}))
        deal(users, account, "Open lead")
    login(client, stall_reader)
    page = client.get("/stall/").get_data(as_text=True)
    body = client.get("/stall/csv").get_data(as_text=True)
    assert "Open lead" in page and "Open lead" in body
    assert "Secret upsell" not in page and "Secret upsell" not in body
    login(client, "Owner")
    assert "Secret upsell" in client.get("/stall/csv").get_data(as_text=True)


# --- dashboard numbers by locale ------------------------------------------------------------------

def test_the_dashboard_names_months_and_writes_numbers_by_locale(app, client, as_role, clean_db, users):
    with app.app_context():
        account = old_account(users, "Forecast Ltd", days=2)
        month = (NOW + timedelta(days=40)).date()
        create_opportunity(request_as(users["Owner"], {"account_id": account, "name": "Forecast deal",
                                                       "amount_estimate": Decimal("1250000.50"),
                                                       "close_date_target": month, "owner_user_id": users["Owner"]}))
    as_role("Owner", "ru")
    page = client.get("/dashboard/").get_data(as_text=True)
    forecast = page[page.index('id="forecast"'):page.index('id="aging"')]
    months = ["январь", "февраль", "март", "апрель", "май", "июнь", "июль", "август", "сентябрь", "октябрь",
              "ноябрь", "декабрь"]
    assert f"{months[month.month - 1]} {month.year}" in forecast.lower()
    assert not re.search(r">\s*\d{4}-\d{2}\s*<", forecast)
    assert "1\u00a0250\u00a0000,50\u00a0₽" in forecast
    as_role("Owner", "en")
    forecast = client.get("/dashboard/").get_data(as_text=True)
    assert f"{month:%B %Y}" in forecast


def test_aging_and_win_rate_are_written_by_locale(app):
    from flask_babel import force_locale

    from app.views.dashboard import percent

    with app.test_request_context():
        with force_locale("ru"):
            assert percent(0.6923) == "69\u00a0%" and percent(None) == "—"
        with force_locale("en"):
            assert percent(0.6923) == "69%"
