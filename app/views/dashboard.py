"""The owner's morning page (dashboard) and the "why deals stall" report (page, CSV, print)."""
from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from decimal import Decimal

from babel.numbers import get_currency_symbol
from flask import Response, g, redirect, request, stream_with_context, url_for
from flask_appbuilder import BaseView, IndexView, expose, has_access
from flask_babel import format_date, format_percent, get_locale, gettext, lazy_gettext as _l

from app.domain.ranges import date_error

from app.models import User
from app.queries import metrics
from app.queries.projects import project_choices

from app.web import local_now, metric_owner_ids

from .helpers import arg_project, plain_labels, sees_everyone, template_helpers


def metric_filters() -> tuple[metrics.MetricFilters, str, list[str]]:
    """Period (from/to, default the last 90 days) and owner; Sales always see their own numbers."""
    errors = []
    now = local_now()
    today = now.date()
    start, end = today - timedelta(days=89), today
    try:
        start = date.fromisoformat(request.args["from"]) if request.args.get("from") else start
        end = date.fromisoformat(request.args["to"]) if request.args.get("to") else end
        if date_error(start) or date_error(end):  # years 1900–2999: others overflow in the viewer's zone
            raise ValueError("out of range")
    except ValueError:
        errors.append(gettext("Dates are YYYY-MM-DD; the last 90 days are shown."))
        start, end = today - timedelta(days=89), today
    if end < start:
        errors.append(gettext("The period ends before it starts; the dates were swapped."))
        start, end = end, start
    owner = request.args.get("owner", "all") if sees_everyone() else str(g.user.id)
    project, _ = arg_project()
    return metrics.MetricFilters(start=start, end=end, owner_ids=metric_owner_ids(owner), project=project, now=now), owner, errors


def bars(rows: list[dict], key: str, label_key: str, labels: dict) -> list[dict]:
    """Bar widths (0–100 %) for a server-drawn SVG chart."""
    top = max((float(r[key] or 0) for r in rows), default=0) or 1
    return [{"label": labels.get(r[label_key], r[label_key]), "value": r[key], "width": round(float(r[key] or 0) / top * 100, 1)}
            for r in rows]


class DashboardView(BaseView):
    route_base = "/dashboard"
    default_view = "index"
    class_permission_name = "Dashboard"
    method_permission_name = {"index": "read"}
    base_permissions = ["can_read"]

    @expose("/")
    @has_access
    def index(self):
        """Pipeline, forecast, aging, win rate and next-step SLA for the period and owner."""
        f, owner, errors = metric_filters()
        labels = plain_labels()
        pipe, forecast = metrics.pipeline_and_forecast(f)
        users = metrics.session().query(User.id, User.first_name, User.last_name).order_by(User.first_name).all() \
            if sees_everyone() else []
        return self.render_template(
            "dashboard/index.html", f=f, owner=owner, errors=errors, users=users, labels=labels,
            pipeline=pipe, pipeline_bars=bars(pipe, "amount", "stage", labels), forecast=forecast,
            aging=metrics.aging(f), win=metrics.win_rate(f), sla=metrics.sla(f, limit=20), manager=sees_everyone(),
            projects=project_choices(), project=arg_project()[1], month=month_name, percent=percent,
            **template_helpers())


def month_name(month: str) -> str:
    """A forecast month ("2026-11") as the page's language names it: "Ноябрь 2026", "November 2026"."""
    text = format_date(date.fromisoformat(f"{month}-01"), "LLLL y")
    return text[:1].upper() + text[1:]


def percent(rate) -> str:
    """A share (0..1) as a whole percentage by the page's locale ("69 %" in Russian, "69%")."""
    return "—" if rate is None else format_percent(rate)


REPORT_LIMIT = 500  # the page shows this many; the CSV has every stalled deal
CSV_CHUNK = 1000  # rows fetched from the database and sent to the client at a time
FIRST_ROWS = 100  # ... except the first ones, sent as soon as they are read
NO_ID = "00000000-0000-0000-0000-000000000000"  # stands for a deal's id in its link

