"""One live server (its own app on the session database, CSRF on) and one Chromium per session."""
import os
import socket
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.conftest import PASSWORD

OUTPUT = Path(os.environ.get("CRM_TEST_OUTPUT", Path(__file__).resolve().parents[2] / "test-output"))
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync", "--disable-quic"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def live_server(app, database_url):
    """The real app (CSRF enforced) served on a free port in a thread, sharing the test database."""
    from app import create_app

    served = create_app(SQLALCHEMY_DATABASE_URI=database_url)
    port = _free_port()
    server = make_server("127.0.0.1", port, served, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    server.shutdown()
    with served.app_context():
        from app.extensions import db

        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian's chromium is not installed (make test installs it when run as root)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture()
def page_as(browser, live_server):
    """page_as(role, lang="en", timezone_id=None) -> a logged-in Playwright page (the browser's own
    zone is the machine's unless given)."""
    contexts = []

    def open_page(role: str, lang: str = "en", timezone_id: str | None = None):
        context = browser.new_context(viewport={"width": 1500, "height": 950},
                                      **({"timezone_id": timezone_id} if timezone_id else {}))
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10000)
        page.goto(live_server + "/login/")
        page.fill("#username", role.lower())
        page.fill("#password", PASSWORD)
        page.click("[type=submit]")
        page.wait_for_load_state()
        page.goto(f"{live_server}/lang/{lang}")
        return page

    yield open_page
    for context in contexts:
        context.close()


def screenshot(page, name: str) -> None:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(OUTPUT / f"{name}.png"), full_page=True)


def open_sized(page_as, live_server, role, lang, size, path):
    """A page of the app as `role` in `lang`, in a window of `size` (width, height), loaded."""
    page = page_as(role, lang)
    page.set_viewport_size({"width": size[0], "height": size[1]})
    page.goto(live_server + path)
    page.wait_for_load_state("load")
    return page


def page_overflow(page) -> int:
    """How many pixels the page is wider than the window (0 when it fits)."""
    return page.evaluate("Math.max(0, document.documentElement.scrollWidth - window.innerWidth)")
