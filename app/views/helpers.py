"""Small things custom pages share: request filters, money and date formatting, role checks."""
from __future__ import annotations

import uuid
from decimal import Decimal, InvalidOperation

from flask import current_app, g, request
from markupsafe import Markup, escape
from flask_babel import format_currency, format_date, format_datetime, format_decimal, format_percent, get_locale

from app.domain import ownership
from app.domain.errors import N_, RuleViolation
from app.domain.stages import required_fields_for
from app.settings import current as stage_settings, stage_table
from app.domain.localtime import to_local
from app.web import request_actor, request_timezone, request_timezone_name


def sees_everyone() -> bool:
    """Whether the user holds the "sees everyone's metrics" permission (Owner and Admin by default)."""
    return request_actor().sees_everyone


def may_reopen() -> bool:
    """Whether the user holds the reopen permission (Owner and Admin by default)."""
    return request_actor().may_reopen


def can(permission: str, view: str) -> bool:
    """Whether the user's roles grant this permission (asked once per request and permission)."""
    cache = g.setdefault("crm_can", {})
    if (permission, view) not in cache:
        cache[(permission, view)] = bool(current_app.appbuilder.sm.has_access(permission, view))
    return cache[(permission, view)]


def may_change(owner_id: int | None, view: str = "Opportunity") -> bool:
    """Whether the user may change a deal (or an account: view="Account") with this owner: the
    role's write permission and the ownership rule (app.domain.ownership). Pages show a control
    only when this holds; the verbs enforce the same rule."""
    actor = request_actor()
    return can("can_write", view) and ownership.may_write(actor.id, actor.writes_all, owner_id)


def back_to(default: str) -> str:
    """Where to go after an action: the page it came from when that is one of the app's own
    (same host), else `default` — never a foreign address a Referer names."""
    from urllib.parse import urlsplit

    referrer = urlsplit(request.referrer or "")
    if referrer.netloc == request.host and referrer.path.startswith("/") and not referrer.path.startswith("//"):
        return referrer.path + (f"?{referrer.query}" if referrer.query else "")
    return default


