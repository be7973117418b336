"""A refused or failed request never shows a bare framework page: the browser gets a page inside
the app (navigation, the user's language, a way back), the API, webhooks and fetch calls that ask
for JSON get `{"message": …}` in the request's language, with the same status."""
import pytest
from markupsafe import escape
from sqlalchemy import func, select

from app import errors
from app.extensions import db
from app.models import Account, Offer, Opportunity

MISSING = "00000000-0000-0000-0000-000000000000"
STOCK = ("The server could not verify", "You don't have the permission", "The requested URL was not found",
         "The method is not allowed", "Internal Server Error", "Traceback", "Werkzeug")
TEXT = {
    ("en", 403): "You do not have the rights for this action. Ask the studio's owner or an admin.",
    ("ru", 403): "У вас нет прав на это действие. Обратитесь к владельцу студии или администратору.",
    ("en", 404): "Not found: it was deleted, or you do not have access to it.",
    ("ru", 404): "Не найдено: запись удалена или у вас нет к ней доступа.",
    ("en", 405): "This action is not available at this address. Go back and use the buttons on the page.",
    ("ru", 405): "Это действие недоступно по этому адресу. Вернитесь назад и воспользуйтесь кнопками на странице.",
    ("en", 500): "Something went wrong on the server. It has been logged; try again later or tell an admin.",
    ("ru", 500): "На сервере что-то пошло не так. Ошибка записана в журнал; попробуйте позже или сообщите "
                 "администратору.",
}
NAVBAR = {"en": "Board", "ru": "Доска"}  # the board's menu entry, in the page's language
BACK = {"en": "Back to the board", "ru": "Вернуться к доске"}


@pytest.fixture()
def deal(app, clean_db, users):
    from tests.helpers import change_context

    with app.app_context(), change_context(actor_id=users["Sales"]):
        opp = Opportunity(account=Account(name="Acme", domain="acme.ru", owner_user_id=users["Sales"]),
                          name="Website", owner_user_id=users["Sales"], amount_estimate=100000)
        db.session.add(opp)
        db.session.commit()
        return opp.id


def assert_app_page(response, status: int, lang: str, with_board: bool = True):
    """The status, the app's own layout (FAB's navbar with our menu), the text in `lang`, no stock text."""
    page = response.get_data(as_text=True)
    assert response.status_code == status, page[:500]
    assert response.mimetype == "text/html"
    assert 'class="navbar-brand"' in page and "Studio CRM" in page and "crm-error-page" in page
    assert str(escape(TEXT[lang, status])) in page
    if with_board:
        assert NAVBAR[lang] in page and 'href="/board/"' in page and BACK[lang] in page
    other = "ru" if lang == "en" else "en"
    assert str(escape(TEXT[other, status])) not in page
    for stock in STOCK:
        assert stock not in page, stock


# --- refused by the role: 403 ------------------------------------------------------------------

@pytest.mark.smoke
@pytest.mark.parametrize("lang", ["ru", "en"])
def test_a_page_the_role_lacks_is_an_app_page_in_the_users_language(client, as_role, clean_db, lang):
    as_role("PM", lang)
    assert_app_page(client.get("/stall/"), 403, lang)


def test_sales_without_the_stall_report_get_the_app_page_too(client, as_role, clean_db):
    as_role("Sales", "ru")
    response = client.get("/stall/csv")
    assert_app_page(response, 403, "ru")
    assert "text/csv" not in response.headers["Content-Type"]


@pytest.mark.smoke
@pytest.mark.parametrize("lang", ["ru", "en"])
def test_pm_creating_an_offer_gets_the_app_page_and_nothing_is_written(app, client, as_role, deal, lang):
    as_role("PM", lang)
    assert_app_page(client.post(f"/opportunities/{deal}/offer"), 403, lang)
    assert_app_page(client.post(f"/board/accept/{deal}"), 403, lang)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Offer)) == 0


