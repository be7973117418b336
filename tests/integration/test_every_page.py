"""No page or form breaks on real data (issue 13).

One module-wide world is seeded through the verbs with every optional field filled (and one bare
record of each kind next to it): accounts, contacts, a project with PM, members and notes, open,
overdue, won, lost, bare and proposed deals with discounts, offers, inbound threads and messages
of both sources in every triage state, and an audit history from a few changes. Then

* every page renders for Admin in both languages: the record pages, the custom lists (accounts,
  board, dashboard, stall report and its CSV, triage), every list/show/add/edit page of every
  registered ModelView for the seeded records, the lookups, and every REST GET endpoint;
* the daily pages render for Owner, Sales and PM in both languages;
* every generated edit form, posted back exactly as it was rendered, saves (a redirect, no form
  error) and changes nothing: the row, the other tables' counts and the audit trails stay as they were.

The world is seeded once per module and emptied afterwards; nothing here relies on `clean_db` (the
tests only read, and a form that wrongly wrote is put back, so every test sees the world as seeded). A representative part is marked smoke so it runs on SQLite too.
"""
from __future__ import annotations

import json
import pkgutil
import re
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from html.parser import HTMLParser
from importlib import import_module

import pytest
from flask_appbuilder import ModelView
from flask_appbuilder.api import BaseApi
from sqlalchemy import select, text

from app import scope
from app.extensions import db
from app.inbound import chatwoot, telegram
from app.models import (Account, AuditEvent, Contact, InboundMessage, InboundThread, InboundThreadEvent, Offer,
                        Opportunity, OpportunityEvent, Project, ProjectMember)
from app.services import offers, opportunities, records, triage
from app.services.context import SYSTEM, ChangeRequest
from app.services.inbound import ingest
from tests.conftest import CRM_TABLES, ROLES, api_token, empty_tables, login
from tests.helpers import request_as
from tests.inbound_payloads import cw_message, tg_update

LANGS = ("en", "ru")
NOTE = [{"type": "note", "text": "Созвон 12.11: бюджет подтверждён"}]
LINK = [{"type": "url", "url": "https://tochka-rosta.example/brief.pdf"}]

# ---- what is seeded: a name for every record a page is rendered for ------------------------------
# (model -> keys; the world fixture checks it seeded exactly these, so a changed seed shows here)

RECORD_KEYS: dict[type, tuple[str, ...]] = {
    Account: ("full", "bare"),
    Contact: ("anna", "ivan", "bare"),
    Project: ("delivery", "done"),
    ProjectMember: ("pm", "sales"),
    Opportunity: ("open", "overdue", "won", "lost", "bare", "proposed"),
    Offer: ("sent", "draft"),
    OpportunityEvent: ("created", "stage_changed", "amount_changed", "probability_changed", "next_step_changed",
                       "discount_changed", "field_changed", "note_added", "won", "lost"),
    AuditEvent: ("account_created", "account_changed", "contact_created", "contact_changed", "project_created",
                 "project_changed", "project_member_created", "offer_created", "offer_changed"),
    InboundThread: ("assigned", "auto_attached", "unassigned", "ignored", "proposed"),
    InboundMessage: ("incoming", "outgoing", "private", "edited", "telegram"),
    InboundThreadEvent: ("assigned", "auto_attached", "ignored", "opportunity_proposed"),
}
MODEL_OF = {model.__name__: model for model in RECORD_KEYS}


def _seed_deal(owner_id, values, *, then=None, evidence=NOTE):
    """A deal created with `values`, then changed by `then` (with evidence); its id."""
    opp, _ = opportunities.create_opportunity(request_as(owner_id, values, evidence_refs=evidence))
    if then:
        opp, _ = opportunities.update_opportunity(request_as(owner_id, then, evidence_refs=evidence), opp.id)
    return opp.id


