"""What the hardening tests share: one small CRM written once per module (an account with a contact,
a deal, an offer, a project and an inbound thread), JWTs per role, a logged-in page client, signed
webhook posts, and the row count of every CRM table (a refusal must write nothing)."""
from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import text

from app.inbound.signatures import sign_chatwoot
from tests.conftest import CRM_TABLES, PASSWORD, api_token
from tests.inbound_payloads import cw_message

NOTE = [{"type": "note", "text": "Call with the client: budget confirmed"}]


def row_counts(app) -> dict[str, int]:
    """Rows of every CRM table, in one statement."""
    from app.extensions import db

    columns = ", ".join(f"(SELECT count(*) FROM {table}) AS {table}" for table in CRM_TABLES)
    with app.app_context():
        row = db.session.execute(text(f"SELECT {columns}")).mappings().one()
        db.session.remove()
        return dict(row)


def empty_crm_tables(app) -> None:
    from app.extensions import db

    with app.app_context():
        db.session.remove()
        with db.engine.begin() as conn:
            try:
                from tests.conftest import empty_tables
            except ImportError:  # an older conftest: no append-only audit triggers to step around
                if conn.dialect.name == "postgresql":
                    conn.execute(text("TRUNCATE " + ", ".join(CRM_TABLES) + " CASCADE"))
                else:
                    for table in CRM_TABLES:
                        conn.execute(text(f"DELETE FROM {table}"))
            else:
                empty_tables(conn, CRM_TABLES)


def signed_chatwoot(client, body: bytes, content_type: str | None = "application/json", secret: str = "cw-secret"):
    """POST a raw body to the Chatwoot webhook with a valid signature (the test app's secret)."""
    ts = int(time.time())
    headers = {"X-Chatwoot-Timestamp": str(ts), "X-Chatwoot-Signature": sign_chatwoot(secret, body, ts)}
    if content_type:
        headers["Content-Type"] = content_type
    return client.post("/webhooks/chatwoot", data=body, headers=headers)


def signed_telegram(client, body: bytes, content_type: str | None = "application/json"):
    headers = {"X-Telegram-Bot-Api-Secret-Token": "tg-secret"}
    if content_type:
        headers["Content-Type"] = content_type
    return client.post("/webhooks/telegram", data=body, headers=headers)


@pytest.fixture(scope="module")
def tokens(app):
    """Role -> Authorization headers (one login per module)."""
    client = app.test_client()
    cache: dict[str, dict] = {}

    def headers(role: str) -> dict:
        if role not in cache:
            cache[role] = {"Authorization": f"Bearer {api_token(client, role)}"}
        return cache[role]
    return headers


@pytest.fixture(scope="module")
def world(app, tokens):
    """Ids of one of each record, written through the API and a webhook on emptied tables."""
    empty_crm_tables(app)
    client = app.test_client()
    h = tokens("Admin")

    def created(url, body):
        response = client.post(url, json=body, headers=h)
        assert response.status_code == 201, (url, response.get_json())
        return response.get_json()["id"]

    account = created("/api/v1/accounts/", {"name": "Acme", "domain": "acme-hardening.example"})
    contact = created("/api/v1/contacts/", {"name": "Anna", "account_id": account})
    opp = created("/api/v1/opportunities/", {"name": "Website", "account_id": account, "amount_estimate": "150000"})
    offer = created("/api/v1/offers/", {"title": "Offer", "opportunity_id": opp, "amount": "100000"})
    project = created("/api/v1/projects/", {"name": "Delivery", "account_id": account})
    assert signed_chatwoot(client, json.dumps(cw_message()).encode()).status_code == 200
    thread = client.get("/api/v1/inbound_threads/?page_size=1", headers=h).get_json()["ids"][0]
    return {"account": account, "contact": contact, "opp": opp, "offer": offer, "project": project,
            "thread": thread}


@pytest.fixture(scope="module")
def pages(app, world):
    """A test client logged in as Admin through the login form, in English."""
    client = app.test_client()
    response = client.post("/login/", data={"username": "admin", "password": PASSWORD})
    assert response.status_code in (200, 302)
    client.get("/lang/en")
    return client
