"""The owner's morning page (dashboard) and the "why deals stall" report (page, CSV, print)."""
from __future__ import annotations

import csv
import io
from datetime import date, timedelta

from flask import Response, g, redirect, request, url_for
from flask_appbuilder import BaseView, IndexView, expose, has_access
from flask_babel import gettext

from app.extensions import db
from app.models import User
from app.queries import metrics
from app.queries.projects import project_choices

from app.web import metric_owner_ids

from .helpers import arg_project, plain_labels, sees_everyone, template_helpers


def metric_filters() -> tuple[metrics.MetricFilters, str, list[str]]:
    """Period (from/to, default the last 90 days) and owner; Sales always see their own numbers."""
    errors = []
    today = metrics.utcnow().date()
    start, end = today - timedelta(days=89), today
    try:
        start = date.fromisoformat(request.args["from"]) if request.args.get("from") else start
        end = date.fromisoformat(request.args["to"]) if request.args.get("to") else end
    except ValueError:
        errors.append(gettext("Dates are YYYY-MM-DD; the last 90 days are shown."))
        start, end = today - timedelta(days=89), today
    if end < start:
        errors.append(gettext("The period ends before it starts; the dates were swapped."))
        start, end = end, start
    owner = request.args.get("owner", "all") if sees_everyone() else str(g.user.id)
    project, _ = arg_project()
    return metrics.MetricFilters(start=start, end=end, owner_ids=metric_owner_ids(owner), project=project), owner, errors


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
        users = db.session.query(User.id, User.first_name, User.last_name).order_by(User.first_name).all() \
            if sees_everyone() else []
        return self.render_template(
            "dashboard/index.html", f=f, owner=owner, errors=errors, users=users, labels=labels,
            pipeline=pipe, pipeline_bars=bars(pipe, "amount", "stage", labels), forecast=forecast,
            aging=metrics.aging(f), win=metrics.win_rate(f), sla=metrics.sla(f, limit=20), manager=sees_everyone(),
            projects=project_choices(), project=arg_project()[1], **template_helpers())


REPORT_LIMIT = 500  # the page shows this many; the CSV has every stalled deal


class StallReportView(BaseView):
    route_base = "/stall"
    default_view = "index"
    class_permission_name = "StallReport"
    method_permission_name = {"index": "read", "csv": "read"}
    base_permissions = ["can_read"]

    @expose("/")
    @has_access
    def index(self):
        """Stalled deals grouped by owner, with the reasons and the days."""
        f, owner, errors = metric_filters()
        rows = metrics.stalled(f, limit=REPORT_LIMIT + 1)
        truncated = len(rows) > REPORT_LIMIT
        rows = rows[:REPORT_LIMIT]
        groups: dict = {}
        for row in rows:
            groups.setdefault(row["owner"] or "—", []).append(row)
        users = db.session.query(User.id, User.first_name, User.last_name).order_by(User.first_name).all()
        return self.render_template("stall/index.html", groups=groups, total=len(rows), truncated=truncated,
                                    limit=REPORT_LIMIT, f=f, owner=owner, errors=errors,
                                    projects=project_choices(), project=arg_project()[1],
                                    users=users, labels=plain_labels(), no_touch_days=metrics.no_touch_days(),
                                    **template_helpers())

    @expose("/csv")
    @has_access
    def csv(self):
        """The same report as CSV (UTF-8 with BOM, so spreadsheet programs read Cyrillic)."""
        f, _, _ = metric_filters()
        out = io.StringIO()
        out.write("\ufeff")
        writer = csv.writer(out)
        writer.writerow(["owner", "opportunity_id", "opportunity", "account", "stage", "days_in_stage", "reasons"])
        for row in metrics.stalled(f):
            reasons = "; ".join(f"{r['reason']} {r['days']}d" if r["days"] is not None else r["reason"] for r in row["reasons"])
            writer.writerow([row["owner"] or "", row["id"], row["name"], row["account"], row["stage"],
                             row["days_in_stage"], reasons])
        return Response(out.getvalue(), mimetype="text/csv",
                        headers={"Content-Disposition": "attachment; filename=why-deals-stall.csv"})


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
