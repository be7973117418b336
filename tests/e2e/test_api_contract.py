"""The spec's REST contract as a script would drive it: JWT, create, move, evidence, filters, errors."""
import uuid

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Account, Contact, Opportunity, OpportunityEvent
from tests.helpers import add_project

NOTE = [{"type": "note", "text": "Call with the client: budget confirmed"}]
URL = [{"type": "url", "url": "https://mail.example.com/thread/42"}]


def counts(app):
    with app.app_context():
        return tuple(db.session.scalar(select(func.count()).select_from(m))
                     for m in (Account, Contact, Opportunity, OpportunityEvent))


@pytest.fixture()
def deal(app, client, api, clean_db):
    """An account and a lead created through the API as Sales."""
    h = api("Sales")
    account = client.post("/api/v1/accounts/", json={"name": "Acme", "domain": "https://www.Acme.COM/about"}, headers=h)
    assert account.status_code == 201, account.get_json()
    account_id = account.get_json()["id"]
    opp = client.post("/api/v1/opportunities/", json={"account_id": account_id, "name": "Website",
                                                      "amount_estimate": 150000, "owner": "me"}, headers=h)
    assert opp.status_code == 201, opp.get_json()
    return {"account": account_id, "opp": opp.get_json()["id"], "version": opp.get_json()["result"]["version"],
            "h": h}


def patch(client, deal, body, role_headers=None):
    return client.patch(f"/api/v1/opportunities/{deal['opp']}", json=body, headers=role_headers or deal["h"])


def test_create_account_normalises_domain_and_answers_201_with_id(client, deal):
    body = client.get(f"/api/v1/accounts/{deal['account']}", headers=deal["h"]).get_json()
    assert body["result"]["domain"] == "acme.com"
    assert [o["id"] for o in body["result"]["opportunities"]] == [deal["opp"]]
    assert body["result"]["contacts"] == [] and body["result"]["projects"] == []


def test_duplicate_domain_in_another_case_is_409_with_the_existing_id(app, client, deal):
    before = counts(app)
    response = client.post("/api/v1/accounts/", json={"name": "Acme again", "domain": "ACME.com"}, headers=deal["h"])
    assert response.status_code == 409
    assert response.get_json()["id"] == deal["account"]
    assert "domain" in response.get_json()["message"]
    assert counts(app) == before


def test_creation_records_a_created_event_with_the_actor(client, deal, users):
    events = client.get(f"/api/v1/opportunities/{deal['opp']}/events", headers=deal["h"]).get_json()["result"]
    assert [e["event_type"] for e in events] == ["created"]
    assert events[0]["actor_user_id"] == users["Sales"]


def test_move_to_qualified_without_next_step_is_422_and_changes_nothing(app, client, deal):
    before = counts(app)
    response = patch(client, deal, {"stage": "qualified", "evidence_refs": NOTE, "version": deal["version"]})
    assert response.status_code == 422
    assert set(response.get_json()["message"]) >= {"next_step_due_at", "next_step_text"}
    assert counts(app) == before


def test_stage_change_without_evidence_is_422(app, client, deal):
    before = counts(app)
    response = patch(client, deal, {"stage": "qualified", "next_step_text": "Call",
                                    "next_step_due_at": "2030-01-10T10:00:00Z"})
    assert response.status_code == 422
    assert "evidence_refs" in response.get_json()["message"]
    assert counts(app) == before


def test_move_with_next_step_and_evidence_writes_the_audit(client, deal, users):
    response = patch(client, deal, {"stage": "qualified", "next_step_text": "Send the brief",
                                    "next_step_due_at": "2030-01-10T10:00:00+03:00", "evidence_refs": URL,
                                    "version": deal["version"]})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["result"]["stage"] == "qualified" and body["result"]["status"] == "open"
    assert body["result"]["probability"] == "0.200"
    assert body["result"]["next_step_due_at"].startswith("2030-01-10T07:00:00")
    assert body["result"]["version"] == deal["version"] + 1
    types = sorted(e["event_type"] for e in body["events"])
    assert types == ["next_step_changed", "probability_changed", "stage_changed"]
    stage_event = next(e for e in body["events"] if e["event_type"] == "stage_changed")
    assert stage_event["old_value"] == {"stage": "lead"} and stage_event["new_value"] == {"stage": "qualified"}
    assert stage_event["evidence_refs"] == URL and stage_event["actor_user_id"] == users["Sales"]
    history = client.get(f"/api/v1/opportunities/{deal['opp']}/events", headers=deal["h"]).get_json()
    assert history["count"] == 4


def test_lost_needs_a_reason_and_sets_status_and_closed_at(app, client, deal):
    response = patch(client, deal, {"stage": "lost", "evidence_refs": NOTE})
    assert response.status_code == 422 and "lost_reason" in response.get_json()["message"]
    response = patch(client, deal, {"stage": "lost", "lost_reason": "  ", "evidence_refs": NOTE})
    assert response.status_code == 422
    response = patch(client, deal, {"stage": "lost", "lost_reason": "Chose another studio", "evidence_refs": NOTE})
    assert response.status_code == 200
    result = response.get_json()["result"]
    assert result["status"] == "lost" and result["closed_at"]
    assert "lost" in [e["event_type"] for e in response.get_json()["events"]]


