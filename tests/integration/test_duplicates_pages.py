"""Issue 15 in the browser's pages (Flask test client): the duplicates page by role and language,
"keep separate" and its undo, the merge screen (moves, redirects, 409), the merged account's page
answering its survivor, and the warnings where duplicates are born (account form, the contact quick
action, triage "create account") with "create anyway"."""
import re

import pytest
from sqlalchemy import func, select, text

from app.extensions import db
from app.inbound import chatwoot
from app.models import Account, Contact, InboundThread, Opportunity, Project
from app.services.context import SYSTEM, ChangeRequest
from app.services.inbound import ingest
from tests.helpers import change_context
from tests.inbound_payloads import cw_message


@pytest.fixture()
def dup_db(app, clean_db):
    """Clean CRM tables and no "keep separate" decisions left by other tests."""
    with app.app_context():
        db.session.execute(text("DELETE FROM duplicate_decisions"))
        db.session.commit()
    yield


def seed(app, users, *accounts, owner="Sales"):
    """Accounts (name, domain) owned by `owner`; their ids in the order given."""
    with app.app_context(), change_context(actor_id=users["Owner"]):
        rows = [Account(name=name, domain=domain, owner_user_id=users[owner]) for name, domain in accounts]
        db.session.add_all(rows)
        db.session.commit()
        return [r.id for r in rows]


@pytest.fixture()
def tochka(app, users, dup_db):
    """«Точка роста» (tochka-rosta.ru) and ООО "Точка Роста" (shop.tochka-rosta.ru) — one company;
    the second has a contact, a deal and a project that a merge must move."""
    a, b = seed(app, users, ("Точка роста", "tochka-rosta.ru"), ('ООО "Точка Роста"', "shop.tochka-rosta.ru"))
    with app.app_context(), change_context(actor_id=users["Owner"]):
        db.session.add_all([Contact(account_id=b, name="Ирина Смирнова", email="irina@tochka-rosta.ru"),
                            Opportunity(account_id=b, name="Сайт", owner_user_id=users["Sales"]),
                            Project(account_id=b, name="Брендбук", status="active")])
        db.session.commit()
    return a, b


def count(app, model, *where):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


# ---- the duplicates page ------------------------------------------------------------------------

@pytest.mark.parametrize("lang, words", [("en", ["Possible duplicates", "Same domain", "Same name", "Keep separate",
                                                 "Merge…"]),
                                         ("ru", ["Возможные дубликаты", "Один домен", "То же название",
                                                 "Оставить раздельно", "Объединить…"])])
def test_the_page_lists_the_pair_with_its_reasons_in_words(client, as_role, tochka, lang, words):
    as_role("Owner", lang)
    response = client.get("/duplicates/")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    for word in words:
        assert word in page, word
    a, b = tochka
    assert f'data-a="{min(a, b)}"' in page or f'data-a="{a}"' in page
    assert f"/accounts/{a}" in page and f"/accounts/{b}" in page
    assert not re.search(r"\b(contact_email|similar_name)\b", page.split("<tbody>", 1)[1])  # no raw codes
    assert not re.search(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}", page)


@pytest.mark.smoke
def test_sales_sees_the_page_without_merge_and_pm_gets_403(client, as_role, tochka):
    as_role("Sales")
    page = client.get("/duplicates/").get_data(as_text=True)
    assert "keep-separate-form" in page and "merge-link" not in page
    a, b = tochka
    assert client.get(f"/duplicates/accounts/merge?ids={a}&ids={b}").status_code == 403
    assert client.post("/duplicates/accounts/merge", data={"ids": [a, b], "survivor": a}).status_code == 403
    as_role("PM")
    assert client.get("/duplicates/").status_code == 403
    assert client.get("/duplicates/contacts").status_code == 403
    assert client.post("/duplicates/keep-separate", data={"kind": "account", "ids": [a, b]}).status_code == 403


