"""Every search box and lookup finds Russian and English names in any letter case, on PostgreSQL
and on SQLite (whose own lower() folds ASCII only: the app registers a Unicode one). Smoke: runs
on both databases."""
from types import SimpleNamespace
from urllib.parse import quote

import pytest

from app.extensions import db
from app.models import Account, Opportunity, Project
from tests.helpers import change_context

pytestmark = pytest.mark.smoke

CASES = ["точка", "ТОЧКА", "Точка", "тОЧКа"]


@pytest.fixture()
def seeded(app, clean_db, users):
    """«Точка роста» with two deals and a project, a Latin account with one deal, and «Елка»."""
    with app.app_context(), change_context(actor_id=users["Owner"]):
        tochka = Account(name="Точка роста", domain="tochka-rosta.ru", owner_user_id=users["Sales"])
        acme = Account(name="Acme Studio", domain="acme.com", owner_user_id=users["Sales"])
        elka = Account(name="Елка и Ко", domain="elka.ru", owner_user_id=users["Sales"])
        db.session.add_all([
            tochka, acme, elka,
            Opportunity(account=tochka, name="Брендбук для Точки", owner_user_id=users["Sales"]),
            Opportunity(account=tochka, name="Сайт", owner_user_id=users["Sales"]),
            Opportunity(account=acme, name="Website redesign", owner_user_id=users["Sales"]),
            Project(account=tochka, name="Ребрендинг", status="active"),
        ])
        db.session.commit()
        return SimpleNamespace(tochka=tochka.id, acme=acme.id, elka=elka.id)


def _cards(page: str) -> int:
    return page.count("data-opportunity-id=")


@pytest.mark.parametrize("term", CASES)
def test_accounts_list(client, as_role, seeded, term):
    as_role("Owner")
    page = client.get(f"/accounts/?q={quote(term)}").get_data(as_text=True)
    assert "Точка роста" in page and "Acme Studio" not in page and "Елка и Ко" not in page


@pytest.mark.parametrize("term,found", [("ACME", "Acme Studio"), ("acme.COM", "Acme Studio"), ("TOCHKA-", "Точка роста"),
                                        ("ЁЛКА", "Елка и Ко")])
def test_accounts_list_latin_domains_and_yo(client, as_role, seeded, term, found):
    as_role("Owner")
    page = client.get(f"/accounts/?q={quote(term)}").get_data(as_text=True)
    assert found in page
    assert sum(name in page for name in ("Точка роста", "Acme Studio", "Елка и Ко")) == 1


def test_typed_wildcards_are_literal(client, as_role, seeded):
    as_role("Owner")
    for term in ("%", "_", "т_чка"):
        page = client.get(f"/accounts/?q={quote(term)}").get_data(as_text=True)
        assert "Точка роста" not in page and "Acme Studio" not in page, term


@pytest.mark.parametrize("term,cards", [("брендбук", 1), ("БРЕНДБУК", 1), ("Брендбук", 1), ("ТОЧКИ", 1),
                                        ("точка", 2), ("ТОЧКА", 2), ("WEBSITE", 1), ("acme", 1)])
def test_board_search_by_deal_or_account_name(client, as_role, seeded, term, cards):
    as_role("Owner")
    page = client.get(f"/board/?owner=all&q={quote(term)}").get_data(as_text=True)
    assert _cards(page) == cards
    assert ("Брендбук для Точки" in page) == (term.lower() not in ("website", "acme"))
    summary = client.get(f"/board/summary?owner=all&q={quote(term)}").get_json()
    assert sum(column["count"] for column in summary.values()) == cards
    more = client.get(f"/board/column/lead?owner=all&offset=0&q={quote(term)}").get_data(as_text=True)
    assert _cards(more) == cards  # every seeded deal is a lead


@pytest.mark.parametrize("term", CASES + ["РОСТА"])
def test_board_account_filter_by_name(client, as_role, seeded, term):
    as_role("Owner")
    page = client.get(f"/board/?owner=all&account={quote(term)}").get_data(as_text=True)
    assert _cards(page) == 2 and "Брендбук для Точки" in page and "Website redesign" not in page
    summary = client.get(f"/board/summary?owner=all&account={quote(term)}").get_json()
    assert sum(column["count"] for column in summary.values()) == 2


@pytest.mark.parametrize("term", CASES)
def test_lookups_of_the_generated_forms(client, as_role, seeded, term):
    as_role("Owner")

    def texts(kind, q):
        response = client.get(f"/lookup/{kind}/?q={quote(q)}")
        assert response.status_code == 200
        return [r["text"] for r in response.get_json()["results"]]
    assert texts("accounts", term) == ["Точка роста (tochka-rosta.ru)"]
    assert sorted(texts("opportunities", term)) == ["Брендбук для Точки — Точка роста", "Сайт — Точка роста"]
    assert texts("opportunities", term.replace("а", "и").replace("А", "И")) == ["Брендбук для Точки — Точка роста"]
    assert texts("projects", term) == ["Ребрендинг — Точка роста"]
    assert texts("projects", "РЕБРЕНД") == ["Ребрендинг — Точка роста"]
    assert texts("accounts", "ACME") == ["Acme Studio (acme.com)"]


@pytest.mark.parametrize("term", CASES)
def test_triage_assign_search(client, as_role, seeded, term):
    as_role("Sales")
    found = client.get(f"/triage/accounts?q={quote(term)}").get_json()
    assert [a["text"] for a in found] == ["Точка роста (tochka-rosta.ru)"]


def test_triage_suggests_accounts_named_alike_in_any_case(app, seeded):
    from app.queries.inbox import suggested_accounts

    with app.app_context():
        thread = SimpleNamespace(id=1, title="Новый сайт")
        found = suggested_accounts([thread], {1: {"company": "ТОЧКА"}})
        assert [a.name for a in found[1]] == ["Точка роста"]


@pytest.mark.parametrize("term", CASES)
def test_generated_list_search_over_rest(client, api, seeded, term):
    response = client.get(f"/api/v1/accounts/?q={quote(f'(filters:!((col:name,opr:ct,value:{term})))')}",
                          headers=api("Owner"))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert [r["name"] for r in response.get_json()["result"]] == ["Точка роста"]
    deals = client.get(f"/api/v1/opportunities/?q={quote('(filters:!((col:name,opr:ct,value:БРЕНДБУК)))')}",
                       headers=api("Owner")).get_json()
    assert [r["name"] for r in deals["result"]] == ["Брендбук для Точки"]


@pytest.mark.parametrize("term", CASES)
def test_generated_list_search_page(client, as_role, seeded, term):
    as_role("Owner")
    page = client.get(f"/accountview/list/?_flt_2_name={quote(term)}").get_data(as_text=True)  # 2: "contains"
    assert "Точка роста" in page and "Acme Studio" not in page