def test_contradicting_status_is_a_field_error(client, deal):
    response = patch(client, deal, {"stage": "won", "status": "open", "evidence_refs": NOTE})
    assert response.status_code == 422 and "status" in response.get_json()["message"]


def test_reopening_a_closed_deal_is_for_owner_and_admin(client, api, deal):
    assert patch(client, deal, {"stage": "won", "evidence_refs": NOTE}).status_code == 200
    back = {"stage": "lead", "evidence_refs": NOTE}
    refused = patch(client, deal, back)
    assert refused.status_code == 422 and "stage" in refused.get_json()["message"]
    reopened = patch(client, deal, back, api("Owner"))
    assert reopened.status_code == 200
    assert "reopened" in [e["event_type"] for e in reopened.get_json()["events"]]
    assert reopened.get_json()["result"]["closed_at"] is None


def test_amount_and_discount_changes_need_evidence(client, deal):
    assert patch(client, deal, {"amount_estimate": "200000"}).status_code == 422
    assert patch(client, deal, {"discount_percent": 10}).status_code == 422
    response = patch(client, deal, {"amount_estimate": "200000", "discount_percent": 10, "evidence_refs": URL})
    assert response.status_code == 200
    types = sorted(e["event_type"] for e in response.get_json()["events"])
    assert types == ["amount_changed", "discount_changed"]


def test_stale_version_is_409_and_overwrites_nothing(app, client, deal):
    first = patch(client, deal, {"next_step_text": "Call", "version": deal["version"]})
    assert first.status_code == 200
    before = counts(app)
    second = patch(client, deal, {"next_step_text": "Other", "version": deal["version"]})
    assert second.status_code == 409 and "version" in second.get_json()["message"]
    assert counts(app) == before
    with app.app_context():
        assert db.session.get(Opportunity, deal["opp"]).next_step_text == "Call"


def test_pm_cannot_change_a_stage_but_can_add_a_note(app, client, api, deal, users):
    pm = api("PM")
    assert client.get(f"/api/v1/opportunities/{deal['opp']}", headers=pm).status_code == 404  # not their account
    with app.app_context():  # a PM reads the accounts of the projects they are a member of
        add_project(uuid.UUID(deal["account"]), pm_user_id=users["PM"])
    assert client.get(f"/api/v1/opportunities/{deal['opp']}", headers=pm).status_code == 200
    assert patch(client, deal, {"stage": "qualified", "evidence_refs": NOTE}, pm).status_code == 403
    note = client.post(f"/api/v1/opportunities/{deal['opp']}/notes", json={"text": "Client asked for a call"}, headers=pm)
    assert note.status_code == 201
    assert note.get_json()["result"]["event_type"] == "note_added"


def test_list_filters_by_plain_parameters(client, api, deal, users):
    h = deal["h"]
    refused = client.post("/api/v1/opportunities/", json={"account_id": deal["account"], "name": "Brand book",
                                                          "owner": "owner"}, headers=h)
    assert refused.status_code == 403  # Sales cannot hand a deal to someone else; an Owner can
    other = client.post("/api/v1/opportunities/", json={"account_id": deal["account"], "name": "Brand book",
                                                        "owner": "owner"}, headers=api("Owner"))
    assert other.status_code == 201
    mine = client.get("/api/v1/opportunities/?owner=me", headers=h).get_json()
    assert mine["ids"] == [deal["opp"]] and mine["count"] == 1
    both = client.get(f"/api/v1/opportunities/?owner=sales,{users['Owner']}&status=open&stage=lead,qualified",
                      headers=h).get_json()
    assert both["count"] == 2
    assert client.get("/api/v1/opportunities/?stage=won", headers=h).get_json()["count"] == 0
    paged = client.get("/api/v1/opportunities/?status=open&page_size=1&page=1", headers=h).get_json()
    assert paged["count"] == 2 and len(paged["result"]) == 1
    rison = client.get("/api/v1/opportunities/?q=(filters:!((col:name,opr:eq,value:'Brand book')))", headers=h)
    assert rison.status_code == 200 and rison.get_json()["count"] == 1
    assert client.get("/api/v1/opportunities/?stage=bogus", headers=h).status_code == 400
    assert client.get("/api/v1/opportunities/?owner=nobody", headers=h).status_code == 400