def seed(app) -> dict:
    """The world, through the verbs as its people would make it; {model name: {key: id}} plus users."""
    sm = app.appbuilder.sm
    users = {role: sm.find_user(username=role.lower()).id for role in ROLES}
    owner, sales, pm = users["Owner"], users["Sales"], users["PM"]
    now = datetime.now(timezone.utc).replace(microsecond=0)
    world: dict = {name: {} for name in MODEL_OF}
    world["users"] = users

    empty_crm_tables()  # this module's own world, whatever earlier modules left

    # accounts: one with every field (the ICP reason needs evidence), one with only its name
    full = records.save_record(request_as(owner, evidence_refs=LINK), Account(
        name="Точка роста", domain="Tochka-Rosta.ru", industry="Образование / EdTech", segment="mid",
        status="active", owner_user_id=sales, icp_fit_score=82,
        icp_fit_reason="Растущая сеть школ: 12 филиалов, нужен единый бренд и сайт"))
    world["Account"]["full"] = full.id
    world["Account"]["bare"] = records.save_record(request_as(owner), Account(name="Bare & Co <test>")).id
    full = records.save_record(request_as(owner), _reload(Account, full.id, industry="Образование"))

    # contacts: with e-mail, phone, Telegram handle, role tags and influence; one bare
    anna = records.save_record(request_as(sales), Contact(
        account_id=full.id, name="Анна Петрова", email="Anna.Petrova@tochka-rosta.ru", phone="+7 (916) 555-12-34",
        telegram_handle="@anna_petrova", role_tags=["ЛПР", "budget", "маркетинг"], influence_score=90))
    world["Contact"]["anna"] = anna.id
    world["Contact"]["ivan"] = records.save_record(request_as(sales), Contact(
        account_id=full.id, name="Ivan O'Neil \"Vanya\"", email="ivan@tochka-rosta.ru", phone="8 800 555 35 35",
        telegram_handle="@ivan_tech", role_tags=["tech"], influence_score=0)).id
    world["Contact"]["bare"] = records.save_record(request_as(sales), Contact(
        account_id=world["Account"]["bare"], name="Nobody")).id
    records.save_record(request_as(sales), _reload(Contact, anna.id, role_tags=["ЛПР", "budget", "маркетинг", "CEO"]))

    # projects: an active one with PM, members, dates and notes; a finished one without a PM
    delivery = records.save_record(request_as(owner), Project(
        account_id=full.id, name="Сайт и брендбук 2026", status="planned", pm_user_id=pm,
        start_date=date(2026, 1, 15), end_date=date(2026, 6, 30)))
    world["Project"]["delivery"] = delivery.id
    world["ProjectMember"]["sales"] = records.save_record(request_as(pm), ProjectMember(
        project_id=delivery.id, user_id=sales, role="sales")).id
    world["ProjectMember"]["pm"] = db.session.scalar(select(ProjectMember.id).where(
        ProjectMember.project_id == delivery.id, ProjectMember.user_id == pm))
    records.save_record(request_as(pm), _reload(Project, delivery.id, status="active"))
    for note in ("Kick-off 15.01 — согласовали этапы", "Клиент прислал логотипы <svg> & шрифты"):
        records.add_project_note(request_as(pm, {"text": note}), delivery.id)
    world["Project"]["done"] = records.save_record(request_as(owner), Project(
        account_id=full.id, name="Аудит UX", status="done", start_date=date(2025, 3, 1),
        end_date=date(2025, 3, 31))).id

    # deals: every optional field, a discount (the page used to crash on it), each outcome
    due = now + timedelta(days=3)
    full_deal = {"account_id": full.id, "amount_estimate": Decimal("1250000.50"), "currency": "RUB",
                 "discount_percent": Decimal("12.5"), "probability": Decimal("0.8"), "forecast_category": "commit",
                 "close_date_target": date(2026, 12, 20), "source": "Telegram", "primary_competitor": "Acme Studio",
                 "owner_user_id": sales, "next_step_text": "Отправить КП v2 (скидка 12,5 %)",
                 "next_step_due_at": due}
    world["Opportunity"]["open"] = deal = _seed_deal(owner, {
        **full_deal, "name": "Брендбук «Точки роста» — 100% готовности", "project_id": delivery.id,
        "stage": "negotiation"})
    opportunities.update_opportunity(request_as(owner, {"amount_estimate": Decimal("1300000"),
                                                        "probability": Decimal("0.85"),
                                                        "next_step_due_at": due + timedelta(hours=2),
                                                        "discount_percent": Decimal("10"),
                                                        "source": "Telegram / inbound"},
                                                evidence_refs=NOTE), deal)
    opportunities.add_note(request_as(pm, {"text": "Клиент просит 15 % скидку, 50%/50% оплата"},
                                      evidence_refs=LINK), deal)
    world["Opportunity"]["overdue"] = _seed_deal(owner, {
        **full_deal, "name": "Website redesign", "currency": "USD", "amount_estimate": Decimal("25000"),
        "discount_percent": Decimal("5"), "stage": "qualified", "next_step_due_at": now - timedelta(days=9),
        "next_step_text": "Call back"})
    world["Opportunity"]["won"] = _seed_deal(owner, {
        **full_deal, "name": "Логотип", "stage": "proposal_sent", "discount_percent": Decimal("7.25")},
        then={"stage": "won"})
    world["Opportunity"]["lost"] = _seed_deal(owner, {
        **full_deal, "name": "Мобильное приложение", "stage": "discovery", "discount_percent": Decimal("100")},
        then={"stage": "lost", "lost_reason": "Выбрали другую студию: дешевле на 30%"})
    world["Opportunity"]["bare"] = _seed_deal(owner, {"account_id": world["Account"]["bare"], "name": "Bare deal"})

    # offers: one draft as made from the deal, one sent with a discount changed
    world["Offer"]["draft"] = offers.create_offer_from(request_as(sales, evidence_refs=NOTE), deal).id
    sent = offers.create_offer_from(request_as(owner, evidence_refs=NOTE), world["Opportunity"]["won"])
    world["Offer"]["sent"] = sent.id
    records.save_record(request_as(owner, evidence_refs=LINK),
                        _reload(Offer, sent.id, status="sent", discount_percent=Decimal("5.5"),
                                title="КП: логотип, 3 концепции"))

    # inbound: a thread a person assigned (with an outgoing reply, a private note, an edit), one
    # attached automatically (the sender is a contact), one waiting in triage, one ignored, one
    # with a proposed deal
    system = ChangeRequest(SYSTEM)
    contact_sender = cw_message(message_id=3001, display_id=301, content="Добрый день! Это Анна, по брендбуку")
    contact_sender["sender"]["email"] = "anna.petrova@tochka-rosta.ru"
    contact_sender["conversation"]["meta"]["sender"]["email"] = "anna.petrova@tochka-rosta.ru"
    batches = [
        cw_message(message_id=3101, display_id=311, content="Hello, we need a new website <b>ASAP</b> & more"),
        cw_message(message_id=3102, display_id=311, content="Sure — sending the brief", message_type="outgoing"),
        cw_message(message_id=3103, display_id=311, content="Internal: budget 1.3M ₽", message_type="outgoing",
                   private=True),
        cw_message(message_id=3101, display_id=311, content="Hello, we need a new website ASAP (edited)",
                   event="message_updated", updated_at="2026-11-20T10:20:00.000Z"),
        contact_sender,
        cw_message(message_id=3201, display_id=321, content="Spam spam spam"),
        cw_message(message_id=3301, display_id=331, content="Нужен сайт для кофейни"),
    ]
    for payload in batches:
        ingest(system, chatwoot.parse_webhook(payload))
    ingest(system, telegram.parse_update(tg_update(text="Здравствуйте, нужен брендбук 🙂 — «срочно»")))

    def thread_of(content_part):
        return db.session.scalar(select(InboundMessage.thread_id).where(InboundMessage.text.contains(content_part)))

    world["InboundThread"]["assigned"] = thread_of("we need a new website")
    world["InboundThread"]["auto_attached"] = thread_of("Это Анна")
    world["InboundThread"]["unassigned"] = thread_of("нужен брендбук")
    world["InboundThread"]["ignored"] = thread_of("Spam spam")
    world["InboundThread"]["proposed"] = thread_of("кофейни")
    triage.assign_thread(request_as(owner), world["InboundThread"]["assigned"], full.id, delivery.id)
    triage.ignore_thread(request_as(sales), world["InboundThread"]["ignored"])
    triage.assign_thread(request_as(sales), world["InboundThread"]["proposed"], full.id)
    world["Opportunity"]["proposed"] = triage.propose_opportunity(
        request_as(sales), world["InboundThread"]["proposed"], "Сайт кофейни (из Chatwoot)").id

    statuses = {key: db.session.get(InboundThread, pk).status for key, pk in world["InboundThread"].items()}
    assert statuses == {"assigned": "assigned", "auto_attached": "assigned", "unassigned": "unassigned",
                        "ignored": "ignored", "proposed": "assigned"}, statuses
    messages = world["InboundMessage"]
    opportunities.add_note(request_as(sales, {"text": "Анна подтвердила бюджет в чате"}, evidence_refs=[
        {"type": "message", "id": str(_one(InboundMessage.id, InboundMessage.text.contains("Это Анна")))}]), deal)
    messages["incoming"] = _one(InboundMessage.id, InboundMessage.text.contains("Это Анна"))
    messages["outgoing"] = _one(InboundMessage.id, InboundMessage.text == "Sure — sending the brief")
    messages["private"] = _one(InboundMessage.id, InboundMessage.private.is_(True))
    messages["edited"] = _one(InboundMessage.id, InboundMessage.edited_at.isnot(None))
    messages["telegram"] = _one(InboundMessage.id, InboundMessage.source == "telegram")
    for action in RECORD_KEYS[InboundThreadEvent]:
        world["InboundThreadEvent"][action] = _first(InboundThreadEvent, InboundThreadEvent.action == action)
    for event_type in RECORD_KEYS[OpportunityEvent]:
        world["OpportunityEvent"][event_type] = _first(OpportunityEvent, OpportunityEvent.event_type == event_type)
    for key in RECORD_KEYS[AuditEvent]:
        entity, action = key.rsplit("_", 1)
        world["AuditEvent"][key] = _first(AuditEvent, AuditEvent.entity_type == entity, AuditEvent.action == action)
    db.session.commit()

    declared = {model.__name__: keys for model, keys in RECORD_KEYS.items()}
    missing = {name: [k for k in keys if world[name].get(k) is None] for name, keys in declared.items()}
    assert not any(missing.values()), f"the seed made no record for these keys: {missing}"
    present = {  # every kind of history row the seed wrote is rendered (declare new kinds above)
        "OpportunityEvent": set(db.session.scalars(select(OpportunityEvent.event_type).distinct())),
        "AuditEvent": {f"{e}_{a}" for e, a in db.session.execute(
            select(AuditEvent.entity_type, AuditEvent.action).distinct())},
        "InboundThreadEvent": set(db.session.scalars(select(InboundThreadEvent.action).distinct())),
    }
    undeclared = {name: sorted(kinds - set(declared[name])) for name, kinds in present.items()}
    assert not any(undeclared.values()), f"add these to RECORD_KEYS: {undeclared}"
    return world


