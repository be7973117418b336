"""Search-as-you-type lookups for relation fields of the generated forms ([{id, text}], 20 at most)."""
from __future__ import annotations

import uuid

from flask import jsonify, request
from flask_appbuilder import BaseView, expose, has_access
from sqlalchemy import func, or_, select

from app.extensions import db
from app.models import Account, Opportunity, Project
from app.queries.conditions import account_contains, contains

LIMIT = 20


def _term() -> str:
    return (request.args.get("q") or "").strip()


class AccountLookupView(BaseView):
    route_base = "/lookup/accounts"
    default_view = "index"
    class_permission_name = "Account"
    method_permission_name = {"index": "read"}
    base_permissions = ["can_read", "can_write", "can_delete"]  # the same set as AccountView (one permission vocabulary per name)

    @expose("/")
    @has_access
    def index(self):
        """Accounts whose name or domain contains the term."""
        term = _term()
        query = select(Account.id, Account.name, Account.domain).order_by(func.lower(Account.name)).limit(LIMIT)
        if term:
            query = query.where(contains(term, Account.name, Account.domain))
        return jsonify({"results": [{"id": str(r.id), "text": f"{r.name} ({r.domain})" if r.domain else r.name}
                                    for r in db.session.execute(query)]})


class OpportunityLookupView(BaseView):
    route_base = "/lookup/opportunities"
    default_view = "index"
    class_permission_name = "Opportunity"
    method_permission_name = {"index": "read"}
    base_permissions = ["can_read", "can_write", "can_note"]  # the same set as OpportunityView and its API

    @expose("/")
    @has_access
    def index(self):
        """Opportunities whose name or account name contains the term."""
        term = _term()
        query = (select(Opportunity.id, Opportunity.name, Account.name.label("account"))
                 .join(Account, Account.id == Opportunity.account_id).order_by(func.lower(Opportunity.name)).limit(LIMIT))
        if term:
            query = query.where(or_(contains(term, Opportunity.name), account_contains(term, Opportunity.account_id)))
        return jsonify({"results": [{"id": str(r.id), "text": f"{r.name} — {r.account}"} for r in db.session.execute(query)]})


class ProjectLookupView(BaseView):
    route_base = "/lookup/projects"
    default_view = "index"
    class_permission_name = "Project"
    method_permission_name = {"index": "read"}
    base_permissions = ["can_read", "can_write", "can_delete", "can_note"]  # the same set as every "Project" view and API

    @expose("/")
    @has_access
    def index(self):
        """Projects the viewer can see whose name or account name contains the term (optionally of
        one account: ?account_id=)."""
        term = _term()
        query = (select(Project.id, Project.name, Account.name.label("account"))
                 .join(Account, Account.id == Project.account_id)
                 .order_by(Project.status.notin_(("active", "planned")), func.lower(Project.name), Project.id).limit(LIMIT))
        if term:
            query = query.where(or_(contains(term, Project.name), account_contains(term, Project.account_id)))
        account_id = _uuid(request.args.get("account_id"))
        if account_id is not None:
            query = query.where(Project.account_id == account_id)
        return jsonify({"results": [{"id": str(r.id), "text": f"{r.name} — {r.account}"} for r in db.session.execute(query)]})


def _uuid(value):
    try:
        return uuid.UUID(value or "")
    except ValueError:
        return None
