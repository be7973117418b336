"""Refusals and failures as the app's own answers: a page inside the app (navigation, the user's
language) for the browser, `{"message": …}` in the user's language for the API, webhooks and
fetch calls that ask for JSON. Never Werkzeug's stock page, never a traceback.

`install(app)` registers the handlers (400, 403, 404, 405, 413, 500); `message(code)` is the one
wording of each, also used by the REST API's own 403/404 answers (app/api/base.py).

It is also the boundary for bad input (README "Limits and bad input"): `guard` runs before
anything else of a request and refuses what no view can use — a body over MAX_CONTENT_LENGTH
(413, before the body is read or anyone is authenticated), NUL in the query string, JSON nested
deeper than MAX_JSON_DEPTH, unreadable rison `q`, FAB's list paging out of bounds (400). And it is
the last line: a value the database could not take (DataError, a malformed id, NUL or a lone
surrogate refused by the driver), a RecursionError or OverflowError raised anywhere while
answering is a 400 with field messages, never a 500; the database being away is a 503 with
Retry-After (a standalone page: the app's layout itself needs the database)."""
from __future__ import annotations

import logging
import re
import sys
from types import MethodType
from urllib.parse import urlsplit

from flask import Flask, current_app, g, jsonify, render_template, request, url_for
from flask_babel import gettext, lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from markupsafe import escape
from sqlalchemy.exc import DisconnectionError, StatementError, TimeoutError as PoolTimeout
from werkzeug.exceptions import BadRequest, HTTPException, RequestEntityTooLarge

from app.domain.ranges import OUT_OF_RANGE
from app.domain.text import BAD_TEXT, MAX_JSON_DEPTH, TOO_DEEP, json_depth, text_error
from app.services.db_errors import data_error, unavailable

log = logging.getLogger(__name__)

# status -> (title, what happened in plain words)
MESSAGES = {
    400: (_l("Bad request"), _l("The request could not be understood. Reload the page and try again.")),
    403: (_l("Not allowed"), _l("You do not have the rights for this action. Ask the studio's owner or an admin.")),
    404: (_l("Not found"), _l("Not found: it was deleted, or you do not have access to it.")),
    405: (_l("Not available"), _l("This action is not available at this address. Go back and use the buttons "
                                   "on the page.")),
    413: (_l("Too large"), _l("The request is larger than the server accepts.")),
    500: (_l("Server error"), _l("Something went wrong on the server. It has been logged; try again later or "
                                 "tell an admin.")),
}
EXPIRED = _l("The page has expired. Reload it and try again.")  # a missing or stale CSRF token
UNAVAILABLE = (_l("Temporarily unavailable"), _l("The database cannot be reached right now. Try again in a minute."))
RETRY_AFTER = "10"  # seconds: the database usually restarts within that
NOT_RISON = "Not a valid rison argument."  # FAB's own wording of this refusal (not translated by FAB either)
JSON_PREFIXES = ("/api/", "/webhooks/")
MAX_PAGE = 100_000  # FAB's list pages (page_<View>) and the app's page and offset parameters
MAX_LIST_PAGE_SIZE = 100  # FAB's psize_<View> (its menu offers 25 to 100)
# raised while answering, these may be the client's doing: asked for `fault_response`
FAULTS = (StatementError, DisconnectionError, PoolTimeout, ValueError, RecursionError, OverflowError)


class ClientFault(BadRequest):
    """Input no view can use, with field messages (static English, translated when answered)."""

    def __init__(self, messages: dict[str, list[str]]):
        super().__init__()
        self.messages = messages


def install(app: Flask) -> None:
    """Answer 400, 403, 404, 405, 413 and 500 with the app's page or JSON, refuse bad input first
    (`guard`), answer data errors 400 and an unreachable database 503 (see the module's docstring)."""
    for code in MESSAGES:
        app.register_error_handler(code, handle)
    for fault in FAULTS + _driver_errors():
        app.register_error_handler(fault, _fault)
    app.before_request_funcs.setdefault(None, []).insert(0, guard)  # before CSRF, sessions and logins
    appbuilder = getattr(app, "appbuilder", None)
    if appbuilder is not None:
        from flask_appbuilder.api import BaseApi

        for view in appbuilder.baseviews:  # FAB's own APIs (login, menu, OpenAPI) answer the same
            if isinstance(view, BaseApi) and type(view).response_500 is BaseApi.response_500:
                view.response_500 = MethodType(_fab_response_500, view)


def _driver_errors() -> tuple:
    try:
        import psycopg2
    except ImportError:  # pragma: no cover
        return ()
    return (psycopg2.Error,)


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
    fields = _translated(getattr(error, "messages", None) or {})
    headers = {}
    if code == 405 and getattr(error, "valid_methods", None):
        headers["Allow"] = ", ".join(error.valid_methods)
    if wants_json():
        response = jsonify(message=fields or text)
    else:
        if fields:
            text = " ".join([text] + [f"{name}: {m}" if name != "_schema" else m
                                      for name, found in fields.items() for m in found])
        try:
            response = current_app.make_response(_page(code, text))
        except Exception as exc:  # noqa: BLE001  (the layout needs the database)
            if not unavailable(exc):
                raise
            return _unavailable()
    response.status_code = code
    response.headers.update(headers)
    return response


def _translated(messages: dict) -> dict[str, list[str]]:
    return {name: [gettext(m) for m in found] for name, found in messages.items()}


# ---- the boundary: what no view can use is refused before any of them runs ----------------------

