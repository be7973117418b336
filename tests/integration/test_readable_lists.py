"""Generated lists and show pages read like the rest of the app (issue 14).

A small world is seeded through the verbs — deals in every kind of stage with sources, forecast
categories, amounts in two currencies, discounts and notes; accounts, contacts with role tags, a
project with members, offers, and inbound threads through each triage action (an undone proposal
included) — then every generated list and show page of those records, the two audit trails
included, is read as Admin in Russian and English: no stored code, Python literal, "None",
True/False, ISO timestamp or FAB stock string; the values in words, money with its currency, and
the forms' empty choice as "—".
"""
from __future__ import annotations

import html
import re
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import select

from app import scope
from app.extensions import db
from app.inbound import chatwoot, telegram
from app.models import (Account, AuditEvent, Contact, InboundMessage, InboundThread, InboundThreadEvent, Offer,
                        Opportunity, OpportunityEvent, Project)
from app.services import offers, opportunities, records, triage
from app.services.context import SYSTEM, ChangeRequest
from app.services.inbound import ingest
from tests.conftest import CRM_TABLES, ROLES, empty_tables, login
from tests.helpers import request_as
from tests.inbound_payloads import cw_message, tg_update

NOTE = [{"type": "note", "text": "Созвон: бюджет подтверждён"}]
LINK = [{"type": "url", "url": "https://client.example/brief.pdf"}]

# Stored codes that must never reach a page (in any language) ...
CODES = ("proposal_sent", "best_case", "stage_changed", "amount_changed", "probability_changed", "next_step_changed",
         "discount_changed", "field_changed", "note_added", "project_member", "auto_attached",
         "opportunity_proposed", "account_created", "decision maker")
# ... and the plain ones that a Russian page shows by their Russian labels.
RU_CODES = ("lead", "qualified", "discovery", "negotiation", "won", "lost", "open", "pipeline", "commit", "omitted",
            "draft", "sent", "accepted", "rejected", "active", "dormant", "churned", "paused", "planned", "smb",
            "enterprise", "website", "referral", "unassigned", "assigned", "ignored", "incoming", "outgoing",
            "created", "changed", "deleted", "withdrawn", "budget", "designer", "yes", "no")
ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}")
LITERALS = re.compile(r"\bNone\b|\bTrue\b|\bFalse\b|\[\]|\{'|\['|\{\"")


# ---- the world ---------------------------------------------------------------------------------

def _empty_crm_tables() -> None:
    db.session.remove()
    with db.engine.begin() as conn:
        empty_tables(conn, CRM_TABLES)