# The report page's columns: (sort key or None, header); the CSV has the same ones in the same
# order, with the currency, plain numbers and a link to the deal (its own header in `csv`).
STALL_COLUMNS = (("deal", _l("Deal")), ("account", _l("Account")), ("owner", _l("Owner")), ("stage", _l("Stage")),
                 ("amount", _l("Amount")), ("days", _l("In stage")), ("due", _l("Next step due")),
                 ("touch", _l("Last touch")), (None, _l("Why")))


def reason_text(reason: str, days: int | None) -> str:
    """A stall reason as a person reads it ("overdue today", "no touch for 25 d")."""
    if reason == "overdue":
        return gettext("overdue today") if not days else gettext("overdue %(d)s d", d=days)
    if reason == "no_next_step":
        return gettext("no next step")
    if reason == "past_threshold":
        return gettext("past the stage threshold")
    if days is None:
        return gettext("never touched")
    return gettext("no touch for %(d)s d", d=days)


def stall_sort() -> tuple[str, str]:
    """The report's order from ?sort=amount|days|due|touch|deal|account|owner|stage and ?dir=asc|desc
    (default: the biggest amount first)."""
    return metrics.stall_order(request.args.get("sort"), request.args.get("dir"))


def sort_links(sort: str, direction: str) -> dict[str, dict]:
    """Per sortable column: the link that sorts by it (the other direction when it is the current
    order, else its own first direction), keeping the filters, and its aria-sort state."""
    links = {}
    for key, _ in STALL_COLUMNS:
        if key is None:
            continue
        current = key == sort
        target = ("asc" if direction == "desc" else "desc") if current else metrics.STALL_SORTS[key]
        args = {k: v for k, v in request.args.items() if k not in ("sort", "dir")}
        links[key] = {"url": url_for("StallReportView.index", **args, sort=key, dir=target),
                      "state": ("ascending" if direction == "asc" else "descending") if current else "none"}
    return links


def csv_safe(value: str) -> str:
    """A cell a spreadsheet will not run as a formula: = + - @ tab or CR at the start get a quote."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


class CsvFormat:
    """How the viewer's spreadsheet reads a CSV: Russian Excel expects ';' between cells, a BOM to
    read UTF-8 and a decimal comma; English ',' and a point. Labels come in the page's language."""

    def __init__(self):
        locale = get_locale()
        self.russian = locale is not None and locale.language == "ru"
        self.locale = locale
        self.delimiter = ";" if self.russian else ","
        self.symbols: dict[str, str] = {}
        self.reasons: dict[tuple, str] = {}

    def amount(self, value) -> str:
        """1250000,50 (Russian) / 1250000.50 (English); whole amounts without kopecks; no grouping."""
        if value is None:
            return ""
        value = Decimal(value).quantize(Decimal("0.01"))
        text = f"{value.to_integral_value():f}" if value == value.to_integral_value() else f"{value:f}"
        return text.replace(".", ",") if self.russian else text

    def currency(self, code: str | None) -> str:
        if not code:
            return ""
        if code not in self.symbols:
            self.symbols[code] = get_currency_symbol(code, self.locale) if self.locale is not None else code
        return self.symbols[code]

    def day(self, value) -> str:
        """A (local) date spreadsheet programs read as a date: 05.11.2026 (Russian), 2026-11-05."""
        if value is None:
            return ""
        return f"{value.day:02}.{value.month:02}.{value.year}" if self.russian else value.isoformat()

    def why(self, reasons: list[dict]) -> str:
        texts = []
        for r in reasons:
            key = (r["reason"], r["days"])
            if key not in self.reasons:
                self.reasons[key] = reason_text(*key)
            texts.append(self.reasons[key])
        return ", ".join(texts)


