"""Issue 15 in real Chromium: the owner opens /duplicates/, merges a pair through the merge screen
(picking the survivor and a value of the other account), lands on the survivor's page with what
moved, and the merged account's old address answers the survivor. The duplicates page and the
merge screen fit 1366×768 and 1920×1080 in both languages; screenshots land in test-output/
(duplicates-1366-ru.png, merge-1920-en.png, …)."""
import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select, text

from app.extensions import db
from app.models import Account, Contact, Opportunity, Project
from tests.e2e.conftest import open_sized, page_overflow, screenshot
from tests.helpers import change_context

pytestmark = pytest.mark.browser

SIZES = [(1366, 768), (1920, 1080)]
ISO_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


@pytest.fixture()
def pairs(app, clean_db, users):
    """«Точка роста» / ООО "Точка Роста" (one domain, two spellings) with a contact, a deal and a
    project on the second; «Acme Robotics» / «ACME Robotics LLC»; a free-mail-only pair that is
    never proposed."""
    with app.app_context():
        db.session.execute(text("DELETE FROM duplicate_decisions"))
        db.session.commit()
    with app.app_context(), change_context(actor_id=users["Owner"]):
        first = Account(name="Точка роста", domain="tochka-rosta.ru", owner_user_id=users["Sales"], industry=None)
        second = Account(name='ООО "Точка Роста"', domain="www.shop.tochka-rosta.ru", owner_user_id=users["Owner"],
                         industry="Образование")
        acme = [Account(name="Acme Robotics", domain="acme-robotics.com", owner_user_id=users["Owner"]),
                Account(name="ACME Robotics LLC", owner_user_id=users["Sales"])]
        free_mail = [Account(name="Анна Петрова", owner_user_id=users["Sales"]),
                     Account(name="Иван Сидоров", owner_user_id=users["Sales"])]
        db.session.add_all([first, second, *acme, *free_mail])
        db.session.flush()
        db.session.add_all([
            Contact(account_id=free_mail[0].id, name="Анна Петрова", email="anna.petrova@gmail.com"),
            Contact(account_id=free_mail[1].id, name="Иван Сидоров", email="ivan.sidorov@gmail.com"),
            Contact(account_id=first.id, name="Олег", email="oleg@gmail.com"),
            Contact(account_id=second.id, name="Ирина Смирнова", email="irina@tochka-rosta.ru"),
            Opportunity(account_id=second.id, name="Сайт для школы", owner_user_id=users["Owner"]),
            Project(account_id=second.id, name="Брендбук", status="active")])
        db.session.commit()
        return {"first": first.id, "second": second.id}


@pytest.mark.parametrize("lang", ["ru", "en"])
@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_the_duplicates_page_and_the_merge_screen_fit(page_as, live_server, pairs, size, lang):
    page = open_sized(page_as, live_server, "Owner", lang, size, "/duplicates/")
    expect(page.locator(".dup-pair")).to_have_count(2)
    body = page.locator("body").inner_text()
    assert not ISO_TIMESTAMP.search(body)
    assert ("Один домен" if lang == "ru" else "Same domain") in body
    assert "similar_name" not in body and "contact_email" not in body
    assert page_overflow(page) == 0
    screenshot(page, f"duplicates-{size[0]}-{lang}")
    page.locator(".dup-pair").filter(has_text="Точка").locator(".merge-link").click()
    page.wait_for_load_state("load")
    expect(page.locator(".merge-table")).to_be_visible()
    assert page_overflow(page) == 0
    screenshot(page, f"merge-{size[0]}-{lang}")


