"""The one decision on a change of a deal, and the small pure rules around it (no Flask, no database):
what `decide` stores, refuses and audits; the version check; when a next step is overdue; ranges."""
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from app.domain.next_step import CLOSED, DUE_TODAY, LATER, NO_DUE_DATE, OVERDUE, days_overdue, is_overdue, next_step_state
from app.domain.opportunity import VERSION_CONFLICT, decide, stage_defaults, version_errors
from app.domain.ranges import RANGES, range_errors
from app.domain.stages import StageTable

TABLE = StageTable.default()
# What the listener hands to `decide`: the audited fields and the stage clock.
STATE_FIELDS = ("name", "account_id", "stage", "status", "amount_estimate", "currency", "probability",
                "forecast_category", "close_date_target", "source", "primary_competitor", "owner_user_id",
                "next_step_text", "next_step_due_at", "lost_reason", "discount_percent", "proposed",
                "stage_entered_at", "closed_at")
NOW = datetime(2030, 3, 15, 12, 0, tzinfo=timezone.utc)
ENTERED = datetime(2030, 3, 1, 9, 0, tzinfo=timezone.utc)
CLOSED_AT = datetime(2030, 3, 10, 16, 0, tzinfo=timezone.utc)
DUE = datetime(2030, 3, 20, 10, 0, tzinfo=timezone.utc)
NOTE = [{"type": "note", "text": "client confirmed on the call"}]


def deal(stage="lead", **extra) -> dict:
    """A stored deal as the listener reads it: every tracked field and the stage clock, with the
    values the stage gave it."""
    s = TABLE.get(stage)
    values = dict.fromkeys(STATE_FIELDS)
    values.update(name="Website", stage=stage, status=s.semantic, probability=s.default_probability,
                  forecast_category=s.forecast_category, amount_estimate=Decimal("100000.00"), currency="RUB",
                  stage_entered_at=ENTERED, closed_at=None if s.semantic == "open" else CLOSED_AT, proposed=False)
    if s.requires_next_step:
        values.update(next_step_text="Send the brief", next_step_due_at=DUE)
    if stage == "lost":
        values["lost_reason"] = "Chose another studio"
    values.update(extra)
    return values


def move(old: dict, stage: str, **extra) -> dict:
    """The state after the ORM set `stage` (and `extra`): everything else still as stored, like
    `state_of(opp)` in the listener."""
    new = {**old, "stage": stage}
    if stage in TABLE.open_stages() and TABLE.get(stage).requires_next_step:
        new["next_step_text"] = new["next_step_text"] or "Send the brief"
        new["next_step_due_at"] = new["next_step_due_at"] or DUE
    if stage == "lost":
        new["lost_reason"] = new["lost_reason"] or "Chose another studio"
    new.update(extra)
    return new


def run(old, new, explicit=("stage",), can_reopen=False, evidence_refs=NOTE):
    return decide(old, new, set(explicit), TABLE, evidence_refs=evidence_refs, can_reopen=can_reopen, now=NOW)


def kinds(decision):
    return [event[0] for event in decision.events]


# --- stage defaults on a move ----------------------------------------------------------------

def test_a_stage_move_without_explicit_probability_or_forecast_takes_the_stage_defaults():
    old = deal("lead")
    decision = run(old, move(old, "proposal_sent"), explicit={"stage", "next_step_text", "next_step_due_at"})
    assert decision.errors == {}
    values = decision.values
    assert (values["status"], values["probability"], values["forecast_category"]) == ("open", 0.55, "best_case")
    assert values["stage_entered_at"] == NOW and values["closed_at"] is None


def test_a_probability_set_by_hand_earlier_does_not_survive_a_stage_move():
    """The stored probability is in the new state but was not part of this change."""
    old = deal("qualified", probability=Decimal("0.9"), forecast_category="commit")
    decision = run(old, move(old, "discovery"))
    assert decision.values["probability"] == 0.35 and decision.values["forecast_category"] == "pipeline"


def test_an_explicit_probability_and_forecast_on_a_stage_move_are_kept():
    old = deal("lead")
    new = move(old, "qualified", probability=Decimal("0.4"), forecast_category="best_case")
    decision = run(old, new, explicit={"stage", "probability", "forecast_category"})
    assert decision.errors == {}
    assert decision.values["probability"] == Decimal("0.4")
    assert decision.values["forecast_category"] == "best_case"
    assert decision.values["status"] == "open"


def test_an_explicit_probability_alone_keeps_the_forecast_default():
    old = deal("lead")
    decision = run(old, move(old, "negotiation", probability=Decimal("0.6")), explicit={"stage", "probability"})
    assert decision.values["probability"] == Decimal("0.6") and decision.values["forecast_category"] == "commit"


def test_without_a_stage_move_nothing_is_defaulted_and_the_stage_clock_keeps_running():
    old = deal("qualified")
    new = {**old, "probability": Decimal("0.3")}
    assert stage_defaults(old, new, {"probability"}, TABLE, NOW) == {}
    decision = run(old, new, explicit={"probability"})
    assert decision.errors == {}
    assert decision.values["probability"] == Decimal("0.3") and decision.values["stage_entered_at"] == ENTERED
    assert kinds(decision) == ["probability_changed"]


