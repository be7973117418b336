"""Security headers on pages, the API and static files (issue 16); HSTS and Secure cookies only
over HTTPS. The check that the app's own pages satisfy the CSP in Chromium is
tests/e2e/test_csp_browser.py."""
from __future__ import annotations

import re

import pytest

from app import sessions
from app.extensions import db
from tests.conftest import PASSWORD, api_token, login


def assert_hardened(response) -> str:
    headers = response.headers
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    csp = headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp
    script_src = re.search(r"script-src ([^;]*)", csp).group(1)
    assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src
    assert "object-src 'none'" in csp
    return csp


@pytest.fixture(autouse=True)
def no_address_failures(app):
    sessions.reset_login_failures(app)


def test_pages_carry_the_headers_and_a_fresh_nonce_for_their_inline_scripts(client):
    login_page = client.get("/login/")
    assert login_page.status_code == 200
    assert_hardened(login_page)
    assert "Strict-Transport-Security" not in login_page.headers  # plain HTTP
    assert "Secure" not in (login_page.headers.get("Set-Cookie") or "")

    login(client, "Admin")
    nonces = []
    for url in ("/accountview/list/", "/swagger/v1", "/accountview/list/"):
        response = client.get(url)
        assert response.status_code == 200, url
        nonce = re.search(r"'nonce-([^']+)'", assert_hardened(response)).group(1)
        page = response.get_data(as_text=True)
        inline = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", page)
        assert inline, f"{url} has inline scripts"
        assert all(f'nonce="{nonce}"' in attrs for attrs in inline), inline
        nonces.append(nonce)
    assert len(set(nonces)) == 3


def test_logged_in_pages_api_errors_and_static_files_carry_the_headers(client):
    login(client, "Admin")
    for url in ("/board/", "/accountview/list/", "/dashboard/", "/swagger/v1", "/api/v1/accounts/",
                "/api/v1/accounts/00000000-0000-0000-0000-000000000000", "/static/board/board.js"):
        response = client.get(url)
        assert response.status_code in (200, 404), url
        assert_hardened(response)
    assert "https://validator.swagger.io" in client.get("/swagger/v1").headers["Content-Security-Policy"]
    assert "validator.swagger.io" not in client.get("/board/").headers["Content-Security-Policy"]


def test_jwt_api_answers_carry_the_headers(app, client):
    token = api_token(app.test_client(), "Sales")
    response = client.get("/api/v1/accounts/", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert_hardened(response)
    assert_hardened(client.get("/api/v1/accounts/", headers={"Authorization": "Bearer x"}))


@pytest.fixture(scope="module")
def https_app(app, database_url):
    """The app as configured for HTTPS behind a reverse proxy (CRM_HTTPS=1, CRM_PROXY_FIX=1)."""
    from app import create_app

    served = create_app(SQLALCHEMY_DATABASE_URI=database_url, TESTING=True, WTF_CSRF_ENABLED=False,
                        CRM_HTTPS=True, CRM_PROXY_FIX=True)
    yield served
    with served.app_context():
        db.session.remove()
        db.engine.dispose()


def test_over_https_hsts_and_secure_cookies(https_app):
    client = https_app.test_client()
    response = client.post("/login/", data={"username": "sales", "password": PASSWORD}, base_url="https://crm.example")
    assert response.status_code == 302
    assert "Secure" in response.headers["Set-Cookie"] and "HttpOnly" in response.headers["Set-Cookie"]
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    assert_hardened(response)


def test_behind_a_proxy_the_forwarded_address_and_scheme_count(https_app, monkeypatch):
    """With CRM_PROXY_FIX the proxy's X-Forwarded-For is the client's address for the login limit
    and X-Forwarded-Proto its scheme."""
    monkeypatch.setitem(https_app.config, "CRM_LOGIN_ADDRESS_MAX_FAILURES", 2)
    sessions.reset_login_failures(https_app)
    client = https_app.test_client()

    def attempt(address: str, password: str):
        return client.post("/api/v1/security/login", json={"username": "nobody", "password": password,
                                                           "provider": "db"},
                           headers={"X-Forwarded-For": address, "X-Forwarded-Proto": "https"})
    try:
        assert attempt("203.0.113.7", "x").status_code == 401
        assert attempt("203.0.113.7", "x").status_code == 401
        refused = attempt("203.0.113.7", "x")
        assert refused.status_code == 429
        assert refused.headers["Strict-Transport-Security"]
        assert attempt("203.0.113.8", "x").status_code == 401  # another client behind the same proxy
    finally:
        sessions.reset_login_failures(https_app)
