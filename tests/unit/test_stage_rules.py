"""The stage table and its rules, read as sentences (pure: no Flask, no database)."""
from datetime import datetime, timezone
from decimal import Decimal
from itertools import product

import pytest

from app.domain.errors import RuleViolation
from app.domain.stages import StageTable, check_opportunity, evidence_required, required_fields_for

TABLE = StageTable.default()
DUE = datetime(2030, 1, 10, 10, tzinfo=timezone.utc)
NOTE = [{"type": "note", "text": "client confirmed"}]


def state(stage="lead", **extra):
    values = {"stage": stage, "status": TABLE.status_for(stage) if stage in TABLE.names() else None, "next_step_text": None, "next_step_due_at": None,
              "lost_reason": None, "amount_estimate": Decimal("100000"), "discount_percent": None, "probability": None}
    values.update(extra)
    return values


def complete(stage):
    """A state that satisfies everything the stage asks for."""
    extra = {}
    if "next_step_due_at" in required_fields_for(stage, TABLE):
        extra.update(next_step_text="Send the brief", next_step_due_at=DUE)
    if stage == "lost":
        extra["lost_reason"] = "Chose another studio"
    return state(stage, **extra)


def test_the_default_stages_are_in_funnel_order_with_fixed_meaning():
    assert TABLE.names() == ["lead", "qualified", "discovery", "proposal_sent", "negotiation", "won", "lost"]
    assert TABLE.open_stages() == ["lead", "qualified", "discovery", "proposal_sent", "negotiation"]
    assert [TABLE.status_for(s) for s in ("lead", "negotiation", "won", "lost")] == ["open", "open", "won", "lost"]


def test_each_stage_has_a_default_probability_and_forecast_category():
    assert [TABLE.get(s).default_probability for s in TABLE.names()] == [0.05, 0.2, 0.35, 0.55, 0.75, 1.0, 0.0]
    assert TABLE.get("proposal_sent").forecast_category == "best_case"
    assert TABLE.get("negotiation").forecast_category == "commit"


def test_overrides_change_probability_and_forecast_but_not_meaning():
    table = StageTable.from_overrides({"qualified": {"default_probability": 0.3, "forecast_category": "best_case"}})
    assert table.get("qualified").default_probability == 0.3 and table.status_for("qualified") == "open"
    for bad in ({"closing": {"default_probability": 0.1}}, {"won": {"semantic": "open"}},
                {"lead": {"default_probability": 2}}, {"lead": {"forecast_category": "maybe"}}):
        with pytest.raises(ValueError):
            StageTable.from_overrides(bad)


def test_an_unknown_stage_is_a_field_error():
    assert "stage" in check_opportunity({**state(), "stage": "closing"}, None, TABLE, evidence_refs=None, can_reopen=False)
    with pytest.raises(RuleViolation):
        TABLE.get("closing")


@pytest.mark.parametrize("stage", ["qualified", "discovery", "proposal_sent", "negotiation"])
def test_from_qualified_on_an_open_deal_needs_a_next_step_with_a_date_and_a_what(stage):
    errors = check_opportunity(state(stage), state(), TABLE, evidence_refs=NOTE, can_reopen=False)
    assert set(errors) == {"next_step_due_at", "next_step_text"}
    only_date = check_opportunity(state(stage, next_step_due_at=DUE, next_step_text="  "), state(), TABLE,
                                  evidence_refs=NOTE, can_reopen=False)
    assert set(only_date) == {"next_step_text"}


def test_a_lead_needs_no_next_step():
    assert check_opportunity(state("lead"), None, TABLE, evidence_refs=None, can_reopen=False) == {}


def test_lost_needs_a_non_blank_reason():
    for reason in (None, "", "   "):
        errors = check_opportunity(state("lost", lost_reason=reason), state(), TABLE, evidence_refs=NOTE, can_reopen=False)
        assert set(errors) == {"lost_reason"}


def test_a_status_that_contradicts_the_stage_is_refused():
    errors = check_opportunity(state("won", status="open"), state(), TABLE, evidence_refs=NOTE, can_reopen=False)
    assert set(errors) == {"status"}


def test_creating_a_lead_needs_no_evidence():
    assert check_opportunity(complete("lead"), None, TABLE, evidence_refs=None, can_reopen=False) == {}


@pytest.mark.parametrize("stage", ["qualified", "negotiation", "won", "lost"])
def test_creating_a_deal_past_lead_needs_the_evidence_and_fields_of_moving_there(stage):
    errors = check_opportunity(complete(stage), None, TABLE, evidence_refs=None, can_reopen=False)
    assert set(errors) == {"evidence_refs"}
    assert check_opportunity(complete(stage), None, TABLE, evidence_refs=NOTE, can_reopen=False) == {}


@pytest.mark.parametrize("old_stage,new_stage", list(product(TABLE.names(), TABLE.names())))
def test_every_transition_of_the_default_table(old_stage, new_stage):
    """Any move is allowed when the target's fields and evidence are there, except reopening,
    which only Owner/Admin may do; without evidence every real move is refused."""
    old, new = complete(old_stage), complete(new_stage)
    reopen = TABLE.get(old_stage).semantic != "open" and TABLE.get(new_stage).semantic == "open"
    with_evidence = check_opportunity(new, old, TABLE, evidence_refs=NOTE, can_reopen=False)
    assert (set(with_evidence) == {"stage"}) if reopen else (with_evidence == {})
    assert check_opportunity(new, old, TABLE, evidence_refs=NOTE, can_reopen=True) == {}
    without = check_opportunity(new, old, TABLE, evidence_refs=None, can_reopen=True)
    changed_reason = new.get("lost_reason") and new["lost_reason"] != old.get("lost_reason")
    assert ("evidence_refs" in without) == (old_stage != new_stage or bool(changed_reason))


@pytest.mark.parametrize("field,old_value,new_value,needs", [
    ("amount_estimate", Decimal("100000"), Decimal("120000"), True),
    ("amount_estimate", Decimal("100000"), Decimal("100000.00"), False),
    ("discount_percent", None, Decimal("10"), True),
    ("probability", None, Decimal("0.4"), False),
    ("next_step_text", None, "Call", False),
    ("lost_reason", None, "Budget cut", True),
    ("lost_reason", "Budget cut", None, False),
])
def test_which_changes_need_evidence(field, old_value, new_value, needs):
    assert (field in evidence_required(state(**{field: new_value}), state(**{field: old_value}))) == needs


@pytest.mark.parametrize("field,value", [("probability", Decimal("1.5")), ("probability", -0.1),
                                         ("discount_percent", 101), ("amount_estimate", -1)])
def test_ranges_are_checked(field, value):
    assert field in check_opportunity(state(**{field: value}), None, TABLE, evidence_refs=None, can_reopen=False)


def test_required_fields_per_stage():
    assert required_fields_for("lead", TABLE) == []
    assert required_fields_for("qualified", TABLE) == ["next_step_text", "next_step_due_at"]
    assert required_fields_for("lost", TABLE) == ["lost_reason"]
    assert required_fields_for("won", TABLE) == []
