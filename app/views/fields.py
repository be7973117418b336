"""Form fields the generated views need beyond FAB's defaults."""
from __future__ import annotations

from flask_appbuilder.fieldwidgets import BS3TextAreaFieldWidget, BS3TextFieldWidget, DateTimePickerWidget, Select2Widget
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from wtforms import DateTimeField, Field, SelectField, StringField, TextAreaField
from wtforms.widgets import html_params
from wtforms.validators import DataRequired, Optional


class TagListField(StringField):
    """Comma-separated tags in the form, a real list of strings in the model."""

    widget = BS3TextFieldWidget()

    def _value(self) -> str:
        return ", ".join(self.data or [])

    def process_formdata(self, valuelist) -> None:
        raw = valuelist[0] if valuelist else ""
        tags: list[str] = []
        for part in raw.split(","):
            tag = part.strip()
            if tag and tag.casefold() not in (t.casefold() for t in tags):
                tags.append(tag)
        self.data = tags


def enum_select(label, values, default=None, optional=False) -> SelectField:
    """A select of an enum column's allowed values with translated labels."""
    from .labels import choices

    options = ([("", "—")] if optional else []) + choices(values)
    validators = [Optional()] if optional else [DataRequired()]
    return SelectField(label, choices=options, default=default, widget=Select2Widget(), validators=validators,
                       coerce=lambda v: v or None)


def account_field() -> "RecordSelectField":
    from wtforms.validators import InputRequired

    from app.models import Account

    return RecordSelectField(_l("Account"), [InputRequired()], model=Account, url_endpoint="AccountLookupView.index")


def opportunity_field() -> "RecordSelectField":
    from wtforms.validators import InputRequired

    from app.models import Opportunity

    return RecordSelectField(_l("Opportunity"), [InputRequired()], model=Opportunity,
                             url_endpoint="OpportunityLookupView.index")


def project_field() -> "RecordSelectField":
    """An optional project of the deal's account (the lookup offers only projects the user can see)."""
    from app.models import Project

    return RecordSelectField(_l("Project"), [Optional()], model=Project, url_endpoint="ProjectLookupView.index",
                             depends_on=("account", "account_id"),
                             description=_l("Only for an upsell or change request inside a project: then only "
                                            "the project's members see the deal, and its owner must be one of them."))


def enum_fields(**specs) -> dict:
    """form_extra_fields for enum columns: name=(label, values, default)."""
    return {name: enum_select(*spec) for name, spec in specs.items()}


class RecordSelectWidget:
    """A <select> holding only the chosen record; the browser asks the lookup URL while typing
    (select2 with ajax), so a form never carries a whole table."""

    def __init__(self, url_endpoint: str, depends_on: tuple[str, str] | None = None):
        self.url_endpoint = url_endpoint
        self.depends_on = depends_on  # (form field, query parameter): the lookup narrows by that field's value

    def __call__(self, field, **kwargs):
        from flask import url_for
        from markupsafe import Markup, escape

        current = field.data
        option = f'<option value="{escape(current.id)}" selected>{escape(current)}</option>' if current is not None else ""
        depends = (f' data-depends-field="{escape(self.depends_on[0])}" data-depends-param="{escape(self.depends_on[1])}"'
                   if self.depends_on else "")
        return Markup(f'<select class="form-control record-select" id="{escape(field.id)}" name="{escape(field.name)}" '
                      f'data-url="{escape(url_for(self.url_endpoint))}"{depends}><option value=""></option>{option}</select>')


class RecordSelectField(Field):
    """A many-to-one relation chosen by search (accounts, opportunities)."""

    def __init__(self, label=None, validators=None, model=None, url_endpoint=None, depends_on=None, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.model = model
        self.widget = RecordSelectWidget(url_endpoint, depends_on)

    def process_formdata(self, valuelist) -> None:
        import uuid

        from app.extensions import db

        raw = valuelist[0] if valuelist else ""
        self.data = None
        if not raw:
            return
        try:
            self.data = db.session.get(self.model, uuid.UUID(raw))
        except ValueError:
            self.data = None
        if self.data is None:
            raise ValueError(_l("Not a valid choice."))


class FormattedDateTimePickerWidget(DateTimePickerWidget):
    """FAB's date-time picker, filled with the value in the field's own format (FAB's widget
    writes str(datetime) with its UTC offset, which the same field then refuses on save)."""

    def __call__(self, field, **kwargs):
        kwargs.setdefault("id", field.id)
        kwargs.setdefault("name", field.name)
        return Markup(self.data_template % {"text": html_params(type="text", value=field._value(), **kwargs)})


def datetime_field(label) -> DateTimeField:
    return DateTimeField(label, format="%Y-%m-%d %H:%M:%S", validators=[Optional()],
                         widget=FormattedDateTimePickerWidget())


def evidence_field(description) -> TextAreaField:
    """Evidence typed in a form: one link, note or "message:<id>" per line."""
    return TextAreaField(_l("Evidence"), widget=BS3TextAreaFieldWidget(), description=description)
