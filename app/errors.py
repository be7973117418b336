"""Refusals and failures as the app's own answers: a page inside the app (navigation, the user's
language) for the browser, `{"message": …}` in the user's language for the API, webhooks and
fetch calls that ask for JSON. Never Werkzeug's stock page, never a traceback.

`install(app)` registers the handlers (400, 403, 404, 405, 500); `message(code)` is the one
wording of each, also used by the REST API's own 403/404 answers (app/api/base.py)."""
from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import Flask, current_app, g, jsonify, render_template, request, url_for
from flask_babel import gettext, lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from markupsafe import escape

log = logging.getLogger(__name__)

# status -> (title, what happened in plain words)
MESSAGES = {
    400: (_l("Bad request"), _l("The request could not be understood. Reload the page and try again.")),
    403: (_l("Not allowed"), _l("You do not have the rights for this action. Ask the studio's owner or an admin.")),
    404: (_l("Not found"), _l("Not found: it was deleted, or you do not have access to it.")),
    405: (_l("Not available"), _l("This action is not available at this address. Go back and use the buttons "
                                   "on the page.")),
    500: (_l("Server error"), _l("Something went wrong on the server. It has been logged; try again later or "
                                 "tell an admin.")),
}
EXPIRED = _l("The page has expired. Reload it and try again.")  # a missing or stale CSRF token
JSON_PREFIXES = ("/api/", "/webhooks/")


def install(app: Flask) -> None:
    """Answer 400, 403, 404, 405 and 500 with the app's page or JSON (see the module's docstring)."""
    for code in MESSAGES:
        app.register_error_handler(code, handle)


def message(code: int) -> str:
    """What happened, in the request's language."""
    return str(MESSAGES.get(code, MESSAGES[500])[1])


def wants_json() -> bool:
    """API and webhook paths, and calls whose Accept prefers JSON to HTML (fetch, XHR)."""
    if request.path.startswith(JSON_PREFIXES):
        return True
    return request.accept_mimetypes.best_match(["text/html", "application/json"]) == "application/json"


def handle(error: Exception):
    code = getattr(error, "code", None) or 500
    if code == 500:
        _forget_the_failed_transaction()
    text = str(EXPIRED) if isinstance(error, CSRFError) else message(code)
    headers = {}
    if code == 405 and getattr(error, "valid_methods", None):
        headers["Allow"] = ", ".join(error.valid_methods)
    if wants_json():
        response = jsonify(message=text)
    else:
        response = current_app.make_response(_page(code, text))
    response.status_code = code
    response.headers.update(headers)
    return response


def _page(code: int, text: str) -> str:
    title = str(MESSAGES.get(code, MESSAGES[500])[0])
    try:
        appbuilder = current_app.appbuilder
        if not hasattr(g, "user"):  # refused before FAB's before_request ran (e.g. the CSRF check)
            g.user = current_user
        return render_template("errors/error.html", base_template=appbuilder.base_template, appbuilder=appbuilder,
                               current_app=current_app, code=code, title=title, text=text, back=_back(),
                               home=_home(appbuilder))
    except Exception:  # the layout itself failed (e.g. the database is down): still no traceback
        if code != 500:
            raise
        log.exception("the error page could not be rendered")
        return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{escape(title)}</title></head>"
                f"<body><h1>{escape(title)}</h1><p>{escape(text)}</p><p><a href='/'>{escape(gettext('Home'))}</a>"
                "</p></body></html>")


def _home(appbuilder) -> tuple[str, str]:
    """Where to go from here: the board for those who may read it, else the start page."""
    user = getattr(g, "user", None)
    if user is not None and user.is_authenticated and appbuilder.sm.has_access("can_read", "Board"):
        return url_for("BoardView.index"), gettext("Back to the board")
    return appbuilder.get_url_for_index or "/", gettext("Go to the start page")


def _back() -> str | None:
    """The page the user came from, when it is a page of this app (not the refused address)."""
    referrer = request.referrer or ""
    if not referrer or referrer == request.url:
        return None
    here, there = urlsplit(request.host_url), urlsplit(referrer)
    return referrer if (there.scheme, there.netloc) == (here.scheme, here.netloc) else None


def _forget_the_failed_transaction() -> None:
    """Roll back what the failed request left open so the page (menu, permissions) can still read."""
    from app.extensions import db

    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001  (the connection itself may be gone)
        log.exception("rollback after a server error failed")

