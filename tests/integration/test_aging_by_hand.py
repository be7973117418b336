"""The aging figures on a handful of deals whose days are known by hand. Marked smoke: on SQLite
(CRM_TEST_DB=sqlite) and on PostgreSQL the medians and p90s come from the maintained histograms
(app.queries.metrics.histogram_percentile, whole days), and both must give the numbers below."""
from datetime import datetime, timedelta, timezone

import pytest

from app.extensions import db
from app.models import Account, Opportunity
from app.queries import metrics
from tests.helpers import change_context

NOW = datetime.now(timezone.utc).replace(microsecond=0)
NOTE = [{"type": "note", "text": "client confirmed"}]

# Deals still in qualified: (days in lead before the move, days in qualified since).
QUALIFIED = [(1, 2), (3, 5), (4, 9), (6, 16), (10, 30)]
# Deals still in lead: days since creation (whole days: the dashboard counts days in a stage to the
# day, from its maintained histogram of the days deals entered their stage).
LEADS = [1, 20]
# One deal won: 2 days in lead, then 3 days in qualified, won 4 days ago.
WON = (2, 3, 4)


def days_ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def new_deal(users, account, name, at, **extra):
    with change_context(actor_id=users["Sales"], at=at):
        opp = Opportunity(account=account, name=name, owner_user_id=users["Sales"], **extra)
        db.session.add(opp)
        db.session.flush()
    return opp


def move(users, opp, stage, at):
    with change_context(actor_id=users["Sales"], at=at, evidence_refs=NOTE):
        opp.stage = stage
        if stage == "qualified":
            opp.next_step_text, opp.next_step_due_at = "Call", NOW + timedelta(days=3)
        db.session.flush()


@pytest.fixture()
def seeded(app, clean_db, users):
    with app.app_context():
        with change_context(actor_id=users["Sales"], at=days_ago(60)):
            account = Account(name="Aging Ltd")
            db.session.add(account)
            db.session.flush()
        for i, (in_lead, in_qualified) in enumerate(QUALIFIED):
            opp = new_deal(users, account, f"Q{i}", days_ago(in_qualified + in_lead))
            move(users, opp, "qualified", days_ago(in_qualified))
        for i, age in enumerate(LEADS):
            new_deal(users, account, f"L{i}", days_ago(age))
        in_lead, in_qualified, since = WON
        won = new_deal(users, account, "W", days_ago(since + in_qualified + in_lead))
        move(users, won, "qualified", days_ago(since + in_qualified))
        move(users, won, "won", days_ago(since))
        # A proposal from triage waits for a person: it is in no figure.
        new_deal(users, account, "Proposed", days_ago(60), proposed=True)
        db.session.commit()


def period():
    return metrics.MetricFilters(start=(NOW - timedelta(days=89)).date(), end=NOW.date(), now=NOW)


@pytest.mark.smoke
def test_aging_agrees_with_a_hand_computation(app, seeded):
    with app.app_context():
        got = {row["stage"]: row for row in metrics.aging(period())}
    qualified, lead = got["qualified"], got["lead"]
    # Days in qualified now: 2, 5, 9, 16, 30 -> median 9; p90 at rank 3.6: 16 + 0.6 * (30 - 16) = 24.4;
    # past the 14-day threshold: 16 and 30.
    assert (qualified["count"], qualified["median_days"], qualified["p90_days"]) == (5, 9.0, 24.4)
    assert (qualified["threshold_days"], qualified["rotting"]) == (14, 2)
    # Days in lead now: 1, 20 (the 60-day-old proposal does not count) -> median 10.5;
    # p90: 1 + 0.9 * 19 = 18.1; past 14 days: one.
    assert (lead["count"], lead["median_days"], lead["p90_days"], lead["rotting"]) == (2, 10.5, 18.1, 1)
    # Time spent in lead before moving on: 1, 3, 4, 6, 10 and the won deal's 2 -> sorted
    # 1, 2, 3, 4, 6, 10: median (3 + 4) / 2 = 3.5; p90 at rank 4.5: 6 + 0.5 * (10 - 6) = 8.0.
    assert (lead["moved_on"], lead["past_median_days"], lead["past_p90_days"]) == (6, 3.5, 8.0)
    # The won deal left qualified after 3 days: the only past entry of qualified.
    assert (qualified["moved_on"], qualified["past_median_days"], qualified["past_p90_days"]) == (1, 3.0, 3.0)
    # Stages nobody is in show no figures rather than zeros.
    assert got["discovery"]["count"] == 0 and got["discovery"]["median_days"] is None
    assert got["discovery"]["p90_days"] is None and got["discovery"]["moved_on"] == 0


@pytest.mark.smoke
def test_the_api_shows_the_same_aging(app, seeded, client, api):
    body = client.get("/api/v1/metrics/aging", headers=api("Owner")).get_json()
    got = {row["stage"]: row for row in body["result"]}
    # The API measures up to its own clock (a second or so after NOW): the rounded days agree.
    assert (got["qualified"]["median_days"], got["qualified"]["p90_days"], got["qualified"]["rotting"]) == (9.0, 24.4, 2)
    assert (got["lead"]["median_days"], got["lead"]["p90_days"]) == (10.5, 18.1)
    assert (got["lead"]["past_median_days"], got["lead"]["past_p90_days"]) == (3.5, 8.0)
