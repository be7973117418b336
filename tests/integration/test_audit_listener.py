"""The choke point itself: every ORM write of an opportunity is checked and audited in its flush."""
import threading
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from app.domain.errors import ConflictError, MissingActor, RuleViolation
from app.extensions import db
from app.models import Account, Opportunity, OpportunityEvent
from tests.helpers import change_context, committed, request_as
from app import scope
from app.services.opportunities import update_opportunity
from tests.conftest import USE_SQLITE

NOTE = [{"type": "note", "text": "confirmed by phone"}]


@pytest.fixture()
def deal(app, clean_db, users):
    with app.app_context(), change_context(actor_id=users["Sales"]):
        opp = Opportunity(account=Account(name="Acme"), name="Website")
        db.session.add(opp)
        db.session.commit()
        return opp.id


def count_events(opp_id=None):
    query = select(func.count()).select_from(OpportunityEvent)
    if opp_id:
        query = query.where(OpportunityEvent.opportunity_id == opp_id)
    return db.session.scalar(query)


@pytest.mark.smoke
def test_an_orm_write_without_an_actor_is_refused(app, deal):
    with app.app_context():
        opp = db.session.get(Opportunity, deal)
        opp.name = "Renamed"
        with pytest.raises(MissingActor):
            db.session.commit()
        db.session.rollback()
        assert db.session.get(Opportunity, deal).name == "Website"


@pytest.mark.smoke
def test_creating_without_an_actor_is_refused(app, clean_db):
    with app.app_context():
        db.session.add(Opportunity(account=Account(name="X"), name="Y"))
        with pytest.raises(MissingActor):
            db.session.flush()
        db.session.rollback()
        assert db.session.scalar(select(func.count()).select_from(Opportunity)) == 0


@pytest.mark.smoke
def test_creation_writes_one_created_event_with_defaults_from_the_stage(app, deal, users):
    with app.app_context():
        opp = db.session.get(Opportunity, deal)
        assert (opp.stage, opp.status, float(opp.probability), opp.forecast_category) == ("lead", "open", 0.05, "pipeline")
        assert opp.currency == "RUB" and opp.stage_entered_at is not None
        (event,) = db.session.scalars(select(OpportunityEvent).where(OpportunityEvent.opportunity_id == deal))
        assert event.event_type == "created" and event.actor_user_id == users["Sales"]


def test_a_rolled_back_change_leaves_neither_the_change_nor_its_event(app, deal, users):
    with app.app_context():
        before = count_events(deal)
        with change_context(actor_id=users["Sales"], evidence_refs=NOTE):
            opp = db.session.get(Opportunity, deal)
            opp.stage = "qualified"
            opp.next_step_text = "Call"
            opp.next_step_due_at = datetime.now(timezone.utc) + timedelta(days=2)
            db.session.flush()
            assert count_events(deal) > before
            db.session.rollback()
        assert count_events(deal) == before
        assert db.session.get(Opportunity, deal).stage == "lead"


def test_a_rule_violation_in_a_transaction_commits_nothing(app, deal, users):
    with app.app_context():
        before = count_events()
        with pytest.raises(RuleViolation) as refused:
            with change_context(actor_id=users["Sales"], evidence_refs=NOTE), committed():
                db.session.get(Opportunity, deal).stage = "lost"
        assert "lost_reason" in refused.value.messages
        assert count_events() == before and db.session.get(Opportunity, deal).stage == "lead"


def test_every_tracked_field_change_is_audited(app, deal, users):
    with app.app_context(), change_context(actor_id=users["Owner"]), committed():
        opp = db.session.get(Opportunity, deal)
        opp.name, opp.source, opp.owner_user_id = "Website v2", "referral", users["Owner"]
    with app.app_context():
        rows = db.session.scalars(select(OpportunityEvent).where(OpportunityEvent.event_type == "field_changed")).all()
        assert sorted(next(iter(r.new_value)) for r in rows) == ["name", "owner_user_id", "source"]
        assert {r.actor_user_id for r in rows} == {users["Owner"]}


def test_deleting_an_opportunity_is_refused(app, deal, users):
    with app.app_context(), change_context(actor_id=users["Admin"]):
        db.session.delete(db.session.get(Opportunity, deal))
        with pytest.raises(RuleViolation):
            db.session.flush()
        db.session.rollback()


@pytest.mark.skipif(USE_SQLITE, reason="PostgreSQL trigger")
@pytest.mark.parametrize("statement", ["UPDATE opportunity_events SET event_type = 'won'", "DELETE FROM opportunity_events"])
def test_the_database_refuses_to_rewrite_the_audit(app, deal, statement):
    with app.app_context():
        with pytest.raises(DBAPIError, match="append-only"):
            with db.engine.begin() as conn:
                conn.execute(text(statement))
        assert count_events(deal) == 1


@pytest.mark.skipif(USE_SQLITE, reason="concurrency on PostgreSQL")
def test_two_concurrent_edits_of_the_same_version_one_wins_one_gets_a_conflict(app, deal, users):
    barrier = threading.Barrier(2)
    outcomes = []

    def edit(text_value):
        with app.app_context(), scope.scoped(scope.SYSTEM):  # a new thread starts with no read scope
            try:
                opp = db.session.get(Opportunity, deal)
                barrier.wait(timeout=10)
                update_opportunity(request_as(users["Sales"], {"next_step_text": text_value},
                                              expected_version=opp.version), deal)
                outcomes.append("ok")
            except ConflictError:
                outcomes.append("conflict")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=edit, args=(v,)) for v in ("A", "B")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(outcomes) == ["conflict", "ok"]
    with app.app_context():
        opp = db.session.get(Opportunity, deal)
        assert opp.version == 2
        assert count_events(deal) == 2  # created + one next_step_changed


def test_stale_expected_version_is_a_conflict(app, deal, users):
    with app.app_context():
        with pytest.raises(ConflictError):
            update_opportunity(request_as(users["Sales"], {"next_step_text": "x"}, expected_version=7), deal)
