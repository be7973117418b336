"""Merging duplicates: everything of the merged account moves to the survivor (row counts per
table before and after), the old id answers the survivor, a write to it is 409, the audit row
holds the values before and the choices, the deals' own histories get the account change, two
merges at once leave one consistent result, and only Owner and Admin merge."""
from __future__ import annotations

import threading
from datetime import datetime, timezone
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app import scope
from app.domain.errors import ConflictError, NotFoundError, PermissionDenied, RuleViolation
from app.extensions import db
from app.models import (Account, AuditEvent, Contact, DuplicateDecision, InboundThread, Offer, Opportunity,
                        OpportunityEvent, Project, ProjectNote)
from app.queries.account_pages import timeline
from app.queries.duplicates import contact_pairs, survivor_of
from app.services.merge import keep_separate, merge_accounts, merge_contacts
from app.services.offers import create_offer_from
from app.services.opportunities import add_note, create_opportunity
from app.services.records import add_project_note, save_record
from tests.conftest import USE_SQLITE
from tests.helpers import add_project, change_context, committed, request_as

TABLES = {"contacts": Contact, "opportunities": Opportunity, "projects": Project, "project_notes": ProjectNote,
          "offers": Offer, "inbound_threads": InboundThread}


def counts() -> dict:
    return {name: db.session.scalar(select(func.count()).select_from(model).execution_options(crm_unscoped=True))
            for name, model in TABLES.items()}


def of_account(account_id) -> dict:
    """Rows per table hanging on this account (offers and notes through their deals and projects)."""
    one = lambda q: db.session.scalar(q.execution_options(crm_unscoped=True))  # noqa: E731
    return {
        "contacts": one(select(func.count()).select_from(Contact).where(Contact.account_id == account_id)),
        "opportunities": one(select(func.count()).select_from(Opportunity).where(Opportunity.account_id == account_id)),
        "projects": one(select(func.count()).select_from(Project).where(Project.account_id == account_id)),
        "project_notes": one(select(func.count()).select_from(ProjectNote).join(Project).where(
            Project.account_id == account_id)),
        "offers": one(select(func.count()).select_from(Offer).join(Opportunity).where(
            Opportunity.account_id == account_id)),
        "inbound_threads": one(select(func.count()).select_from(InboundThread).where(
            InboundThread.account_id == account_id)),
    }


@pytest.fixture()
def pair(app, clean_db, users):
    """«Точка роста» (the survivor-to-be) and ООО "Точка Роста" with a bit of everything."""
    with app.app_context():
        sales, owner = users["Sales"], users["Owner"]
        old_touch = datetime(2026, 1, 1, tzinfo=timezone.utc)
        a = save_record(request_as(sales), Account(name="«Точка роста»", domain="tochka-rosta.ru", industry="Ритейл"))
        b = save_record(request_as(owner), Account(name='ООО "Точка Роста"', domain="shop-tochka-rosta.ru",
                                                   segment="mid", owner_user_id=owner))
        save_record(request_as(sales), Contact(account_id=a.id, name="Анна", email="anna@tochka-rosta.ru",
                                               phone="+79161234567"))
        save_record(request_as(owner), Contact(account_id=b.id, name="Анна", phone="89161234567"))
        save_record(request_as(owner), Contact(account_id=b.id, name="Борис", email="boris@tochka-rosta.ru"))
        deal_a, _ = create_opportunity(request_as(sales, {"account_id": a.id, "name": "Сайт"}))
        deal_b, _ = create_opportunity(request_as(owner, {"account_id": b.id, "name": "Брендбук",
                                                          "amount_estimate": Decimal("100000")}))
        project = add_project(b.id, "Редизайн", pm_user_id=owner, actor_id=owner)
        in_project, _ = create_opportunity(request_as(owner, {"account_id": b.id, "name": "Поддержка",
                                                              "project_id": project}))
        add_note(request_as(owner, {"text": "Созвонились"}), deal_b.id)
        add_project_note(request_as(owner, {"text": "Старт в понедельник"}), project)
        create_offer_from(request_as(owner), deal_b.id)
        with change_context(owner), committed():
            db.session.add(InboundThread(source="telegram", external_key="tg-1", account_id=b.id, status="assigned"))
            db.session.add(InboundThread(source="telegram", external_key="tg-2", account_id=a.id, status="assigned"))
            db.session.get(Account, a.id).last_touch_at = old_touch
        return {"a": a.id, "b": b.id, "deals_b": [deal_b.id, in_project.id], "project": project,
                "touch_b": db.session.get(Account, b.id).last_touch_at}


