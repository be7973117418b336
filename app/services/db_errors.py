"""Turn database refusals into field-level domain errors (never SQL text to a user)."""
from __future__ import annotations

import re
from decimal import Decimal

from sqlalchemy.exc import (DataError, DBAPIError, DisconnectionError, IntegrityError, OperationalError,
                            StatementError, TimeoutError as PoolTimeout)

from app.domain.errors import ConflictError, DomainError, N_, RuleViolation
from app.domain.ranges import MAX_INT, OUT_OF_RANGE
from app.domain.text import BAD_TEXT, text_error

# constraint name -> (field, message, is a uniqueness conflict)
CONSTRAINTS = {
    "uq_accounts_domain_lower": ("domain", N_("An account with this domain already exists."), True),
    "uq_contacts_email_lower": ("email", N_("A contact with this e-mail already exists."), True),
    "ck_accounts_icp_fit_score": ("icp_fit_score", N_("Must be between 0 and 100."), False),
    "ck_contacts_influence_score": ("influence_score", N_("Must be between 0 and 100."), False),
    "ck_accounts_segment": ("segment", N_("Not a valid choice."), False),
    "ck_accounts_status": ("status", N_("Not a valid choice."), False),
    "ck_opportunities_stage": ("stage", N_("Not a valid choice."), False),
    "ck_opportunities_status": ("status", N_("Not a valid choice."), False),
    "ck_opportunities_forecast_category": ("forecast_category", N_("Not a valid choice."), False),
    "ck_opportunities_probability": ("probability", N_("Must be between 0 and 1."), False),
    "ck_opportunities_amount": ("amount_estimate", N_("Must not be negative."), False),
    "ck_opportunities_discount": ("discount_percent", N_("Must be between 0 and 100."), False),
    "ck_opportunities_currency": ("currency", N_("Must be a three-letter ISO 4217 code."), False),
    "ck_projects_status": ("status", N_("Not a valid choice."), False),
    "ck_projects_dates": ("end_date", N_("Must not be before the start date."), False),
    "ck_offers_status": ("status", N_("Not a valid choice."), False),
    "ck_offers_amount": ("amount", N_("Must not be negative."), False),
    "ck_offers_discount": ("discount_percent", N_("Must be between 0 and 100."), False),
    "uq_project_members_project_user": ("user", N_("This user is already a member."), True),
}


def _constraint_name(exc: IntegrityError) -> str | None:
    diag = getattr(exc.orig, "diag", None)
    name = getattr(diag, "constraint_name", None)
    if name:
        return name
    text = str(exc.orig)
    return next((known for known in CONSTRAINTS if known in text), None)


def integrity_error(exc: IntegrityError) -> DomainError:
    """The field error a database refusal means for the user."""
    name = _constraint_name(exc)
    if name in CONSTRAINTS:
        field, message, conflict = CONSTRAINTS[name]
        return (ConflictError if conflict else RuleViolation)({field: [message]})
    text = str(exc.orig).lower()
    if "not null" in text or "not-null" in text:
        return RuleViolation({"_schema": [N_("A required field is missing.")]})
    if "foreign key" in text:
        return RuleViolation({"_schema": [N_("A referenced record does not exist or is still in use.")]})
    return ConflictError({"_schema": [N_("The change conflicts with existing data.")]})


# ---- values the database could not take, and the database being away -------------------------------

OUT_OF_RANGE_CODES = {"22003", "22008", "22015", "2201W", "2201X", "22009"}  # numeric/datetime overflow, LIMIT/OFFSET
TEXT_CODES = {"22021", "22P05"}  # a bad byte sequence, an untranslatable character (\u0000 in JSONB)
NOT_A_VALUE = N_("Not a valid value.")
DRIVER_MODULES = ("sqlalchemy.", "psycopg2")
FIELD_NAME = re.compile(r"[a-z][a-z_]*[a-z]")  # a column key ("name_1", "param_1": bound literals of a query)


def _innermost_frame(exc: BaseException):
    tb = exc.__traceback__
    if tb is None:
        return None
    while tb.tb_next is not None:
        tb = tb.tb_next
    return tb.tb_frame


def raised_by_driver(exc: BaseException) -> bool:
    """Whether the exception came out of SQLAlchemy or the driver (the innermost Python frame of its
    traceback is theirs): psycopg2 raises a plain ValueError for NUL in a parameter and a
    UnicodeEncodeError for a lone surrogate, which the app's own code must not be mistaken for."""
    frame = _innermost_frame(exc)
    return frame is not None and frame.f_globals.get("__name__", "").startswith(DRIVER_MODULES)


def _field_errors(params, bad, message: str) -> dict[str, list[str]]:
    """The message on each statement parameter whose value `bad` refuses (ORM writes name their
    parameters after the columns), else on the whole request."""
    rows = params if isinstance(params, (list, tuple)) else [params]
    names: list[str] = []
    for row in rows:
        if isinstance(row, dict):
            names += [name for name, value in row.items()  # not SQL's own names (name_1, lower_1, param_1)
                      if isinstance(name, str) and FIELD_NAME.fullmatch(name) and name not in names and bad(value)]
    return {name: [message] for name in names} if names else {"_schema": [message]}


def _too_big(value) -> bool:
    return isinstance(value, (int, Decimal)) and not isinstance(value, bool) and abs(value) > MAX_INT


def _bad_text(value) -> bool:
    return text_error(value) is not None


def data_error(exc: BaseException) -> DomainError | None:
    """The field error (422) a value the database could not take means, or None when `exc` is
    not such a refusal: a DataError (a number beyond its column, text that is not a number or a
    date), a value SQLAlchemy could not bind (a malformed UUID), or the driver's own refusal of
    NUL and lone surrogates (a ValueError or UnicodeEncodeError out of psycopg2)."""
    if isinstance(exc, DataError):
        code = getattr(exc.orig, "pgcode", None)
        if code in OUT_OF_RANGE_CODES:
            return RuleViolation(_field_errors(exc.params, _too_big, OUT_OF_RANGE))
        if code in TEXT_CODES:
            return RuleViolation(_field_errors(exc.params, _bad_text, BAD_TEXT))
        return RuleViolation({"_schema": [NOT_A_VALUE]})
    if isinstance(exc, StatementError):
        if not isinstance(exc, DBAPIError) and isinstance(exc.orig, (ValueError, TypeError, OverflowError)):
            return RuleViolation({"_schema": [NOT_A_VALUE]})  # could not bind a value ("1" for a UUID column)
        return None
    if isinstance(exc, ValueError) and raised_by_driver(exc):
        if isinstance(exc, UnicodeError) or "NUL" in str(exc):  # NUL or a lone surrogate in a parameter
            return RuleViolation(_field_errors(_innermost_frame(exc).f_locals.get("parameters"), _bad_text, BAD_TEXT))
        return RuleViolation({"_schema": [NOT_A_VALUE]})
    return None


def unavailable(exc: BaseException) -> bool:
    """Whether the database could not be reached (down, restarting, the pool exhausted): the
    request may succeed later, so it is answered 503 with Retry-After, not 500."""
    if isinstance(exc, (OperationalError, DisconnectionError, PoolTimeout)):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    try:
        import psycopg2
    except ImportError:  # pragma: no cover  (SQLite-only installs)
        return False
    return isinstance(exc, (psycopg2.OperationalError, psycopg2.InterfaceError))
