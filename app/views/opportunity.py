from flask_appbuilder.fieldwidgets import BS3TextAreaFieldWidget
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_babel import format_datetime, gettext, lazy_gettext as _l
from sqlalchemy import select
from wtforms import HiddenField, TextAreaField
from wtforms.validators import NumberRange, Optional

from app.domain.evidence import parse_evidence_text
from app.extensions import db
from app.models import Opportunity, OpportunityEvent
from app.models.choices import FORECAST_CATEGORIES, STAGES
from app.services.context import set_request_context

from .base import CrmModelView
from .fields import account_field, enum_fields
from .labels import COLUMN_LABELS

EDITABLE = ["account", "name", "stage", "amount_estimate", "currency", "probability", "forecast_category",
            "close_date_target", "source", "primary_competitor", "owner", "next_step_text", "next_step_due_at",
            "lost_reason", "discount_percent"]


class OpportunityView(CrmModelView):
    datamodel = SQLAInterface(Opportunity)
    class_permission_name = "Opportunity"
    # Opportunities are never deleted (their audit history stays); close them as lost.
    exclude_route_methods = {"delete", "download"}
    base_permissions = ["can_read", "can_write", "can_note"]  # the same set as OpportunityApi
    list_title = _l("Opportunities")
    show_title = _l("Opportunity")
    add_title = _l("Add opportunity")
    edit_title = _l("Edit opportunity")
    label_columns = COLUMN_LABELS
    list_columns = ["name", "account", "stage", "amount_estimate", "currency", "owner", "next_step_due_at", "status"]
    show_columns = EDITABLE + ["status", "stage_entered_at", "closed_at", "proposed", "version", "created_at", "updated_at"]
    add_columns = EDITABLE
    edit_columns = EDITABLE + ["evidence", "expected_version"]
    search_columns = ["name", "stage", "status", "owner", "forecast_category", "source", "next_step_due_at"]
    order_columns = ["name", "stage", "amount_estimate", "next_step_due_at", "status"]
    base_order = ("next_step_due_at", "asc")
    add_form_extra_fields = {"account": account_field(),
                             **enum_fields(stage=(_l("Stage"), STAGES, "lead"),
                                           forecast_category=(_l("Forecast category"), FORECAST_CATEGORIES, None, True))}
    validators_columns = {
        "probability": [Optional(), NumberRange(0, 1)],
        "discount_percent": [Optional(), NumberRange(0, 100)],
        "amount_estimate": [Optional(), NumberRange(min=0)],
    }
    edit_form_extra_fields = {
        "account": account_field(),
        **enum_fields(stage=(_l("Stage"), STAGES, "lead"),
                      forecast_category=(_l("Forecast category"), FORECAST_CATEGORIES, "pipeline")),
        "evidence": TextAreaField(
            _l("Evidence"), widget=BS3TextAreaFieldWidget(),
            description=_l("Required when the stage, amount, discount or lost reason changes: "
                           "one link or note per line."),
        ),
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

    def pre_add(self, item):
        super().pre_add(item)
        set_request_context()

    def pre_update(self, item):
        expected = getattr(item, "expected_version", None)
        set_request_context(
            evidence_refs=parse_evidence_text(getattr(item, "evidence", "") or ""),
            expected_versions={item.id: int(expected)} if expected and str(expected).isdigit() else {},
        )
