"""Logins, sessions and tokens (issue 16): failed logins lock the user (in the database) and the
address (in the database too, shared by every app instance); logout and a password change kill the old cookie, JWT and refresh token;
only a request really authenticated by a JWT skips the CSRF check."""
from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from app import sessions
from app.extensions import db
from app.models import Account
from app.models.user import User
from tests.conftest import PASSWORD

NEW_PASSWORD = "another-pass-2"
WRONG = "wrong-pass"


@pytest.fixture(autouse=True)
def no_address_failures(app):
    """The per-address counter of the (session-wide) app starts and ends empty."""
    sessions.reset_login_failures(app)
    yield
    sessions.reset_login_failures(app)


@pytest.fixture()
def new_user(app):
    """new_user() -> the username of a fresh Sales user (lockouts and password changes stay off
    the shared role users)."""
    def make(role: str = "Sales") -> str:
        username = f"s16-{uuid.uuid4().hex[:10]}"
        with app.app_context():
            sm = app.appbuilder.sm
            assert sm.add_user(username=username, first_name="Test", last_name="User", email=f"{username}@studio.test",
                               role=sm.find_role(role), password=PASSWORD)
        return username
    return make


def user_row(app, username: str) -> User:
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        db.session.expunge(user)
        return user


def form_login(client, username: str, password: str, address: str = "10.16.0.1"):
    return client.post("/login/", data={"username": username, "password": password},
                       environ_base={"REMOTE_ADDR": address})


def api_login(client, username: str, password: str, address: str = "10.16.0.1"):
    return client.post("/api/v1/security/login", json={"username": username, "password": password, "provider": "db",
                                                        "refresh": True}, environ_base={"REMOTE_ADDR": address})


def logged_in(response) -> bool:
    """A form login that worked redirects away from the login page."""
    return response.status_code == 302 and "/login" not in response.headers["Location"]


def signed_in(client) -> bool:
    """Whether the client's cookie is a live session (the board answers instead of the login redirect)."""
    response = client.get("/board/")
    return response.status_code == 200


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


# ---- lockout --------------------------------------------------------------------------------------

def test_the_11th_attempt_is_refused_even_with_the_right_password(app, new_user):
    username = new_user()
    client = app.test_client()
    for _ in range(10):
        response = form_login(client, username, WRONG)
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    row = user_row(app, username)
    assert row.fail_login_count == 10 and row.locked_until is not None

    refused = form_login(client, username, PASSWORD)
    assert refused.status_code == 429
    assert 0 < int(refused.headers["Retry-After"]) <= 15 * 60
    page = refused.get_data(as_text=True)
    assert "Too many failed sign-in attempts" in page or "Слишком много неудачных попыток входа" in page
    assert not signed_in(client)

    api = api_login(app.test_client(), username, PASSWORD, address="10.16.0.2")  # another address too
    assert api.status_code == 429 and int(api.headers["Retry-After"]) > 0
    assert "Too many failed sign-in attempts" in api.get_json()["message"]
    assert "access_token" not in api.get_json()


def test_api_failures_count_and_the_lock_expires(app, new_user):
    username = new_user()
    client = app.test_client()
    for _ in range(10):
        assert api_login(client, username, WRONG).status_code == 401
    assert api_login(client, username, PASSWORD).status_code == 429
    assert form_login(client, username, PASSWORD).status_code == 429

    with app.app_context():  # 15 minutes later
        user = db.session.scalar(select(User).where(User.username == username))
        user.locked_until = datetime.now(timezone.utc) - timedelta(seconds=1)
        db.session.commit()
    assert api_login(client, username, PASSWORD).status_code == 200
    row = user_row(app, username)
    assert row.fail_login_count == 0 and row.locked_until is None


def test_a_success_resets_the_count(app, new_user):
    username = new_user()
    client = app.test_client()
    for _ in range(9):
        form_login(client, username, WRONG)
    assert logged_in(form_login(client, username, PASSWORD))
    assert user_row(app, username).fail_login_count == 0
    client.get("/logout/")
    for _ in range(9):
        form_login(client, username, WRONG)
    assert logged_in(form_login(client, username, PASSWORD))  # 9 + 9 failures, never 10 in a row


def test_successes_are_not_counted(app, monkeypatch, new_user):
    monkeypatch.setitem(app.config, "CRM_LOGIN_ADDRESS_MAX_FAILURES", 3)
    username = new_user()
    client = app.test_client()
    for _ in range(6):
        assert logged_in(form_login(client, username, PASSWORD))
        client.get("/logout/")
        assert api_login(client, username, PASSWORD).status_code == 200