def test_the_way_back_is_the_page_the_user_came_from(client, as_role, deal):
    as_role("PM", "en")
    came_from = f"http://localhost/opportunities/{deal}"
    page = client.post(f"/opportunities/{deal}/offer", headers={"Referer": came_from}).get_data(as_text=True)
    assert f'href="{came_from}"' in page and "Back to the previous page" in page
    foreign = client.post(f"/opportunities/{deal}/offer", headers={"Referer": "https://evil.test/x"})
    assert "evil.test" not in foreign.get_data(as_text=True)


def test_a_fetch_that_asks_for_json_gets_the_message_in_the_users_language(client, as_role, deal):
    as_role("PM", "ru")
    response = client.post(f"/opportunities/{deal}/offer", headers={"Accept": "application/json"})
    assert response.status_code == 403 and response.is_json
    assert response.get_json() == {"message": TEXT["ru", 403]}


@pytest.mark.smoke
def test_anonymous_users_are_still_sent_to_the_login_page_with_a_translated_flash(client, clean_db):
    client.get("/logout/")
    client.get("/lang/ru")
    response = client.get("/stall/")
    assert response.status_code == 302 and "/login/" in response.headers["Location"]
    login_page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Отказано в доступе" in login_page and "Access is Denied" not in login_page


# --- not found: 404 ----------------------------------------------------------------------------

@pytest.mark.parametrize("lang", ["ru", "en"])
@pytest.mark.parametrize("url", [
    f"/opportunities/{MISSING}", f"/accounts/{MISSING}", f"/projects/{MISSING}",
    f"/opportunityview/show/{MISSING}", "/board/column/no_such_stage", "/no-such-page/",
])
def test_a_missing_record_or_page_is_an_app_page(client, as_role, clean_db, url, lang):
    as_role("Sales", lang)
    assert_app_page(client.get(url), 404, lang)


@pytest.mark.smoke
def test_a_record_out_of_the_users_scope_reads_as_not_found(client, as_role, deal):
    as_role("PM", "ru")  # PM is not in a project of this account: it does not exist for them
    assert_app_page(client.get(f"/opportunities/{deal}"), 404, "ru")


def test_anonymous_users_get_the_page_too_with_the_way_to_the_start_page(client, clean_db):
    client.get("/logout/")
    client.get("/lang/en")
    response = client.get("/no-such-page/")
    assert_app_page(response, 404, "en", with_board=False)
    assert "Go to the start page" in response.get_data(as_text=True)


# --- wrong method: 405 -------------------------------------------------------------------------

@pytest.mark.parametrize("lang", ["ru", "en"])
def test_a_wrong_method_is_an_app_page_that_keeps_the_allow_header(client, as_role, deal, lang):
    as_role("Sales", lang)
    response = client.get(f"/opportunities/{deal}/offer")
    assert_app_page(response, 405, lang)
    assert "POST" in response.headers["Allow"]


# --- the REST API stays JSON -------------------------------------------------------------------

@pytest.mark.smoke
@pytest.mark.parametrize("url,method,status", [
    ("/api/v1/opportunities/not-a-uuid", "get", 404),  # the router's 404
    (f"/api/v1/opportunities/{MISSING}", "get", 404),  # FAB's own response_404
    ("/api/v1/no-such-resource/", "get", 404),
    (f"/api/v1/opportunities/{MISSING}", "delete", 405),
    ("/api/v1/metrics/pipeline", "post", 405),
])
def test_api_404_and_405_stay_json_in_english_for_scripts(client, api, clean_db, url, method, status):
    response = getattr(client, method)(url, headers=api("Sales"))
    assert response.status_code == status and response.is_json, response.get_data(as_text=True)
    assert response.get_json() == {"message": TEXT["en", status]}
    if status == 405:
        assert response.headers["Allow"]


