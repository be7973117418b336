"""Which audit events a change produces (one tuple of tracked fields, like Odoo's tracking)."""
import uuid
from datetime import date, datetime, timezone
from decimal import Decimal

from app.domain.events import TRACKED_FIELDS, json_safe, plan_events
from app.domain.stages import StageTable

TABLE = StageTable.default()


def base(**extra):
    values = {f: None for f in TRACKED_FIELDS}
    values.update(stage="lead", status="open", name="Website", amount_estimate=Decimal("100.00"), currency="RUB")
    values.update(extra)
    return values


def types(old, new):
    return sorted(e[0] for e in plan_events(old, new, TABLE))


def test_creation_is_one_created_event_with_json_safe_values():
    account = uuid.uuid4()
    ((kind, old, new),) = plan_events(None, base(account_id=account, close_date_target=date(2030, 1, 1)), TABLE)
    assert kind == "created" and old is None
    assert new["account_id"] == str(account) and new["close_date_target"] == "2030-01-01"
    assert new["amount_estimate"] == "100.00"


def test_nothing_changed_means_no_event():
    assert plan_events(base(), base(amount_estimate=Decimal("100")), TABLE) == []


def test_a_stage_move_records_old_and_new_stage():
    events = plan_events(base(), base(stage="qualified"), TABLE)
    assert events == [("stage_changed", {"stage": "lead"}, {"stage": "qualified"})]


def test_winning_losing_and_reopening_add_their_own_event():
    assert types(base(stage="negotiation"), base(stage="won", status="won")) == ["stage_changed", "won"]
    lost = plan_events(base(), base(stage="lost", status="lost", lost_reason="Budget"), TABLE)
    assert ("lost", {"stage": "lead"}, {"stage": "lost", "lost_reason": "Budget"}) in lost
    assert types(base(stage="won"), base(stage="negotiation")) == ["reopened", "stage_changed"]


def test_grouped_changes_give_one_event_each():
    new = base(amount_estimate=Decimal("200"), currency="EUR", probability=Decimal("0.3"), next_step_text="Call",
               next_step_due_at=datetime(2030, 1, 1, tzinfo=timezone.utc), discount_percent=Decimal("5"))
    assert types(base(), new) == ["amount_changed", "discount_changed", "next_step_changed", "probability_changed"]
    amount = next(e for e in plan_events(base(), new, TABLE) if e[0] == "amount_changed")
    assert amount[1] == {"amount_estimate": "100.00", "currency": "RUB"}
    assert amount[2] == {"amount_estimate": "200", "currency": "EUR"}


def test_other_tracked_fields_are_field_changed_one_per_field():
    events = plan_events(base(), base(name="Website v2", source="referral"), TABLE)
    assert sorted((e[0], next(iter(e[2]))) for e in events) == [("field_changed", "name"), ("field_changed", "source")]


def test_a_uuid_and_its_string_are_the_same_value():
    account = uuid.uuid4()
    assert plan_events(base(account_id=account), base(account_id=str(account)), TABLE) == []


def test_json_safe():
    assert json_safe(Decimal("1.50")) == "1.50"
    assert json_safe(date(2030, 1, 2)) == "2030-01-02"
    assert json_safe(5) == 5
