"""Duplicates are found, never acted on: account pairs by domain, name, similar name, contact
phone and e-mail; contact pairs within an account; "keep separate" remembered and undone; the
REST list, its filters and the roles that may see it."""
from __future__ import annotations

import pytest

from app.models import Account, Contact
from app.queries.duplicates import account_pairs, contact_pairs, similar_accounts, similar_contacts
from app.services.merge import keep_separate, undo_keep_separate
from app.services.records import save_record
from tests.conftest import USE_SQLITE
from tests.helpers import request_as


def account(users, name, domain=None, owner="Sales", **more):
    return save_record(request_as(users[owner]), Account(name=name, domain=domain, **more)).id


def contact(users, account_id, name, **more):
    return save_record(request_as(users["Sales"]), Contact(account_id=account_id, name=name, **more)).id


def pairs(**filters):
    found, total = account_pairs(**filters)
    assert total >= len(found)
    return {frozenset((str(p.a.id), str(p.b.id))): p for p in found}


def key(*ids):
    return frozenset(str(i) for i in ids)


@pytest.mark.smoke
def test_tochka_rosta_in_every_spelling_is_proposed_and_a_free_mail_pair_is_not(app, clean_db, users):
    with app.app_context():
        quoted = account(users, "«Точка роста»", "tochka-rosta.ru")
        llc = account(users, 'ООО "Точка Роста"', "www.shop.tochka-rosta.ru")
        other = account(users, "Совсем другое", None)
        gmail_a = account(users, "Иванов и партнёры", None)
        gmail_b = account(users, "Петров Консалтинг", None)
        contact(users, gmail_a, "Иван", email="ivan@gmail.com")
        contact(users, gmail_b, "Пётр", email="petr@gmail.com")
        found = pairs()
        pair = found[key(quoted, llc)]
        assert pair.reasons[:2] == ["domain", "name"]
        assert 0.9 < pair.score <= 1
        assert key(gmail_a, gmail_b) not in found
        assert not any(str(other) in k for k in found)


@pytest.mark.smoke
def test_acme_robotics_llc_and_inc_are_the_same_name(app, clean_db, users):
    with app.app_context():
        llc = account(users, "Acme Robotics LLC", "acme-robotics.com")
        inc = account(users, "ACME Robotics Inc.", "acmerobotics.io")
        logistics = account(users, "Acme Logistics", None)
        found = pairs()
        assert found[key(llc, inc)].reasons == ["name"]
        assert key(llc, logistics) not in found or found[key(llc, logistics)].reasons == ["similar_name"]


@pytest.mark.skipif(USE_SQLITE, reason="pg_trgm")
def test_similar_names_are_proposed_by_trigrams(app, clean_db, users):
    with app.app_context():
        a = account(users, "Северсталь Девелопмент")
        b = account(users, "Северсталь-Девелопмнт")
        c = account(users, "Газпром нефть")
        found = pairs()
        assert found[key(a, b)].reasons == ["similar_name"]
        assert key(a, c) not in found


@pytest.mark.smoke
def test_a_shared_contact_phone_and_a_contact_e_mail_on_the_others_domain(app, clean_db, users):
    with app.app_context():
        a = account(users, "Альфа")
        b = account(users, "Бета")
        contact(users, a, "Анна", phone="8 (916) 123-45-67")
        contact(users, b, "Анна Петрова", phone="+7 916 123 45 67")
        c = account(users, "Гамма", "gamma-corp.ru")
        d = account(users, "Дельта")
        contact(users, d, "Олег", email="oleg@gamma-corp.ru")
        found = pairs()
        assert found[key(a, b)].reasons == ["contact_phone"]
        assert found[key(c, d)].reasons == ["contact_email"]
        assert set(pairs(reason="contact_phone")) == {key(a, b)}


@pytest.mark.smoke
def test_the_owner_filter_takes_either_accounts_owner_and_pages_are_counted(app, clean_db, users):
    with app.app_context():
        mine = account(users, "Вектор", owner="Sales")
        theirs = account(users, "ООО Вектор", owner="Owner")
        account(users, "Орбита", owner="Owner")
        account(users, "Орбита АО", owner="Owner")
        assert set(pairs(owner_id=users["Sales"])) == {key(mine, theirs)}
        first, total = account_pairs(page=0, page_size=1)
        assert total == 2 and len(first) == 1
        beyond, total = account_pairs(page=5, page_size=1)
        assert beyond == [] and total == 2


@pytest.mark.smoke
def test_kept_separate_is_remembered_and_undone(app, clean_db, users):
    with app.app_context():
        a = account(users, "Ромашка")
        b = account(users, "ООО «Ромашка»")
        decision = keep_separate(request_as(users["Sales"]), "account", [b, a])
        assert decision.decided_by_id == users["Sales"] and decision.decided_at is not None
        assert key(a, b) not in pairs()
        again = keep_separate(request_as(users["Owner"]), "account", [a, b])
        assert again.id == decision.id
        undo_keep_separate(request_as(users["Sales"]), decision.id)
        assert key(a, b) in pairs()


@pytest.mark.smoke
def test_contacts_within_one_account_by_email_phone_telegram_and_name(app, clean_db, users):
    with app.app_context():
        acc = account(users, "Контора")
        anna = contact(users, acc, "Анна Смирнова", phone="+7 900 000 00 01", telegram_handle="@anna")
        anna2 = contact(users, acc, "анна смирнова", telegram_handle="t.me/Anna")
        boris = contact(users, acc, "Борис", phone="89000000001")
        elsewhere = account(users, "Другая контора")
        contact(users, elsewhere, "Анна Смирнова")
        found, total = contact_pairs(account_id=acc)
        by_pair = {frozenset((str(p.a.id), str(p.b.id))): p.reasons for p in found}
        assert by_pair == {key(anna, anna2): ["telegram", "name"], key(anna, boris): ["phone"]}
        assert total == 2
        everywhere, _ = contact_pairs()
        assert len(everywhere) == 2  # never across accounts
        assert [c.reasons for c in similar_contacts(acc, name="Анна  Смирнова")] == [["name"], ["name"]]