def _seed(app) -> dict:
    sm = app.appbuilder.sm
    users = {role: sm.find_user(username=role.lower()).id for role in ROLES}
    owner, sales, pm = users["Owner"], users["Sales"], users["PM"]
    now = datetime.now(timezone.utc).replace(microsecond=0)
    _empty_crm_tables()

    account = records.save_record(request_as(owner, evidence_refs=LINK), Account(
        name="Точка роста", domain="tochka.example", industry="EdTech", segment="enterprise", status="dormant",
        owner_user_id=sales, icp_fit_score=70, icp_fit_reason="Сеть школ"))
    bare_account = records.save_record(request_as(owner), Account(name="Bare Co"))
    records.save_record(request_as(sales), Contact(account_id=account.id, name="Анна Петрова",
                                                   email="anna@tochka.example", role_tags=["decision maker", "budget"],
                                                   influence_score=80))
    records.save_record(request_as(sales), Contact(account_id=bare_account.id, name="Nobody"))
    project = records.save_record(request_as(owner), Project(account_id=account.id, name="Сайт 2026", status="paused",
                                                             pm_user_id=pm, start_date=date(2026, 1, 15)))
    from app.models import ProjectMember

    records.save_record(request_as(pm), ProjectMember(project_id=project.id, user_id=sales, role="designer"))

    full = {"account_id": account.id, "close_date_target": date(2026, 12, 20), "owner_user_id": sales,
            "next_step_text": "Отправить КП", "next_step_due_at": now + timedelta(days=3)}
    proposal, _ = opportunities.create_opportunity(request_as(owner, {
        **full, "name": "Брендбук", "stage": "proposal_sent", "forecast_category": "best_case", "source": "website",
        "amount_estimate": Decimal("1724000.00"), "currency": "RUB", "probability": Decimal("0.4")}, evidence_refs=NOTE))
    opportunities.update_opportunity(request_as(owner, {"amount_estimate": Decimal("1800000.50"),
                                                        "probability": Decimal("0.45"), "discount_percent": Decimal("12.5"),
                                                        "source": "referral"}, evidence_refs=NOTE), proposal.id)
    opportunities.add_note(request_as(pm, {"text": "Клиент просит рассрочку"}, evidence_refs=LINK), proposal.id)
    opportunities.create_opportunity(request_as(owner, {
        **full, "name": "Website redesign", "stage": "negotiation", "currency": "USD",
        "amount_estimate": Decimal("25000"), "source": "referral"}, evidence_refs=NOTE))
    won, _ = opportunities.create_opportunity(request_as(owner, {
        **full, "name": "Логотип", "stage": "proposal_sent", "amount_estimate": Decimal("300000")}, evidence_refs=NOTE))
    opportunities.update_opportunity(request_as(owner, {"stage": "won"}, evidence_refs=NOTE), won.id)
    lost, _ = opportunities.create_opportunity(request_as(owner, {
        **full, "name": "Приложение", "stage": "discovery", "amount_estimate": Decimal("900000")}, evidence_refs=NOTE))
    opportunities.update_opportunity(request_as(owner, {"stage": "lost", "lost_reason": "Дорого"}, evidence_refs=NOTE),
                                     lost.id)
    opportunities.create_opportunity(request_as(owner, {"account_id": bare_account.id, "name": "Bare deal"}))

    draft = offers.create_offer_from(request_as(sales, evidence_refs=NOTE), proposal.id)
    sent = offers.create_offer_from(request_as(owner, evidence_refs=NOTE), won.id)
    as_owner = request_as(owner, evidence_refs=LINK)  # (asks the database: before the change)
    sent = db.session.get(Offer, sent.id)
    sent.status, sent.discount_percent = "sent", Decimal("5")
    records.save_record(as_owner, sent)

    system = ChangeRequest(SYSTEM)
    ingest(system, chatwoot.parse_webhook(cw_message(message_id=4101, display_id=411, content="Нужен сайт")))
    ingest(system, chatwoot.parse_webhook(cw_message(message_id=4102, display_id=411, content="Пришлём бриф",
                                                     message_type="outgoing", private=True)))
    ingest(system, chatwoot.parse_webhook(cw_message(message_id=4201, display_id=421, content="Spam")))
    ingest(system, telegram.parse_update(tg_update(text="Здравствуйте, нужен брендбук")))

    def thread_of(part):
        return db.session.scalar(select(InboundMessage.thread_id).where(InboundMessage.text.contains(part)))

    site, spam, brand = thread_of("Нужен сайт"), thread_of("Spam"), thread_of("нужен брендбук")
    triage.assign_thread(request_as(owner), site, account.id)
    triage.ignore_thread(request_as(sales), spam)
    triage.assign_thread(request_as(sales), brand, account.id)
    triage.propose_opportunity(request_as(sales), brand, "Брендбук из Telegram")
    triage.undo_last_action(request_as(sales), brand)  # withdraws the proposed deal
    message = db.session.scalar(select(InboundMessage.id).where(InboundMessage.text == "Нужен сайт"))
    opportunities.add_note(request_as(sales, {"text": "Анна подтвердила бюджет"},
                                      evidence_refs=[{"type": "message", "id": str(message)}]), proposal.id)
    db.session.commit()

    ids = {model.__name__: [str(pk) for pk in db.session.scalars(select(model.id))]
           for model in (Account, Contact, Project, Opportunity, Offer, OpportunityEvent, AuditEvent, InboundThread,
                         InboundMessage, InboundThreadEvent)}
    ids["draft"], ids["proposal"] = str(draft.id), str(proposal.id)
    return ids