def _reload(model, pk, **changes):
    """The stored record with these attributes changed (for a second, audited save)."""
    item = db.session.get(model, pk)
    for name, value in changes.items():
        setattr(item, name, value)
    return item


def _one(column, *where):
    return db.session.execute(select(column).where(*where)).scalar_one()


def _first(model, *where):
    return db.session.scalar(select(model.id).where(*where).order_by(model.created_at, model.id).limit(1))


# ---- fixtures ----------------------------------------------------------------------------------


def empty_crm_tables() -> None:
    db.session.remove()
    with db.engine.begin() as conn:
        empty_tables(conn, CRM_TABLES)


@pytest.fixture(scope="module")
def world(app):
    """The seeded world (module-wide; the tables are emptied again afterwards)."""
    with app.app_context(), scope.scoped(scope.SYSTEM):
        try:
            seeded = seed(app)
        finally:
            db.session.remove()
    yield seeded
    with app.app_context():
        empty_crm_tables()


@pytest.fixture(scope="module")
def clients(app, world):
    """clients(role, lang) -> a test client logged in through the login form (made once each)."""
    made: dict = {}

    def client_for(role: str, lang: str = "en"):
        if (role, lang) not in made:
            with scope.scoped(scope.NOBODY):
                made[role, lang] = login(app.test_client(), role, lang)
        return made[role, lang]
    return client_for