@pytest.mark.parametrize("body,status", [
    ("{not json", 400),
    ('["a list"]', 400),
    ('{"stage": "qualified", "colour": "red"}', 400),
    ('{"stage": "won!"}', 422),
    ('{"probability": 1.5, "evidence_refs": []}', 422),
    ('{"amount_estimate": -5, "evidence_refs": [{"type": "note", "text": "x"}]}', 422),
    ('{"amount_estimate": "abc"}', 422),
    ('{"discount_percent": 101, "evidence_refs": [{"type": "note", "text": "x"}]}', 422),
    ('{"currency": "rubles"}', 422),
    ('{"next_step_due_at": "tomorrow"}', 400),  # an unreadable date-time is a malformed request
    ('{"next_step_due_at": "2030-01-10T14:00:00"}', 400),  # without an offset: which zone?
    ('{"stage": "qualified", "next_step_text": "x", "next_step_due_at": "2030-01-01T00:00:00Z", "evidence_refs": [{"type": "url", "url": "javascript:alert(1)"}]}', 422),
    ('{"stage": "qualified", "next_step_text": "x", "next_step_due_at": "2030-01-01T00:00:00Z", "evidence_refs": [{"type": "gossip"}]}', 422),
    ('{"stage": "qualified", "next_step_text": "x", "next_step_due_at": "2030-01-01T00:00:00Z", "evidence_refs": "see mail"}', 422),
    ('{"owner": "nobody"}', 422),
    ('{"version": "one"}', 422),
])
def test_bad_patch_bodies_are_refused_and_change_nothing(app, client, deal, body, status):
    before = counts(app)
    response = client.patch(f"/api/v1/opportunities/{deal['opp']}", data=body, headers=deal["h"],
                             content_type="application/json")
    assert response.status_code == status, response.get_data(as_text=True)
    text = response.get_data(as_text=True)
    assert "SELECT" not in text and "psycopg2" not in text and "Traceback" not in text
    assert counts(app) == before


@pytest.mark.parametrize("url,method,body,status", [
    ("/api/v1/opportunities/00000000-0000-0000-0000-000000000000", "patch", {"name": "x"}, 404),
    ("/api/v1/opportunities/not-a-uuid", "patch", {"name": "x"}, 404),
    ("/api/v1/opportunities/00000000-0000-0000-0000-000000000000/events", "get", None, 404),
    ("/api/v1/opportunities/00000000-0000-0000-0000-000000000000/notes", "post", {"text": "x"}, 404),
    ("/api/v1/accounts/00000000-0000-0000-0000-000000000000", "get", None, 404),
    ("/api/v1/opportunities/", "post", {"name": "No account"}, 422),
    ("/api/v1/opportunities/", "post", {"account_id": "00000000-0000-0000-0000-000000000000", "name": "x"}, 422),
    ("/api/v1/opportunities/", "post", {"account_id": "nope", "name": "x"}, 422),
    ("/api/v1/accounts/", "post", {"domain": "x.ru"}, 422),
    ("/api/v1/accounts/", "post", {"name": "X", "icp_fit_score": 150}, 422),
    ("/api/v1/accounts/", "post", {"name": "X", "segment": "huge"}, 422),
    ("/api/v1/accounts/", "post", {"name": "X", "domain": "not a domain"}, 422),
    ("/api/v1/contacts/", "post", {"name": "X", "email": "bad@", "account_id": None}, 422),
])
def test_other_bad_requests_answer_4xx_and_change_nothing(app, client, deal, url, method, body, status):
    before = counts(app)
    response = getattr(client, method)(url, json=body, headers=deal["h"]) if body is not None else \
        getattr(client, method)(url, headers=deal["h"])
    assert response.status_code == status, response.get_data(as_text=True)
    assert counts(app) == before


def test_openapi_documents_the_contract(client, api):
    spec = client.get("/api/v1/_openapi", headers=api("Admin")).get_json()
    paths = spec["paths"]
    assert "patch" in paths["/api/v1/opportunities/{pk}"]
    assert "/api/v1/opportunities/{pk}/events" in paths and "/api/v1/opportunities/{pk}/notes" in paths
    assert "OpportunityPatchSchema" in spec["components"]["schemas"]



def test_message_evidence_must_name_a_stored_inbound_message(app, client, deal):
    from datetime import datetime, timezone

    from app.models import InboundMessage, InboundThread

    missing = patch(client, deal, {"amount_estimate": "1", "evidence_refs": [
        {"type": "message", "id": "00000000-0000-0000-0000-000000000000"}]})
    assert missing.status_code == 422 and "evidence_refs" in missing.get_json()["message"]
    with app.app_context():
        thread = InboundThread(source="telegram", external_key="-1001", title="Acme chat")
        message = InboundMessage(thread=thread, source="telegram", external_key="-1001:7", direction="incoming",
                                 text="We accept 1 RUB", sent_at=datetime.now(timezone.utc))
        db.session.add(message)
        db.session.commit()
        message_id = str(message.id)
    ok = patch(client, deal, {"amount_estimate": "1", "evidence_refs": [{"type": "message", "id": message_id}]})
    assert ok.status_code == 200
    assert ok.get_json()["events"][0]["evidence_refs"] == [{"type": "message", "id": message_id}]
