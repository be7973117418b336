"""Metrics count deals, not proposals: a proposal waiting for a person and a withdrawn one count
nowhere; once accepted it counts like any deal."""
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from app.extensions import db
from app.inbound import chatwoot
from app.models import Account, InboundThread
from app.queries import metrics
from app.services import triage
from app.services.context import SYSTEM, ChangeRequest
from app.services.inbound import ingest
from app.services.opportunities import accept_proposal, create_opportunity, update_opportunity
from tests.helpers import change_context, request_as
from tests.inbound_payloads import cw_message

NOTE = [{"type": "note", "text": "Confirmed by phone"}]
DUE = datetime.now(timezone.utc) - timedelta(days=2)  # overdue, so the SLA and stall report would see it


def _proposal(users, account_id, n: int):
    ingest(ChangeRequest(SYSTEM), chatwoot.parse_webhook(cw_message(message_id=90000 + n, display_id=9000 + n)))
    thread = db.session.scalars(select(InboundThread).order_by(InboundThread.created_at.desc())).first()
    triage.assign_thread(request_as(users["Sales"]), thread.id, account_id)
    opp = triage.propose_opportunity(request_as(users["Sales"]), thread.id, f"Proposal {n}")
    return thread.id, opp.id


def _numbers():
    f = metrics.default_filters()
    pipe = {r["stage"]: r["count"] for r in metrics.pipeline(f)}
    return {"pipeline": sum(pipe.values()), "aging": sum(r["count"] for r in metrics.aging(f)),
            "win": metrics.win_rate(f)["overall"], "sla": metrics.sla(f)["overdue_total"] + metrics.sla(f)["no_next_step_total"],
            "stalled": len(metrics.stalled(f))}


@pytest.fixture()
def world(app, clean_db, users):
    with app.app_context():
        with change_context(actor_id=users["Sales"]):
            account = Account(name="Proposals Ltd", domain="proposals.example")
            db.session.add(account)
            db.session.commit()
        won, _ = create_opportunity(request_as(users["Sales"], {"account_id": account.id, "name": "Won deal",
                                                                 "stage": "won", "amount_estimate": 100},
                                                evidence_refs=NOTE))
        open_deal, _ = create_opportunity(request_as(users["Sales"], {"account_id": account.id, "name": "Open deal"}))
        update_opportunity(request_as(users["Sales"], {"stage": "lost", "lost_reason": "Price"}, evidence_refs=NOTE),
                           create_opportunity(request_as(users["Sales"], {"account_id": account.id,
                                                                          "name": "Lost deal"}))[0].id)
        return account.id


def test_proposals_count_nowhere_until_accepted_and_withdrawn_ones_never(app, users, world):
    with app.app_context():
        base = _numbers()
        assert base["win"] == {"won": 1, "lost": 1, "rate": 0.5}
        waiting_thread, waiting = _proposal(users, world, 1)
        withdrawn_thread, withdrawn = _proposal(users, world, 2)
        triage.undo_last_action(request_as(users["Sales"]), withdrawn_thread)
        assert _numbers() == base, "a waiting or withdrawn proposal changed a metric"

        accept_proposal(request_as(users["Sales"], {"name": "Accepted deal", "amount_estimate": 250000}), waiting)
        accepted = _numbers()
        assert accepted["pipeline"] == base["pipeline"] + 1
        assert accepted["aging"] == base["aging"] + 1
        assert accepted["win"] == base["win"]
        assert accepted["stalled"] == base["stalled"] + 1  # an open lead without a next step