@pytest.fixture(scope="module")
def api_headers(app, world):
    with scope.scoped(scope.NOBODY):
        return {"Authorization": f"Bearer {api_token(app.test_client(), 'Admin')}"}


def get(client, url, **kwargs):
    """GET as in production: no ambient read scope, only the logged-in user's."""
    with scope.scoped(scope.NOBODY):
        return client.get(url, **kwargs)


def post(client, url, **kwargs):
    with scope.scoped(scope.NOBODY):
        return client.post(url, **kwargs)


def fill(url: str, world: dict) -> str:
    """"/accounts/{Account.full}" -> the seeded id."""
    return re.sub(r"\{(\w+)\.(\w+)\}", lambda m: str(world[m.group(1)][m.group(2)]), url)


def explain(response, url, method="GET") -> str:
    """What a failing page answered: status, where it redirects, and the error text if any."""
    body = response.get_data(as_text=True)
    shown = re.sub(r"\s+", " ", re.sub(r"<script.*?</script>|<style.*?</style>|<[^>]+>", " ", body, flags=re.S))
    location = response.headers.get("Location", "")
    return f"{method} {url} answered {response.status_code} {location} — {shown.strip()[:800]}"


def assert_renders(response, url, allow_redirect=False, must_show=()):
    ok = (200, 302) if allow_redirect else (200,)
    assert response.status_code in ok, explain(response, url)
    if response.status_code == 302:
        assert "/login" not in response.headers.get("Location", ""), explain(response, url)
    body = response.get_data(as_text=True)
    for marker in must_show:
        assert marker in body, f"{url}: {marker!r} not on the page"


def may_read(app, role: str, permission_view: str, permission: str = "can_read") -> bool:
    """Whether the role's user holds the permission (built-in roles of the config or stored ones)."""
    with app.app_context():
        sm = app.appbuilder.sm
        return sm._has_view_access(sm.find_user(username=role.lower()), permission, permission_view)


# ---- 1. custom pages and record pages -------------------------------------------------------------