def test_filters_by_reason_and_owner_are_per_request(app, client, as_role, users, tochka):
    seed(app, users, ("Acme Robotics", "acme.com"), ("ACME Robotics LLC", None), owner="Owner")
    as_role("Owner")
    everyone = client.get("/duplicates/").get_data(as_text=True)
    assert everyone.count('class="dup-pair"') == 2
    by_domain = client.get("/duplicates/?reason=domain").get_data(as_text=True)
    assert by_domain.count('class="dup-pair"') == 1 and "Точка" in by_domain
    mine = client.get(f"/duplicates/?owner={users['Owner']}").get_data(as_text=True)
    assert mine.count('class="dup-pair"') == 1 and "Acme Robotics" in mine
    assert client.get("/duplicates/").get_data(as_text=True).count('class="dup-pair"') == 2  # nothing remembered
    assert client.get("/duplicates/?reason=bogus&owner=x&page=-4").status_code == 200


def test_keep_separate_is_remembered_and_undo_proposes_the_pair_again(app, client, as_role, tochka, users):
    a, b = tochka
    as_role("Sales")
    response = client.post("/duplicates/keep-separate", data={"kind": "account", "ids": [str(a), str(b)]})
    assert response.status_code == 302
    page = client.get("/duplicates/").get_data(as_text=True)
    assert 'class="dup-pair"' not in page
    kept = page.split("kept-table", 1)[1]
    assert "Точка роста" in kept and "Sales User" in kept
    decision = re.search(r'data-decision-id="([0-9a-f-]+)"', page).group(1)
    assert client.post(f"/duplicates/decisions/{decision}/undo").status_code == 302
    assert 'class="dup-pair"' in client.get("/duplicates/").get_data(as_text=True)


# ---- the merge screen ---------------------------------------------------------------------------

def test_the_merge_screen_shows_both_side_by_side_with_what_moves(client, as_role, tochka):
    a, b = tochka
    as_role("Owner", "ru")
    page = client.get(f"/duplicates/accounts/merge?ids={a}&ids={b}").get_data(as_text=True)
    assert 'name="survivor"' in page and 'name="field_name"' in page and 'name="field_domain"' in page
    assert "1 контакт" in page and "1 сделка" in page and "1 проект" in page and "Привязано" in page
    assert "Объединить" in page


def test_merge_moves_everything_and_lands_on_the_survivor(app, client, as_role, tochka):
    a, b = tochka
    as_role("Owner")
    response = client.post("/duplicates/accounts/merge", data={
        "ids": [str(a), str(b)], "survivor": str(a), "field_name": str(a), "field_domain": str(a)})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/accounts/{a}")
    landing = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "merged into «Точка роста»" in landing and "1 contact" in landing and "1 deal" in landing
    assert "Merged into this record: «ООО &#34;Точка Роста&#34;»" in landing  # the merge in the timeline
    for model in (Contact, Opportunity, Project):
        assert count(app, model, model.account_id == a) == 1
        assert count(app, model, model.account_id == b) == 0
    # the merged account's page is its survivor's, with a notice
    old = client.get(f"/accounts/{b}")
    assert old.status_code == 302 and old.headers["Location"].endswith(f"/accounts/{a}")
    assert "was merged into the one shown here" in client.get(old.headers["Location"]).get_data(as_text=True)
    # merging again: already merged, a clear message and the survivor
    again = client.post("/duplicates/accounts/merge", data={"ids": [str(a), str(b)], "survivor": str(a)})
    assert again.status_code == 302 and again.headers["Location"].endswith(f"/accounts/{a}")
    assert "already merged" in client.get(again.headers["Location"]).get_data(as_text=True)


def test_a_stale_survivor_is_a_409_with_a_message_and_nothing_moves(app, client, as_role, tochka):
    a, b = tochka
    as_role("Owner")
    response = client.post("/duplicates/accounts/merge", data={
        "ids": [str(a), str(b)], "survivor": str(a), f"version_{a}": "999"})
    assert response.status_code == 409
    assert "Nothing was merged" in response.get_data(as_text=True)
    assert count(app, Contact, Contact.account_id == b) == 1


