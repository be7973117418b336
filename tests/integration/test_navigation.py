"""Set-up and navigation (issue 14): one menu entry per page with its own label in both languages,
FAB's Security entries in the user menu, no internal version number on the daily pages, and
`run.py --demo` with a Sales and a PM user who own deals and work in a project, started twice
with a clean log and nothing changed by the second start."""
from __future__ import annotations

import html
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from werkzeug.security import check_password_hash

from app.extensions import db
from app.models import Account, Opportunity
from tests.conftest import ADMIN_URL, ROLES, USE_SQLITE, login
from tests.helpers import change_context

ROOT = Path(__file__).resolve().parents[2]
LANGS = ("en", "ru")
ANCHOR = re.compile(r"<a\b([^>]*)>(.*?)</a>", re.S)
HREF = re.compile(r'href="([^"]*)"')


def navbar(client, path: str = "/board/") -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(main bar, right side) of a page's navbar as (link, label) pairs; dropdown toggles,
    language links and the brand are left out."""
    page = client.get(path).get_data(as_text=True)
    bar = page[page.index('<div class="navbar'):page.index("</header>")]
    main = bar[bar.index('<ul class="nav navbar-nav">'):bar.index('<ul class="nav navbar-nav navbar-right">')]
    right = bar[bar.index('<ul class="nav navbar-nav navbar-right">'):]

    def links(part):
        found = []
        for attrs, inner in ANCHOR.findall(part):
            href = HREF.search(attrs).group(1)
            if href == "#" or href.startswith("/lang/"):
                continue
            found.append((href.split("?")[0], " ".join(html.unescape(re.sub(r"<[^>]+>", " ", inner)).split())))
        return found

    return links(main), links(right)


@pytest.mark.smoke
@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("role", ROLES)
def test_one_menu_entry_per_page_each_with_its_own_label(client, clean_db, role, lang):
    login(client, role, lang)
    main, right = navbar(client)
    entries = main + right
    links = [href for href, _ in entries]
    labels = [label for _, label in entries]
    assert len(set(links)) == len(links), entries
    assert len(set(labels)) == len(labels), entries
    assert all(labels), entries


@pytest.mark.smoke
@pytest.mark.parametrize("lang", LANGS)
def test_the_accounts_page_and_the_accounts_table_are_named_apart(client, clean_db, lang):
    login(client, "Admin", lang)
    main, _ = navbar(client)
    entries = dict(main)
    page, table = entries["/accounts/"], entries["/accountview/list/"]
    assert page == {"en": "Accounts", "ru": "Клиенты"}[lang]
    assert table == {"en": "Accounts table", "ru": "Таблица клиентов"}[lang]


@pytest.mark.smoke
@pytest.mark.parametrize("lang", LANGS)
def test_security_is_in_the_admins_user_menu_not_the_main_bar(client, clean_db, lang):
    login(client, "Admin", lang)
    main, right = navbar(client)
    users, roles = {"en": ("List Users", "List Roles"), "ru": ("Список пользователей", "Список ролей")}[lang]
    assert "/users/list/" not in dict(main) and "/roles/list/" not in dict(main)
    assert dict(right)["/users/list/"] == users and dict(right)["/roles/list/"] == roles
    assert {"en": "Profile", "ru": "Профиль"}[lang] in dict(right).values()
    assert {"en": "Security", "ru": "Безопасность"}[lang] in client.get("/board/").get_data(as_text=True)
    for role in ("Owner", "Sales", "PM"):
        login(client, role, lang)
        _, right = navbar(client)
        assert "/users/list/" not in dict(right) and "/roles/list/" not in dict(right)


@pytest.mark.smoke
def test_the_menu_api_still_lists_every_entry_for_the_admin(client, clean_db):
    """The menu keeps every entry (permissions, FAB's menu API); only the navbar draws Security
    in the user menu."""
    login(client, "Admin")
    data = client.get("/api/v1/menu/").get_json()["result"]
    names = [item["name"] for item in data]
    assert "Security" in names and "CRM" in names
    flat = [(child.get("url"), child["label"]) for item in data for child in item.get("childs", [item])
            if child != "-"]
    assert len({url for url, _ in flat}) == len(flat)
    assert len({label for _, label in flat}) == len(flat)


@pytest.fixture()
def a_deal(app, clean_db, users):
    with app.app_context(), change_context(actor_id=users["Owner"]):
        opp = Opportunity(account=Account(name="Acme", domain="acme.ru", owner_user_id=users["Owner"]),
                          name="Website", owner_user_id=users["Owner"], amount_estimate=100000)
        db.session.add(opp)
        db.session.commit()
        return opp.account_id, opp.id


VERSION_SHOWN = re.compile(r"(Версия|Version)\s*:?\s*(</?\w[^>]*>\s*)*\d")


@pytest.mark.smoke
@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("path", ["/board/", "/accounts/", "/dashboard/", "/stall/", "/triage/", "account"])
def test_no_internal_version_number_on_the_main_pages(client, a_deal, lang, path):
    account_id, _ = a_deal
    login(client, "Admin", lang)
    path = f"/accounts/{account_id}" if path == "account" else path
    response = client.get(path, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert response.status_code == 200, path
    assert not VERSION_SHOWN.search(page), VERSION_SHOWN.search(page).group(0)


@pytest.mark.smoke
@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("path", ["/opportunities/{opp}", "/opportunityview/show/{opp}"])
def test_no_internal_version_number_on_the_deal_pages(client, a_deal, lang, path):
    """The optimistic-lock counter travels in the page's data (data-version), never as text."""
    _, opp_id = a_deal
    login(client, "Admin", lang)
    response = client.get(path.format(opp=opp_id))
    assert response.status_code == 200
    assert not VERSION_SHOWN.search(response.get_data(as_text=True))


# ---- run.py: demo users, demo ownership, a clean and idempotent start ------------------------------

NOISE = ("Refused to delete permission view", "No user yet created", "Traceback", "WARNI", "ERROR")
COUNTED = ("ab_user", "ab_role", "ab_user_role", "ab_permission_view", "ab_permission_view_role", "accounts",
           "contacts", "opportunities", "opportunity_events", "audit_events", "projects", "project_members")


@pytest.fixture(scope="module")
def started_twice(tmp_path_factory):
    """`run.py --demo --no-serve` twice on a new database (PostgreSQL, or SQLite in the smoke run):
    (database URL, first output, second output, table counts after each run)."""
    instance = tmp_path_factory.mktemp("instance")
    env = dict(os.environ, CRM_INSTANCE_DIR=str(instance))
    env.pop("CRM_ADMIN_PASSWORD", None)
    name = None
    if USE_SQLITE:
        env.pop("DATABASE_URL", None)
        url = f"sqlite:///{instance / 'crm.db'}"
    else:
        name = f"crm_run_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = env["DATABASE_URL"] = make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    engine = create_engine(url)
    try:
        outputs, counts = [], []
        for _ in range(2):
            result = subprocess.run([sys.executable, "run.py", "--demo", "--no-serve"], cwd=ROOT, env=env,
                                    capture_output=True, text=True, timeout=300)
            assert result.returncode == 0, result.stdout + result.stderr
            outputs.append(result.stdout + result.stderr)
            with engine.connect() as conn:
                counts.append({table: conn.scalar(text(f"SELECT count(*) FROM {table}")) for table in COUNTED})
        yield engine, outputs, counts
    finally:
        engine.dispose()
        if name:
            with admin.connect() as conn:
                conn.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            admin.dispose()


def _user(conn, username):
    return conn.execute(text(
        "SELECT u.id, u.password, r.name FROM ab_user u JOIN ab_user_role ur ON ur.user_id = u.id "
        "JOIN ab_role r ON r.id = ur.role_id WHERE u.username = :name"), {"name": username}).one()


@pytest.mark.smoke
def test_demo_creates_a_sales_and_a_pm_user_and_prints_their_passwords_once(started_twice):
    engine, (first, second), _ = started_twice
    printed = dict(re.findall(r"^\s+(\w+) \((?:Sales|PM)\): (\S+)$", first, re.M))
    assert set(printed) == {"sales", "pm"}, first
    with engine.connect() as conn:
        for username, role in (("sales", "Sales"), ("pm", "PM")):
            _, password_hash, role_name = _user(conn, username)
            assert role_name == role
            assert check_password_hash(password_hash, printed[username])
    assert "sales (Sales)" not in second and "pm (PM)" not in second and "password" not in second
    assert "already loaded" in second


@pytest.mark.smoke
def test_the_sales_user_owns_open_deals_across_stages_and_the_pm_runs_a_project(started_twice):
    engine, _, _ = started_twice
    with engine.connect() as conn:
        sales, pm = _user(conn, "sales")[0], _user(conn, "pm")[0]
        stages = set(conn.scalars(text("SELECT stage FROM opportunities WHERE owner_user_id = :u AND status = 'open'"),
                                  {"u": sales}))
        assert len(stages) >= 4, stages
        assert conn.scalar(text("SELECT count(*) FROM opportunities WHERE owner_user_id = :u"), {"u": sales}) < 40
        projects = list(conn.scalars(text(
            "SELECT p.id FROM projects p JOIN project_members m ON m.project_id = p.id AND m.user_id = :pm "
            "WHERE p.pm_user_id = :pm AND p.status = 'active'"), {"pm": pm}))
        assert projects
        # the deals inside the PM's projects are owned by members of those projects
        rows = conn.execute(text(
            "SELECT o.owner_user_id, (SELECT count(*) FROM project_members m WHERE m.project_id = o.project_id "
            "AND m.user_id = o.owner_user_id) FROM opportunities o JOIN projects p ON p.id = o.project_id "
            "WHERE p.pm_user_id = :pm"), {"pm": pm}).all()
        assert rows and all(member == 1 for _, member in rows)
        assert {owner for owner, _ in rows} == {sales}


@pytest.mark.smoke
def test_a_second_start_changes_nothing_and_both_start_logs_are_clean(started_twice):
    _, outputs, (after_first, after_second) = started_twice
    assert after_first == after_second
    assert after_first["opportunities"] == 40 and after_first["ab_user"] == 3
    for output in outputs:
        for noise in NOISE:
            assert noise not in output, output