# (url, view permission it needs, what the page must show, smoke)
PAGES = {
    "index": ("/", None, (), True),
    "board": ("/board/", "Board", (), True),
    "board all": ("/board/?owner=all", "Board", ("Website redesign",), False),
    "board filtered": ("/board/?owner=all&q=Брендбук&account={Account.full}&forecast_category=commit"
                       "&project={Project.delivery}", "Board", ("Брендбук",), False),
    "board column": ("/board/column/negotiation?owner=all&offset=0", "Board", (), False),
    "board column won": ("/board/column/won?owner=all&offset=0", "Board", (), False),
    "board summary": ("/board/summary?owner=all", "Board", (), False),
    "accounts": ("/accounts/", "AccountPage", (), True),
    "accounts filtered": ("/accounts/?q=Точка&status=active&segment=mid&order=last_touch", "AccountPage", (), False),
    "account full": ("/accounts/{Account.full}", "AccountPage", ("Точка роста", "Анна Петрова"), True),
    "account bare": ("/accounts/{Account.bare}", "AccountPage", ("Bare &amp; Co",), False),
    "account timeline page 2": ("/accounts/{Account.full}?timeline_page=1", "AccountPage", (), False),
    "opportunity open": ("/opportunities/{Opportunity.open}", "OpportunityPage", ("10.00",), True),
    "opportunity overdue": ("/opportunities/{Opportunity.overdue}", "OpportunityPage", ("Website redesign",), False),
    "opportunity won": ("/opportunities/{Opportunity.won}", "OpportunityPage", ("Логотип",), True),
    "opportunity lost": ("/opportunities/{Opportunity.lost}", "OpportunityPage", ("Выбрали другую студию",), True),
    "opportunity bare": ("/opportunities/{Opportunity.bare}", "OpportunityPage", ("Bare deal",), False),
    "opportunity proposed": ("/opportunities/{Opportunity.proposed}", "OpportunityPage", (), False),
    "project delivery": ("/projects/{Project.delivery}", "Project", ("Сайт и брендбук 2026",), True),
    "project done": ("/projects/{Project.done}", "Project", ("Аудит UX",), False),
    "project timeline page 2": ("/projects/{Project.delivery}?timeline_page=1", "Project", (), False),
    "dashboard": ("/dashboard/", "Dashboard", (), True),
    "dashboard filtered": ("/dashboard/?owner=all&from=2020-01-01&to=2030-12-31&project={Project.delivery}",
                           "Dashboard", (), False),
    "stall": ("/stall/", "StallReport", ("Website redesign",), True),
    "stall csv": ("/stall/csv?owner=all", "StallReport", ("Website redesign",), True),
    "triage": ("/triage/", "Triage", ("нужен брендбук",), True),
    "triage ignored": ("/triage/?status=ignored&source=chatwoot", "Triage", ("Spam spam",), False),
    "triage assigned": ("/triage/?status=assigned", "Triage", (), False),
    "triage accounts": ("/triage/accounts?q=точка", "Triage", (), False),
    "triage projects": ("/triage/projects?account_id={Account.full}", "Triage", (), False),
    "lookup accounts": ("/lookup/accounts/?q=точ", "Account", (), False),
    "lookup opportunities": ("/lookup/opportunities/?q=бренд", "Opportunity", (), False),
    "lookup projects": ("/lookup/projects/?account_id={Account.full}", "Project", (), False),
    "profile": ("/users/userinfo/", None, (), False),
}
# The pages every role works with daily (record pages of records each of them may see).
DAILY = ("index", "board", "accounts", "account full", "opportunity open", "project delivery", "dashboard", "stall",
         "triage", "profile")


def _page_params():
    for name, (_, _, _, smoke) in PAGES.items():
        for lang in LANGS:
            marks = [pytest.mark.smoke] if smoke else []
            yield pytest.param("Admin", name, lang, marks=marks, id=f"Admin-{lang}-{name.replace(' ', '_')}")
    for role in ("Owner", "Sales", "PM"):
        for name in DAILY:
            for lang in LANGS:
                marks = [pytest.mark.smoke] if name in ("board", "account full", "opportunity open") else []
                yield pytest.param(role, name, lang, marks=marks, id=f"{role}-{lang}-{name.replace(' ', '_')}")


@pytest.mark.parametrize("role,name,lang", list(_page_params()))
def test_page_renders(app, world, clients, role, name, lang):
    url, permission_view, must_show, _ = PAGES[name]
    if permission_view and not may_read(app, role, permission_view):
        pytest.skip(f"{role} may not read {permission_view}")
    url = fill(url, world)
    response = get(clients(role, lang), url)
    assert_renders(response, url, allow_redirect=name == "index", must_show=must_show if role == "Admin" else ())
    if name == "stall csv":
        assert response.mimetype == "text/csv"


# ---- 2. every generated page of every registered ModelView ---------------------------------------

