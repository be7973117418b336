"""The allowed range of every bounded number, written once: the domain check, the API schemas
and the generated forms derive their validators from here (the database CHECKs are the last line).

Beyond the rule (`low`..`high`, with its message) a number must fit its column (`limit`: what
Numeric(14, 2) can hold): a larger value is "Out of range." before any query runs. Dates and
times a client sends are bounded too (`date_error`), so none turns into a year the database
or the viewer's time zone cannot represent."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from .errors import N_

OUT_OF_RANGE = N_("Out of range.")
MAX_AMOUNT = Decimal("999999999999.99")  # Numeric(14, 2): amounts and estimates
MAX_INT = 2**31 - 1  # an INTEGER column (ids of users, scores, versions)
EARLIEST, LATEST = date(1900, 1, 1), date(2999, 12, 31)  # dates and times clients may send


def number(value) -> Decimal | None:
    """A finite Decimal of an int, float, Decimal or numeric string; None for anything else."""
    if isinstance(value, bool):
        return None
    try:
        result = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return result if result.is_finite() else None


@dataclass(frozen=True)
class Bounds:
    low: int | None
    high: int | None
    message: str
    limit: Decimal | int | None = None  # the most the column stores (beyond `high`): OUT_OF_RANGE

    def error(self, value) -> str | None:
        """Why the value is refused (its rule's message, or OUT_OF_RANGE past the column), or None."""
        found = number(value)
        if found is None:
            return self.message
        if (self.low is not None and found < self.low) or (self.high is not None and found > self.high):
            return self.message
        return OUT_OF_RANGE if self.limit is not None and abs(found) > self.limit else None

    def holds(self, value) -> bool:
        return self.error(value) is None


BETWEEN_0_100 = Bounds(0, 100, N_("Must be between 0 and 100."))
NOT_NEGATIVE_AMOUNT = Bounds(0, None, N_("Must not be negative."), limit=MAX_AMOUNT)
NOT_NEGATIVE = NOT_NEGATIVE_AMOUNT
RANGES: Mapping[str, Bounds] = {
    "probability": Bounds(0, 1, N_("Must be between 0 and 1.")),
    "discount_percent": BETWEEN_0_100,
    "amount_estimate": NOT_NEGATIVE_AMOUNT,
    "amount": NOT_NEGATIVE_AMOUNT,
    "icp_fit_score": BETWEEN_0_100,
    "influence_score": BETWEEN_0_100,
}


def range_errors(values: Mapping, names: Iterable[str] = RANGES) -> dict[str, list[str]]:
    """Field errors of the given values that fall outside their range (None is not checked)."""
    errors = {}
    for name in names:
        if values.get(name) is not None:
            message = RANGES[name].error(values[name])
            if message:
                errors[name] = [message]
    return errors


def column_limit(precision: int | None, scale: int | None) -> Decimal | None:
    """The largest magnitude a NUMERIC(precision, scale) column stores (None: unbounded)."""
    if not precision:
        return None
    scale = scale or 0
    return Decimal(10) ** (precision - scale) - Decimal(1).scaleb(-scale)


def date_error(value) -> str | None:
    """OUT_OF_RANGE for a date or time outside EARLIEST..LATEST (None passes)."""
    if value is None:
        return None
    day = value.date() if isinstance(value, datetime) else value
    return OUT_OF_RANGE if not EARLIEST <= day <= LATEST else None