def test_api_follows_the_page_language_for_the_browser(client, as_role, deal):
    as_role("Sales", "ru")
    assert client.get(f"/api/v1/opportunities/{MISSING}").get_json() == {"message": TEXT["ru", 404]}
    assert client.get("/api/v1/no-such-resource/").get_json() == {"message": TEXT["ru", 404]}
    assert client.delete(f"/api/v1/opportunities/{deal}").get_json() == {"message": TEXT["ru", 405]}


@pytest.mark.smoke
@pytest.mark.parametrize("lang", ["ru", "en"])
def test_the_move_dialog_of_a_pm_gets_the_refusal_in_the_users_language(app, client, as_role, deal, lang):
    """What the board's move dialog (PATCH with the session cookie, Accept: application/json) shows."""
    as_role("PM", lang)
    response = client.patch(f"/api/v1/opportunities/{deal}", json={"stage": "qualified", "evidence_refs": []},
                            headers={"Accept": "application/json"})
    assert response.status_code == 403
    assert response.get_json() == {"message": TEXT[lang, 403]}
    with app.app_context():
        assert db.session.get(Opportunity, deal).stage == "lead"


def test_webhook_paths_answer_json(client, clean_db):
    response = client.get("/webhooks/no-such-hook")
    assert response.status_code == 404 and response.get_json()["message"] in (TEXT["ru", 404], TEXT["en", 404])


# --- the last resort: 400 and 500 --------------------------------------------------------------

@pytest.mark.parametrize("lang", ["ru", "en"])
def test_an_unexpected_error_is_an_app_page_without_the_traceback(app, client, as_role, clean_db, monkeypatch, lang):
    def boom(*args, **kwargs):
        raise RuntimeError("secret detail from the database")

    as_role("Owner", lang)
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    monkeypatch.setitem(app.view_functions, "StallReportView.index", boom)
    page = client.get("/stall/")
    assert_app_page(page, 500, lang)
    assert "secret detail" not in page.get_data(as_text=True)
    api = client.get("/stall/", headers={"Accept": "application/json"})
    assert api.status_code == 500 and api.get_json() == {"message": TEXT[lang, 500]}
    assert "secret detail" not in api.get_data(as_text=True)


EXPIRED = {"ru": "Страница устарела. Обновите её и попробуйте ещё раз.",
           "en": "The page has expired. Reload it and try again."}


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_a_form_without_its_csrf_token_is_an_app_page(app, client, as_role, deal, monkeypatch, lang):
    text = EXPIRED[lang]
    as_role("Sales", lang)
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    response = client.post(f"/opportunities/{deal}/notes", data={"text": "no token"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and text in page and 'class="navbar-brand"' in page
    assert "Sales User" in page and NAVBAR[lang] in page  # the navbar knows who is logged in
    assert "CSRF" not in page and "Bad Request" not in page
    dialog = client.patch(f"/api/v1/opportunities/{deal}", json={"stage": "qualified"},
                          headers={"Accept": "application/json"})
    assert dialog.status_code == 400 and dialog.get_json() == {"message": text}


def test_a_bad_request_and_an_expired_form_are_explained(app):
    from flask_wtf.csrf import CSRFError
    from werkzeug.exceptions import BadRequest

    with app.test_request_context("/api/v1/opportunities/", headers={"Accept-Language": "en"}):
        answer = errors.handle(BadRequest())
        assert answer.status_code == 400
        assert answer.get_json() == {"message": "The request could not be understood. Reload the page and try again."}
        expired = errors.handle(CSRFError("The CSRF token is missing."))
        assert expired.status_code == 400 and expired.get_json() == {
            "message": "The page has expired. Reload it and try again."}


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_each_status_has_its_wording_in_both_languages(app, lang):
    from flask_babel import force_locale

    with app.test_request_context("/"), force_locale(lang):
        for code in (403, 404, 405, 500):
            assert errors.message(code) == TEXT[lang, code]
