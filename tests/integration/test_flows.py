"""Flows that keep context: a saved form lands on its record, a refused quick action keeps what was
typed and names the field in words, a second "Create offer" opens the draft, triage says what it did
with links and an undo, amounts are typed as the app shows them, history reads as one entry per
action in the user's language."""
import re
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.inbound import chatwoot
from app.models import Account, Offer, Opportunity
from app.services.context import SYSTEM, ChangeRequest
from app.services.inbound import ingest
from app.services.opportunities import create_opportunity, update_opportunity
from app.services.records import add_contact, save_record
from tests.helpers import request_as
from tests.inbound_payloads import cw_message


@pytest.fixture()
def deal(app, clean_db, users):
    with app.app_context():
        account = save_record(request_as(users["Sales"]), Account(name="Точка роста", domain="tochka.ru"))
        add_contact(request_as(users["Sales"], {"account_id": account.id, "name": "Анна", "email": "anna@tochka.ru"}))
        opp, _ = create_opportunity(request_as(users["Sales"], {"account_id": account.id, "name": "Брендбук",
                                                                "amount_estimate": Decimal("1250000.50")}))
        return {"account": account.id, "opp": opp.id}


@pytest.mark.smoke
def test_a_saved_generated_form_lands_on_its_record(client, as_role, deal):
    as_role("Sales")
    response = client.post(f"/accountview/edit/{deal['account']}", data={"name": "Точка роста", "domain": "tochka.ru",
                                                                        "status": "active", "segment": "smb"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/accounts/{deal['account']}")


def test_a_refused_quick_action_keeps_what_was_typed(app, client, as_role, deal):
    as_role("Sales", "ru")
    response = client.post(f"/accounts/{deal['account']}/contacts",
                           data={"name": "Анна Петрова", "email": "anna@tochka.ru", "phone": "+7 900 000-00-00"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'value="Анна Петрова"' in html and 'value="+7 900 000-00-00"' in html
    assert "E-mail: " in html or "Эл. почта: " in html or "E-mail:" in html  # the field in words, not "email:"
    assert "email: " not in html


@pytest.mark.smoke
def test_amounts_are_typed_as_the_app_shows_them(app, client, as_role, deal, users):
    for lang, shown in (("ru", "1\u00a0250\u00a0000,50\u00a0₽"), ("en", "RUB\u00a01,250,000.50")):
        as_role("Sales", lang)
        page = client.get(f"/opportunities/{deal['opp']}").get_data(as_text=True)
        assert shown in page
        form = client.get(f"/opportunityview/edit/{deal['opp']}").get_data(as_text=True)
        version = re.search(r'name="expected_version"[^>]*value="(\d+)"|value="(\d+)"[^>]*name="expected_version"', form)
        response = client.post(f"/opportunityview/edit/{deal['opp']}", data={
            "account": str(deal["account"]), "name": "Брендбук", "stage": "lead", "currency": "RUB",
            "owner": str(users["Sales"]), "forecast_category": "pipeline", "amount_estimate": shown,
            "probability": "10", "evidence": "price confirmed",
            "expected_version": next(v for v in version.groups() if v)})
        assert response.status_code == 302, response.get_data(as_text=True)[-2000:]
        with app.app_context():
            opp = db.session.get(Opportunity, deal["opp"])
            assert opp.amount_estimate == Decimal("1250000.50") and opp.probability == Decimal("0.1")


def test_a_second_create_offer_opens_the_draft(app, client, as_role, deal):
    as_role("Sales")
    first = client.post(f"/opportunities/{deal['opp']}/offer")
    second = client.post(f"/opportunities/{deal['opp']}/offer")
    assert first.headers["Location"] == second.headers["Location"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Offer)) == 1
    client.post(f"/opportunities/{deal['opp']}/offer", data={"another": "1"})
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Offer)) == 2


def test_triage_says_what_it_did_with_a_link_and_an_undo(app, client, as_role, deal):
    with app.app_context():
        ingest(ChangeRequest(SYSTEM), chatwoot.parse_webhook(cw_message()))
        from app.models import InboundThread
        thread_id = db.session.scalars(select(InboundThread.id)).one()
    as_role("Sales", "ru")
    page = client.post(f"/triage/{thread_id}/assign", data={"account_id": str(deal["account"])}, follow_redirects=True)
    html = page.get_data(as_text=True)
    assert f'href="/accounts/{deal["account"]}"' in html and "Точка роста" in html
    assert f"/triage/{thread_id}/undo" in html and "Отменить" in html
    assert "Готово." not in html


def test_history_is_one_entry_per_action_in_the_users_language(app, client, as_role, deal, users):
    with app.app_context():
        update_opportunity(request_as(users["Sales"], {"stage": "lost", "lost_reason": "Дорого"},
                                      evidence_refs=[{"type": "note", "text": "Клиент выбрал другое агентство"}]),
                           deal["opp"])
    as_role("Sales", "ru")
    html = client.get(f"/opportunities/{deal['opp']}").get_data(as_text=True)
    history = html.split('class="timeline history"')[1].split("</ul>")[0]
    assert history.count("<li") == 2  # created, and the move to lost as one entry
    for raw in ("negotiation", "omitted", "lost_reason", "forecast_category", "0.200", "+00:00", "True", "None"):
        assert raw not in history, raw
    assert "Проигрыш" in history or "Проиграна" in history or "Проигран" in history
    assert "«Клиент выбрал другое агентство»" in history or "<q>Клиент выбрал другое агентство</q>" in history