@pytest.mark.smoke
def test_similar_accounts_warn_before_saving(app, clean_db, users):
    with app.app_context():
        existing = account(users, "Точка роста", "tochka-rosta.ru")
        contact(users, existing, "Анна", phone="+79161234567", email="anna@tochka-rosta.ru")
        found = similar_accounts('ООО "Точка Роста"', "shop.tochka-rosta.ru", phones=["8 916 123-45-67"])
        assert [c.account.id for c in found] == [existing]
        assert found[0].reasons == ["domain", "name", "contact_email", "contact_phone"]
        assert similar_accounts("Точка роста", exclude_ids=[existing]) == []
        assert similar_accounts("Совсем другое", emails=["x@gmail.com"]) == []


def test_the_duplicates_api_lists_pairs_with_filters_and_refuses_bad_ones(app, clean_db, users, client, api):
    with app.app_context():
        a = account(users, "Точка роста", "tochka-rosta.ru")
        b = account(users, 'ООО "Точка Роста"', "shop.tochka-rosta.ru", owner="Owner")
    response = client.get("/api/v1/accounts/duplicates?page_size=10&owner=me", headers=api("Sales"))
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["count"] == 1 and body["page"] == 0 and body["page_size"] == 10
    pair = body["result"][0]
    assert {pair["a"]["id"], pair["b"]["id"]} == {str(a), str(b)}
    assert pair["reasons"] == ["domain", "name"] and pair["detected_at"] and 0 < pair["score"] <= 1
    assert {"name", "domain", "owner_user_id", "version"} <= set(pair["a"])
    assert client.get("/api/v1/accounts/duplicates?reason=similar_name", headers=api("Owner")).get_json()["count"] == 0
    for bad in ("reason=nope", "owner=someone", "page=-1", "page_size=1000"):
        assert client.get(f"/api/v1/accounts/duplicates?{bad}", headers=api("Owner")).status_code == 400, bad
    assert client.get("/api/v1/accounts/duplicates", headers=api("PM")).status_code == 403
    assert client.get("/api/v1/accounts/duplicates").status_code == 401


def test_keep_separate_over_rest_and_its_undo(app, clean_db, users, client, api):
    with app.app_context():
        a = account(users, "Ромашка")
        b = account(users, "Ромашка ООО")
    url = "/api/v1/accounts/duplicates/keep-separate"
    response = client.post(url, json={"ids": [str(a), str(b)]}, headers=api("Sales"))
    assert response.status_code == 201, response.get_json()
    decision = response.get_json()["id"]
    assert client.get("/api/v1/accounts/duplicates", headers=api("Sales")).get_json()["count"] == 0
    assert client.post(url, json={"ids": [str(a)]}, headers=api("Sales")).status_code == 422
    assert client.post(url, json={"ids": [str(a), str(b)], "x": 1}, headers=api("Sales")).status_code == 400
    assert client.post(url, json={"ids": [str(a), "00000000-0000-0000-0000-000000000001"]},
                       headers=api("Sales")).status_code == 404
    assert client.post(url, json={"ids": [str(a), str(b)]}, headers=api("PM")).status_code == 403
    assert client.delete(f"{url}/{decision}", headers=api("PM")).status_code == 403
    assert client.delete(f"{url}/{decision}", headers=api("Sales")).status_code == 200
    assert client.delete(f"{url}/{decision}", headers=api("Sales")).status_code == 404
    assert client.get("/api/v1/accounts/duplicates", headers=api("Sales")).get_json()["count"] == 1


def test_contact_duplicates_over_rest(app, clean_db, users, client, api):
    with app.app_context():
        acc = account(users, "Контора")
        a = contact(users, acc, "Анна", phone="+79000000001")
        b = contact(users, acc, "Анна", phone="+79000000001")
    body = client.get(f"/api/v1/contacts/duplicates?account={acc}", headers=api("Sales")).get_json()
    assert body["count"] == 1 and body["result"][0]["reasons"] == ["phone", "name"]
    assert client.get("/api/v1/contacts/duplicates?account=nope", headers=api("Sales")).status_code == 400
    response = client.post("/api/v1/contacts/duplicates/keep-separate", json={"ids": [str(a), str(b)]},
                           headers=api("Sales"))
    assert response.status_code == 201
    assert client.get("/api/v1/contacts/duplicates", headers=api("Sales")).get_json()["count"] == 0


def test_creating_a_similar_account_answers_201_with_possible_duplicates(app, clean_db, users, client, api):
    with app.app_context():
        existing = account(users, "Точка роста", "tochka-rosta.ru")
    response = client.post("/api/v1/accounts/", json={"name": 'ООО "Точка Роста"', "domain": "shop.tochka-rosta.ru"},
                           headers=api("Sales"))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert [d["id"] for d in body["possible_duplicates"]] == [str(existing)]
    assert body["possible_duplicates"][0]["reasons"] == ["domain", "name"]
    alone = client.post("/api/v1/accounts/", json={"name": "Совсем новая"}, headers=api("Sales")).get_json()
    assert alone["possible_duplicates"] == []
    same = client.post("/api/v1/accounts/", json={"name": "Другое имя", "domain": "tochka-rosta.ru"},
                       headers=api("Sales"))
    assert same.status_code == 409
    assert same.get_json()["existing_id"] == str(existing)
    assert same.get_json()["existing_url"] == f"/accounts/{existing}"
