"""The triage queue: unassigned inbound threads and the actions a person takes on them."""
from __future__ import annotations

import uuid

from flask import abort, flash, jsonify, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_babel import gettext
from sqlalchemy import func, or_, select

from app.domain.errors import DomainError
from app.extensions import db
from app.models import Account
from app.models.choices import INBOUND_SOURCES, THREAD_STATUSES
from app.queries import inbox
from app.queries import projects as project_queries
from app.services import triage
from app.web import change_request

from .helpers import arg_int, plain_labels, template_helpers
from .pages import flash_errors

SENDER_FIELDS = ("account_name", "domain", "contact_name", "email", "phone", "telegram_handle")
ACTIONS = {
    "assign": lambda pk, form: triage.assign_thread(change_request(), pk, form.get("account_id"),
                                                    form.get("project_id") or None),
    "create_account": lambda pk, form: triage.create_account_from_sender(
        change_request({name: form.get(name) for name in SENDER_FIELDS}), pk),
    "propose": lambda pk, form: triage.propose_opportunity(change_request(), pk, form.get("name")),
    "ignore": lambda pk, form: triage.ignore_thread(change_request(), pk),
    "undo": lambda pk, form: triage.undo_last_action(change_request(), pk),
}


class TriageView(BaseView):
    route_base = "/triage"
    default_view = "index"
    class_permission_name = "Triage"
    method_permission_name = {"index": "read", "accounts": "read", "projects": "read", "act": "write"}
    base_permissions = ["can_read", "can_write"]

    @expose("/")
    @has_access
    def index(self):
        """Unassigned threads, newest first, with a preview, the sender and suggested accounts."""
        source = request.args.get("source") if request.args.get("source") in INBOUND_SOURCES else None
        status = request.args.get("status") if request.args.get("status") in THREAD_STATUSES else "unassigned"
        data = inbox.queue_page(source, arg_int("page"), status)
        accounts = {t.account_id for t in data["threads"]} | {a.id for found in data["suggestions"].values() for a in found}
        return self.render_template("triage/queue.html", source=source, status=status, sources=INBOUND_SOURCES,
                                    statuses=THREAD_STATUSES, labels=plain_labels(),
                                    account_projects=project_queries.projects_by_account(accounts),
                                    project_names=project_queries.project_names(t.project_id for t in data["threads"]),
                                    **data, **template_helpers())

    @expose("/accounts")
    @has_access
    def accounts(self):
        """Account search for the assign box: [{id, text}] (name or domain contains the term)."""
        term = (request.args.get("q") or "").strip().lower()
        if len(term) < 2:
            return jsonify([])
        rows = db.session.execute(select(Account.id, Account.name, Account.domain).where(or_(
            func.lower(Account.name).like(f"%{term}%"), func.lower(Account.domain).like(f"%{term}%")))
            .order_by(Account.name).limit(20)).all()
        return jsonify([{"id": str(r.id), "text": f"{r.name} ({r.domain})" if r.domain else r.name} for r in rows])

    @expose("/projects")
    @has_access
    def projects(self):
        """The projects (the user can see) of the accounts asked for, for the assign box's project
        select: {account_id: [{id, text}]} (`?account_id=` once or more)."""
        ids = []
        for value in request.args.getlist("account_id")[:50]:
            try:
                ids.append(uuid.UUID(value))
            except ValueError:
                continue
        grouped = project_queries.projects_by_account(ids)
        return jsonify({str(account): [{"id": str(p.id), "text": p.name} for p in found]
                        for account, found in grouped.items()})

    @expose("/<uuid:pk>/<action>", methods=["POST"])
    @has_access
    def act(self, pk, action):
        """Run one triage action (assign, create_account, propose, ignore, undo)."""
        if action not in ACTIONS:
            abort(404)
        try:
            outcome = ACTIONS[action](pk, request.form)
            flash(gettext("Done.") if outcome not in (False, None) else gettext("Nothing to do: that was done already."),
                  "success" if outcome not in (False, None) else "info")
        except DomainError as exc:
            flash_errors(exc)
        return redirect(request.referrer or url_for("TriageView.index"))