class StallReportView(BaseView):
    route_base = "/stall"
    default_view = "index"
    class_permission_name = "StallReport"
    method_permission_name = {"index": "read", "csv": "read"}
    base_permissions = ["can_read"]

    @expose("/")
    @has_access
    def index(self):
        """Stalled deals with their amount, reasons and days, sorted by the column asked for."""
        f, owner, errors = metric_filters()
        sort, direction = stall_sort()
        rows = metrics.stalled(f, limit=REPORT_LIMIT + 1, sort=sort, direction=direction)
        truncated = len(rows) > REPORT_LIMIT
        rows = rows[:REPORT_LIMIT]
        users = metrics.session().query(User.id, User.first_name, User.last_name).order_by(User.first_name).all()
        return self.render_template("stall/index.html", rows=rows, total=len(rows), truncated=truncated,
                                    limit=REPORT_LIMIT, f=f, owner=owner, errors=errors, columns=STALL_COLUMNS,
                                    sort=sort, direction=direction, sort_links=sort_links(sort, direction),
                                    reason_text=reason_text, projects=project_choices(), project=arg_project()[1],
                                    users=users, labels=plain_labels(), no_touch_days=metrics.no_touch_days(),
                                    **template_helpers())

    @expose("/csv")
    @has_access
    def csv(self):
        """The same report, every row, in the page's order, as a CSV in the viewer's language
        (Russian: ';', UTF-8 with BOM, decimal comma), streamed while the database sends the rows:
        the header leaves before the query runs, then the first hundred rows, then every thousand."""
        f, _, _ = metric_filters()
        sort, direction = stall_sort()
        form = CsvFormat()
        labels = plain_labels()
        link = url_for("OpportunityPageView.show", pk=NO_ID, _external=True)
        header = [gettext("Deal"), gettext("Account"), gettext("Owner"), gettext("Stage"), gettext("Amount"),
                  gettext("Currency"), gettext("Days in stage"), gettext("Next step due"), gettext("Last touch"),
                  gettext("Why"), gettext("Link")]

        def lines():
            buffer = io.StringIO()
            writer = csv.writer(buffer, delimiter=form.delimiter, lineterminator="\r\n")

            def take() -> str:
                text = buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
                return text

            if form.russian:
                buffer.write("\ufeff")
            writer.writerow(header)
            yield take()  # before the query runs: the download starts at once
            for n, row in enumerate(metrics.stalled_rows(f, sort, direction, chunk=CSV_CHUNK), start=1):
                writer.writerow([csv_safe(row["name"] or ""), csv_safe(row["account"] or ""),
                                 csv_safe(row["owner"] or "—"), labels.get(row["stage"], row["stage"]),
                                 form.amount(row["amount"]), form.currency(row["currency"]), row["days_in_stage"],
                                 form.day(row["due_day"]), form.day(row["touch_day"]),
                                 csv_safe(form.why(row["reasons"])), link.replace(NO_ID, row["id"])])
                if n % CSV_CHUNK == 0 or n == FIRST_ROWS:
                    yield take()
            rest = take()
            if rest:
                yield rest

        return Response(stream_with_context(lines()), mimetype="text/csv",
                        headers={"Content-Disposition": "attachment; filename=why-deals-stall.csv",
                                 "X-Accel-Buffering": "no"})


class TeamMetricsView(BaseView):
    """No page of its own: it declares the "sees everyone's metrics" permission (can read on
    TeamMetrics) so an admin can grant it to any role; dashboard, metrics API and board ask it."""

    class_permission_name = "TeamMetrics"
    base_permissions = ["can_read"]


class AllProjectsView(BaseView):
    """Declares "can read on AllProjects": sees every project's data without being a member."""

    class_permission_name = "AllProjects"
    base_permissions = ["can_read"]


class AllAccountsView(BaseView):
    """Declares "can read on AllAccounts": sees every account, not only those of one's projects."""

    class_permission_name = "AllAccounts"
    base_permissions = ["can_read"]


class AllOwnersView(BaseView):
    """Declares "can write on AllOwners": writes every owner's deals and accounts, assigns them to
    anyone or to nobody (without it, a user writes only their own or unowned records)."""

    class_permission_name = "AllOwners"
    base_permissions = ["can_write"]


class CrmIndexView(IndexView):
    """Land on the dashboard (Owner and Sales), the board (PM) or the login page."""

    @expose("/")
    def index(self):
        user = g.user
        if user is None or not user.is_authenticated:
            return redirect(url_for("AuthDBView.login"))
        sm = self.appbuilder.sm
        if sm.has_access("can_read", "Dashboard"):
            return redirect(url_for("DashboardView.index"))
        if sm.has_access("can_read", "Board"):
            return redirect(url_for("BoardView.index"))
        return super().index()
