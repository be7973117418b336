"""Opportunities as generated views: FAB's forms, writes through the opportunity verbs."""
from flask import flash
from flask_babel import format_datetime, gettext, lazy_gettext as _l
from sqlalchemy import inspect, select
from wtforms import HiddenField

from app.domain.errors import DomainError
from app.domain.evidence import parse_evidence_text
from app.domain.fields import EDITABLE_FIELDS
from app.extensions import db
from app.models import Opportunity, OpportunityEvent
from app.models.choices import FORECAST_CATEGORIES, STAGES
from app.services import opportunities as verbs
from app.web import CrmInterface, Refused, change_request

from .base import CrmModelView, apply_errors
from .fields import AmountField, PercentField, account_field, datetime_field, enum_fields, evidence_field, project_field
from .labels import COLUMN_LABELS
from .validators import range_validators

# form field -> the domain field it sets (relations are picked as records)
DOMAIN_FIELD = {"account": "account_id", "owner": "owner_user_id", "project": "project_id"}
FORM_FIELD = {value: key for key, value in DOMAIN_FIELD.items()}
# The domain's editable fields; status follows the stage and is never typed.
EDITABLE = [FORM_FIELD.get(name, name) for name in EDITABLE_FIELDS if name != "status"]


def _form_values(form) -> dict:
    """The domain values a submitted form asks for."""
    values = {}
    for name in EDITABLE:
        data = getattr(form, name).data
        if name in DOMAIN_FIELD:
            data = getattr(data, "id", None)
        if isinstance(data, str) and not data.strip():
            data = None  # a blank field is "nothing" (as the form saves it)
        values[DOMAIN_FIELD.get(name, name)] = data
    return values


def _version(value) -> int | None:
    return int(value) if value and str(value).isdigit() else None


class OpportunityInterface(CrmInterface):
    """Adding and editing a deal in the generated forms are the opportunity verbs."""

    def add(self, item, commit: bool = True) -> None:
        values = {name: getattr(item, name) for name in EDITABLE_FIELDS if name not in DOMAIN_FIELD.values()}
        values.update(account_id=getattr(item.account, "id", None), owner_user_id=getattr(item.owner, "id", None),
                      project_id=getattr(item.project, "id", None))
        values = {k: v for k, v in values.items() if v is not None}
        item.account = item.owner = item.project = None  # the form's item stays out of the account's collection
        evidence = parse_evidence_text(getattr(item, "evidence", "") or "")
        created = self._call(lambda: verbs.create_opportunity(change_request(values, evidence_refs=evidence)))
        item.saved_id = created[0].id  # the page to land on after saving

    def edit(self, item, commit: bool = True) -> None:
        state = inspect(item)
        changes = {name: getattr(item, name) for name in EDITABLE_FIELDS
                   if name not in DOMAIN_FIELD.values() and state.attrs[name].history.has_changes()}
        for relation, name in FORM_FIELD.items():
            if state.attrs[name].history.has_changes():
                changes[relation] = getattr(getattr(item, name), "id", None)
        request = change_request(changes, evidence_refs=parse_evidence_text(getattr(item, "evidence", "") or ""),
                                 expected_version=_version(getattr(item, "expected_version", None)))
        self._call(lambda: verbs.update_opportunity(request, item.id))

    def _call(self, verb):
        try:
            return verb()
        except DomainError as exc:
            raise Refused(exc) from None


class OpportunityView(CrmModelView):
    datamodel = OpportunityInterface(Opportunity)
    record_page = ("OpportunityPageView.show", "id")
    class_permission_name = "Opportunity"
    # Opportunities are never deleted (their audit history stays); close them as lost.
    exclude_route_methods = {"delete", "download"}
    base_permissions = ["can_read", "can_write", "can_note", "can_reopen"]  # the same set as OpportunityApi
    list_title = _l("Opportunities")
    show_title = _l("Opportunity")
    add_title = _l("Add opportunity")
    edit_title = _l("Edit opportunity")
    label_columns = COLUMN_LABELS
    list_columns = ["name", "account", "stage", "amount_estimate", "currency", "owner", "next_step_due_at", "status"]
    show_columns = EDITABLE + ["status", "stage_entered_at", "closed_at", "proposed", "created_at", "updated_at"]
    add_columns = EDITABLE + ["evidence"]
    edit_columns = EDITABLE + ["evidence", "expected_version"]
    search_columns = ["name", "stage", "status", "owner", "forecast_category", "source", "next_step_due_at"]
    order_columns = ["name", "stage", "amount_estimate", "next_step_due_at", "status"]
    base_order = ("next_step_due_at", "asc")
    add_form_extra_fields = {"account": account_field(), "project": project_field(),
                             "next_step_due_at": datetime_field(_l("Next step due")),
                             "amount_estimate": AmountField(_l("Amount")), "probability": PercentField(_l("Probability, %")),
                             **enum_fields(stage=(_l("Stage"), STAGES, "lead"),
                                           forecast_category=(_l("Forecast category"), FORECAST_CATEGORIES, None, True)),
                             "evidence": evidence_field(_l("Required when the deal is created past the lead stage: "
                                                           "one link or note per line."))}
    validators_columns = range_validators("probability", "discount_percent", "amount_estimate")
    edit_form_extra_fields = {
        "account": account_field(), "project": project_field(), "next_step_due_at": datetime_field(_l("Next step due")),
        "amount_estimate": AmountField(_l("Amount")), "probability": PercentField(_l("Probability, %")),
        **enum_fields(stage=(_l("Stage"), STAGES, "lead"),
                      forecast_category=(_l("Forecast category"), FORECAST_CATEGORIES, "pipeline")),
        "evidence": evidence_field(_l("Required when the stage, amount, discount or lost reason changes: "
                                      "one link or note per line.")),
        "expected_version": HiddenField(),
    }

    def conflict_details(self, item) -> str:
        """Who changed the deal last, and when (shown with a version conflict)."""
        last = db.session.scalars(select(OpportunityEvent).where(OpportunityEvent.opportunity_id == item.id)
                                  .order_by(OpportunityEvent.created_at.desc()).limit(1)).first()
        if last is None or last.actor is None:
            return ""
        return gettext("Last changed by %(user)s at %(when)s.", user=last.actor,
                       when=format_datetime(last.created_at, "short"))

    def prefill_form(self, form, pk):
        form.expected_version.data = self.datamodel.get(pk).version

    def check_form(self, form, pk) -> bool:
        """The opportunity rules on what was typed: stage requirements, evidence, reopen, version."""
        evidence = parse_evidence_text(form.evidence.data or "")
        version = _version(form.expected_version.data) if pk is not None else None
        request = change_request(_form_values(form), evidence_refs=evidence, expected_version=version)
        errors = verbs.check_change(request, pk)
        if not errors:
            return True
        apply_errors(form, errors)
        if "version" in errors:
            details = self.conflict_details(self.datamodel.get(pk))
            if details:
                flash(details, "danger")
        return False
