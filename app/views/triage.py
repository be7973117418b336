"""The triage queue: unassigned inbound threads and the actions a person takes on them."""
from __future__ import annotations

import uuid

from flask import abort, flash, jsonify, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_babel import gettext, lazy_gettext as _l
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup, escape
from sqlalchemy import select

from app.domain.accounts import normalise_domain
from app.domain.errors import ConflictError, DomainError
from app.extensions import db
from app.models import Account, InboundThread, Opportunity
from app.models.choices import INBOUND_SOURCES, THREAD_STATUSES
from app.queries import inbox
from app.queries import projects as project_queries
from app.queries.conditions import contains
from app.services import triage
from app.web import change_request

from .helpers import arg_int, back_to, plain_labels, template_helpers
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


DONE = {
    "assign": _l("The conversation is now on %(account)s."),
    "create_account": _l("Account %(account)s created; the conversation is on it."),
    "propose": _l("Deal %(deal)s proposed from the conversation: accept it on the board with its name and amount."),
    "ignore": _l("The conversation is ignored."),
    "undo": _l("Undone."),
}


def done_message(action: str, pk) -> Markup:
    """What a triage action did, with links to the account or deal and an undo button right there."""
    thread = db.session.get(InboundThread, pk)
    account = db.session.get(Account, thread.account_id) if thread is not None and thread.account_id else None
    deal = db.session.get(Opportunity, thread.opportunity_id) if thread is not None and thread.opportunity_id else None
    account_link = Markup('<a href="{}">{}</a>').format(url_for("AccountPageView.show", pk=account.id), account.name) \
        if account is not None else "—"
    deal_link = Markup('<a href="{}">{}</a>').format(url_for("OpportunityPageView.show", pk=deal.id), deal.name) \
        if deal is not None else "—"
    text = Markup(escape(str(DONE[action]) % {"account": "\x00a", "deal": "\x00d"})) \
        .replace("\x00a", account_link).replace("\x00d", deal_link)
    if action == "undo":
        return Markup(text)
    undo = Markup(' <form method="post" action="{}" class="inline-form undo-form"><input type="hidden" name="csrf_token" '
                  'value="{}"><button class="btn btn-xs btn-default" type="submit">{}</button></form>').format(
        url_for("TriageView.act", pk=pk, action="undo"), generate_csrf(), gettext("Undo"))
    return Markup(text) + undo


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
        term = (request.args.get("q") or "").strip()
        if len(term) < 2:
            return jsonify([])
        rows = db.session.execute(select(Account.id, Account.name, Account.domain)
                                  .where(contains(term, Account.name, Account.domain))
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
        if action == "create_account" and not request.form.get("create_anyway"):
            check = self._similar_accounts(pk, request.form)
            if check is not None:
                return check
        try:
            outcome = ACTIONS[action](pk, request.form)
            if outcome in (False, None):
                flash(gettext("Nothing to do: that was done already."), "info")
            else:
                flash(done_message(action, pk), "success")
        except ConflictError as exc:
            flash_errors(exc)
            existing = db.session.get(Account, exc.existing_id) if getattr(exc, "existing_id", None) else None
            if existing is not None:
                flash(Markup(escape(gettext("The existing account:"))) + " " + Markup(
                    '<a href="{}" class="alert-link">{}</a>').format(url_for("AccountPageView.show", pk=existing.id),
                                                                      existing.name), "danger")
        except DomainError as exc:
            flash_errors(exc)
        return redirect(self._next())

    @staticmethod
    def _next() -> str:
        """Back to the queue the action came from (the duplicate check page passes it on)."""
        target = request.form.get("next") or ""
        if target.startswith("/triage/") and "//" not in target and "\\" not in target:
            return target
        return back_to(url_for("TriageView.index"))

    def _similar_accounts(self, pk, form):
        """Before "create account": the accounts the sender may already be (similar name, domain,
        a contact's e-mail or phone, and the ones the queue suggested). With any, a page that
        lists them with "attach to this one" and "create anyway" instead of a silent second account."""
        from .duplicates import candidate_rows, similar_account_candidates

        thread = db.session.get(InboundThread, pk)
        if thread is None or thread.account_id is not None:
            return None  # the action itself answers (no such thread; done already)
        values = {name: (form.get(name) or "").strip() for name in SENDER_FIELDS}
        found = similar_account_candidates(values["account_name"], values["domain"], emails=[values["email"]],
                                           phones=[values["phone"]])
        rows = candidate_rows(found)
        suggested = inbox.suggested_accounts([thread], {thread.id: {"domain": normalise_domain(values["domain"]),
                                                                    "company": values["account_name"]}})
        known = {row["id"] for row in rows}
        for account in suggested.get(thread.id, []):
            if str(account.id) not in known:
                rows.append({"id": str(account.id), "name": account.name, "detail": account.domain or "",
                             "url": url_for("AccountPageView.show", pk=account.id),
                             "reasons": gettext("Suggested for this conversation")})
        if not rows:
            return None
        domain = normalise_domain(values["domain"])
        taken = any(c.account.domain and domain and c.account.domain.lower() == domain.lower() for c in found)
        return self.render_template("triage/create_account_check.html", thread=thread, candidates=rows,
                                    values=values, taken=taken, fields=SENDER_FIELDS,
                                    projects={str(k): v for k, v in project_queries.projects_by_account(
                                        [uuid.UUID(r["id"]) for r in rows]).items()},
                                    back=back_to(url_for("TriageView.index")))
