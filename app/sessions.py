"""Logins, sessions and tokens you can revoke, and the security headers of every answer.

* **Failed logins** (the form at /login/ and POST /api/v1/security/login alike; successes are not
  counted): `CRM_LOGIN_MAX_FAILURES` wrong passwords in a row lock the user for
  `CRM_LOGIN_LOCK_MINUTES` (kept in PostgreSQL on `ab_user`: `fail_login_count`, `locked_until`,
  so every worker sees it); meanwhile even the right password is refused. A success resets the
  count. Each address may fail `CRM_LOGIN_ADDRESS_MAX_FAILURES` times per
  `CRM_LOGIN_ADDRESS_WINDOW_MINUTES` (counted in PostgreSQL, `login_failures`: one row per address
  and minute, so every worker and every app host shares the count). A refusal is a 429
  with `Retry-After`: JSON `{"message"}` on the API, the login page with the message on the form.
* **Revocation**: a session cookie carries its own id and the time it began. `ab_user.
  sessions_valid_after` (moved by a password change) kills every session and JWT of that user
  that began before it; logging out puts the session id (the form's /logout/) or the token's
  `jti` (POST /api/v1/security/logout) in `revoked_tokens` until it would have expired anyway.
* **Bearer means Bearer**: a request that carries `Authorization: Bearer …` is authenticated by
  that token alone (the session cookie is ignored for it); an invalid, expired or revoked token is
  a JSON 401. Only such a request is exempt from the CSRF check (app._csrf_for_cookie_sessions).
* **Headers**: CSP with a per-request nonce for FAB's inline scripts (its templates ask
  `csp_nonce()`), frame-ancestors 'none' and X-Frame-Options DENY, nosniff, Referrer-Policy, and
  HSTS when served over HTTPS (`CRM_HTTPS`, or https seen through `CRM_PROXY_FIX`).
"""
from __future__ import annotations

import logging
import math
import secrets
import time
from datetime import datetime, timedelta, timezone

from flask import Flask, current_app, flash, g, has_request_context, jsonify, request, session
from flask_appbuilder.api import safe
from flask_appbuilder.security.api import SecurityApi
from flask_appbuilder.views import expose
from flask_babel import gettext, lazy_gettext as _l
from flask_jwt_extended import decode_token, get_current_user, get_jwt, verify_jwt_in_request
from flask_jwt_extended.exceptions import JWTExtendedException
from flask_login import current_user, logout_user, user_logged_in, user_logged_out
from jwt.exceptions import ExpiredSignatureError, PyJWTError
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from app.extensions import db, upsert
from app.models.limits import LoginFailure
from app.models.user import RevokedToken, User

log = logging.getLogger(__name__)

SESSION_ID = "_crm_sid"  # the session's own id (what /logout/ revokes)
SESSION_AT = "_crm_at"  # when the session began (epoch seconds), compared with sessions_valid_after
ISSUED = "crm_iat"  # a JWT's issue time with sub-second precision (its `iat` has whole seconds)
FORM_LOGIN = "/login/"
API_LOGIN = "/api/v1/security/login"
API_REFRESH = "/api/v1/security/refresh"
API_LOGOUT = "/api/v1/security/logout"
EXTENSION = "crm_login_failures"

NOT_SIGNED_IN = _l("Not signed in: the token is missing, invalid, expired or revoked. Log in again.")
LOGGED_OUT = _l("Logged out.")
BAD_REFRESH = _l("refresh_token is not a valid token.")


def install(app: Flask) -> None:
    """Register the login throttle, the revocation hooks and the security headers on `app`."""
    app.extensions[EXTENSION] = True  # marks an app with these hooks (failures live in login_failures)
    app.before_request(refuse_throttled_login)
    app.after_request(security_headers)
    app.jinja_env.globals["csp_nonce"] = csp_nonce
    user_logged_in.connect(_session_began)
    user_logged_out.connect(_session_ended)
    if app.config.get("CRM_HTTPS"):
        app.config.update(SESSION_COOKIE_SECURE=True, REMEMBER_COOKIE_SECURE=True, PREFERRED_URL_SCHEME="https")
    if app.config.get("CRM_PROXY_FIX"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1, x_port=1, x_prefix=1)


