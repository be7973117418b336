"""Form fields the generated views need beyond FAB's defaults."""
from __future__ import annotations

from flask_appbuilder.fieldwidgets import BS3TextAreaFieldWidget, BS3TextFieldWidget, DateTimePickerWidget, Select2Widget
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from wtforms import DateTimeField, DecimalField, Field, SelectField, StringField, TextAreaField
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


class LocalDateTimeField(DateTimeField):
    """A date-time shown and typed in the viewer's zone (their own or the studio's), stored in
    UTC. A value sent back as it was shown keeps the stored time exactly (seconds included)."""

    def __init__(self, label=None, validators=None, **kwargs):
        super().__init__(label, validators, format=["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M"],
                         widget=FormattedDateTimePickerWidget(), **kwargs)

    @staticmethod
    def _shown(value) -> str:
        from app.domain.localtime import to_local
        from app.web import request_timezone

        return to_local(value, request_timezone()).strftime("%Y-%m-%d %H:%M:%S") if value else ""

    def _value(self) -> str:
        if self.raw_data:
            return " ".join(self.raw_data)
        return self._shown(self.data)

    def process_formdata(self, valuelist) -> None:
        from app.domain.localtime import from_local
        from app.web import request_timezone

        text = " ".join(valuelist).strip() if valuelist else ""
        if text and self.object_data is not None and text == self._shown(self.object_data):
            self.data = self.object_data  # untouched: the stored value, not a re-parse of it
            return
        super().process_formdata(valuelist)
        self.data = from_local(self.data, request_timezone()) if self.data else None


class AmountField(DecimalField):
    """Money typed as the app shows it, in the page's language ("1 250 000,50 ₽", "500 000",
    "RUB 1,250,000.50"); shown grouped, kopecks only when there are any."""

    widget = BS3TextFieldWidget()
    scale = 1  # what the field shows for a stored 1
    shown_format = "#,##0.##"
    message = _l("Not a valid amount: type it like 1 250 000 or 1 250 000,50.")

    def __init__(self, label=None, validators=None, **kwargs):
        super().__init__(label, validators or [Optional()], places=None, **kwargs)

    def _value(self) -> str:
        from flask_babel import format_decimal

        if self.raw_data:
            return self.raw_data[0]
        return "" if self.data is None else format_decimal(self.data * self.scale, format=self.shown_format)

    def process_formdata(self, valuelist) -> None:
        from .helpers import read_amount

        if not valuelist:
            return
        try:
            value = read_amount(self.typed(valuelist[0]))
        except ValueError:
            value = False
        if value is False or not self.accepts(value):
            self.data = None
            raise ValueError(self.message)
        self.data = value if value is None or self.scale == 1 else value / self.scale

    def typed(self, text: str) -> str:
        return text

    def accepts(self, value) -> bool:
        return True


class PercentField(AmountField):
    """A share stored as 0..1, typed and shown as a percentage (35 for 0.35)."""

    scale = 100
    shown_format = "0.##"
    message = _l("A percentage from 0 to 100.")

    def typed(self, text: str) -> str:
        return text.replace("%", "")

    def accepts(self, value) -> bool:
        return value is None or 0 <= value <= 100


def datetime_field(label) -> DateTimeField:
    return LocalDateTimeField(label, validators=[Optional()])


def evidence_field(description) -> TextAreaField:
    """Evidence typed in a form: one link, note or "message:<id>" per line."""
    return TextAreaField(_l("Evidence"), widget=BS3TextAreaFieldWidget(), description=description)
