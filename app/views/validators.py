"""WTForms validators that ask the database before the write (the constraint stays the last line)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from wtforms.validators import NumberRange, Optional, ValidationError

from app.domain.ranges import RANGES

from app.extensions import db


class UniqueLower:
    """Refuse a value that exists on another row in any letter case (after normalisation)."""

    def __init__(self, column, normalise=None, message=None):
        self.column = column
        self.normalise = normalise or (lambda v: v.strip().lower())
        self.message = message

    def __call__(self, form, field):
        if not field.data:
            return
        value = self.normalise(field.data)
        if not value:
            return
        model = self.column.class_
        query = select(model.id).where(func.lower(self.column) == value.lower())
        current_id = getattr(form, "_id", None)
        if current_id is not None:
            query = query.where(model.id != current_id)
        if db.session.execute(query.limit(1)).first():
            raise ValidationError(self.message or _l("Already exists."))


def range_validators(*names: str) -> dict[str, list]:
    """validators_columns for bounded numbers, from the domain's one table of ranges."""
    return {name: [Optional(), NumberRange(RANGES[name].low, RANGES[name].high, message=_l(RANGES[name].message))]
            for name in names}