_FAB_PAGING = ((re.compile("page_(.*)"), 0, MAX_PAGE), (re.compile("psize_(.*)"), 1, MAX_LIST_PAGE_SIZE))


def guard() -> None:
    """Refuse, before the body is read and before anyone is authenticated: a body over
    MAX_CONTENT_LENGTH (413); NUL in the query string, unreadable rison `q`, FAB's list paging
    out of bounds, JSON nested too deeply (400 with field messages). Webhooks check their own
    bodies after their signature."""
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    if limit is not None and request.content_length is not None and request.content_length > limit:
        raise RequestEntityTooLarge()
    if limit is not None and request.content_length is None and request.environ.get("wsgi.input_terminated") \
            and request.method in ("POST", "PUT", "PATCH", "DELETE"):
        # a chunked body: Werkzeug stops reading at the limit and would hand on the first
        # MAX_CONTENT_LENGTH bytes as if they were all; read them (kept for the view) and one more
        if len(request.get_data(cache=True)) >= limit and request.environ["wsgi.input"].read(1):
            raise RequestEntityTooLarge()
    errors: dict[str, list[str]] = {}
    api = request.path.startswith("/api/")
    for key, values in request.args.lists():
        if text_error(key) or any(text_error(v) for v in values):
            errors["_schema" if text_error(key) else key] = [BAD_TEXT]
        elif api:
            if key == "q" and not _rison_readable(values[0]):
                errors[key] = [NOT_RISON]
        else:
            for pattern, low, high in _FAB_PAGING:
                if pattern.search(key) and not _whole_number_in(values[0], low, high):
                    errors[key] = [OUT_OF_RANGE]
    if errors:
        raise ClientFault(errors)
    if request.is_json and request.content_length and not request.path.startswith("/webhooks/"):
        try:
            body = request.get_json(silent=True)  # cached: the view reads the same object
        except RecursionError:
            raise ClientFault({"_schema": [TOO_DEEP]}) from None
        if isinstance(body, (dict, list)) and json_depth(body) > MAX_JSON_DEPTH:
            raise ClientFault({"_schema": [TOO_DEEP]})


def _whole_number_in(value: str, low: int, high: int) -> bool:
    try:
        return low <= int(value) <= high
    except ValueError:
        return False


def _rison_readable(value: str) -> bool:
    """False when FAB's rison decorator would fail with something other than its own 400 (prison
    raises RecursionError for "((((" and TypeError for "(page:")."""
    import prison

    try:
        prison.loads(value)
    except prison.decoder.ParserException:
        return True  # FAB answers 400 itself (or reads it as JSON)
    except Exception:  # noqa: BLE001
        return False
    return True


# ---- the last line: data errors raised anywhere while answering ---------------------------------

def client_fault(exc: BaseException) -> dict[str, list[str]] | None:
    """The field messages when `exc` was caused by the request's values, else None."""
    refusal = data_error(exc)
    if refusal is not None:
        return refusal.messages
    if isinstance(exc, RecursionError):
        return {"_schema": [TOO_DEEP]}
    if isinstance(exc, OverflowError):
        return {"_schema": [OUT_OF_RANGE]}
    return None


def fault_response(exc: BaseException | None):
    """The answer to an exception raised while answering a request when it is not a bug of ours:
    400 for the client's values, 413 for a body too large, 503 while the database is away; None
    for anything else (a 500)."""
    if exc is None:
        return None
    if isinstance(exc, HTTPException) and exc.code in (413,):
        return handle(exc)
    if unavailable(exc):
        log.warning("database unavailable: %s", str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        _forget_the_failed_transaction(quiet=True)
        return _unavailable()
    messages = client_fault(exc)
    if messages is None:
        return None
    log.info("refused a request's values (%s): %s", type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "")
    _forget_the_failed_transaction()
    return handle(ClientFault(messages))


def _fault(exc: BaseException):
    """Flask's handler of FAULTS: the answer of `fault_response`, else the exception goes on (500)."""
    answer = fault_response(exc)
    if answer is None:
        raise exc
    return answer


def _fab_response_500(api, message: str | None = None):
    """FAB's own APIs catch every exception in @safe and answer 500: answer faults as ours do."""
    from flask_appbuilder.api import BaseApi

    answer = fault_response(sys.exc_info()[1])
    return answer if answer is not None else BaseApi.response_500(api, message)


def _unavailable():
    """503 with Retry-After: JSON, or a page that needs neither the database nor FAB's layout."""
    try:
        title, text = str(UNAVAILABLE[0]), str(UNAVAILABLE[1])
    except Exception:  # noqa: BLE001  (the language is looked up without the database, but be sure)
        title, text = "Temporarily unavailable", "The database cannot be reached right now. Try again in a minute."
    if wants_json():
        response = jsonify(message=text)
    else:
        template = current_app.jinja_env.get_template("errors/unavailable.html")  # no context processors:
        response = current_app.make_response(template.render(title=title, text=text, again=request.url,
                                                              again_label=_try_again()))
    response.status_code = 503
    response.headers["Retry-After"] = RETRY_AFTER
    return response


def _try_again() -> str:
    try:
        return gettext("Try again")
    except Exception:  # noqa: BLE001
        return "Try again"


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


def _forget_the_failed_transaction(quiet: bool = False) -> None:
    """Roll back what the failed request left open so the page (menu, permissions) can still read."""
    from app.extensions import db

    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001  (the connection itself may be gone)
        if not quiet:
            log.exception("rollback after a server error failed")