def test_an_address_with_too_many_failures_is_refused(app, monkeypatch, new_user):
    monkeypatch.setitem(app.config, "CRM_LOGIN_ADDRESS_MAX_FAILURES", 5)
    username = new_user()
    client = app.test_client()
    for i in range(5):  # names that do not exist: no user is locked, the address is
        assert api_login(client, f"nobody-{i}", WRONG, address="10.16.5.5").status_code == 401
    refused = api_login(client, username, PASSWORD, address="10.16.5.5")
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert form_login(client, username, PASSWORD, address="10.16.5.5").status_code == 429
    assert user_row(app, username).locked_until is None
    assert api_login(client, username, PASSWORD, address="10.16.5.6").status_code == 200  # another address


# ---- revocation -------------------------------------------------------------------------------------

def test_logout_kills_the_presented_session(app, new_user):
    username = new_user()
    client, other = app.test_client(), app.test_client()
    assert logged_in(form_login(client, username, PASSWORD))
    assert logged_in(form_login(other, username, PASSWORD))  # a second browser of the same user
    saved = client.get_cookie("session").value
    assert signed_in(client)

    client.get("/logout/")
    replay = app.test_client()
    replay.set_cookie("session", saved)
    assert not signed_in(replay)
    assert replay.get("/api/v1/accounts/").status_code == 401
    assert signed_in(other)  # only the session that logged out


def test_a_password_change_kills_every_old_session_and_token(app, new_user):
    username = new_user()
    browser, other = app.test_client(), app.test_client()
    assert logged_in(form_login(browser, username, PASSWORD))
    assert logged_in(form_login(other, username, PASSWORD))
    saved = browser.get_cookie("session").value
    tokens = api_login(app.test_client(), username, PASSWORD).get_json()
    assert browser.get("/api/v1/accounts/", headers=bearer(tokens["access_token"])).status_code == 200

    changed = browser.post("/resetmypassword/form", data={"password": NEW_PASSWORD, "conf_password": NEW_PASSWORD})
    assert changed.status_code == 302

    replay = app.test_client()
    replay.set_cookie("session", saved)
    assert not signed_in(replay)  # the cookie copied before the change
    assert not signed_in(other)  # another browser
    fresh = app.test_client()
    assert fresh.get("/api/v1/accounts/", headers=bearer(tokens["access_token"])).status_code == 401
    assert fresh.post("/api/v1/security/refresh", headers=bearer(tokens["refresh_token"])).status_code == 401
    assert signed_in(browser)  # the session that changed its own password stays

    new_tokens = api_login(fresh, username, NEW_PASSWORD).get_json()
    assert fresh.get("/api/v1/accounts/", headers=bearer(new_tokens["access_token"])).status_code == 200
    assert fresh.post("/api/v1/security/refresh", headers=bearer(new_tokens["refresh_token"])).status_code == 200


def test_an_admin_reset_kills_the_users_sessions_and_tokens(app, new_user):
    username = new_user()
    client = app.test_client()
    assert logged_in(form_login(client, username, PASSWORD))
    tokens = api_login(app.test_client(), username, PASSWORD).get_json()
    with app.app_context():
        sm = app.appbuilder.sm
        sm.reset_password(sm.find_user(username=username).id, NEW_PASSWORD)  # also what `flask fab reset-password` calls
    assert not signed_in(client)
    anonymous = app.test_client()
    assert anonymous.get("/api/v1/accounts/", headers=bearer(tokens["access_token"])).status_code == 401
    assert anonymous.post("/api/v1/security/refresh", headers=bearer(tokens["refresh_token"])).status_code == 401


