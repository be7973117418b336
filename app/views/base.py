"""Base generated view: FAB's own add/edit, writes through the verbs (app.web.CrmInterface),
domain checks inside the form's validation so a refused form re-renders with what was typed."""
from __future__ import annotations

from flask import flash, g, has_request_context, redirect, request, url_for
from flask_appbuilder import ModelView
from flask_babel import gettext, lazy_gettext as _l

from app.domain.evidence import parse_evidence_text
from app.domain.ownership import NOT_YOURS
from app.domain.text import text_field_errors
from app.domain.records import EVIDENCE_FIELDS_OF, NEEDS_EVIDENCE, evidence_needed

from .helpers import readable


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


# ---- how a generated list or show page writes each cell ------------------------------------------
# Every column of every generated view reads as a person reads it (app.views.helpers.readable, the
# one renderer of stored values, which the timelines use too). A view names only the columns it
# shows differently (links, previews).

class ReadableColumns(dict):
    """formatters_columns of a generated view: the formatters it names, and `readable` for every
    other column. Extend with `ReadableColumns(base, column=formatter)` (a plain dict loses the rest)."""

    def get(self, key, default=None):
        formatter = super().get(key)
        return formatter if formatter is not None else (lambda value: readable(key, value))

    def __bool__(self) -> bool:  # FAB replaces a falsy formatters_columns with {}
        return True


class CrmModelView(ModelView):
    """ModelView whose forms ask the domain while validating and whose list filters are per request."""

    method_permission_name = VIEW_PERMISSIONS
    add_template = "crm/add.html"  # generated forms plus the search-as-you-type relation fields
    edit_template = "crm/edit.html"
    base_permissions = ["can_read", "can_write", "can_delete"]
    page_size = 25
    formatters_columns = ReadableColumns()  # every cell as a person reads it (see `readable`)
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

    exclude_route_methods = {"download"}  # FAB's CSV export is not formula-safe; views widen this set
    record_page: tuple[str, str] | None = None  # (endpoint, attribute with its pk): where a saved form lands

    def post_add(self, item) -> None:
        g.crm_saved = item

    def post_update(self, item) -> None:
        g.crm_saved = item

    def post_add_redirect(self):
        return redirect(self._saved_url() or self.get_redirect())

    def post_edit_redirect(self):
        return redirect(self._saved_url() or self.get_redirect())

    def _saved_url(self) -> str | None:
        """The saved record's own page (its generated show page when it has no other)."""
        item = g.pop("crm_saved", None)
        if item is None:
            return None
        endpoint, attribute = self.record_page or (f"{self.endpoint}.show", "id")
        key = getattr(item, "saved_id", None) if attribute == "id" else None
        key = key or getattr(item, attribute, None)
        return url_for(endpoint, pk=key) if key is not None else None

    def _edit(self, pk):
        """FAB's edit, but a record the user may not change (another's deal or account) is not
        offered as a form: a message in their language and back (the verbs refuse it anyway)."""
        if hasattr(self.datamodel.obj, "owner_user_id"):
            from .helpers import may_change

            item = self.datamodel.get(pk, self._base_filters)
            if item is not None and not may_change(item.owner_user_id, self.class_permission_name):
                flash(gettext(NOT_YOURS), "warning")
                return None
        return super()._edit(pk)

    def _init_forms(self):
        super()._init_forms()
        self.add_form = self._checked(self.add_form, adding=True)
        self.edit_form = self._checked(self.edit_form, adding=False)

    def _checked(self, form_class, adding: bool):
        view = self

        class CheckedForm(form_class):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, **kwargs)
                owner = getattr(self, "owner", None)
                if adding and owner is not None and owner.data is None and request.method == "GET" \
                        and g.get("user") is not None:
                    owner.data = g.user  # a new record belongs to whoever creates it (the verbs say so too)

            def populate_obj(self, obj):
                super().populate_obj(obj)
                table = getattr(obj, "__table__", None)
                for name, field in self._fields.items():  # a blank optional field is "nothing", not ''
                    column = table.c.get(name) if table is not None else None
                    if column is not None and column.nullable and isinstance(field.data, str) and not field.data.strip():
                        setattr(obj, name, None)

            def validate(self, extra_validators=None):
                valid = super().validate(extra_validators=extra_validators)
                bad_text = text_field_errors({n: f.data for n, f in self._fields.items()})
                if bad_text:  # NUL or a broken Unicode character: a form error, never the database's
                    apply_errors(self, bad_text)
                    return False
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
