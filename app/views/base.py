"""Base generated view: FAB's own add/edit, writes through the verbs (app.web.CrmInterface),
domain checks inside the form's validation so a refused form re-renders with what was typed."""
from __future__ import annotations

from flask import flash, g, has_request_context
from flask_appbuilder import ModelView
from flask_babel import format_date, format_datetime, gettext, lazy_gettext as _l

from app.domain.evidence import parse_evidence_text
from app.domain.records import EVIDENCE_FIELDS_OF, NEEDS_EVIDENCE, evidence_needed


# domain field -> the form field that shows its errors
FORM_FIELD_OF = {"evidence_refs": "evidence", "version": "expected_version", "account_id": "account",
                 "owner_user_id": "owner"}


def apply_errors(form, messages: dict[str, list[str]]) -> None:
    """Show domain messages on the form fields they name (others on top of the form)."""
    for field_name, field_messages in messages.items():
        translated = [gettext(m) for m in field_messages]
        field = getattr(form, FORM_FIELD_OF.get(field_name, field_name), None)
        if field is not None and field.type == "HiddenField":
            field = None
        if field is None and field_name.endswith("_id"):
            field = getattr(form, field_name[:-3], None)
        if field is not None and hasattr(field, "errors"):
            field.errors = list(field.errors or []) + translated
        else:
            label = "" if field_name in ("_schema", "actor", "id") else f"{field_name}: "
            for message in translated:
                flash(label + message, "danger")


# One permission vocabulary for a generated view and its REST API: read, write, delete.
VIEW_PERMISSIONS = {
    "list": "read", "show": "read", "download": "read", "api": "read", "api_read": "read",
    "api_get": "read", "api_readvalues": "read", "api_column_add": "write", "api_column_edit": "write",
    "add": "write", "edit": "write", "action": "write", "action_post": "write",
    "api_create": "write", "api_update": "write", "delete": "delete", "api_delete": "delete",
}


def _local_datetime(value):
    return format_datetime(value, "short") if value else ""


def _local_date(value):
    return format_date(value, "medium") if value else ""


DATETIME_COLUMNS = ("last_touch_at", "created_at", "updated_at", "next_step_due_at", "stage_entered_at",
                    "closed_at", "assigned_at", "last_message_at", "first_message_at", "sent_at")
DATE_COLUMNS = ("close_date_target", "start_date", "end_date")


class CrmModelView(ModelView):
    """ModelView whose forms ask the domain while validating and whose list filters are per request."""

    method_permission_name = VIEW_PERMISSIONS
    add_template = "crm/add.html"  # generated forms plus the search-as-you-type relation fields
    edit_template = "crm/edit.html"
    base_permissions = ["can_read", "can_write", "can_delete"]
    page_size = 25
    formatters_columns = {**{c: _local_datetime for c in DATETIME_COLUMNS}, **{c: _local_date for c in DATE_COLUMNS}}
    add_row_message = _l("Added")
    edit_row_message = _l("Saved")

    # FAB keeps the list filters on the view instance, which every request (and every gunicorn
    # thread) shares: one user's `?_flt_…` must never reach another user's form. Each request
    # gets its own Filters; the instance keeps only the empty template FAB built.
    @property
    def _filters(self):
        template = self.__dict__.get("_crm_filters")
        if template is None or not has_request_context():
            return template
        per_request = g.setdefault("crm_view_filters", {})
        if id(self) not in per_request:
            per_request[id(self)] = self.datamodel.get_filters(self.search_columns)
        return per_request[id(self)]

    @_filters.setter
    def _filters(self, value):
        self.__dict__["_crm_filters"] = value

    def _init_forms(self):
        super()._init_forms()
        self.add_form = self._checked(self.add_form, adding=True)
        self.edit_form = self._checked(self.edit_form, adding=False)

    def _checked(self, form_class, adding: bool):
        view = self

        class CheckedForm(form_class):
            def validate(self, extra_validators=None):
                valid = super().validate(extra_validators=extra_validators)
                return valid and view.check_form(self, None if adding else getattr(self, "_id", None))
        CheckedForm.__name__ = form_class.__name__
        return CheckedForm

    def check_form(self, form, pk) -> bool:
        """Ask the domain about the values typed (pk None when adding); put its messages on the
        form's fields. True when the form may be saved. Here: the record settings that need
        evidence (an offer's discount, an account's ICP reason); views with more rules override."""
        entity = getattr(self.datamodel.obj, "audit_entity", None)
        fields = [f for f in EVIDENCE_FIELDS_OF.get(entity, ()) if hasattr(form, f)]
        if not fields or not hasattr(form, "evidence"):
            return True
        item = self.datamodel.get(pk) if pk is not None else None
        old = {f: getattr(item, f) for f in fields} if item is not None else None
        if evidence_needed(entity, old, {f: getattr(form, f).data for f in fields}) \
                and not parse_evidence_text(form.evidence.data or ""):
            apply_errors(form, {"evidence_refs": [NEEDS_EVIDENCE]})
            return False
        return True