def test_api_logout_revokes_the_token_and_its_refresh_token(app, new_user):
    username = new_user()
    client = app.test_client()
    first = api_login(client, username, PASSWORD).get_json()
    second = api_login(client, username, PASSWORD).get_json()

    response = client.post("/api/v1/security/logout", headers=bearer(first["access_token"]),
                           json={"refresh_token": first["refresh_token"]})
    assert response.status_code == 200, response.get_json()
    denied = client.get("/api/v1/accounts/", headers=bearer(first["access_token"]))
    assert denied.status_code == 401 and denied.get_json()["message"]
    assert client.post("/api/v1/security/refresh", headers=bearer(first["refresh_token"])).status_code == 401
    assert client.get("/api/v1/accounts/", headers=bearer(second["access_token"])).status_code == 200

    # a refresh token can log itself out; "everywhere" ends every session and token of the user
    assert client.post("/api/v1/security/logout", headers=bearer(second["refresh_token"])).status_code == 200
    assert client.post("/api/v1/security/refresh", headers=bearer(second["refresh_token"])).status_code == 401
    third = api_login(client, username, PASSWORD).get_json()
    browser = app.test_client()
    assert logged_in(form_login(browser, username, PASSWORD))
    everywhere = client.post("/api/v1/security/logout", headers=bearer(third["access_token"]), json={"everywhere": True})
    assert everywhere.status_code == 200
    assert client.post("/api/v1/security/refresh", headers=bearer(third["refresh_token"])).status_code == 401
    assert not signed_in(browser)


def test_invalid_tokens_are_401_json(app, client):
    for header in ("Bearer x", "Bearer " + "a.b.c", "Bearer "):
        response = client.get("/api/v1/accounts/", headers={"Authorization": header})
        assert response.status_code == 401, header
        assert response.get_json()["message"]


# ---- CSRF ------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def csrf_app(app, database_url):
    """The app as served (CSRF on) on the session database."""
    from app import create_app

    served = create_app(SQLALCHEMY_DATABASE_URI=database_url)
    yield served
    with served.app_context():
        db.session.remove()
        db.engine.dispose()


def csrf_login(app, role: str):
    """A browser session through the real form (CSRF token included): (client, its CSRF token)."""
    client = app.test_client()
    page = client.get("/login/").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post("/login/", data={"username": role.lower(), "password": PASSWORD, "csrf_token": token})
    assert logged_in(response), response.get_data(as_text=True)[:300]
    return client, token


def accounts_named(app, name: str) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Account).where(Account.name == name))


def test_a_bearer_header_does_not_exempt_a_cookie_session_from_csrf(app, csrf_app, clean_db):
    sessions.reset_login_failures(csrf_app)
    client, csrf_token = csrf_login(csrf_app, "Admin")
    body = {"name": "Forged", "domain": "forged.example"}

    for header in ("Bearer x", "Bearer " + "e30.e30.x"):
        response = client.post("/api/v1/accounts/", json=body, headers={"Authorization": header})
        assert response.status_code == 401, response.get_data(as_text=True)
        assert response.is_json and response.get_json()["message"]
    no_token = client.post("/api/v1/accounts/", json=body)
    assert no_token.status_code == 400 and no_token.is_json and no_token.get_json()["message"]
    assert accounts_named(app, "Forged") == 0

    # a valid JWT is the request's user: PM's token may not write accounts, the Admin cookie is ignored
    pm_token = api_login(csrf_app.test_client(), "pm", PASSWORD, address="127.0.0.1").get_json()["access_token"]
    as_pm = client.post("/api/v1/accounts/", json=body, headers=bearer(pm_token))
    assert as_pm.status_code == 403
    assert accounts_named(app, "Forged") == 0

    with_token = client.post("/api/v1/accounts/", json=body, headers={"X-CSRFToken": csrf_token})
    assert with_token.status_code == 201, with_token.get_json()
    assert accounts_named(app, "Forged") == 1


def test_a_valid_jwt_without_a_cookie_needs_no_csrf_token(app, csrf_app, clean_db):
    client = csrf_app.test_client()
    token = api_login(client, "sales", PASSWORD, address="127.0.0.1").get_json()["access_token"]
    response = client.post("/api/v1/accounts/", json={"name": "By token", "domain": "token.example"},
                           headers=bearer(token))
    assert response.status_code == 201, response.get_json()
    assert accounts_named(app, "By token") == 1


def test_anonymous_api_writes_are_json_401(app, csrf_app, clean_db):
    response = csrf_app.test_client().post("/api/v1/accounts/", json={"name": "Anon", "domain": "anon.example"})
    assert response.status_code == 401 and response.is_json
    assert accounts_named(app, "Anon") == 0


def test_the_login_page_reads_the_public_role_once(app):
    """FAB asks for the Public role for every menu entry an anonymous page checks (a query each);
    the login page that the whole team opens at nine must not pay that per entry."""
    from tests.conftest import count_statements

    assert count_statements(app, app.test_client(), "/login/") <= 3