@pytest.fixture(scope="module")
def world(app):
    with app.app_context(), scope.scoped(scope.SYSTEM):
        try:
            seeded = _seed(app)
        finally:
            db.session.remove()
    yield seeded
    with app.app_context():
        _empty_crm_tables()


@pytest.fixture(scope="module")
def clients(app, world):
    made: dict = {}

    def client_for(lang: str):
        if lang not in made:
            with scope.scoped(scope.NOBODY):
                made[lang] = login(app.test_client(), "Admin", lang)
        return made[lang]
    return client_for


def page(client, url: str) -> tuple[str, str]:
    """(raw HTML, the text a person sees) of a page that must answer 200."""
    with scope.scoped(scope.NOBODY):
        response = client.get(url)
    body = response.get_data(as_text=True)
    assert response.status_code == 200, f"{url}: {response.status_code}"
    shown = re.sub(r"<script.*?</script>|<style.*?</style>|<!--.*?-->", " ", body, flags=re.S)
    shown = html.unescape(re.sub(r"<[^>]+>", " ", shown)).replace("\xa0", " ").replace("\u202f", " ")
    return body, re.sub(r"\s+", " ", shown)


def assert_readable(url: str, body: str, shown: str, lang: str) -> None:
    for code in CODES:
        assert code not in shown, f"{url}: the code {code!r} is shown"
    assert not LITERALS.search(shown), f"{url}: a Python literal is shown: {LITERALS.search(shown).group()!r} in " \
                                       f"…{shown[max(0, LITERALS.search(shown).start() - 80):LITERALS.search(shown).end() + 80]}…"
    assert not ISO_TIME.search(shown), f"{url}: an ISO time is shown: {ISO_TIME.search(shown).group()}"
    assert ">__None<" not in body and "__None" not in shown, f"{url}: FAB's empty choice shows as __None"
    if lang == "ru":
        words = re.findall(r"(?<![\w@./-])(" + "|".join(RU_CODES) + r")(?![\w@./-])", shown)
        assert not words, f"{url}: English codes on a Russian page: {sorted(set(words))}"
        assert "Select Value" not in body, f"{url}: FAB's 'Select Value' in English on a Russian page"


# ---- the pages ---------------------------------------------------------------------------------

LISTS = ("/opportunityview/list/", "/offerview/list/", "/accountview/list/", "/contactview/list/",
         "/projectview/list/", "/opportunityeventview/list/", "/auditeventview/list/", "/inboundthreadview/list/",
         "/inboundmessageview/list/", "/inboundthreadeventview/list/")
SHOWS = {"Opportunity": "opportunityview", "Offer": "offerview", "Account": "accountview", "Contact": "contactview",
         "Project": "projectview", "OpportunityEvent": "opportunityeventview", "AuditEvent": "auditeventview",
         "InboundThread": "inboundthreadview", "InboundMessage": "inboundmessageview",
         "InboundThreadEvent": "inboundthreadeventview"}
FORMS = ("/opportunityview/add", "/accountview/add", "/projectview/add", "/offerview/add", "/contactview/add")


@pytest.mark.parametrize("lang", ["ru", "en"])
@pytest.mark.parametrize("url", LISTS)
def test_generated_list_reads_in_words(clients, lang, url):
    body, shown = page(clients(lang), url)
    assert_readable(url, body, shown, lang)


@pytest.mark.parametrize("lang", ["ru", "en"])
@pytest.mark.parametrize("model", list(SHOWS))
def test_every_show_page_reads_in_words(world, clients, lang, model):
    assert world[model], f"the seed made no {model}"
    for pk in world[model]:
        url = f"/{SHOWS[model]}/show/{pk}"
        body, shown = page(clients(lang), url)
        assert_readable(url, body, shown, lang)


