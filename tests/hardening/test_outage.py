"""While PostgreSQL is down (issue 16): /api and webhooks answer 503 JSON with Retry-After, pages a
503 page that needs neither the database nor FAB's layout; once it is back, the same app answers
200 without a restart. The test starts its own PostgreSQL in a temporary directory (initdb refuses
root, so it runs as the postgres user there) and stops it in the middle."""
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from tests.conftest import PASSWORD, USE_SQLITE

PG_BIN_DIRS = ("/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/17/bin")


def _pg_bin() -> Path | None:
    for folder in PG_BIN_DIRS:
        if Path(folder, "initdb").exists() and Path(folder, "pg_ctl").exists():
            return Path(folder)
    found = shutil.which("initdb")
    return Path(found).parent if found and shutil.which("pg_ctl") else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Postgres:
    """A throw-away PostgreSQL server: initdb, start, stop, start again."""

    def __init__(self, bin_dir: Path):
        self.bin = bin_dir
        self.dir = Path(tempfile.mkdtemp(prefix="crm-outage-"))
        self.data, self.log = self.dir / "data", self.dir / "server.log"
        self.port = _free_port()
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:
            shutil.chown(self.dir, "postgres", "postgres")

    def run(self, *args: str) -> None:
        command = [str(self.bin / args[0]), *args[1:]]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def init(self) -> None:
        self.run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self.run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "60", "start")

    def stop(self) -> None:
        self.run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def remove(self) -> None:
        try:
            self.stop()
        except subprocess.CalledProcessError:
            pass  # stopped already
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def second_postgres():
    if USE_SQLITE:
        pytest.skip("PostgreSQL-only")
    bin_dir = _pg_bin()
    if bin_dir is None or (os.geteuid() == 0 and shutil.which("runuser") is None):
        pytest.skip("initdb/pg_ctl (or runuser, as root) not available: no second PostgreSQL to stop")
    server = Postgres(bin_dir)
    try:
        server.init()
        server.start()
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        server.remove()
        pytest.skip(f"could not start a second PostgreSQL: {exc}")
    yield server
    server.remove()


@pytest.fixture(scope="module")
def outage_app(second_postgres):
    from flask_migrate import upgrade

    from app import create_app
    from app.extensions import db
    from app.security import sync_roles_and_permissions

    application = create_app(SQLALCHEMY_DATABASE_URI=second_postgres.url, TESTING=True, WTF_CSRF_ENABLED=False,
                             CHATWOOT_WEBHOOK_SECRET="cw-secret", TELEGRAM_WEBHOOK_SECRET="tg-secret")
    with application.app_context():
        upgrade()
        sync_roles_and_permissions(application.appbuilder)
        sm = application.appbuilder.sm
        sm.add_user(username="admin", first_name="Admin", last_name="User", email="admin@studio.test",
                    role=sm.find_role("Admin"), password=PASSWORD)
        db.session.remove()
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


def _signed_telegram(client):
    body = json.dumps({"update_id": 1, "message": {"message_id": 1, "chat": {"id": 5, "type": "private"},
                                                   "date": 1763633700, "text": "hi"}})
    return client.post("/webhooks/telegram", data=body, content_type="application/json",
                       headers={"X-Telegram-Bot-Api-Secret-Token": "tg-secret"})


def _unavailable_json(response):
    assert response.status_code == 503, response.get_data(as_text=True)[:500]
    assert response.headers["Retry-After"] == "10"
    assert response.get_json() == {"message": "The database cannot be reached right now. Try again in a minute."}


def test_while_the_database_is_down_the_app_answers_503_and_recovers_without_a_restart(outage_app, second_postgres):
    api, pages = outage_app.test_client(), outage_app.test_client()
    token = api.post("/api/v1/security/login", json={"username": "admin", "password": PASSWORD, "provider": "db"})
    assert token.status_code == 200, token.get_data(as_text=True)
    headers = {"Authorization": f"Bearer {token.get_json()['access_token']}"}
    assert pages.post("/login/", data={"username": "admin", "password": PASSWORD}).status_code in (200, 302)
    assert api.get("/api/v1/opportunities/", headers=headers).status_code == 200
    assert pages.get("/board/").status_code == 200

    second_postgres.stop()
    try:
        _unavailable_json(api.get("/api/v1/opportunities/", headers=headers))
        _unavailable_json(api.get("/api/v1/accounts/?q=(page:0)", headers=headers))
        _unavailable_json(api.post("/api/v1/accounts/", json={"name": "x"}, headers=headers))
        _unavailable_json(api.post("/api/v1/security/login", json={"username": "admin", "password": PASSWORD,
                                                                  "provider": "db"}))
        _unavailable_json(_signed_telegram(api))
        for path in ("/board/", "/accounts/", "/dashboard/"):
            page = pages.get(path, headers={"Accept": "text/html"})
            body = page.get_data(as_text=True)
            assert page.status_code == 503 and page.headers["Retry-After"] == "10", body[:500]
            assert page.mimetype == "text/html" and 'data-status="503"' in body
            assert "Traceback" not in body and "OperationalError" not in body
    finally:
        second_postgres.start()

    deadline = time.monotonic() + 30
    while True:  # the pool checks its connections (pool_pre_ping): no restart of the app
        response = api.get("/api/v1/opportunities/", headers=headers)
        if response.status_code == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert pages.get("/board/").status_code == 200
    assert _signed_telegram(api).status_code == 200
