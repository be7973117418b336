"""The allowed range of every bounded number, written once: the domain check, the API schemas
and the generated forms derive their validators from here (the database CHECKs are the last line)."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from .errors import N_


@dataclass(frozen=True)
class Bounds:
    low: int | None
    high: int | None
    message: str

    def holds(self, value) -> bool:
        try:
            number = Decimal(str(value))
        except (InvalidOperation, ValueError):
            return False
        if not number.is_finite():
            return False
        return (self.low is None or number >= self.low) and (self.high is None or number <= self.high)


BETWEEN_0_100 = Bounds(0, 100, N_("Must be between 0 and 100."))
NOT_NEGATIVE = Bounds(0, None, N_("Must not be negative."))
RANGES: Mapping[str, Bounds] = {
    "probability": Bounds(0, 1, N_("Must be between 0 and 1.")),
    "discount_percent": BETWEEN_0_100,
    "amount_estimate": NOT_NEGATIVE,
    "amount": NOT_NEGATIVE,
    "icp_fit_score": BETWEEN_0_100,
    "influence_score": BETWEEN_0_100,
}


def range_errors(values: Mapping, names: Iterable[str] = RANGES) -> dict[str, list[str]]:
    """Field errors of the given values that fall outside their range (None is not checked)."""
    return {name: [RANGES[name].message] for name in names
            if values.get(name) is not None and not RANGES[name].holds(values[name])}
