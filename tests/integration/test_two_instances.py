"""Two app instances on different ports against one database serve the same users (issue 17):
nothing that matters lives in process memory. Two real gunicorn servers (as run.py starts them,
one worker each) share the test session's PostgreSQL database and SECRET_KEY, like two app hosts
behind a load balancer without sticky sessions."""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import requests

from tests.conftest import PASSWORD, USE_SQLITE

ROOT = Path(__file__).resolve().parents[2]
ADDRESS = "203.0.113.77"  # the client's address as the proxy forwards it (CRM_PROXY_FIX)
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
MOVE_CSRF = re.compile(r'"csrf":\s*"([^"]+)"')

two_processes = pytest.mark.skipif(USE_SQLITE, reason="two processes share PostgreSQL")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Instance:
    def __init__(self, name: str, database_url: str, instance_dir: str):
        from run import gunicorn_command

        self.name = name
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(Path(instance_dir) / f"{name}.log", "w")
        env = dict(os.environ, DATABASE_URL=database_url, SECRET_KEY="two-instances-shared-secret",
                   CRM_INSTANCE_DIR=instance_dir, CRM_PROXY_FIX="1", CRM_LOGIN_ADDRESS_MAX_FAILURES="3")
        env.pop("MIGRATION_DATABASE_URL", None)
        self.process = subprocess.Popen(gunicorn_command("127.0.0.1", self.port, workers=1, threads=2, access_log=None),
                                        cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                        start_new_session=True)

    def wait(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"{self.name} exited:\n{self.tail()}"
            try:
                if requests.get(f"{self.url}/login/", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                time.sleep(0.2)
        raise AssertionError(f"{self.name} did not start:\n{self.tail()}")

    def tail(self) -> str:
        self.log.flush()
        return "\n".join(Path(self.log.name).read_text().splitlines()[-30:])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # gunicorn's quick shutdown (SIGTERM waits for keep-alives)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()


@pytest.fixture(scope="module")
def instances(app, database_url):
    """Instances A and B, always stopped at the end."""
    started = []
    directory = tempfile.mkdtemp(prefix="crm-two-")
    try:
        for name in ("A", "B"):
            started.append(Instance(name, database_url, directory))
        deadline = time.monotonic() + 60
        for instance in started:
            instance.wait(deadline)
        yield started
    finally:
        for instance in started:
            instance.stop()


@pytest.fixture()
def forget_failures(app):
    from app.extensions import db
    from app.models import LoginFailure

    def forget():
        with app.app_context():
            db.session.query(LoginFailure).filter(LoginFailure.address == ADDRESS).delete()
            db.session.commit()
    forget()
    yield
    forget()


def headers(**more) -> dict:
    return {"X-Forwarded-For": ADDRESS, "Accept": "application/json", **more}


def form_login(url: str, username: str) -> requests.Session:
    browser = requests.Session()
    token = CSRF.search(browser.get(f"{url}/login/", headers=headers()).text).group(1)
    response = browser.post(f"{url}/login/", data={"username": username, "password": PASSWORD, "csrf_token": token},
                            headers=headers(), allow_redirects=False)
    assert response.status_code == 302, response.text[:300]
    return browser


def jwt(url: str, username: str) -> dict:
    response = requests.post(f"{url}/api/v1/security/login", json={
        "username": username, "password": PASSWORD, "provider": "db", "refresh": False}, headers=headers())
    assert response.status_code == 200, response.text
    return headers(Authorization=f"Bearer {response.json()['access_token']}")


def move_csrf(session: requests.Session, url: str) -> str:
    page = session.get(f"{url}/board/", headers=headers(Accept="text/html"), allow_redirects=False)
    assert page.status_code == 200, page.status_code
    return MOVE_CSRF.search(page.text).group(1)


def move(session, url: str, deal: str, stage: str, version: int, auth: dict) -> requests.Response:
    return session.patch(f"{url}/api/v1/opportunities/{deal}", headers=auth, json={
        "stage": stage, "version": version, "evidence_refs": [{"type": "note", "text": "Agreed on the call"}],
        "next_step_text": "Send the brief", "next_step_due_at": "2030-01-15T10:00:00+00:00"})


@two_processes
def test_two_instances_serve_the_same_users(instances, clean_db, forget_failures):
    a, b = (instance.url for instance in instances)
    owner = jwt(a, "owner")
    account = requests.post(f"{a}/api/v1/accounts/", json={"name": "Two hosts studio"}, headers=owner)
    assert account.status_code == 201, account.text
    deal = requests.post(f"{b}/api/v1/opportunities/", json={"account_id": account.json()["id"], "name": "Website",
                                                            "owner": "sales"}, headers=owner)
    assert deal.status_code == 201, deal.text
    deal_id, version = deal.json()["id"], deal.json()["result"]["version"]

    # a browser session begun on A is valid on B (same cookie, no sticky sessions)
    on_a = form_login(a, "sales")
    cookie = on_a.cookies.get("session")
    on_b = requests.Session()
    on_b.cookies.set("session", cookie)
    moved = move(on_a, a, deal_id, "qualified", version, headers(**{"X-CSRFToken": move_csrf(on_a, a)}))
    assert moved.status_code == 200, moved.text
    version = moved.json()["result"]["version"]

    # the next move on B with the version read on A; the stale version is a conflict on B
    token_b = jwt(b, "sales")
    moved = move(requests, b, deal_id, "discovery", version, token_b)
    assert moved.status_code == 200, moved.text
    stale = move(requests, b, deal_id, "proposal_sent", version, token_b)
    assert stale.status_code == 409, stale.text
    by_cookie_on_b = move(on_b, b, deal_id, "proposal_sent", moved.json()["result"]["version"],
                          headers(**{"X-CSRFToken": move_csrf(on_b, b)}))
    assert by_cookie_on_b.status_code == 200, by_cookie_on_b.text

    # B's token reads on A; both instances see the same deal and the same history
    seen = requests.get(f"{a}/api/v1/opportunities/{deal_id}", headers=token_b).json()["result"]
    assert (seen["stage"], seen["version"]) == ("proposal_sent", by_cookie_on_b.json()["result"]["version"])
    history = requests.get(f"{b}/api/v1/opportunities/{deal_id}/events", headers=owner).json()["result"]
    assert [e["new_value"]["stage"] for e in history if e["event_type"] == "stage_changed"] == \
        ["proposal_sent", "discovery", "qualified"]

    # a logout on A kills the session on B; a token revoked on B is dead on A
    assert on_a.get(f"{a}/logout/", headers=headers(), allow_redirects=False).status_code == 302
    stale_cookie = requests.Session()
    stale_cookie.cookies.set("session", cookie)
    assert stale_cookie.get(f"{b}/api/v1/opportunities/{deal_id}", headers=headers()).status_code == 401
    assert stale_cookie.get(f"{b}/board/", headers=headers(Accept="text/html"), allow_redirects=False).status_code == 302
    assert requests.post(f"{b}/api/v1/security/logout", headers=token_b).status_code == 200
    assert requests.get(f"{a}/api/v1/opportunities/{deal_id}", headers=token_b).status_code == 401


@two_processes
def test_login_failures_of_one_address_count_on_both_instances(instances, forget_failures):
    a, b = (instance.url for instance in instances)

    def attempt(url: str, password: str) -> requests.Response:
        return requests.post(f"{url}/api/v1/security/login", headers=headers(), json={
            "username": "sales", "password": password, "provider": "db"})

    assert [attempt(url, "wrong").status_code for url in (a, b, a)] == [401, 401, 401]  # the limit is 3
    refused = attempt(b, PASSWORD)  # even the right password, on the other instance
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert attempt(a, PASSWORD).status_code == 429
    other = requests.post(f"{a}/api/v1/security/login", json={"username": "sales", "password": PASSWORD, "provider": "db"},
                          headers={"X-Forwarded-For": "203.0.113.78"})
    assert other.status_code == 200  # another client's address is not locked


@pytest.mark.smoke
def test_the_address_counter_lives_in_the_database_and_forgets_old_minutes(app, forget_failures):
    """What both instances share: one row per address and minute, incremented atomically, read
    over the window, pruned once out of it (PostgreSQL and SQLite alike)."""
    from datetime import timedelta

    from app import sessions
    from app.extensions import db
    from app.models import LoginFailure

    with app.test_request_context("/login/", method="POST", environ_base={"REMOTE_ADDR": ADDRESS}):
        for _ in range(3):
            sessions.add_address_failure(ADDRESS, 900)
        assert sessions.address_retry_after(ADDRESS, 4, 900) is None
        assert 840 < sessions.address_retry_after(ADDRESS, 3, 900) <= 900
        rows = db.session.query(LoginFailure).filter_by(address=ADDRESS).all()
        assert [row.failures for row in rows] == [3]  # one row for the minute
        rows[0].bucket = rows[0].bucket - timedelta(minutes=20)  # that minute left the window
        db.session.commit()
        assert sessions.address_retry_after(ADDRESS, 1, 900) is None
        sessions.add_address_failure(ADDRESS, 900)  # a new failure prunes the old minute
        assert [row.failures for row in db.session.query(LoginFailure).filter_by(address=ADDRESS)] == [1]