def test_the_owner_merges_a_pair_through_the_screen(app, page_as, live_server, pairs):
    page = open_sized(page_as, live_server, "Owner", "ru", SIZES[0], "/duplicates/")
    row = page.locator(".dup-pair").filter(has_text="Точка")
    expect(row.locator(".dup-reason").first).to_be_visible()
    row.locator(".merge-link").click()
    page.wait_for_load_state("load")
    first, second = str(pairs["first"]), str(pairs["second"])
    # the survivor: «Точка роста» (picked by hand); its name stays, the industry of the other comes along
    page.locator(f'input[name="survivor"][value="{first}"]').check()
    page.locator(f'input[name="field_name"][value="{first}"]').check()
    industry = page.locator(f'input[name="field_industry"][value="{second}"]')
    expect(industry).to_be_checked()  # the survivor has none: the other's value is offered
    expect(page.locator(".merge-moves")).to_contain_text("1 контакт")
    page.locator(".merge-confirm").click()
    page.wait_for_load_state("load")
    assert page.url.endswith(f"/accounts/{first}")
    expect(page.locator(".alert-success")).to_contain_text("объединён с «Точка роста»")
    expect(page.locator(".contacts-list")).to_contain_text("Ирина Смирнова")
    expect(page.locator(".deals-table")).to_contain_text("Сайт для школы")
    expect(page.locator("h2").first).to_contain_text("Точка роста")
    # both histories stay readable: the merge in words, and the moved records name the old account
    expect(page.locator(".account-page")).to_contain_text("Объединены с этой записью: «ООО \"Точка Роста\"»")
    expect(page.locator(".account-page")).to_contain_text('Клиент: ООО "Точка Роста" → Точка роста')
    screenshot(page, "merge-survivor-1366-ru")
    with app.app_context():
        survivor = db.session.get(Account, pairs["first"])
        assert survivor.industry == "Образование"
        assert db.session.scalar(select(func.count()).select_from(Contact).where(Contact.account_id == pairs["second"])) == 0
    # the merged account's old address opens the survivor, with a notice
    page.goto(f"{live_server}/accounts/{second}")
    page.wait_for_load_state("load")
    assert page.url.endswith(f"/accounts/{first}")
    expect(page.locator(".alert-info")).to_contain_text("объединён")
    # the pair is gone from the list
    page.goto(f"{live_server}/duplicates/")
    expect(page.locator(".dup-pair")).to_have_count(1)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_the_account_form_warns_before_a_duplicate_and_creates_anyway(app, page_as, live_server, pairs, size):
    page = open_sized(page_as, live_server, "Sales", "ru", size, "/accountview/add")
    page.fill("#name", "Точка Роста")
    page.locator("#model_form [type=submit]").click()
    page.wait_for_load_state("load")
    warning = page.locator(".duplicate-warning")
    expect(warning).to_contain_text("Похожие клиенты уже есть")
    expect(warning.locator(f'a[href="/accounts/{pairs["first"]}"]')).to_be_visible()
    expect(warning).to_contain_text("То же название")
    assert page.locator("#name").input_value() == "Точка Роста"  # what was typed is still there
    assert page_overflow(page) == 0
    screenshot(page, f"account-add-warning-{size[0]}-ru")
    page.locator(".create-anyway").click()
    page.wait_for_load_state("load")
    assert re.search(r"/accounts/[0-9a-f-]{36}$", page.url), page.url
    expect(page.locator("h2").first).to_contain_text("Точка Роста")


def test_the_contact_quick_action_warns_in_place(page_as, live_server, pairs):
    page = open_sized(page_as, live_server, "Owner", "ru", SIZES[0], f"/accounts/{pairs['second']}")
    page.locator("summary", has_text="Новый контакт").click()
    form = page.locator(f'form[action="/accounts/{pairs["second"]}/contacts"]')
    form.locator('[name="name"]').fill("Ирина Смирнова")
    form.locator('[type=submit]').first.click()
    page.wait_for_load_state("load")
    expect(page.locator(".duplicate-warning")).to_contain_text("У этого клиента уже есть похожий контакт")
    screenshot(page, "contact-warning-1366-ru")
    page.locator(".duplicate-warning .create-anyway").click()
    page.wait_for_load_state("load")
    expect(page.locator(".contacts-list li")).to_have_count(2)


def test_triage_create_account_offers_the_existing_account_first(app, page_as, live_server, pairs):
    from app.inbound import chatwoot
    from app.services.context import SYSTEM, ChangeRequest
    from app.services.inbound import ingest
    from tests.inbound_payloads import cw_message

    payload = cw_message()
    for sender in (payload["sender"], payload["conversation"]["meta"]["sender"]):
        sender["email"] = "olga.tochka@gmail.com"  # free mail: not attached on arrival
    with app.app_context():
        ingest(ChangeRequest(SYSTEM), chatwoot.parse_webhook(payload))
    page = open_sized(page_as, live_server, "Sales", "ru", SIZES[0], "/triage/")
    page.locator(".triage-thread summary").first.click()
    form = page.locator("form.create-account").first
    form.locator('[name="account_name"]').fill("Точка Роста")
    form.locator('[name="domain"]').fill("")
    form.locator("[type=submit]").click()
    page.wait_for_load_state("load")
    expect(page.locator(".dup-candidate")).not_to_have_count(0)
    expect(page.locator(".create-anyway")).to_be_visible()
    assert page_overflow(page) == 0
    screenshot(page, "triage-duplicates-1366-ru")
    page.locator(f'.dup-candidate[data-id="{pairs["first"]}"] .attach-here').click()
    page.wait_for_load_state("load")
    assert "/triage/" in page.url
    expect(page.locator(".alert-success")).to_contain_text("Точка роста")


def test_contact_pairs_and_their_merge_screen(app, page_as, live_server, pairs, users):
    with app.app_context(), change_context(actor_id=users["Owner"]):
        db.session.add(Contact(account_id=pairs["second"], name="Ирина Смирнова", phone="+7 999 000-11-22",
                               telegram_handle="@irina_s"))
        db.session.commit()
    page = open_sized(page_as, live_server, "Owner", "ru", SIZES[0], f"/duplicates/contacts?account={pairs['second']}")
    expect(page.locator(".dup-pair")).to_have_count(1)
    expect(page.locator(".dup-pair")).to_contain_text("То же имя контакта")
    assert page_overflow(page) == 0
    screenshot(page, "duplicate-contacts-1366-ru")
    page.locator(".dup-pair .merge-link").click()
    page.wait_for_load_state("load")
    expect(page.locator("h2").first).to_contain_text("Объединение контактов")
    assert page_overflow(page) == 0
    screenshot(page, "merge-contacts-1366-ru")
    page.locator(".merge-confirm").click()
    page.wait_for_load_state("load")
    assert page.url.endswith(f"/accounts/{pairs['second']}")
    expect(page.locator(".contacts-list li")).to_have_count(1)
