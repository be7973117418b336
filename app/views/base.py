"""Base generated view: writes go through one transaction and domain errors become form errors."""
from __future__ import annotations

from flask import abort, flash, g, request
from flask_appbuilder import ModelView
from flask_appbuilder.urltools import get_order_args, get_page_args, get_page_size_args
from flask_babel import format_date, format_datetime, gettext, lazy_gettext as _l

from app.domain.errors import DomainError
from app.services.transaction import transaction


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
    """ModelView whose add/edit run the domain rules and map refusals onto the form."""

    method_permission_name = VIEW_PERMISSIONS
    add_template = "crm/add.html"  # generated forms plus the search-as-you-type relation fields
    edit_template = "crm/edit.html"
    base_permissions = ["can_read", "can_write", "can_delete"]
    page_size = 25
    formatters_columns = {**{c: _local_datetime for c in DATETIME_COLUMNS}, **{c: _local_date for c in DATE_COLUMNS}}
    add_row_message = _l("Added")
    edit_row_message = _l("Saved")

    def pre_add(self, item):
        """New records belong to their creator unless an owner was picked."""
        user = g.get("user")
        if hasattr(item, "owner_user_id") and item.owner_user_id is None and getattr(item, "owner", None) is None \
                and user is not None and getattr(user, "is_authenticated", False):
            item.owner_user_id = user.id

    def _write(self, form, item, hook) -> bool:
        try:
            with transaction(self.datamodel.session) as session:
                hook(item)
                session.add(item)
                session.flush()
        except DomainError as exc:
            apply_errors(form, exc.messages)
            if "version" in exc.messages:
                details = self.conflict_details(item)
                if details:
                    flash(details, "danger")
            return False
        return True

    def conflict_details(self, item) -> str:
        """Extra words for a version conflict (who changed the record); none by default."""
        return ""

    def _add(self):
        exclude_cols = self._filters.get_relation_cols()
        form = self.add_form.refresh()
        if request.method == "POST":
            self._fill_form_exclude_cols(exclude_cols, form)
            if form.validate():
                self.process_form(form, True)
                item = self.datamodel.obj()
                form.populate_obj(item)
                if self._write(form, item, self.pre_add):
                    self.post_add(item)
                    flash(self.add_row_message, "success")
                    return None
        else:
            self.update_redirect()
        return self._get_add_widget(form=form, exclude_cols=exclude_cols)

    def _edit(self, pk):
        exclude_cols = self._filters.get_relation_cols()
        item = self.datamodel.get(pk, self._base_filters)
        if not item:
            abort(404)
        pk = self.datamodel.get_pk_value(item)
        if request.method == "POST":
            form = self.edit_form.refresh(request.form)
            self._fill_form_exclude_cols(exclude_cols, form)
            form._id = pk
            if form.validate():
                self.process_form(form, False)
                form.populate_obj(item)
                if self._write(form, item, self.pre_update):
                    self.post_update(item)
                    flash(self.edit_row_message, "success")
                    return None
                item = self.datamodel.get(pk, self._base_filters)
        else:
            form = self.edit_form.refresh(obj=item)
            self.prefill_form(form, pk)
        widgets = self._get_edit_widget(form=form, exclude_cols=exclude_cols)
        return self._get_related_views_widgets(
            item, filters={}, orders=get_order_args(), pages=get_page_args(),
            page_sizes=get_page_size_args(), widgets=widgets,
        )