@pytest.mark.smoke
def test_merge_moves_everything_and_loses_nothing(app, pair, users):
    with app.app_context():
        before, a_before, b_before = counts(), of_account(pair["a"]), of_account(pair["b"])
        survivor = merge_accounts(request_as(users["Owner"]), pair["a"], [pair["b"]],
                                  {"segment": pair["b"], "owner_user_id": pair["b"], "domain": pair["b"]})
        db.session.expire_all()
        assert counts() == before  # nothing lost, nothing duplicated
        assert of_account(pair["a"]) == {k: a_before[k] + b_before[k] for k in a_before}
        assert of_account(pair["b"]) == {k: 0 for k in b_before}
        survivor = db.session.get(Account, pair["a"])
        assert (survivor.name, survivor.industry, survivor.segment, survivor.owner_user_id, survivor.domain) == \
            ("«Точка роста»", "Ритейл", "mid", users["Owner"], "shop-tochka-rosta.ru")
        merged = db.session.execute(select(Account).where(Account.id == pair["b"])
                                    .execution_options(crm_unscoped=True)).scalar_one()
        assert merged.merged_into_id == pair["a"] and merged.merged_at is not None and merged.domain is None
        assert db.session.scalars(select(Account).where(Account.id == pair["b"])).first() is None  # hidden by the scope
        assert survivor_of(pair["b"]) == pair["a"]
        # a merge is not a touch: the later of both
        assert survivor.last_touch_at == pair["touch_b"]


@pytest.mark.smoke
def test_the_audit_row_holds_the_values_before_and_the_choices(app, pair, users):
    with app.app_context():
        merge_accounts(request_as(users["Admin"]), pair["a"], [pair["b"]], {"segment": str(pair["b"])})
        row = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "merged",
                                                          AuditEvent.entity_id == pair["a"])).one()
        assert row.actor_user_id == users["Admin"] and row.account_id == pair["a"]
        assert row.old_value["survivor"]["segment"] == "smb"
        assert row.old_value["merged"][str(pair["b"])]["domain"] == "shop-tochka-rosta.ru"
        assert row.new_value["fields"] == {"segment": str(pair["b"])}
        assert row.new_value["values"] == {"segment": "mid"}
        assert row.new_value["moved"] == {"contacts": 2, "projects": 1, "opportunities": 2, "inbound_threads": 1}
        on_merged = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "merged",
                                                                AuditEvent.entity_id == pair["b"])).one()
        assert on_merged.new_value == {"merged_into": str(pair["a"])}
        # both histories are readable on the survivor
        _, items = timeline(pair["a"], 0)
        records = [e["item"] for e in items if e["kind"] == "record"]
        assert {r.entity_id for r in records if r.entity_type == "account"} >= {pair["a"], pair["b"]}


def test_each_moved_deal_has_the_account_change_in_its_own_history(app, pair, users):
    with app.app_context():
        merge_accounts(request_as(users["Owner"]), pair["a"], [pair["b"]], {})
        for deal in pair["deals_b"]:
            events = db.session.scalars(select(OpportunityEvent).where(
                OpportunityEvent.opportunity_id == deal, OpportunityEvent.event_type == "field_changed")).all()
            changes = [e for e in events if "account_id" in (e.new_value or {})]
            assert len(changes) == 1
            assert changes[0].old_value["account_id"] == str(pair["b"])
            assert changes[0].new_value["account_id"] == str(pair["a"])
        assert db.session.get(Project, pair["project"]).account_id == pair["a"]


