"""Studio CRM application factory."""
from __future__ import annotations

from pathlib import Path

from flask import Flask
from flask_appbuilder import AppBuilder

from config import INSTANCE_DIR, make_config

from . import reporting, settings
from .extensions import csrf, db, migrate

MIGRATIONS_DIR = str(Path(__file__).resolve().parent.parent / "migrations")


def create_app(**overrides) -> Flask:
    """Build one app: config from the environment (plus overrides), extensions, views, APIs."""
    app = Flask(__name__, instance_path=str(INSTANCE_DIR))
    app.config.from_mapping(make_config(**overrides))
    settings.configure(app.config)
    db.init_app(app)
    reporting.init_app(app)  # the reports database (CRM_REPORTS_DATABASE_URL), if any
    csrf.init_app(app)
    app.before_request(_csrf_for_cookie_sessions)
    migrate.init_app(app, db, directory=MIGRATIONS_DIR, compare_type=True)

    from . import models  # noqa: F401  (register tables on the shared metadata)
    from .security import CrmSecurityManager
    from . import scope
    from .services import aggregates, audit, merge
    from . import schemas
    from .web import local_now, request_scope
    from .views import register_views
    from .views.dashboard import CrmIndexView

    audit.install()
    merge.install()  # the similar-name pairs of accounts (duplicates)
    aggregates.install()  # after the audit listener: it reads the values the rules decided
    scope.install()
    scope.set_request_provider(request_scope)
    schemas.set_clock(local_now)
    with app.app_context():
        appbuilder = AppBuilder(security_manager_class=CrmSecurityManager, update_perms=False, indexview=CrmIndexView)
        appbuilder.init_app(app, db.session)
        register_views(appbuilder)
        _api_locale(app, appbuilder)

    from . import errors, sessions
    from .cli import crm
    from .webhooks import bp as webhooks

    errors.install(app)
    sessions.install(app)

    app.register_blueprint(webhooks)
    csrf.exempt(webhooks)
    app.cli.add_command(crm)
    return app


def _csrf_for_cookie_sessions():
    """A request that carries `Authorization: Bearer …` is authenticated by that token alone (a
    JSON 401 if it is not a valid, unrevoked JWT; the session cookie is ignored for it), and only
    such a request is exempt from the CSRF check. Every other unsafe request authenticated by the
    session cookie needs the CSRF token (forms and the browser's API calls alike); anonymous API
    calls get FAB's JSON 401, signed webhooks and the login endpoints need no token."""
    from flask import current_app, request
    from flask_login import current_user

    from .sessions import API_LOGIN, API_REFRESH, authenticate_bearer, token_authenticated

    refusal = authenticate_bearer()
    if refusal is not None:
        return refusal
    if not current_app.config.get("WTF_CSRF_ENABLED", True):
        return None
    if request.method in ("GET", "HEAD", "OPTIONS", "TRACE") or token_authenticated():
        return None
    if request.blueprint == "webhooks" or request.path in (API_LOGIN, API_REFRESH):
        return None
    if request.path.startswith("/api/") and not current_user.is_authenticated:
        return None  # no session to forge: FAB answers 401
    csrf.protect()
    return None


def _api_locale(app: Flask, appbuilder) -> None:
    """Pages follow the user's chosen language (Russian by default). API calls without a
    session speak English unless `?_l_=` or Accept-Language asks for Russian: scripts read
    English error messages, the browser's own API calls follow the page's language."""
    from flask import request, session
    from flask_babel import get_babel

    pages_locale = appbuilder.bm.get_locale

    def select_locale():
        if request.path.startswith(("/api/", "/webhooks/")) and "_l_" not in request.args and not session.get("locale"):
            return request.accept_languages.best_match(list(app.config["LANGUAGES"])) or "en"
        return pages_locale()

    from .web import request_timezone_name

    with app.app_context():
        get_babel(app).locale_selector = select_locale
        get_babel(app).timezone_selector = request_timezone_name