def arg_uuid(name: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(request.args.get(name, ""))
    except ValueError:
        return None


def arg_project(name: str = "project") -> tuple[uuid.UUID | str | None, str]:
    """A page's project filter: (what the query takes, the select's value). "none" asks for the
    deals outside any project, a project id for that project's (the read scope hides the rest),
    anything else for all."""
    from app.queries.conditions import NO_PROJECT

    raw = (request.args.get(name) or "").strip()
    if raw == NO_PROJECT:
        return NO_PROJECT, raw
    project = arg_uuid(name)
    return (project, str(project)) if project is not None else (None, "")


MAX_ARG_INT = 100_000  # pages and offsets of a page's lists: beyond holds nothing, and OFFSET would overflow


def arg_int(name: str, default: int = 0, minimum: int = 0, maximum: int = MAX_ARG_INT) -> int:
    """A whole-number query parameter kept within minimum..maximum (the default when unreadable)."""
    try:
        return min(maximum, max(minimum, int(request.args.get(name, default))))
    except ValueError:
        return default


def read_amount(text: str | None) -> Decimal | None:
    """An amount as a person types it, or as the app shows it, in the page's language:
    "1 250 000,50 ₽", "1250000.5", "RUB 1,250,000.50". Currency signs and spaces are ignored;
    with both separators the last is the decimal one; a lone comma is decimal in Russian and a
    thousands separator in English. None for empty; ValueError for anything else."""
    import re

    text = re.sub(r"\s|[₽$€£¤]|\b[A-Za-z]{3}\b|руб\.?|р\.", "", (text or "").strip(), flags=re.IGNORECASE)
    if not text:
        return None
    if not re.fullmatch(r"-?[\d.,]*\d[\d.,]*", text):
        raise ValueError(text)
    if "," in text and "." in text:
        decimal_sep = "," if text.rfind(",") > text.rfind(".") else "."
    elif "," in text:  # one comma before 1, 2 or 4+ digits is decimal; "1,250" follows the language
        ambiguous = text.count(",") == 1 and len(text) - text.rfind(",") - 1 == 3
        russian = get_locale() is None or get_locale().number_symbols["latn"]["decimal"] == ","
        decimal_sep = "," if text.count(",") == 1 and (russian or not ambiguous) else None
    else:
        decimal_sep = "."
    group = {",", "."} - {decimal_sep}
    for sep in group:
        text = text.replace(sep, "")
    try:
        return Decimal(text.replace(",", ".") if decimal_sep == "," else text)
    except InvalidOperation:
        raise ValueError(text) from None


def parse_amount(text: str | None) -> Decimal | None:
    """An amount typed in a quick action, or a field error."""
    try:
        return read_amount(text)
    except ValueError:
        raise RuleViolation({"amount_estimate": [N_("Not a valid amount.")]}) from None


def money(value, currency: str | None = None) -> str:
    """An amount with its currency (the default currency for sums), by the page's locale:
    "1 250 000 ₽", kopecks only when there are any."""
    if value is None:
        return "—"
    if isinstance(value, dict):  # sums per currency (board columns, accounts): each in its own, never added
        default = stage_settings().default_currency
        parts = [money(v, c) for c, v in sorted(value.items(), key=lambda cv: (cv[0] != default, cv[0])) if v or len(value) == 1]
        return " + ".join(parts) or money(0, currency)
    value = Decimal(value)
    locale = get_locale()
    whole = value == value.to_integral_value()
    currency = currency or stage_settings().default_currency
    if locale is not None:
        formatter = _currency_formatter(locale, currency, whole)
        if formatter is not None:
            return formatter.apply(value, locale, currency=None, currency_digits=False)
    return format_currency(value, currency, format=_currency_pattern(locale, whole), currency_digits=False)


def _currency_pattern(locale, whole: bool) -> str:
    pattern = locale.currency_formats["standard"].pattern if locale is not None else "¤#,##0.00"
    if whole:
        pattern = pattern.replace("0.00", "0")
    return pattern.replace("¤#", "¤\u00a0#")  # "RUB 1,250,000", not "RUB1,250,000"


# (locale, currency, whole amount) -> Babel's parsed pattern with the currency's sign already in
# its prefix and suffix (what format_currency would put there on every call: parsing the pattern
# and finding the sign and the plural name cost more than formatting the number). Keys and values
# are the same for every user; None: the pattern names the currency otherwise (format_currency).
_CURRENCY_FORMATTERS: dict[tuple[str, str, bool], object] = {}


def _currency_formatter(locale, currency: str, whole: bool):
    key = (str(locale), currency, whole)
    try:
        return _CURRENCY_FORMATTERS[key]
    except KeyError:
        pass
    import copy

    from babel.numbers import get_currency_symbol, parse_pattern

    pattern = copy.copy(parse_pattern(_currency_pattern(locale, whole)))
    if any("¤¤" in part for part in (*pattern.prefix, *pattern.suffix)):
        formatter = None
    else:
        sign = get_currency_symbol(currency, locale)
        pattern.prefix = tuple(part.replace("¤", sign) for part in pattern.prefix)
        pattern.suffix = tuple(part.replace("¤", sign) for part in pattern.suffix)
        formatter = pattern
    if len(_CURRENCY_FORMATTERS) > 1000:  # currencies are typed text: keep the memo bounded
        _CURRENCY_FORMATTERS.clear()
    _CURRENCY_FORMATTERS[key] = formatter
    return formatter


def number(value, digits: int = 1) -> str:
    """A plain number by the page's locale ("69,5" in Russian)."""
    return "—" if value is None else format_decimal(round(Decimal(str(value)), digits))


def when(value, fmt: str = "short") -> str:
    return format_datetime(value, fmt) if value else "—"


def when_formatter(fmt: str = "short"):
    """`when` for the many times of one page (board cards): the format, language and zone are
    looked up once (what flask_babel.format_datetime looks up on every call)."""
    from babel import dates
    from flask_babel import _get_format, get_timezone

    pattern, locale, zone = _get_format("datetime", fmt), get_locale(), get_timezone()
    return lambda value: dates.format_datetime(value, pattern, locale=locale, tzinfo=zone) if value else "—"


def local_input_formatter():
    """`local_input` for the many times of one page: the viewer's zone looked up once."""
    zone = request_timezone()
    return lambda value: to_local(value, zone).strftime("%Y-%m-%dT%H:%M") if value else ""


def local_input(value) -> str:
    """A stored time as a datetime-local input's value in the viewer's zone ("" for none)."""
    return to_local(value, request_timezone()).strftime("%Y-%m-%dT%H:%M") if value else ""


def day(value) -> str:
    return format_date(value, "medium") if value else "—"


# ---- one stored value as a person reads it (generated lists and show pages, every timeline) ------

DATE_FIELDS = ("close_date_target", "start_date", "end_date")
MONEY_FIELDS = ("amount_estimate", "amount")
PERCENT_FIELDS = {"probability": 1, "discount_percent": 100}  # field -> what 100 % is stored as
# stored codes shown by their labels (app.views.labels.CHOICE_LABELS); free text not in it stays as typed
CHOICE_FIELDS = ("stage", "status", "forecast_category", "segment", "source", "direction", "event_type", "role",
                 "role_tags")
USER_FIELDS = ("owner_user_id", "pm_user_id", "user_id", "created_by_user_id", "author_user_id")
RECORD_FIELDS = {"account_id": "Account", "project_id": "Project", "opportunity_id": "Opportunity",
                 "contact_id": "Contact"}


class Money:
    """An amount with its row's currency: what a datamodel gives for an amount column when the
    currency is another column of the same row (a formatter sees only its own column)."""

    __slots__ = ("amount", "currency")

    def __init__(self, amount, currency: str | None = None):
        self.amount, self.currency = amount, currency

    def __str__(self) -> str:
        return money(self.amount, self.currency)


def remember_names(user_names: dict) -> None:
    """Users' names a page has already loaded in one query (its timeline's), so rendering its
    history asks the database for none of them again."""
    g.setdefault("crm_names", {}).update({("User", key): name for key, name in user_names.items()})


def _name_of(model_name: str, key) -> str:
    """A person's or a record's name (looked up once per request)."""
    from app.extensions import db
    from app import models

    cache = g.setdefault("crm_names", {})
    if (model_name, key) not in cache:
        model = getattr(models, model_name)
        try:
            record = db.session.get(model, key if model_name == "User" else uuid.UUID(str(key)))
        except (ValueError, TypeError):
            record = None
        cache[(model_name, key)] = (getattr(record, "name", None) or str(record)) if record is not None else "—"
    return cache[(model_name, key)]


def choice_label(value) -> str:
    """A stored code by its translated label (also when typed in another case); other text as is."""
    from app.views.labels import CHOICE_LABELS

    label = CHOICE_LABELS.get(value) or (CHOICE_LABELS.get(value.strip().lower()) if isinstance(value, str) else None)
    return str(label) if label is not None else str(value)


def percent(value, hundred=1) -> str:
    """A share by the page's locale, with its fraction when it has one ("12,5 %")."""
    locale = get_locale()
    pattern = locale.percent_formats[None].pattern if locale is not None else "#,##0%"
    return format_percent(Decimal(str(value)) / hundred, format=pattern.replace("#,##0", "#,##0.##", 1))


def plain_amount(value) -> str:
    """An amount without its currency (shown next to it), kopecks only when there are any."""
    value = Decimal(str(value))
    return format_decimal(value, format="#,##0" if value == value.to_integral_value() else "#,##0.00")


def currency_sign(code) -> str:
    from babel.numbers import get_currency_symbol

    return get_currency_symbol(code, locale=get_locale() or "ru")


def _moment(name: str, value):
    """A stored date or time (an ISO string in audit rows) as the viewer reads it."""
    from datetime import date, datetime

    try:
        parsed = value if isinstance(value, (date, datetime)) else datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if isinstance(parsed, datetime) and not name.endswith("_at") and name in DATE_FIELDS:
        parsed = parsed.date()
    return when(parsed) if isinstance(parsed, datetime) else day(parsed)


def readable(name: str, value, currency: str | None = None) -> str:
    """One stored value of column (or history field) `name` as a person reads it: codes by their
    labels, dates and times in the viewer's zone, money, percentages, people and records by name,
    yes/no, lists joined, "—" for nothing. `currency`: of an amount, when known (else the amount is
    shown without one, next to its currency column)."""
    from datetime import date

    from flask_babel import gettext

    from app.views.labels import COLUMN_LABELS

    if isinstance(value, Money):
        return money(value.amount, value.currency) if value.amount not in (None, "") else "—"
    if value is None or value == "" or value == [] or value == {}:
        return gettext("system") if name == "actor" else "—"
    if isinstance(value, bool):
        return gettext("yes") if value else gettext("no")
    if name in MONEY_FIELDS:
        return money(Decimal(str(value)), currency) if currency else plain_amount(value)
    if name in PERCENT_FIELDS:
        return percent(value, PERCENT_FIELDS[name])
    if name == "currency":
        return currency_sign(value)
    if name in CHOICE_FIELDS:
        return ", ".join(choice_label(v) for v in (value if isinstance(value, list) else [value]))
    if isinstance(value, date) or name.endswith("_at") or name in DATE_FIELDS:
        return _moment(name, value)
    if name in USER_FIELDS:
        return _name_of("User", value)
    if name in RECORD_FIELDS:
        return _name_of(RECORD_FIELDS[name], value)
    if isinstance(value, (int, float, Decimal)):
        return format_decimal(value)
    if isinstance(value, list):
        return ", ".join(readable(name, v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{COLUMN_LABELS.get(k, k)}: {readable(k, v)}" for k, v in value.items())
    return choice_label(value)


def field_value(name: str, value) -> str:
    """A value of a deal's or record's history: `readable`, amounts in the studio's currency."""
    return readable(name, value, stage_settings().default_currency)


def stage_requirements() -> dict[str, list[str]]:
    """For the move dialog: the fields each stage asks for (evidence is always asked)."""
    table = stage_table()
    return {s: required_fields_for(s, table) for s in table.names()}


def template_helpers() -> dict:
    from app.views.labels import COLUMN_LABELS

    return {"money": money, "when": when, "day": day, "local_input": local_input, "can": can, "may_change": may_change, "field_value": field_value, "number": number,
            "column_labels": COLUMN_LABELS,
            "can_reopen": may_reopen(), "closed_stages": lambda: [s for s in stage_table().names()
                                                                    if s not in stage_table().open_stages()],
            "timezone_name": request_timezone_name, "locale_name": lambda: str(get_locale() or "ru")}


def plain_labels() -> dict[str, str]:
    """The choice labels translated once for this request (templates render many of them)."""
    from app.views.labels import CHOICE_LABELS

    # the same for every user of a language: translated once per language (a copy per request)
    key = (str(get_locale()), len(CHOICE_LABELS))
    if key not in _PLAIN_LABELS:
        _PLAIN_LABELS[key] = {code: str(value) for code, value in CHOICE_LABELS.items()}
    return dict(_PLAIN_LABELS[key])


_PLAIN_LABELS: dict[tuple[str, int], dict[str, str]] = {}


def move_options(stages: list[str], labels: dict[str, str]) -> dict[str, Markup]:
    """For each stage, the <option>s of the other stages (the card's keyboard move menu)."""
    return {current: Markup("".join(f'<option value="{s}">{escape(labels[s])}</option>' for s in stages if s != current))
            for current in stages}