@pytest.mark.smoke
def test_merge_refusals(app, pair, users):
    with app.app_context():
        with pytest.raises(PermissionDenied):
            merge_accounts(request_as(users["Sales"]), pair["a"], [pair["b"]], {})
        with pytest.raises(NotFoundError):
            merge_accounts(request_as(users["Owner"]), pair["a"], ["00000000-0000-0000-0000-000000000001"], {})
        with pytest.raises(RuleViolation):
            merge_accounts(request_as(users["Owner"]), pair["a"], [pair["a"]], {})
        with pytest.raises(RuleViolation) as refused:
            merge_accounts(request_as(users["Owner"]), pair["a"], [pair["b"]], {"version": pair["b"]})
        assert "fields" in refused.value.messages
        with pytest.raises(ConflictError):
            merge_accounts(request_as(users["Owner"], expected_version=99), pair["a"], [pair["b"]], {})
        assert of_account(pair["b"])["contacts"] == 2  # nothing moved by a refusal
        merge_accounts(request_as(users["Owner"]), pair["a"], [pair["b"]], {})
        with pytest.raises(ConflictError):
            merge_accounts(request_as(users["Owner"]), pair["a"], [pair["b"]], {})


def test_contact_duplicates_appear_after_the_merge_and_merge_the_same_way(app, pair, users):
    with app.app_context():
        merge_accounts(request_as(users["Owner"]), pair["a"], [pair["b"]], {})
        found, _ = contact_pairs(account_id=pair["a"])
        assert len(found) == 1 and found[0].reasons == ["phone", "name"]
        annas = sorted([found[0].a, found[0].b], key=lambda c: c.email or "")
        keep, drop = annas[1], annas[0]  # the one with the e-mail survives
        with committed():
            db.session.add(InboundThread(source="chatwoot", external_key="cw-9", account_id=pair["a"],
                                         contact_id=drop.id, status="assigned"))
        survivor = merge_contacts(request_as(users["Owner"]), keep.id, [drop.id], {})
        assert survivor.id == keep.id
        assert contact_pairs(account_id=pair["a"]) == ([], 0)
        thread = db.session.scalars(select(InboundThread).where(InboundThread.external_key == "cw-9")).one()
        assert thread.contact_id == keep.id
        hidden = db.session.execute(select(Contact).where(Contact.id == drop.id)
                                    .execution_options(crm_unscoped=True)).scalar_one()
        assert hidden.merged_into_id == keep.id and hidden.phone is None


def test_merge_over_rest(app, pair, users, client, api):
    a, b = str(pair["a"]), str(pair["b"])
    version = client.get(f"/api/v1/accounts/{a}", headers=api("Owner")).get_json()["result"]["version"]
    body = {"merge_ids": [b], "fields": {"segment": b}, "version": version}
    assert client.post(f"/api/v1/accounts/{a}/merge", json=body, headers=api("PM")).status_code in (403, 404)
    assert client.post(f"/api/v1/accounts/{a}/merge", json=body, headers=api("Sales")).status_code == 403
    assert client.post(f"/api/v1/accounts/{a}/merge", json={**body, "x": 1}, headers=api("Owner")).status_code == 400
    assert client.post(f"/api/v1/accounts/{a}/merge", json={**body, "version": version + 5},
                       headers=api("Owner")).status_code == 409
    assert client.post(f"/api/v1/accounts/{a}/merge", json={**body, "fields": {"nope": b}},
                       headers=api("Owner")).status_code == 422
    response = client.post(f"/api/v1/accounts/{a}/merge", json=body, headers=api("Owner"))
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["id"] == a and response.get_json()["result"]["segment"] == "mid"
    # the old id answers the survivor; a write to it is 409 naming the survivor
    old = client.get(f"/api/v1/accounts/{b}", headers=api("Sales"))
    assert old.status_code == 200
    assert old.get_json()["id"] == a and old.get_json()["merged_from"] == b
    assert len(old.get_json()["result"]["contacts"]) == 3
    for method in (client.put, client.delete):
        refused = method(f"/api/v1/accounts/{b}", json={"name": "X"}, headers=api("Owner"))
        assert refused.status_code == 409 and refused.get_json()["survivor_id"] == a
    again = client.post(f"/api/v1/accounts/{b}/merge", json={"merge_ids": [a]}, headers=api("Owner"))
    assert again.status_code == 409
    listed = client.get("/api/v1/accounts/?q=(page_size:100)", headers=api("Owner")).get_json()
    assert b not in listed["ids"] and a in listed["ids"]
    events = client.get(f"/api/v1/accounts/{a}/events?page_size=100", headers=api("Owner")).get_json()
    assert "merged" in {e["action"] for e in events["result"]}


