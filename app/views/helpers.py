"""Small things custom pages share: request filters, money and date formatting, role checks."""
from __future__ import annotations

import uuid
from decimal import Decimal, InvalidOperation

from flask import request
from markupsafe import Markup, escape
from flask_babel import format_date, format_datetime, format_decimal

from app.domain.errors import N_, RuleViolation
from app.domain.stages import required_fields_for
from app.settings import stage_table
from app.web import request_actor


def sees_everyone() -> bool:
    """Whether the user holds the "sees everyone's metrics" permission (Owner and Admin by default)."""
    return request_actor().sees_everyone


def may_reopen() -> bool:
    """Whether the user holds the reopen permission (Owner and Admin by default)."""
    return request_actor().may_reopen


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


def arg_int(name: str, default: int = 0, minimum: int = 0) -> int:
    try:
        return max(minimum, int(request.args.get(name, default)))
    except ValueError:
        return default


def parse_amount(text: str | None) -> Decimal | None:
    """An amount typed by a person ("150 000,50" too), or a field error."""
    text = (text or "").replace(" ", "").replace("\u00a0", "").replace(",", ".")
    if not text:
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        raise RuleViolation({"amount_estimate": [N_("Not a valid amount.")]}) from None


def money(value, currency: str | None = None) -> str:
    if value is None:
        return "—"
    text = format_decimal(Decimal(value).quantize(Decimal("1")), format="#,##0")
    return f"{text} {currency}" if currency else text


def when(value, fmt: str = "short") -> str:
    return format_datetime(value, fmt) if value else "—"


def day(value) -> str:
    return format_date(value, "medium") if value else "—"


def stage_requirements() -> dict[str, list[str]]:
    """For the move dialog: the fields each stage asks for (evidence is always asked)."""
    table = stage_table()
    return {s: required_fields_for(s, table) for s in table.names()}


def template_helpers() -> dict:
    return {"money": money, "when": when, "day": day}


def plain_labels() -> dict[str, str]:
    """The choice labels translated once for this request (templates render many of them)."""
    from app.views.labels import CHOICE_LABELS

    return {key: str(value) for key, value in CHOICE_LABELS.items()}


def move_options(stages: list[str], labels: dict[str, str]) -> dict[str, Markup]:
    """For each stage, the <option>s of the other stages (the card's keyboard move menu)."""
    return {current: Markup("".join(f'<option value="{s}">{escape(labels[s])}</option>' for s in stages if s != current))
            for current in stages}
