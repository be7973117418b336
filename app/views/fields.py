"""Form fields the generated views need beyond FAB's defaults."""
from __future__ import annotations

from flask_appbuilder.fieldwidgets import BS3TextFieldWidget, Select2Widget
from wtforms import SelectField, StringField
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


def enum_fields(**specs) -> dict:
    """form_extra_fields for enum columns: name=(label, values, default)."""
    return {name: enum_select(*spec) for name, spec in specs.items()}