def _ours() -> bool:
    return has_request_context() and EXTENSION in current_app.extensions


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def epoch(moment: datetime | None) -> float | None:
    """A stored time as epoch seconds (SQLite gives it back without its zone: UTC)."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


# ---- failed logins ----------------------------------------------------------------------------

def _bucket(moment: datetime) -> datetime:
    """The minute a failure is counted in."""
    return moment.replace(second=0, microsecond=0)


def _address_limits() -> tuple[int, float]:
    config = current_app.config
    return (config.get("CRM_LOGIN_ADDRESS_MAX_FAILURES", 50),
            config.get("CRM_LOGIN_ADDRESS_WINDOW_MINUTES", 15) * 60)


def reset_login_failures(app: Flask) -> None:
    """Forget every per-address failure (tests; an admin after a false alarm: `DELETE FROM
    login_failures`)."""
    with app.app_context():
        try:
            db.session.execute(delete(LoginFailure))
            db.session.commit()
        except SQLAlchemyError:
            db.session.rollback()
            raise


def _address() -> str:
    return (request.remote_addr or "unknown")[:64]


def address_retry_after(address: str, limit: int, window: float) -> int | None:
    """Seconds until `address` may try again (its last `limit` failures inside the window), or
    None when it may now. Read from the database, so every worker and host agrees."""
    if limit <= 0:
        return None
    now = utcnow()
    rows = db.session.execute(
        select(LoginFailure.bucket, LoginFailure.failures)
        .where(LoginFailure.address == address, LoginFailure.bucket > now - timedelta(seconds=window))
        .order_by(LoginFailure.bucket.desc())).all()
    seen = 0
    for bucket, failures in rows:
        seen += failures
        if seen >= limit:
            return max(1, math.ceil(epoch(bucket) + window - now.timestamp()))
    return None


def _address_retry_after() -> int | None:
    limit, window = _address_limits()
    try:
        return address_retry_after(_address(), limit, window)
    except SQLAlchemyError:
        db.session.rollback()
        log.exception("could not read the failed logins of an address")
        return None


def add_address_failure(address: str, window: float) -> None:
    """One more failed login of `address`: an atomic increment of its current minute (concurrent
    workers lose no count), and the minutes that left the window are pruned (committed here)."""
    now = utcnow()
    table = LoginFailure.__table__
    statement = upsert(table).values(address=address, bucket=_bucket(now), failures=1)
    statement = statement.on_conflict_do_update(index_elements=[table.c.address, table.c.bucket],
                                                set_={"failures": table.c.failures + 1})
    db.session.execute(statement)
    db.session.execute(delete(LoginFailure).where(LoginFailure.bucket < _bucket(now) - timedelta(seconds=window + 60))
                       .execution_options(synchronize_session=False))
    db.session.commit()


def count_address_failure() -> None:
    """One more failed login from the request's address."""
    if not _ours():
        return
    _, window = _address_limits()
    try:
        add_address_failure(_address(), window)
    except SQLAlchemyError:
        db.session.rollback()
        log.exception("could not count a failed login of an address")


def _find_user(sm, username) -> User | None:
    if not isinstance(username, str) or not username or "\x00" in username:
        return None
    try:
        return sm.find_user(username=username) or sm.find_user(email=username)
    except SQLAlchemyError:
        db.session.rollback()
        return None


def user_retry_after(user: User | None) -> int | None:
    """Seconds the user stays locked, or None."""
    until = epoch(getattr(user, "locked_until", None))
    if until is None:
        return None
    left = until - time.time()
    return math.ceil(left) if left > 0 else None


def login_retry_after(sm, username) -> int | None:
    """Seconds before this login may be tried (the address's or the user's lock), or None."""
    if not _ours():
        return None
    return _address_retry_after() or user_retry_after(_find_user(sm, username))


def count_user_failure(sm, user: User) -> None:
    """One more wrong password of `user`, counted in the database in one statement (concurrent
    workers do not lose a count); every CRM_LOGIN_MAX_FAILURES-th locks the user."""
    config = current_app.config
    limit = config.get("CRM_LOGIN_MAX_FAILURES", 10)
    session_ = sm.session
    try:
        count = session_.execute(
            update(User).where(User.id == user.id)
            .values(fail_login_count=func.coalesce(User.fail_login_count, 0) + 1)
            .returning(User.fail_login_count)
            .execution_options(synchronize_session=False)).scalar_one()
        if limit > 0 and count % limit == 0:
            until = utcnow() + timedelta(minutes=config.get("CRM_LOGIN_LOCK_MINUTES", 15))
            session_.execute(update(User).where(User.id == user.id).values(locked_until=until)
                             .execution_options(synchronize_session=False))
            log.warning("login of user %s locked until %s after %s failed attempts", user.id, until, count)
        session_.commit()
    except SQLAlchemyError:
        session_.rollback()
        log.exception("could not count a failed login")
    session_.expire(user)