def _crm_model_views() -> dict[str, type]:
    """The ModelViews defined in app.views (found without an app, so they can name the test ids)."""
    import app.views as package

    found = {}
    for info in pkgutil.iter_modules(package.__path__):
        module = import_module(f"app.views.{info.name}")
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, ModelView) and value.__module__ == module.__name__ \
                    and getattr(value, "datamodel", None) is not None:
                found[value.__name__] = value
    return found


CRM_VIEWS = _crm_model_views()
# FAB's own generated views the Admin works with, by the model they show (the admin user, the Admin role)
FAB_VIEWS = {"users": "ab_user", "roles": "ab_role"}


def _model_of(view_class) -> str | None:
    return view_class.datamodel.obj.__name__ if getattr(view_class, "datamodel", None) is not None else None


def _routes(view_class) -> tuple[str, ...]:
    """The generated pages a view has (edit pages are rendered by the save-back test below)."""
    excluded = set(getattr(view_class, "exclude_route_methods", None) or ())
    return tuple(kind for kind in ("list", "add", "show") if kind not in excluded)


def _generated_params():
    for view_name, view_class in sorted(CRM_VIEWS.items()):
        keys = RECORD_KEYS.get(MODEL_OF.get(_model_of(view_class)), ())
        for lang in LANGS:
            smoke = [pytest.mark.smoke] if view_name in ("OpportunityView", "AccountView") and lang == "ru" else []
            for kind in _routes(view_class):
                for key in keys if kind == "show" else (None,):
                    name = f"{view_name}-{kind}-{key}-{lang}" if key else f"{view_name}-{kind}-{lang}"
                    yield pytest.param(view_name, kind, key, lang, marks=smoke, id=name)
    for view_name in FAB_VIEWS:
        for kind in ("list", "add", "show", "edit"):
            for lang in LANGS:
                yield pytest.param(view_name, kind, "admin", lang, id=f"{view_name}-{kind}-{lang}")


def _registered_view(app, view_name):
    for view in app.appbuilder.baseviews:
        if view_name in FAB_VIEWS:
            if isinstance(view, ModelView) and view.datamodel.obj.__tablename__ == FAB_VIEWS[view_name]:
                return view
        elif type(view).__name__ == view_name:
            return view
    raise AssertionError(f"{view_name} is not registered on the app")


def _has_route(app, view, kind) -> bool:
    return f"{view.endpoint}.{kind}" in app.view_functions


def test_every_registered_model_view_is_covered(app):
    registered = {type(v).__name__ for v in app.appbuilder.baseviews if isinstance(v, ModelView)
                  and type(v).__module__.startswith("app.views")}
    assert registered == set(CRM_VIEWS), "a ModelView is registered but not rendered here (or gone)"
    for view in app.appbuilder.baseviews:
        if type(view).__name__ in CRM_VIEWS:
            model = view.datamodel.obj
            assert model in RECORD_KEYS or model.__name__ in MODEL_OF, f"no seeded {model.__name__} records"


@pytest.mark.parametrize("view_name,kind,key,lang", list(_generated_params()))
def test_generated_page_renders(app, world, clients, view_name, kind, key, lang):
    from flask import url_for

    view = _registered_view(app, view_name)
    assert _has_route(app, view, kind), f"{view_name} has no {kind} page"
    with app.test_request_context():
        if key is None:
            url = url_for(f"{view.endpoint}.{kind}")
        elif key == "admin":
            url = url_for(f"{view.endpoint}.{kind}", pk=str(world["users"]["Admin"]) if view_name == "users"
                          else _admin_role_id(app))
        else:
            url = url_for(f"{view.endpoint}.{kind}", pk=str(world[_model_of(type(view))][key]))
    response = get(clients("Admin", lang), url)
    assert_renders(response, url)


def _admin_role_id(app):
    with app.app_context():
        return str(app.appbuilder.sm.find_role("Admin").id)


# ---- 3. every REST GET endpoint --------------------------------------------------------------------

API_RESOURCES = {  # resource -> model of its records ("" for none)
    "accounts": "Account", "contacts": "Contact", "opportunities": "Opportunity", "projects": "Project",
    "project_members": "ProjectMember", "offers": "Offer", "opportunity_events": "OpportunityEvent",
    "audit_events": "AuditEvent", "inbound_threads": "InboundThread", "metrics": "",
}
WITH_EVENTS = ("accounts", "contacts", "opportunities", "projects")
PLAIN_LISTS = {  # the plain-filter lists (every record kind in one answer)
    "opportunities": "/api/v1/opportunities/?owner=me,sales&status=open,won,lost&account_id={Account.full}"
                     "&page_size=100",
    "inbound_threads": "/api/v1/inbound_threads/?status=unassigned,assigned,ignored&source=chatwoot,telegram",
}
METRICS = ("pipeline", "aging", "win-rate", "sla")


