"""The spec's invariants around every entity (issue 11): proposed stays proposed, evidence from
the first save, every record change audited, append-only audit."""
import pytest
from sqlalchemy import func, select, text

from app.extensions import db
from app.inbound import chatwoot
from app.models import AuditEvent, InboundThread, Opportunity, OpportunityEvent
from app.services import triage
from app.services.context import SYSTEM, ChangeRequest
from app.services.inbound import ingest
from tests.helpers import request_as
from tests.inbound_payloads import cw_message

NOTE = [{"type": "note", "text": "Signed contract, scan in the mail"}]


def count(app, model, *where):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


@pytest.fixture()
def account(client, api, clean_db):
    response = client.post("/api/v1/accounts/", json={"name": "Точка роста", "domain": "tochka.example"},
                           headers=api("Sales"))
    assert response.status_code == 201
    return response.get_json()["id"]


@pytest.fixture()
def proposal(app, users, account):
    """A deal proposed by triage from a client's chat, not accepted yet."""
    with app.app_context():
        ingest(ChangeRequest(SYSTEM), chatwoot.parse_webhook(cw_message()))
        thread_id = db.session.scalars(select(InboundThread)).one().id
        triage.assign_thread(request_as(users["Sales"]), thread_id, account)
        opp = triage.propose_opportunity(request_as(users["Sales"]), thread_id, "Новый сайт")
        return {"thread": thread_id, "opp": str(opp.id)}


def win_rate(client, api):
    return client.get("/api/v1/metrics/win-rate", headers=api("Owner")).get_json()["result"]["overall"]


def test_a_proposed_deal_cannot_move_be_priced_or_closed_until_accepted(app, client, api, proposal):
    before = count(app, OpportunityEvent)
    for role, body in (("Sales", {"stage": "won", "evidence_refs": NOTE}),
                       ("Sales", {"amount_estimate": "900000", "evidence_refs": NOTE}),
                       ("Owner", {"owner": "owner"}),  # only a manager may hand a deal over at all
                       ("Sales", {"stage": "lost", "lost_reason": "No budget", "evidence_refs": NOTE})):
        response = client.patch(f"/api/v1/opportunities/{proposal['opp']}", json=body, headers=api(role))
        assert response.status_code == 422 and "proposed" in response.get_json()["message"], body
    assert count(app, OpportunityEvent) == before
    with app.app_context():
        assert db.session.get(Opportunity, proposal["opp"]).stage == "lead"


def test_accepting_asks_for_name_and_amount_and_is_one_audited_action(app, client, api, proposal):
    url = f"/api/v1/opportunities/{proposal['opp']}/accept"
    missing = client.post(url, json={"name": "Новый сайт"}, headers=api("Sales"))
    assert missing.status_code == 422 and "amount_estimate" in missing.get_json()["message"]
    accepted = client.post(url, json={"name": "Сайт для «Точки роста»", "amount_estimate": "450000"},
                           headers=api("Sales"))
    assert accepted.status_code == 200, accepted.get_json()
    body = accepted.get_json()
    assert body["result"]["proposed"] is False and body["result"]["amount_estimate"] == "450000.00"
    assert "accepted" in [e["event_type"] for e in body["events"]]
    again = client.post(url, json={"name": "x", "amount_estimate": "1"}, headers=api("Sales"))
    assert again.status_code == 422
    moved = client.patch(f"/api/v1/opportunities/{proposal['opp']}", json={
        "stage": "qualified", "next_step_text": "Brief", "next_step_due_at": "2031-01-10T10:00:00Z",
        "evidence_refs": NOTE}, headers=api("Sales"))
    assert moved.status_code == 200


def test_a_withdrawn_proposal_is_kept_audited_and_counts_in_no_win_rate(app, client, api, users, proposal):
    before = win_rate(client, api)
    with app.app_context():
        assert triage.undo_last_action(request_as(users["Sales"]), proposal["thread"]) == "opportunity_proposed"
        opp = db.session.get(Opportunity, proposal["opp"])
        assert opp.withdrawn_at is not None and opp.proposed and opp.status == "open"
    assert count(app, OpportunityEvent, OpportunityEvent.event_type == "withdrawn",
                 OpportunityEvent.actor_user_id == users["Sales"]) == 1
    assert win_rate(client, api) == before
    refused = client.patch(f"/api/v1/opportunities/{proposal['opp']}", json={"name": "Revived"}, headers=api("Sales"))
    assert refused.status_code == 422 and "proposed" in refused.get_json()["message"]
    board = client.get("/board/", headers=api("Owner"))
    assert proposal["opp"] not in board.get_data(as_text=True)


