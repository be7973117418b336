"""`flask crm opportunity-update --as USER` goes through the same rules and audit."""
import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Account, Opportunity, OpportunityEvent
from tests.helpers import change_context


@pytest.fixture()
def deal(app, clean_db, users):
    with app.app_context(), change_context(actor_id=users["Sales"]):
        opp = Opportunity(account=Account(name="Acme"), name="Website")
        db.session.add(opp)
        db.session.commit()
        return str(opp.id)


def run(app, *args):
    return app.test_cli_runner().invoke(args=["crm", "opportunity-update", *args])


def test_cli_move_with_evidence_is_audited_with_the_actor(app, deal, users):
    result = run(app, deal, "--set", "stage=qualified", "--set", "next_step_text=Call",
                 "--set", "next_step_due_at=2030-01-10T10:00:00Z", "--evidence-url", "https://x.ru/mail", "--as", "owner")
    assert result.exit_code == 0, result.output
    assert "qualified" in result.output
    with app.app_context():
        event = db.session.scalars(select(OpportunityEvent).where(OpportunityEvent.event_type == "stage_changed")).one()
        assert event.actor_user_id == users["Owner"] and event.evidence_refs[0]["url"] == "https://x.ru/mail"


@pytest.mark.parametrize("args,needle", [
    (["--set", "stage=qualified", "--evidence-note", "x"], "next_step_due_at"),
    (["--set", "stage=won"], "evidence_refs"),
    (["--set", "probability=7"], "probability"),
    (["--set", "stage=qualified"], "no active user"),
])
def test_cli_refusals_exit_non_zero_with_one_line_and_change_nothing(app, deal, args, needle):
    actor = ["--as", "nobody"] if needle == "no active user" else ["--as", "sales"]
    result = run(app, deal, *args, *actor)
    assert result.exit_code != 0
    assert needle in result.output
    assert len([line for line in result.output.splitlines() if line.strip()]) == 1
    with app.app_context():
        assert db.session.get(Opportunity, deal).stage == "lead"
