"""Every dashboard figure equals a plain Python recomputation over random data; the API, the
page and the CSV show the same numbers; the statement count does not grow with the data."""
import csv
import io
import random
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Account, Opportunity, OpportunityEvent
from app.queries import metrics
from app.services.report_aggregates import whole_days
from tests.helpers import change_context
from tests.conftest import USE_SQLITE, count_statements

NOW = datetime.now(timezone.utc).replace(microsecond=0)
SOURCES = ["referral", "website", "telegram", None]
OPEN = ["lead", "qualified", "discovery", "proposal_sent", "negotiation"]
NOTE = [{"type": "note", "text": "random"}]


def fill(app, users, n, seed=11):
    """n random deals, each walked through its stages in the past (real audit history)."""
    rnd = random.Random(seed)
    owners = [users["Sales"], users["Owner"], users["Admin"]]
    with app.app_context():
        with change_context(actor_id=users["Admin"]):
            accounts = [Account(name=f"Acc {seed}-{i}") for i in range(8)]
            db.session.add_all(accounts)
            db.session.flush()
        for i in range(n):
            born = NOW - timedelta(days=rnd.randint(40, 200), hours=rnd.randint(0, 23))
            with change_context(actor_id=users["Admin"], at=born):
                opp = Opportunity(account=rnd.choice(accounts), name=f"Deal {seed}-{i}", owner_user_id=rnd.choice(owners),
                                  source=rnd.choice(SOURCES), amount_estimate=Decimal(rnd.randint(1, 500) * 1000),
                                  close_date_target=(NOW + timedelta(days=rnd.randint(-60, 120))).date() if rnd.random() < .8 else None)
                db.session.add(opp)
                db.session.flush()
            target = rnd.choice(OPEN + ["won", "lost"])
            path = OPEN[1:OPEN.index(target) + 1] if target in OPEN else OPEN[1:rnd.randint(1, 5)] + [target]
            when = born
            for stage in path:
                when = min(when + timedelta(days=rnd.randint(1, 20), hours=rnd.randint(0, 20)), NOW - timedelta(hours=1))
                with change_context(actor_id=users["Admin"], at=when, evidence_refs=NOTE):
                    opp.stage = stage
                    if stage in OPEN[1:]:
                        opp.next_step_text = "Call"
                        opp.next_step_due_at = NOW + timedelta(days=rnd.randint(-15, 15), hours=rnd.randint(1, 5))
                    if stage == "lost":
                        opp.lost_reason = "Price"
                    db.session.flush()
        db.session.commit()


@pytest.fixture()
def data(app, clean_db, users):
    fill(app, users, 70)
    with app.app_context():
        opps = db.session.scalars(select(Opportunity)).all()
        history = db.session.scalars(select(OpportunityEvent).order_by(OpportunityEvent.created_at, OpportunityEvent.id)).all()
        db.session.expunge_all()
    return opps, history


def aware(value):
    return value.replace(tzinfo=timezone.utc) if value is not None and value.tzinfo is None else value


def period(owner_ids=()):
    return metrics.MetricFilters(start=(NOW - timedelta(days=89)).date(), end=NOW.date(), owner_ids=list(owner_ids), now=NOW)


@pytest.mark.parametrize("owner", [None, "Sales"])
def test_pipeline_and_forecast(app, data, users, owner):
    opps, _ = data
    f = period([users[owner]] if owner else [])
    mine = [o for o in opps if o.status == "open" and (not owner or o.owner_user_id == users[owner])]
    with app.app_context():
        got = {r["stage"]: r for r in metrics.pipeline(f)}
        forecast = {r["month"]: r for r in metrics.forecast(f)}
    for stage in OPEN:
        deals = [o for o in mine if o.stage == stage]
        assert got[stage]["count"] == len(deals)
        assert got[stage]["amount"] == sum((o.amount_estimate for o in deals), Decimal(0))
        assert got[stage]["weighted"] == sum((o.amount_estimate * o.probability for o in deals), Decimal(0)).quantize(Decimal("0.01"))
    expected = defaultdict(lambda: defaultdict(Decimal))
    for o in mine:
        if o.close_date_target:
            expected[o.close_date_target.strftime("%Y-%m")][o.forecast_category] += o.amount_estimate
    assert set(forecast) == set(expected)
    for month, cats in expected.items():
        for category in ("pipeline", "best_case", "commit"):
            assert forecast[month][category] == cats.get(category, Decimal(0)), (month, category)


def test_aging(app, data):
    opps, history = data
    with app.app_context():
        got = {r["stage"]: r for r in metrics.aging(period())}
        thresholds = metrics.rotting_days()
    for stage in OPEN:
        # days in a stage are whole UTC calendar days (the maintained histogram is per day entered);
        # the rotting count stays exact
        mine = [o for o in opps if o.status == "open" and o.stage == stage]
        days = [(NOW.date() - aware(o.stage_entered_at).date()).days for o in mine]
        assert got[stage]["count"] == len(days)
        if days:
            assert got[stage]["median_days"] == round(metrics.percentile(days, .5), 1)
            assert got[stage]["p90_days"] == round(metrics.percentile(days, .9), 1)
        exact = [(NOW - aware(o.stage_entered_at)).total_seconds() / 86400 for o in mine]
        assert got[stage]["rotting"] == sum(1 for d in exact if d > thresholds[stage])
    entered, spent = {}, defaultdict(list)
    start = datetime.combine(period().start, datetime.min.time(), tzinfo=timezone.utc)
    for e in history:
        if e.event_type not in ("created", "stage_changed"):
            continue
        if e.event_type == "stage_changed" and e.opportunity_id in entered and aware(e.created_at) >= start:
            spent[e.old_value["stage"]].append(whole_days(e.created_at, entered[e.opportunity_id]))
        entered[e.opportunity_id] = aware(e.created_at)
    for stage in OPEN:
        assert got[stage]["moved_on"] == len(spent[stage])
        if spent[stage]:
            assert got[stage]["past_median_days"] == round(metrics.percentile(spent[stage], .5), 1)
            assert got[stage]["past_p90_days"] == round(metrics.percentile(spent[stage], .9), 1)