def _api_params():
    for resource, model in API_RESOURCES.items():
        if not model:
            for metric in METRICS:
                yield pytest.param(f"/api/v1/metrics/{metric}?from=2020-01-01&to=2030-12-31",
                                   id=f"api-metrics-{metric}")
                yield pytest.param(f"/api/v1/metrics/{metric}?owner=me", id=f"api-metrics-{metric}-mine")
            continue
        yield pytest.param(f"/api/v1/{resource}/", id=f"api-{resource}-list",
                           marks=[pytest.mark.smoke] if resource == "opportunities" else [])
        yield pytest.param(f"/api/v1/{resource}/_info", id=f"api-{resource}-info")
        if resource in PLAIN_LISTS:
            yield pytest.param(PLAIN_LISTS[resource], id=f"api-{resource}-list-filtered")
        for key in RECORD_KEYS[MODEL_OF[model]]:
            yield pytest.param(f"/api/v1/{resource}/{{{model}.{key}}}", id=f"api-{resource}-{key}",
                               marks=[pytest.mark.smoke] if (resource, key) == ("opportunities", "open") else [])
            if resource in WITH_EVENTS:
                yield pytest.param(f"/api/v1/{resource}/{{{model}.{key}}}/events", id=f"api-{resource}-{key}-events")


def test_every_rest_api_is_covered(app):
    registered = {getattr(v, "resource_name", None) for v in app.appbuilder.baseviews
                  if isinstance(v, BaseApi) and type(v).__module__.startswith("app.")}
    # "security": the sessions API has no GET to read (POST logout only; tests/hardening/test_sessions.py)
    assert registered - {"security"} == set(API_RESOURCES), "a REST API is registered but not read here (or gone)"


@pytest.mark.parametrize("url", list(_api_params()))
def test_rest_get_answers(app, world, api_headers, url):
    url = fill(url, world)
    response = get(app.test_client(), url, headers=api_headers)
    assert response.status_code == 200, explain(response, url)
    assert response.is_json, url


# ---- 4. every generated edit form saves back unchanged -------------------------------------------

class FormReader(HTMLParser):
    """The values a browser would submit for the form with id `form_id`, untouched."""

    def __init__(self, form_id: str = "model_form"):
        super().__init__(convert_charrefs=True)
        self.form_id = form_id
        self.inside = False
        self.fields: list[tuple[str, str]] = []
        self.names: list[str] = []
        self._select: dict | None = None
        self._option: dict | None = None
        self._textarea: dict | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.inside = a.get("id") == self.form_id
            return
        if not self.inside:
            return
        if tag == "input" and a.get("name") and "disabled" not in a:
            kind = (a.get("type") or "text").lower()
            self.names.append(a["name"])
            if kind in ("submit", "button", "reset", "image", "file"):
                return
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self.fields.append((a["name"], a.get("value", "on")))
                return
            self.fields.append((a["name"], a.get("value") or ""))
        elif tag == "select" and a.get("name") and "disabled" not in a:
            self.names.append(a["name"])
            self._select = {"name": a["name"], "multiple": "multiple" in a, "options": []}
        elif tag == "option" and self._select is not None:
            self._option = {"value": a.get("value"), "selected": "selected" in a, "text": ""}
            self._select["options"].append(self._option)
        elif tag == "textarea" and a.get("name") and "disabled" not in a:
            self.names.append(a["name"])
            self._textarea = {"name": a["name"], "text": ""}

    def handle_data(self, data):
        if self._option is not None:
            self._option["text"] += data
        if self._textarea is not None:
            self._textarea["text"] += data

    def handle_endtag(self, tag):
        if tag == "form" and self.inside:
            self.inside = False
        elif tag == "option":
            self._option = None
        elif tag == "select" and self._select is not None:
            options = self._select["options"]
            chosen = [o for o in options if o["selected"]]
            if not chosen and options and not self._select["multiple"]:
                chosen = options[:1]  # a browser submits the first option of a single select
            for option in chosen:
                value = option["value"] if option["value"] is not None else option["text"].strip()
                self.fields.append((self._select["name"], value))
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            value = self._textarea["text"]
            if value.startswith("\r\n"):  # a browser drops the newline right after <textarea>
                value = value[2:]
            elif value.startswith("\n"):
                value = value[1:]
            self.fields.append((self._textarea["name"], value))
            self._textarea = None


def read_form(html: str) -> list[tuple[str, str]]:
    reader = FormReader()
    reader.feed(html)
    reader.close()
    assert reader.names, "no form with id model_form on the edit page"
    return reader.fields