def test_contact_merge_over_rest(app, pair, users, client, api):
    with app.app_context():
        ids = [str(c.id) for c in db.session.scalars(select(Contact).where(Contact.account_id == pair["b"]))]
    response = client.post(f"/api/v1/contacts/{ids[0]}/merge", json={"merge_ids": [ids[1]], "fields": {"name": ids[1]}},
                           headers=api("Owner"))
    assert response.status_code == 200, response.get_json()
    assert client.get(f"/api/v1/contacts/{ids[1]}", headers=api("Owner")).get_json()["id"] == ids[0]
    assert client.put(f"/api/v1/contacts/{ids[1]}", json={"name": "Y"}, headers=api("Owner")).status_code == 409
    assert client.post(f"/api/v1/contacts/{ids[0]}/merge", json={"merge_ids": [ids[1]]},
                       headers=api("Sales")).status_code in (403, 409)


def test_a_kept_separate_pair_can_still_be_merged_and_its_decision_goes(app, pair, users):
    with app.app_context():
        keep_separate(request_as(users["Sales"]), "account", [pair["a"], pair["b"]])
        merge_accounts(request_as(users["Owner"]), pair["a"], [pair["b"]], {})
        assert db.session.scalar(select(func.count()).select_from(DuplicateDecision)) == 0


@pytest.mark.skipif(USE_SQLITE, reason="concurrency on PostgreSQL")
@pytest.mark.parametrize("crossed", [False, True])
def test_two_merges_at_once_one_wins_the_other_gets_409_and_nothing_is_half_moved(app, pair, users, crossed):
    barrier = threading.Barrier(2)
    outcomes = []

    def merge(survivor, merged):
        with app.app_context(), scope.scoped(scope.SYSTEM):
            try:
                barrier.wait(timeout=10)
                merge_accounts(request_as(users["Owner"]), survivor, [merged], {})
                outcomes.append("ok")
            except ConflictError:
                outcomes.append("conflict")
            finally:
                db.session.remove()

    second = (pair["b"], pair["a"]) if crossed else (pair["a"], pair["b"])
    with app.app_context():
        before = counts()
        total = {k: of_account(pair["a"])[k] + of_account(pair["b"])[k] for k in TABLES}
    threads = [threading.Thread(target=merge, args=(pair["a"], pair["b"])), threading.Thread(target=merge, args=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(outcomes) == ["conflict", "ok"]
    with app.app_context():
        assert counts() == before
        rows = db.session.execute(select(Account.id, Account.merged_into_id).where(
            Account.id.in_([pair["a"], pair["b"]])).execution_options(crm_unscoped=True)).all()
        merged = [r for r in rows if r.merged_into_id is not None]
        assert len(merged) == 1
        survivor = next(r.id for r in rows if r.merged_into_id is None)
        assert of_account(survivor) == total
        assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "merged", AuditEvent.entity_id == survivor)) == 1