def test_win_rate(app, data, users):
    opps, _ = data
    start = datetime.combine(period().start, datetime.min.time(), tzinfo=timezone.utc)
    closed = [o for o in opps if o.status in ("won", "lost") and aware(o.closed_at) >= start]
    with app.app_context():
        got = metrics.win_rate(period())
    won = sum(o.status == "won" for o in closed)
    assert (got["overall"]["won"], got["overall"]["lost"]) == (won, len(closed) - won)
    assert got["overall"]["rate"] == (round(won / len(closed), 4) if closed else None)
    for row in got["by_owner"]:
        mine = [o for o in closed if o.owner_user_id == row["owner_user_id"]]
        assert row["won"] == sum(o.status == "won" for o in mine) and row["won"] + row["lost"] == len(mine)
    assert sum(r["won"] + r["lost"] for r in got["by_source"]) == len(closed)
    for row in got["by_source"]:
        assert row["won"] + row["lost"] == sum(o.source == row["source"] for o in closed)


def test_sla_and_stalled(app, data):
    opps, history = data
    open_deals = [o for o in opps if o.status == "open"]
    with app.app_context():
        sla = metrics.sla(period())
        stalled = {r["id"]: r for r in metrics.stalled(period())}
        thresholds, quiet = metrics.rotting_days(), metrics.no_touch_days()
        touches = {}
        for o in opps:
            touches[o.id] = aware(db.session.get(Account, o.account_id).last_touch_at)
    overdue = [o for o in open_deals if o.next_step_due_at and aware(o.next_step_due_at) < NOW]
    assert sla["overdue_total"] == len(overdue)
    assert {d["id"] for d in sla["overdue"]} == {str(o.id) for o in overdue}
    assert sla["no_next_step_total"] == sum(1 for o in open_deals if o.next_step_due_at is None)
    last_event = {}
    for e in history:
        last_event[e.opportunity_id] = max(aware(e.created_at), last_event.get(e.opportunity_id, aware(e.created_at)))
    for o in open_deals:
        in_stage = (NOW - aware(o.stage_entered_at)).total_seconds() / 86400
        touch = max(filter(None, [touches[o.id], last_event.get(o.id)]), default=None)
        reasons = set()
        if o.next_step_due_at and aware(o.next_step_due_at) < NOW:
            reasons.add("overdue")
        if o.next_step_due_at is None:
            reasons.add("no_next_step")
        if in_stage > thresholds[o.stage]:
            reasons.add("past_threshold")
        if touch is None or touch < NOW - timedelta(days=quiet):
            reasons.add("no_touch")
        got = {r["reason"] for r in stalled[str(o.id)]["reasons"]} if str(o.id) in stalled else set()
        assert got == reasons, o.name


def test_api_page_and_csv_agree(app, client, api, as_role, data, users):
    response = client.get("/api/v1/metrics/pipeline", headers=api("Owner"))
    assert response.status_code == 200
    stages = {r["stage"]: r for r in response.get_json()["result"]["stages"]}
    with app.app_context():
        expected = {r["stage"]: r for r in metrics.pipeline(metrics.default_filters())}
    assert stages["lead"]["count"] == expected["lead"]["count"]
    for path in ("aging", "win-rate", "sla"):
        assert client.get(f"/api/v1/metrics/{path}", headers=api("Owner")).status_code == 200
    assert client.get("/api/v1/metrics/aging?from=yesterday", headers=api("Owner")).status_code == 400
    assert client.get("/api/v1/metrics/sla", headers=api("PM")).status_code == 403
    as_role("Owner")
    page = client.get("/dashboard/").get_data(as_text=True)
    assert f'<tr data-stage="lead"><td>Lead</td><td class="count">{expected["lead"]["count"]}</td>' in page
    with app.app_context():
        stalled = metrics.stalled(metrics.default_filters())
    report = client.get("/stall/").get_data(as_text=True)
    assert report.count("data-opportunity-id=") == len(stalled)
    rows = list(csv.reader(io.StringIO(client.get("/stall/csv").get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:3] == ["Deal", "Account", "Owner"] and len(rows) == len(stalled) + 1  # issue 14: headers in words


def test_sales_see_only_their_own_numbers(app, client, api, data, users):
    opps, _ = data
    body = client.get(f"/api/v1/metrics/sla?owner={users['Owner']}", headers=api("Sales")).get_json()
    assert body["owner_user_ids"] == [users["Sales"]]
    assert {d["owner_user_id"] for d in body["result"]["overdue"]} <= {users["Sales"]}


def test_landing_page_follows_the_role(client, as_role, clean_db):
    as_role("Owner")
    assert client.get("/").headers["Location"].endswith("/dashboard/")
    as_role("PM")
    assert client.get("/").headers["Location"].endswith("/board/")


@pytest.mark.skipif(USE_SQLITE, reason="PostgreSQL")
def test_dashboard_statements_do_not_grow_with_the_data(app, client, as_role, clean_db, users):
    as_role("Owner")

    def count():
        return count_statements(app, client, "/dashboard/", "/stall/")

    fill(app, users, 5, seed=1)
    small = count()
    fill(app, users, 40, seed=2)
    assert count() == small