def test_after_an_account_merge_contact_duplicates_are_offered(app, client, as_role, tochka, users):
    a, b = tochka
    with app.app_context(), change_context(actor_id=users["Owner"]):
        db.session.add(Contact(account_id=a, name="Ирина Смирнова", phone="+79990001122"))
        db.session.commit()
    as_role("Owner")
    response = client.post("/duplicates/accounts/merge", data={"ids": [str(a), str(b)], "survivor": str(a)})
    landing = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Merge contact duplicates" in landing and f"/duplicates/contacts?account={a}" in landing
    pairs = client.get(f"/duplicates/contacts?account={a}").get_data(as_text=True)
    assert pairs.count('class="dup-pair"') == 1 and "Same contact name" in pairs
    ids = re.findall(r'/duplicates/contacts/merge\?ids=([0-9a-f-]+)&amp;ids=([0-9a-f-]+)', pairs)[0]
    screen = client.get(f"/duplicates/contacts/merge?ids={ids[0]}&ids={ids[1]}").get_data(as_text=True)
    assert 'name="field_email"' in screen and 'name="field_phone"' in screen
    with app.app_context():
        with_phone = db.session.scalar(select(Contact.id).where(Contact.phone.isnot(None), Contact.account_id == a))
    other = next(i for i in ids if i != str(with_phone))
    done = client.post("/duplicates/contacts/merge", data={"ids": list(ids), "survivor": str(with_phone),
                                                          "field_email": other, "field_phone": str(with_phone)})
    assert done.status_code == 302 and done.headers["Location"].endswith(f"/accounts/{a}")
    assert "conversations moved" in client.get(done.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        left = db.session.scalars(select(Contact).where(Contact.account_id == a)).all()  # merged ones are hidden
        assert [(c.email, c.phone) for c in left] == [("irina@tochka-rosta.ru", "+79990001122")]


# ---- warnings where duplicates are born ---------------------------------------------------------

@pytest.mark.smoke
def test_the_account_form_warns_and_create_anyway_creates(app, client, as_role, users, dup_db):
    (existing,) = seed(app, users, ("Точка роста", "tochka-rosta.ru"))
    as_role("Sales")
    form = {"name": 'ООО "Точка Роста"', "domain": "", "segment": "smb", "status": "active"}
    warned = client.post("/accountview/add", data=form)
    page = warned.get_data(as_text=True)
    assert warned.status_code == 200 and "Similar accounts exist already" in page
    assert f"/accounts/{existing}" in page and "Same name" in page and 'name="create_anyway"' in page
    assert count(app, Account) == 1
    created = client.post("/accountview/add", data={**form, "create_anyway": "1"})
    assert created.status_code == 302 and count(app, Account) == 2


def test_the_account_form_in_russian_and_the_domain_error_links_the_account(app, client, as_role, users, dup_db):
    (existing,) = seed(app, users, ("Точка роста", "tochka-rosta.ru"))
    as_role("Sales", "ru")
    page = client.post("/accountview/add", data={"name": "Другая компания", "domain": "TOCHKA-ROSTA.ru",
                                                 "segment": "smb", "status": "active"}).get_data(as_text=True)
    assert "Клиент с таким доменом уже существует" in page
    assert f'href="/accounts/{existing}"' in page
    warned = client.post("/accountview/add", data={"name": "Точка Роста", "segment": "smb", "status": "active"})
    assert "Похожие клиенты уже есть" in warned.get_data(as_text=True)
    assert "Всё равно создать" in warned.get_data(as_text=True)


def test_the_edit_form_warns_only_when_the_name_or_domain_changes(app, client, as_role, users, dup_db):
    first, second = seed(app, users, ("Точка роста", "tochka-rosta.ru"), ("Northwind", "northwind.com"))
    as_role("Owner")
    same = {"name": "Northwind", "domain": "northwind.com", "segment": "smb", "status": "active",
            "owner": str(users["Sales"])}
    assert client.post(f"/accountview/edit/{second}", data={**same, "industry": "Retail"}).status_code == 302
    renamed = client.post(f"/accountview/edit/{second}", data={**same, "name": "ООО Точка роста"})
    assert renamed.status_code == 200 and f"/accounts/{first}" in renamed.get_data(as_text=True)
    assert client.post(f"/accountview/edit/{second}", data={**same, "name": "ООО Точка роста",
                                                            "create_anyway": "1"}).status_code == 302


def test_the_contact_quick_action_warns_and_add_anyway_adds(app, client, as_role, users, dup_db):
    (account,) = seed(app, users, ("Точка роста", "tochka-rosta.ru"))
    with app.app_context(), change_context(actor_id=users["Sales"]):
        db.session.add(Contact(account_id=account, name="Ирина Смирнова", email="irina@tochka-rosta.ru",
                               phone="+7 900 111-22-33"))
        db.session.commit()
    as_role("Sales")
    typed = {"name": "Irina Smirnova", "email": "irina.s@tochka-rosta.ru", "phone": "8 (900) 111-22-33", "role_tags": ""}
    warned = client.post(f"/accounts/{account}/contacts", data=typed)
    page = warned.get_data(as_text=True)
    assert warned.status_code == 200 and "This account has a similar contact already" in page
    assert "Same phone" in page and "Add anyway" in page and count(app, Contact) == 1
    # the same e-mail is not a warning but a refusal of the save: e-mails are unique
    taken = client.post(f"/accounts/{account}/contacts", data={**typed, "email": "IRINA@tochka-rosta.ru"})
    assert taken.status_code == 422 and count(app, Contact) == 1
    added = client.post(f"/accounts/{account}/contacts", data={**typed, "name": "Ирина Смирнова", "create_anyway": "1"})
    assert added.status_code == 302 and count(app, Contact) == 2


@pytest.fixture()
def sender_thread(app, dup_db):
    """An unassigned thread from irina@tochka-rosta.ru of «Точка Роста»."""
    payload = cw_message()
    for sender in (payload["sender"], payload["conversation"]["meta"]["sender"]):
        sender["email"] = "irina@tochka-rosta.ru"
    with app.app_context():
        ingest(ChangeRequest(SYSTEM), chatwoot.parse_webhook(payload))
        return db.session.scalars(select(InboundThread)).one().id


def test_triage_create_account_shows_the_candidates_first(app, client, as_role, users, sender_thread):
    (existing,) = seed(app, users, ("Точка роста", "tochka-rosta.ru"))
    as_role("Sales")
    typed = {"account_name": "Точка Роста", "domain": "tochka-rosta.ru", "contact_name": "Ирина",
             "email": "irina@tochka-rosta.ru", "phone": "", "telegram_handle": ""}
    response = client.post(f"/triage/{sender_thread}/create_account", data=typed,
                           headers={"Referer": "http://localhost/triage/?status=unassigned"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Attach to this one" in page and f"/accounts/{existing}" in page
    assert "Same domain" in page and "create-anyway" not in page  # that very domain is taken: attach only
    assert count(app, Account) == 1
    attach = client.post(f"/triage/{sender_thread}/assign", data={"account_id": str(existing),
                                                                   "next": "/triage/?status=unassigned"})
    assert attach.status_code == 302 and attach.headers["Location"].endswith("/triage/?status=unassigned")
    with app.app_context():
        assert db.session.get(InboundThread, sender_thread).account_id == existing


def test_triage_create_anyway_creates_a_second_account(app, client, as_role, users, sender_thread):
    seed(app, users, ("Точка роста", "tochka-rosta.ru"))
    as_role("Sales", "ru")
    typed = {"account_name": "Точка Роста Урал", "domain": "ural.tochka-rosta.ru", "contact_name": "Ирина",
             "email": "", "phone": "", "telegram_handle": ""}
    page = client.post(f"/triage/{sender_thread}/create_account", data=typed).get_data(as_text=True)
    assert "Привязать к этому" in page and "Всё равно создать нового клиента" in page
    done = client.post(f"/triage/{sender_thread}/create_account", data={**typed, "create_anyway": "1"})
    assert done.status_code == 302 and count(app, Account) == 2