# --- status follows the stage ----------------------------------------------------------------

def test_an_explicit_status_that_contradicts_the_new_stage_is_a_status_error():
    old = deal("negotiation")
    decision = run(old, move(old, "won", status="open"), explicit={"stage", "status"})
    assert set(decision.errors) == {"status"}
    assert decision.events == []


def test_an_explicit_status_that_agrees_with_the_new_stage_is_fine():
    old = deal("negotiation")
    decision = run(old, move(old, "won", status="won"), explicit={"stage", "status"})
    assert decision.errors == {}
    assert decision.values["status"] == "won"


def test_the_stored_status_is_not_taken_as_a_contradiction_when_only_the_stage_was_set():
    old = deal("negotiation")
    new = move(old, "lost")  # still carries the stored status "open"
    decision = run(old, new)
    assert decision.errors == {} and decision.values["status"] == "lost"


def test_a_contradicting_status_without_a_stage_move_is_refused():
    old = deal("qualified")
    decision = run(old, {**old, "status": "won"}, explicit={"status"})
    assert set(decision.errors) == {"status"} and decision.events == []


# --- closing and reopening -------------------------------------------------------------------

def test_closing_sets_closed_at_to_now_and_plans_stage_changed_then_won():
    old = deal("negotiation")
    decision = run(old, move(old, "won"))
    assert decision.errors == {}
    values = decision.values
    assert values["closed_at"] == NOW and values["stage_entered_at"] == NOW
    assert (values["status"], values["probability"], values["forecast_category"]) == ("won", 1.0, "commit")
    assert decision.events[:2] == [("stage_changed", {"stage": "negotiation"}, {"stage": "won"}),
                                   ("won", {"stage": "negotiation"}, {"stage": "won"})]


def test_losing_records_the_reason_in_its_event():
    old = deal("discovery")
    decision = run(old, move(old, "lost", lost_reason="Budget cut"))
    assert decision.errors == {} and decision.values["closed_at"] == NOW
    assert ("lost", {"stage": "discovery"}, {"stage": "lost", "lost_reason": "Budget cut"}) in decision.events


def test_reopening_without_the_permission_is_a_stage_error_and_plans_nothing():
    old = deal("won")
    decision = run(old, move(old, "lead"), can_reopen=False)
    assert set(decision.errors) == {"stage"}
    assert "reopen permission" in decision.errors["stage"][0]
    assert decision.events == []


def test_reopening_with_the_permission_clears_closed_at_and_plans_a_reopened_event():
    old = deal("lost")
    decision = run(old, move(old, "qualified"), can_reopen=True)
    assert decision.errors == {}
    values = decision.values
    assert values["closed_at"] is None and values["stage_entered_at"] == NOW
    assert (values["status"], values["probability"]) == ("open", 0.2)
    assert kinds(decision)[:2] == ["stage_changed", "reopened"]
    assert decision.events[1] == ("reopened", {"stage": "lost"}, {"stage": "qualified"})


def test_a_stage_move_without_evidence_is_refused():
    old = deal("lead")
    decision = run(old, move(old, "qualified"), evidence_refs=[])
    assert set(decision.errors) == {"evidence_refs"} and decision.events == []


# --- unknown stage, creation -----------------------------------------------------------------

def test_an_unknown_stage_is_a_stage_error_with_no_events_and_nothing_defaulted():
    old = deal("lead")
    new = move(old, "closing")
    decision = run(old, new)
    assert decision.errors == {"stage": ["Unknown stage."]}
    assert decision.events == []
    assert decision.values == new  # nothing applied on top of what was asked


def test_creating_with_an_unknown_stage_is_a_stage_error_too():
    decision = run(None, {"stage": None, "name": "Website"}, explicit=set())
    assert set(decision.errors) == {"stage"} and decision.events == []


def test_creation_takes_the_stage_defaults_starts_the_clock_and_plans_one_created_event():
    new = dict.fromkeys(STATE_FIELDS)
    new.update(stage="lead", name="Website", currency="RUB")
    decision = run(None, new, explicit=set(), evidence_refs=[])
    assert decision.errors == {}
    values = decision.values
    assert (values["status"], values["probability"], values["forecast_category"]) == ("open", 0.05, "pipeline")
    assert values["stage_entered_at"] == NOW and values["closed_at"] is None
    ((kind, old_value, new_value),) = decision.events
    assert kind == "created" and old_value is None and new_value["stage"] == "lead"


def test_creation_keeps_a_given_probability_and_an_imported_stage_clock():
    """An importer's deal arrives with its own probability and stage entry date."""
    new = dict.fromkeys(STATE_FIELDS)
    new.update(stage="won", name="Old deal", probability=Decimal("0.9"), stage_entered_at=ENTERED)
    decision = run(None, new, explicit=set(), evidence_refs=[{"type": "note", "text": "Signed in 2024"}])
    assert decision.errors == {}
    assert decision.values["probability"] == Decimal("0.9") and decision.values["status"] == "won"
    assert decision.values["stage_entered_at"] == ENTERED and decision.values["closed_at"] == NOW