@pytest.mark.smoke
def test_russian_lists_show_labels_money_and_percentages(clients):
    client = clients("ru")
    _, deals = page(client, "/opportunityview/list/")
    assert "КП отправлено" in deals and "Переговоры" in deals and "Выиграна" in deals
    assert "1 800 000,50" in deals and "25 000" in deals and "$" in deals and "₽" in deals  # the amount, its currency
    _, offer_list = page(client, "/offerview/list/")
    assert "1 800 000,50 ₽" in offer_list and "Черновик" in offer_list and "Отправлено" in offer_list
    assert "12,5 %" in offer_list and " 5 %" in offer_list  # the discounts
    _, accounts = page(client, "/accountview/list/")
    assert "Крупный бизнес" in accounts and "Спящий" in accounts and "—" in accounts  # the bare one's domain
    _, contacts = page(client, "/contactview/list/")
    assert "ЛПР, Бюджет" in contacts
    _, threads = page(client, "/inboundthreadview/list/")
    assert "Игнорируется" in threads and "Привязано" in threads


def test_show_pages_in_words(world, clients):
    client = clients("ru")
    _, deal = page(client, f"/opportunityview/show/{world['proposal']}")
    assert "Оптимистичный" in deal and "45 %" in deal and "12,5 %" in deal and "Рекомендация" in deal
    assert "нет" in deal  # proposed: no
    _, en_deal = page(clients("en"), f"/opportunityview/show/{world['proposal']}")
    assert "Best case" in en_deal and "Proposal sent" in en_deal and "45%" in en_deal and "Referral" in en_deal


@pytest.mark.smoke
def test_event_lists_say_what_changed(clients):
    _, events = page(clients("ru"), "/opportunityeventview/list/")
    assert "Сумма: 1 724 000 ₽ → 1 800 000,50 ₽" in events
    assert "Вероятность: 40 % → 45 %" in events
    assert "Стадия: Выявление потребностей → Проиграна" in events
    assert "Источник: Сайт → Рекомендация" in events
    assert "Клиент просит рассрочку" in events  # a note, quoted
    _, en_events = page(clients("en"), "/opportunityeventview/list/")
    assert "Stage: Proposal sent → Won" in en_events and "Probability: 40% → 45%" in en_events
    _, records_ = page(clients("ru"), "/auditeventview/list/")
    assert "Статус: Черновик → Отправлено" in records_ and "Роли: ЛПР, Бюджет" in records_
    assert "Участник проекта" in records_ and "Дизайнер" in records_


def test_event_evidence_reads_as_links_notes_and_messages(app, world, clients):
    with app.app_context():
        notes = db.session.scalars(select(OpportunityEvent.id).where(OpportunityEvent.event_type == "note_added")).all()
    shown = " ".join(page(clients("ru"), f"/opportunityeventview/show/{pk}")[1] for pk in notes)
    assert "https://client.example/brief.pdf" in shown  # a link
    assert "Нужен сайт" in shown and "Anna Petrova" in shown  # the client message, quoted with its sender


@pytest.mark.parametrize("lang", ["ru", "en"])
@pytest.mark.parametrize("url", FORMS)
def test_forms_empty_choice_and_select_texts(clients, lang, url):
    body, shown = page(clients(lang), url)
    assert ">__None<" not in body and "__None" not in shown
    if lang == "ru":
        assert "Select Value" not in body
        assert "my_select2" not in body or 'data-placeholder="Выберите значение"' in body
        assert 'data-no-results="Ничего не найдено"' in body and 'data-searching="Поиск…"' in body
    else:
        assert 'data-no-results="Nothing found"' in body


@pytest.mark.smoke
def test_fab_strings_are_russian(world, clients):
    """FAB's own strings its Russian catalogue lacks come from ours (loaded after FAB's)."""
    body, shown = page(clients("ru"), "/accountview/list/")
    assert "Добавить" in shown and "Просмотр" in body and "Удалить" in body
    _, users = page(clients("ru"), "/users/list/")
    assert "Группы" in users
    _, show = page(clients("ru"), f"/accountview/show/{world['Account'][0]}")
    assert "Основное" in show and "Требуется подтверждение" in show