def test_creating_a_won_deal_needs_the_evidence_of_winning_it(app, client, api, account):
    body = {"account_id": account, "name": "Old contract", "stage": "won", "amount_estimate": "900000"}
    refused = client.post("/api/v1/opportunities/", json=body, headers=api("Sales"))
    assert refused.status_code == 422 and "evidence_refs" in refused.get_json()["message"]
    assert count(app, Opportunity) == 0
    created = client.post("/api/v1/opportunities/", json={**body, "evidence_refs": NOTE}, headers=api("Sales"))
    assert created.status_code == 201, created.get_json()
    events = created.get_json()["events"]
    assert events[0]["event_type"] == "created" and events[0]["evidence_refs"] == NOTE


def test_a_domain_change_is_in_the_accounts_audit_trail_and_the_row_is_append_only(app, client, api, users, account):
    changed = client.put(f"/api/v1/accounts/{account}", json={"domain": "tochka-rosta.example"}, headers=api("Sales"))
    assert changed.status_code == 200, changed.get_json()
    trail = client.get(f"/api/v1/accounts/{account}/events", headers=api("Sales")).get_json()
    newest = trail["result"][0]
    assert newest["action"] == "changed" and newest["actor"] == "sales"
    assert newest["old_value"] == {"domain": "tochka.example"} and newest["new_value"] == {"domain": "tochka-rosta.example"}
    assert [e["action"] for e in trail["result"]] == ["changed", "created"]
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with pytest.raises(Exception, match="append-only"):
                with db.engine.begin() as conn:
                    conn.execute(text("UPDATE audit_events SET new_value = '{}' WHERE id = :id"), {"id": newest["id"]})


def test_an_icp_reason_and_an_offer_discount_carry_evidence(app, client, api, account):
    refused = client.put(f"/api/v1/accounts/{account}", json={"icp_fit_reason": "Design is their product"},
                         headers=api("Sales"))
    assert refused.status_code == 422 and "evidence_refs" in refused.get_json()["message"]
    ok = client.put(f"/api/v1/accounts/{account}", json={"icp_fit_reason": "Design is their product",
                                                          "evidence_refs": NOTE}, headers=api("Sales"))
    assert ok.status_code == 200
    with app.app_context():
        row = db.session.scalars(select(AuditEvent).order_by(AuditEvent.created_at.desc())).first()
        assert row.evidence_refs == NOTE and row.new_value == {"icp_fit_reason": "Design is their product"}


def test_deleting_a_contact_is_audited_and_the_account_page_shows_the_trail(app, client, api, as_role, account):
    contact = client.post("/api/v1/contacts/", json={"account_id": account, "name": "Ольга", "email": "olga@tochka.example"},
                          headers=api("Owner")).get_json()["id"]
    assert client.delete(f"/api/v1/contacts/{contact}", headers=api("Owner")).status_code == 200
    trail = client.get(f"/api/v1/contacts/{contact}/events", headers=api("Owner"))
    assert trail.status_code == 404  # the contact is gone; its rows stay in the account's trail
    actions = [(e["entity_type"], e["action"]) for e in
               client.get(f"/api/v1/accounts/{account}/events", headers=api("Owner")).get_json()["result"]]
    assert ("contact", "deleted") in actions and ("contact", "created") in actions
    as_role("Owner")
    page = client.get(f"/accounts/{account}").get_data(as_text=True)
    assert "kind-record" in page and "olga@tochka.example" in page


def test_reassigning_a_deal_is_audited_with_the_old_and_new_owner(app, client, api, users, account):
    deal = client.post("/api/v1/opportunities/", json={"account_id": account, "name": "Brand", "owner": "me"},
                       headers=api("Sales")).get_json()["id"]
    moved = client.patch(f"/api/v1/opportunities/{deal}", json={"owner": "owner"}, headers=api("Owner"))
    assert moved.status_code == 200
    change = [e for e in moved.get_json()["events"] if e["event_type"] == "field_changed"]
    assert change and change[0]["old_value"] == {"owner_user_id": users["Sales"]} \
        and change[0]["new_value"] == {"owner_user_id": users["Owner"]}


@pytest.mark.parametrize("role", ["Admin", "Sales"])
def test_the_generated_account_form_saves_through_the_audit_for_every_role(app, client, as_role, users, account, role):
    """Admin's permissions come from the database: resolving them must not flush the form's values
    before the verb runs (that write would have no actor)."""
    as_role(role)
    response = client.post(f"/accountview/edit/{account}", data={
        "name": "Точка роста", "domain": "tochka.example", "industry": "Retail", "segment": "smb",
        "status": "active", "owner": str(users["Sales"]), "icp_fit_reason": "Design-led retail",
        "evidence": "Call with the CEO"})
    assert response.status_code == 302
    with app.app_context():
        row = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "changed")).one()
        assert row.actor_user_id == users[role] and row.evidence_refs == [{"type": "note", "text": "Call with the CEO"}]
        assert row.new_value == {"industry": "Retail", "icp_fit_reason": "Design-led retail"}
