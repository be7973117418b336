from app.web import CrmInterface
from marshmallow import ValidationError
from sqlalchemy import func, select

from app.domain.accounts import domain_error, normalise_domain
from app.domain.errors import ConflictError, DomainError
from app.extensions import db
from app.models import Account, Contact, Opportunity, Project

from flask_appbuilder.api import expose, safe
from flask_appbuilder.security.decorators import permission_name, protect

from app.queries.duplicates import record_version, similar_accounts
from app.services.merge import merge_accounts

from .base import AuditedRecordApi
from .duplicates import MERGE_DOC, MergedRecords, possible_duplicates
from app.schemas import OpportunityOutSchema

FIELDS = ["name", "domain", "industry", "segment", "status", "owner_user_id", "icp_fit_score", "icp_fit_reason"]
CONTACT_FIELDS = ("id", "name", "email", "phone", "telegram_handle", "role_tags", "influence_score")
PROJECT_FIELDS = ("id", "name", "status", "pm_user_id", "start_date", "end_date")


def valid_domain(value):
    error = domain_error(value)
    if error:
        raise ValidationError(error)


def existing_account_id(domain):
    """The account that already holds this domain (any letter case), if any."""
    domain = normalise_domain(domain)
    if not domain:
        return None
    return db.session.scalar(select(Account.id).where(func.lower(Account.domain) == domain))


class AccountApi(MergedRecords, AuditedRecordApi):
    audit_entity, whole_account = "account", True
    resource_name = "accounts"
    datamodel = CrmInterface(Account)
    class_permission_name = "Account"
    list_columns = ["id"] + FIELDS + ["last_touch_at", "created_at", "updated_at"]
    show_columns = list_columns
    add_columns = FIELDS
    edit_columns = FIELDS
    search_columns = ["name", "domain", "segment", "status", "owner_user_id"]
    order_columns = ["name", "domain", "status", "last_touch_at", "created_at"]
    validators_columns = {"domain": valid_domain}
    # can_merge: merges duplicate accounts and contacts (app.security.MERGE; Owner, Admin)
    base_permissions = AuditedRecordApi.base_permissions + ["can_merge"]
    method_permission_name = {**AuditedRecordApi.method_permission_name, "merge": "write"}

    def domain_error(self, exc: DomainError):
        """A duplicate domain answers 409 with the id and the page of the account that has it."""
        if isinstance(exc, ConflictError) and "domain" in exc.messages and not exc.existing_id:
            exc.existing_id = self._domain_in_request()
        answer = super().domain_error(exc)
        if getattr(exc, "existing_id", None) and answer.status_code == 409:
            body = answer.get_json(silent=True) or {}
            return self.response(409, **body, existing_url=f"/accounts/{exc.existing_id}")
        return answer

    def post_headless(self):
        """Create an account; when similar accounts exist already the 201 lists them as
        `possible_duplicates` (the account is created all the same: a person decides)."""
        answer = super().post_headless()
        body = answer.get_json(silent=True) if answer.status_code == 201 else None
        if not isinstance(body, dict):
            return answer
        result = body.get("result") or {}
        candidates = similar_accounts(result.get("name"), result.get("domain"), exclude_ids=[body["id"]])
        return self.response(201, **body, possible_duplicates=possible_duplicates(candidates))

    @expose("/<uuid:pk>/merge", methods=["POST"])
    @protect()
    @safe
    @permission_name("merge")
    def merge(self, pk):
        return self.merge_answer(merge_accounts, pk)

    merge.__doc__ = MERGE_DOC.format(what="accounts")

    def _domain_in_request(self):
        from flask import request

        body = request.get_json(silent=True) or {}
        found = existing_account_id(body.get("domain")) if isinstance(body, dict) else None
        return str(found) if found else None

    def pre_get(self, data: dict) -> None:
        """GET /accounts/<id> also carries the account's contacts, opportunities and projects."""
        account_id = data["id"]
        result = data["result"]
        result["id"] = str(account_id)
        result["version"] = record_version("account", account_id)
        contacts = db.session.scalars(select(Contact).where(Contact.account_id == account_id).order_by(Contact.name))
        result["contacts"] = [{f: _plain(getattr(c, f)) for f in CONTACT_FIELDS} for c in contacts]
        opps = db.session.scalars(select(Opportunity).where(Opportunity.account_id == account_id)
                                  .order_by(Opportunity.status != "open", Opportunity.next_step_due_at))
        result["opportunities"] = OpportunityOutSchema(many=True).dump(opps)
        projects = db.session.scalars(select(Project).where(Project.account_id == account_id).order_by(Project.name))
        result["projects"] = [{f: _plain(getattr(p, f)) for f in PROJECT_FIELDS} for p in projects]


def _plain(value):
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if value.__class__.__name__ == "UUID":
        return str(value)
    return value