def refuse_throttled_login():
    """Before the login form or the API login runs: refuse (429) while the address or the user
    is locked, without checking the password."""
    if request.method != "POST" or request.path not in (FORM_LOGIN, API_LOGIN):
        return None
    if request.path == API_LOGIN:
        body = request.get_json(silent=True)
        username = body.get("username") if isinstance(body, dict) else None
    else:
        username = request.form.get("username")
    retry = login_retry_after(current_app.appbuilder.sm, username)
    if retry is None:
        return None
    text = gettext("Too many failed sign-in attempts. Try again in %(minutes)s min.",
                   minutes=max(1, math.ceil(retry / 60)))
    if request.path == API_LOGIN:
        response = jsonify(message=text)
    else:
        response = current_app.make_response(_login_page(text))
    response.status_code = 429
    response.headers["Retry-After"] = str(retry)
    return response


def _login_page(text: str) -> str:
    from flask_appbuilder.security.forms import LoginForm_db

    sm = current_app.appbuilder.sm
    flash(text, "danger")
    view = sm.auth_view
    return view.render_template(view.login_template, title=view.title, form=LoginForm_db(),
                                appbuilder=current_app.appbuilder)


# ---- sessions -------------------------------------------------------------------------------------

def _session_began(_app, user=None, **_extra) -> None:
    """A new login (Flask-Login's user_logged_in): the session gets its own id and start time."""
    if not _ours():
        return
    session[SESSION_ID] = secrets.token_urlsafe(24)
    session[SESSION_AT] = time.time()


def _session_ended(_app, user=None, **_extra) -> None:
    """A logout (Flask-Login's user_logged_out): the presented session is dead even if its cookie
    was copied before."""
    if not _ours():
        return
    sid = session.pop(SESSION_ID, None)
    session.pop(SESSION_AT, None)
    if isinstance(sid, str) and sid:
        revoke(sid, utcnow() + current_app.permanent_session_lifetime)


def _forget_session() -> None:
    for key in ("_user_id", "_fresh", "_id", SESSION_ID, SESSION_AT):
        session.pop(key, None)


def session_is_valid(user: User) -> bool:
    """Whether the request's session cookie may still act for `user`: it has an id and a start
    time, began after the user's sessions_valid_after, and was not logged out."""
    sid, began = session.get(SESSION_ID), session.get(SESSION_AT)
    valid = isinstance(sid, str) and bool(sid) and isinstance(began, (int, float))
    if valid:
        after = epoch(user.sessions_valid_after)
        valid = (after is None or began >= after) and not is_revoked(sid)
    if not valid:
        _forget_session()
    return valid


def revoke_all(user: User) -> datetime:
    """Every session and token of `user` issued before now is dead (committed by the caller)."""
    user.sessions_valid_after = utcnow()
    return user.sessions_valid_after


def keep_current_session(user: User, valid_after: datetime) -> None:
    """The session that changed its own user's password stays logged in (a copy of its cookie
    taken before does not)."""
    if has_request_context() and g.get("crm_token") is None and session.get("_user_id") == str(user.id):
        session[SESSION_AT] = epoch(valid_after)


# ---- the blocklist ------------------------------------------------------------------------------

def is_revoked(jti: str) -> bool:
    return db.session.execute(select(RevokedToken.jti).where(RevokedToken.jti == jti)).first() is not None


def revoke(jti: str, expires_at: datetime) -> None:
    """Put a session id or token id on the blocklist (and drop the entries that have expired)."""
    try:
        db.session.execute(delete(RevokedToken).where(RevokedToken.expires_at < utcnow()))
        if db.session.get(RevokedToken, jti) is None:
            db.session.add(RevokedToken(jti=jti[:64], expires_at=expires_at))
        db.session.commit()
    except IntegrityError:  # revoked by a concurrent request
        db.session.rollback()


# ---- JWT ----------------------------------------------------------------------------------------

def configure_jwt(jwt_manager) -> None:
    """FAB's JWTManager: tokens carry a precise issue time and are checked against the blocklist
    and the user's sessions_valid_after on every use (access and refresh tokens alike)."""
    jwt_manager.additional_claims_loader(lambda _identity: {ISSUED: time.time()})
    jwt_manager.token_in_blocklist_loader(token_revoked)
    jwt_manager.revoked_token_loader(lambda _header, _payload: unauthorized())


def token_revoked(_header: dict, payload: dict) -> bool:
    cache = g.setdefault("crm_revoked", {})
    jti = payload.get("jti")
    if jti not in cache:
        cache[jti] = _token_revoked(payload)
    return cache[jti]


def _token_revoked(payload: dict) -> bool:
    jti = payload.get("jti")
    if isinstance(jti, str) and is_revoked(jti):
        return True
    try:
        user = current_app.appbuilder.sm.get_user_by_id(int(payload.get("sub")))
    except (TypeError, ValueError):
        return True
    after = epoch(getattr(user, "sessions_valid_after", None))
    if after is None:
        return False
    issued = payload.get(ISSUED, payload.get("iat"))
    return not isinstance(issued, (int, float)) or issued < after


