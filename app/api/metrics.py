"""GET /api/v1/metrics/pipeline, /aging, /win-rate, /sla — the dashboard's figures as JSON, from the
same query functions with the same filters (period, owner, project), read from the reports
database when one is configured."""
from __future__ import annotations

import uuid
from datetime import date, timedelta

from flask import request
from flask_appbuilder.api import BaseApi, expose, safe
from flask_appbuilder.security.decorators import permission_name, protect

from app.api.base import TranslatedRefusals
from app.queries import metrics
from app.queries.conditions import NO_PROJECT
from app.web import local_now, metric_owner_ids, request_actor

PARAMETERS = """
          parameters:
          - {in: query, name: from, schema: {type: string, format: date}, description: "period start (default: 90 days ago)"}
          - {in: query, name: to, schema: {type: string, format: date}, description: "period end, inclusive (default: today)"}
          - {in: query, name: owner, schema: {type: string}, description: "user id or me (Sales: always themselves)"}
          - {in: query, name: project, schema: {type: string}, description: "a project id, or none for the deals outside any project (default: all)"}"""


class MetricsApi(TranslatedRefusals, BaseApi):
    resource_name = "metrics"
    class_permission_name = "Metrics"
    method_permission_name = {"pipeline": "read", "aging": "read", "win_rate": "read", "sla": "read"}
    base_permissions = ["can_read"]
    allow_browser_login = True

    def _filters(self):
        now = local_now()
        today = now.date()
        try:
            start = date.fromisoformat(request.args["from"]) if request.args.get("from") else today - timedelta(days=89)
            end = date.fromisoformat(request.args["to"]) if request.args.get("to") else today
        except ValueError:
            return None, self.response(400, message={"from": ["Dates are YYYY-MM-DD."]})
        if end < start:
            return None, self.response(400, message={"to": ["The period ends before it starts."]})
        owner = request.args.get("owner", "")
        if owner and not owner.isdigit() and owner != "me" and request_actor().sees_everyone:
            return None, self.response(400, message={"owner": ["A user id or me."]})
        project = (request.args.get("project") or "").strip() or None
        if project is not None and project != NO_PROJECT:
            try:
                project = uuid.UUID(project)
            except ValueError:
                return None, self.response(400, message={"project": ["A project id or none."]})
        return metrics.MetricFilters(start=start, end=end, owner_ids=metric_owner_ids(owner), now=now,
                                     project=project), None

    def _answer(self, compute):
        f, error = self._filters()
        if error:
            return error
        return self.response(200, period={"from": f.start.isoformat(), "to": f.end.isoformat()},
                             owner_user_ids=f.owner_ids, result=compute(f))

    @expose("/pipeline", methods=["GET"])
    @protect()
    @safe
    @permission_name("read")
    def pipeline(self):
        """Open pipeline by stage and the forecast by month and category.
        ---
        get:
          responses:
            200: {description: "result: {stages: [{stage, count, amount, weighted}], forecast: [{month, pipeline, best_case, commit, count, weighted}]}"}
            400: {description: bad filter}
        """
        return self._answer(lambda f: dict(zip(("stages", "forecast"), metrics.pipeline_and_forecast(f))))

    @expose("/aging", methods=["GET"])
    @protect()
    @safe
    @permission_name("read")
    def aging(self):
        """Days in the current stage (median, p90), rotting deals, time spent in past stages.
        ---
        get:
          responses:
            200: {description: "result: [{stage, count, median_days, p90_days, threshold_days, rotting, moved_on, past_median_days, past_p90_days}]"}
            400: {description: bad filter}
        """
        return self._answer(metrics.aging)

    @expose("/win-rate", methods=["GET"])
    @protect()
    @safe
    @permission_name("read")
    def win_rate(self):
        """won / (won + lost) of deals closed in the period, overall, by owner and by source.
        ---
        get:
          responses:
            200: {description: "result: {overall: {won, lost, rate}, by_owner: [...], by_source: [...]}"}
            400: {description: bad filter}
        """
        return self._answer(metrics.win_rate)

    @expose("/sla", methods=["GET"])
    @protect()
    @safe
    @permission_name("read")
    def sla(self):
        """Overdue next steps by owner and their list; open deals without a next step.
        ---
        get:
          responses:
            200: {description: "result: {overdue_total, by_owner, overdue: [...], no_next_step_total, no_next_step: [...]}"}
            400: {description: bad filter}
        """
        return self._answer(metrics.sla)


for _method in (MetricsApi.pipeline, MetricsApi.aging, MetricsApi.win_rate, MetricsApi.sla):
    _method.__doc__ = _method.__doc__.replace("          responses:", PARAMETERS.strip("\n") + "\n          responses:", 1)
