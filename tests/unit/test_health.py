"""Account health: a 0–100 score with a label, from signals a person can check."""
import pytest

from app.domain.health import HealthSignals, health_label, health_score


def signals(days=3, overdue=0, open_deals=1, projects=0):
    return HealthSignals(days, overdue, open_deals, projects)


def test_a_recently_touched_account_with_a_deal_is_healthy():
    assert health_score(signals()) == 100 and health_label(100) == "green"


@pytest.mark.parametrize("days,score", [(0, 100), (7, 100), (8, 85), (30, 85), (31, 70), (60, 70), (61, 55), (None, 55)])
def test_silence_costs_points(days, score):
    assert health_score(signals(days=days)) == score


def test_overdue_next_steps_cost_15_each_at_most_30():
    assert [health_score(signals(overdue=n)) for n in (1, 2, 5)] == [85, 70, 70]


def test_no_deal_and_no_project_costs_20_and_active_delivery_adds_10():
    assert health_score(signals(open_deals=0)) == 80
    assert health_score(signals(days=40, projects=2)) == 80


def test_the_score_stays_within_0_and_100_and_labels_by_thresholds():
    assert health_score(signals(days=None, overdue=4, open_deals=0)) == 5
    assert health_score(signals(projects=1)) == 100
    assert [health_label(s) for s in (70, 69, 40, 39)] == ["green", "amber", "amber", "red"]