def unauthorized():
    response = jsonify(message=str(NOT_SIGNED_IN))
    response.status_code = 401
    response.headers["WWW-Authenticate"] = "Bearer"
    return response


def authenticate_bearer():
    """A request with `Authorization: Bearer …` is the token's: verify it (401 JSON if it is not
    valid) and let it, not the session cookie, be the request's user. Returns a refusal or None."""
    if not request.headers.get("Authorization", "").startswith("Bearer "):
        return None
    if request.blueprint == "webhooks" or request.path == API_LOGIN:
        return None
    refresh = request.path == API_REFRESH
    try:
        verify_jwt_in_request(refresh=refresh, verify_type=request.path != API_LOGOUT)
        token = get_jwt()
        user = get_current_user()
    except (JWTExtendedException, PyJWTError, ValueError, TypeError):
        return unauthorized()
    if not token.get("sub") or user is None:
        return unauthorized()
    g.crm_token = token
    if token.get("type") == "access":
        g._login_user = user  # Flask-Login's (and so FAB's) current user: the cookie's is ignored
    return None


def token_authenticated() -> bool:
    """Whether this request was authenticated by a verified JWT (not by the session cookie)."""
    return g.get("crm_token") is not None


def _token_expiry(token: dict) -> datetime:
    exp = token.get("exp")
    if isinstance(exp, (int, float)):
        return datetime.fromtimestamp(exp, timezone.utc)
    return utcnow() + current_app.config["JWT_REFRESH_TOKEN_EXPIRES"]


class CrmSecurityApi(SecurityApi):
    """FAB's login and refresh, plus a logout that revokes tokens."""

    @expose("/logout", methods=["POST"])
    @safe
    def logout(self):
        """Log out: revoke the presented token (and a refresh token given in the body)
        ---
        post:
          description: >-
            Revokes the access or refresh token of the Authorization header and, if given, the
            refresh token of the body (of the same user). With `everywhere: true` every session
            and token of the user issued so far is revoked. A browser session (cookie and
            X-CSRFToken) is logged out the same way.
          requestBody:
            required: false
            content:
              application/json:
                schema:
                  type: object
                  properties:
                    refresh_token:
                      description: a refresh token to revoke too
                      type: string
                    everywhere:
                      description: revoke every session and token of the user
                      type: boolean
          responses:
            200:
              description: Logged out
              content:
                application/json:
                  schema:
                    type: object
                    properties:
                      message:
                        type: string
            400:
              $ref: '#/components/responses/400'
            401:
              $ref: '#/components/responses/401'
          security:
            - jwt: []
            - jwt_refresh: []
        """
        body = request.get_json(silent=True) if request.data else {}
        if not isinstance(body, dict):
            return self.response_400(message=str(BAD_REFRESH))
        token = g.get("crm_token")
        if token is None:
            if not current_user.is_authenticated:
                return unauthorized()
            user_id = current_user.id
            logout_user()
        else:
            user_id = int(token["sub"])
            revoke(token["jti"], _token_expiry(token))
            refresh_token = body.get("refresh_token")
            if refresh_token is not None:
                try:
                    other = decode_token(refresh_token) if isinstance(refresh_token, str) else None
                except ExpiredSignatureError:
                    other = {}
                except (JWTExtendedException, PyJWTError, ValueError):
                    other = None
                if other is None:
                    return self.response_400(message=str(BAD_REFRESH))
                if other.get("sub") == token["sub"] and other.get("jti"):
                    revoke(other["jti"], _token_expiry(other))
        if body.get("everywhere") is True:
            sm = current_app.appbuilder.sm
            user = sm.get_user_by_id(user_id)
            revoke_all(user)
            sm.session.commit()
        return self.response(200, message=str(LOGGED_OUT))


# ---- security headers ---------------------------------------------------------------------------

def csp_nonce() -> str:
    """The nonce of this response's inline scripts (FAB's templates call csp_nonce())."""
    if "crm_csp_nonce" not in g:
        g.crm_csp_nonce = secrets.token_urlsafe(18)
    return g.crm_csp_nonce


def content_security_policy(nonce: str | None, path: str) -> str:
    scripts = "'self'" + (f" 'nonce-{nonce}'" if nonce else "")
    images = "'self' data:"
    if path.startswith("/swagger/"):
        images += " https://validator.swagger.io"  # Swagger UI's "valid" badge (FAB's page)
    return "; ".join((
        "default-src 'self'",
        f"script-src {scripts}",
        "style-src 'self' 'unsafe-inline'",  # FAB's and the pages' style attributes
        f"img-src {images}",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ))


def security_headers(response):
    headers = response.headers
    headers.setdefault("Content-Security-Policy", content_security_policy(g.get("crm_csp_nonce"), request.path))
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    if current_app.config.get("CRM_HTTPS") or request.is_secure:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    return response