def _row(conn, model, pk) -> dict:
    table = model.__table__
    row = conn.execute(select(table).where(table.c.id == pk)).mappings().one()
    return dict(row)


def snapshot(app, model, pk) -> dict:
    """The edited row's columns, how many rows every CRM table holds, and the record's history."""
    with app.app_context(), db.engine.connect() as conn:
        counts = {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar() for t in CRM_TABLES}
        history = conn.execute(select(OpportunityEvent.__table__.c.event_type, OpportunityEvent.__table__.c.new_value)
                               .where(OpportunityEvent.__table__.c.opportunity_id == pk)).all() + \
            conn.execute(select(AuditEvent.__table__.c.action, AuditEvent.__table__.c.new_value)
                         .where(AuditEvent.__table__.c.entity_id == pk)).all()
        history = [(kind, json.dumps(value, ensure_ascii=False, sort_keys=True)) for kind, value in history]
        return {"row": _row(conn, model, pk), "counts": counts, "history": history}


def restore(app, model, pk, row: dict) -> None:
    """Put a row back as it was, beside the ORM (its audit rows stay: they are append-only)."""
    table = model.__table__
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(table.update().where(table.c.id == pk).values({k: v for k, v in row.items() if k != "id"}))


# Besides Admin, the people who own these records save them back too.
OWN_FORMS = (("Sales", "OpportunityView", "open"), ("Sales", "AccountView", "full"), ("Sales", "ContactView", "anna"),
             ("Sales", "OfferView", "draft"), ("PM", "ProjectView", "delivery"))


def _edit_params():
    for view_name, view_class in sorted(CRM_VIEWS.items()):
        if "edit" in (getattr(view_class, "exclude_route_methods", None) or set()):
            continue
        model = _model_of(view_class)
        for key in RECORD_KEYS.get(MODEL_OF.get(model), ()):
            for lang in LANGS:
                marks = [pytest.mark.smoke] if view_name in ("AccountView", "ContactView") and lang == "ru" else []
                yield pytest.param("Admin", view_name, key, lang, marks=marks, id=f"Admin-{view_name}-{key}-{lang}")
    for role, view_name, key in OWN_FORMS:
        yield pytest.param(role, view_name, key, "ru", id=f"{role}-{view_name}-{key}-ru")


@pytest.mark.parametrize("role,view_name,key,lang", list(_edit_params()))
def test_edit_form_saves_back_unchanged(app, world, clients, role, view_name, key, lang):
    from flask import url_for

    view = _registered_view(app, view_name)
    model = view.datamodel.obj
    pk = world[model.__name__][key]
    with app.test_request_context():
        url = url_for(f"{view.endpoint}.edit", pk=str(pk))
    client = clients(role, lang)
    page = get(client, url)
    assert_renders(page, url)
    values = read_form(page.get_data(as_text=True))
    before = snapshot(app, model, pk)
    response = post(client, url, data=_multidict(values))
    after = snapshot(app, model, pk)
    if response.status_code != 302:
        errors = _form_errors(response.get_data(as_text=True))
        pytest.fail(f"POST {url} with the form as rendered answered {response.status_code}, not a redirect; "
                    f"form errors: {errors or explain(response, url, 'POST')}\nposted: {values}")
    changed = {c: (before["row"][c], after["row"][c]) for c in before["row"] if before["row"][c] != after["row"][c]}
    grown = {t: (before["counts"][t], after["counts"][t]) for t in CRM_TABLES
             if before["counts"][t] != after["counts"][t]}
    written = list((Counter(after["history"]) - Counter(before["history"])).elements())
    if changed:
        restore(app, model, pk, before["row"])  # the next tests see the world as seeded
    blanked = sorted(c for c, (old, new) in changed.items() if old is None and new == "")
    hint = f"; blank optional fields {blanked} were saved as '' instead of NULL" if blanked else ""
    assert not changed and not grown, (
        f"saving the untouched edit form of {model.__name__} {key} wrote: columns {changed}, rows {grown}, "
        f"history {written}{hint}\nposted: {values}")


def _multidict(values):
    from werkzeug.datastructures import MultiDict

    return MultiDict(values)


def _form_errors(html: str) -> list[str]:
    """Field errors ("field: message") and flashed danger messages on a re-rendered form."""
    found = []
    head, *fields = html.split('<label for="')
    for chunk in [head] + fields:
        field = chunk.split('"', 1)[0] if chunk is not head else "flash"
        for message in re.findall(r'class="alert alert-danger">(.*?)</div>', chunk, flags=re.S):
            message = re.sub(r"\s+", " ", re.sub(r"<[^>]+>|&times;", " ", message)).strip()
            found.append(f"{field}: {message}")
    return found