# --- optimistic locking ----------------------------------------------------------------------

@pytest.mark.parametrize("expected,current", [(None, 3), (3, None), (3, 3), ("3", 3), (None, None)])
def test_the_version_check_passes_when_nothing_contradicts(expected, current):
    assert version_errors(expected, current) == {}


@pytest.mark.parametrize("expected,current", [(2, 3), (4, 3), ("2", 3)])
def test_a_stale_version_must_reload(expected, current):
    assert version_errors(expected, current) == {"version": [VERSION_CONFLICT]}
    assert "reload" in VERSION_CONFLICT


# --- when a next step is overdue -------------------------------------------------------------

def test_a_next_step_is_overdue_only_once_its_due_time_has_passed():
    assert not is_overdue(None, NOW)
    assert not is_overdue(NOW + timedelta(minutes=1), NOW)
    assert not is_overdue(NOW, NOW)  # due right now is not late yet
    assert is_overdue(NOW - timedelta(seconds=1), NOW)


def test_a_naive_due_time_is_read_as_utc():
    """A naive value from SQLite means UTC: 10:00 is not yet due at 12:00+03:00 (09:00 UTC), but
    is at 13:30+03:00 (10:30 UTC). Read as local +03:00 it would be overdue in both."""
    naive_due = datetime(2030, 3, 15, 10, 0)
    moscow = timezone(timedelta(hours=3))
    assert not is_overdue(naive_due, datetime(2030, 3, 15, 12, 0, tzinfo=moscow))
    assert is_overdue(naive_due, datetime(2030, 3, 15, 13, 30, tzinfo=moscow))
    assert next_step_state(naive_due, datetime(2030, 3, 15, 10, 30, tzinfo=timezone.utc)) == OVERDUE
    assert days_overdue(naive_due, datetime(2030, 3, 18, 11, 0, tzinfo=timezone.utc)) == 3


def test_days_overdue_counts_whole_days_and_is_zero_when_not_late():
    assert days_overdue(NOW - timedelta(days=3, hours=5), NOW) == 3
    assert days_overdue(NOW - timedelta(hours=23), NOW) == 0
    assert days_overdue(NOW + timedelta(days=2), NOW) == 0
    assert days_overdue(None, NOW) == 0


@pytest.mark.parametrize("due,status,expected", [
    (NOW - timedelta(days=2), "open", OVERDUE),
    (NOW + timedelta(hours=3), "open", DUE_TODAY),
    (NOW + timedelta(days=1), "open", LATER),
    (None, "open", NO_DUE_DATE),
    (NOW - timedelta(days=2), "won", CLOSED),
    (None, "lost", CLOSED),
    (NOW + timedelta(days=1), "lost", CLOSED),
])
def test_next_step_state(due, status, expected):
    assert next_step_state(due, NOW, status) == expected


def test_the_states_are_the_words_the_browser_shows():
    assert (OVERDUE, DUE_TODAY, LATER, NO_DUE_DATE, CLOSED) == ("overdue", "today", "future", "none", "closed")
    assert next_step_state(NOW - timedelta(days=1), NOW) == "overdue"  # status defaults to open


# --- ranges ----------------------------------------------------------------------------------

def test_none_is_not_checked():
    assert range_errors({name: None for name in RANGES}) == {}
    assert range_errors({}) == {}


@pytest.mark.parametrize("value", ["abc", "", "0,5", "1e", "Infinity", "-Infinity", [0.5]])
def test_text_that_is_no_number_is_refused(value):
    assert range_errors({"probability": value}) == {"probability": ["Must be between 0 and 1."]}


def test_nan_is_refused_like_any_other_non_number():
    """'NaN' parses as a Decimal, but it is no probability: a field error, not an exception."""
    assert range_errors({"probability": "NaN"}) == {"probability": ["Must be between 0 and 1."]}
    assert range_errors({"discount_percent": float("nan")}) == {"discount_percent": ["Must be between 0 and 100."]}


@pytest.mark.parametrize("name,inside,outside", [
    ("probability", [0, "0", Decimal("0.5"), 1, "1.000"], [Decimal("-0.0001"), "1.0001", 2]),
    ("discount_percent", [0, 100, "99.99"], [-1, "100.01"]),
    ("amount_estimate", [0, "0.00", "999999999999.99"], ["-0.01", -5]),
    ("icp_fit_score", [0, 100], [101, -1]),
    ("influence_score", [0, 100], [100.5]),
    ("amount", [0], [-1]),
])
def test_bounds_are_inclusive(name, inside, outside):
    for value in inside:
        assert range_errors({name: value}) == {}, (name, value)
    for value in outside:
        assert range_errors({name: value}) == {name: [RANGES[name].message]}, (name, value)


def test_only_the_named_fields_are_checked_and_every_bad_one_is_reported():
    values = {"probability": 5, "discount_percent": 150, "amount_estimate": -1}
    assert set(range_errors(values)) == {"probability", "discount_percent", "amount_estimate"}
    assert set(range_errors(values, ["probability"])) == {"probability"}
    assert range_errors(values, []) == {}
