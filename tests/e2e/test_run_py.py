"""run.py on an empty SQLite file: migrates, creates the admin, serves; the admin logs in over HTTP."""
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.smoke


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tail(log, lines: int = 40) -> str:
    """The last lines of the server's combined stdout/stderr log."""
    log.flush()
    log.seek(0)
    return "".join(log.readlines()[-lines:])


def _wait(url: str, proc, log, timeout: float = 90) -> None:
    """Poll `url` until the server answers; any requests error (refused, reset, timeout) means
    "not up yet" until the deadline. Fails with the server's output tail if it exits or never answers."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"run.py exited with {proc.returncode} before serving {url}; "
                                 f"output tail:\n{_tail(log)}")
        try:
            requests.get(url, timeout=5)
            return
        except requests.RequestException as error:
            last_error = error
            time.sleep(0.5)
    raise AssertionError(f"server did not answer {url} within {timeout:.0f} s (last error: {last_error!r}); "
                         f"output tail:\n{_tail(log)}")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    instance = tmp_path_factory.mktemp("instance")
    port = _free_port()
    env = dict(os.environ, CRM_INSTANCE_DIR=str(instance), PORT=str(port), HOST="127.0.0.1",
               WEB_CONCURRENCY="1")
    env.pop("DATABASE_URL", None)
    env.pop("CRM_ADMIN_PASSWORD", None)
    log = open(instance / "server.log", "w+")
    proc = subprocess.Popen([sys.executable, "run.py", "--demo"], cwd=ROOT, env=env, stdout=log,
                            stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(base + "/login/", proc, log)
        log.seek(0)
        output = log.read()
        password = re.search(r"with password: (\S+)", output).group(1)
        yield base, password, instance, env
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()


def test_fresh_sqlite_run_serves_login_and_the_admin_logs_in(server):
    base, password, instance, _ = server
    assert (instance / "crm.db").exists()
    assert (instance / "secret_key").exists()
    session = requests.Session()
    assert session.get(base + "/login/").status_code == 200
    page = session.get(base + "/login/").text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = session.post(base + "/login/", data={"username": "admin", "password": password, "csrf_token": token})
    assert response.status_code == 200
    for view in ("accountview", "contactview", "opportunityview", "projectview", "offerview", "opportunityeventview"):
        listing = session.get(f"{base}/{view}/list/")
        assert listing.status_code == 200, view
    assert "Кофейня" in session.get(base + "/accountview/list/?psize_AccountView=100").text


def test_running_again_keeps_data_and_demo_adds_nothing(server):
    _, _, instance, env = server
    result = subprocess.run([sys.executable, "run.py", "--demo", "--no-serve"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "already loaded" in result.stdout
    assert "with password" not in result.stdout
