"""Account health (the smallest honest version of spec 0014): 0–100 from signals a person can check."""
from __future__ import annotations

from dataclasses import dataclass

GREEN_FROM = 70
AMBER_FROM = 40


@dataclass(frozen=True)
class HealthSignals:
    days_since_touch: int | None  # None: never touched
    overdue_next_steps: int
    open_deals: int
    active_projects: int


def touch_penalty(days: int | None) -> int:
    """Silence costs: up to a week is fine, then 15 / 30 / 45 points; never touched costs 45."""
    if days is None or days > 60:
        return 45
    if days > 30:
        return 30
    if days > 7:
        return 15
    return 0


def health_score(s: HealthSignals) -> int:
    """100 minus silence, minus 15 per overdue next step (at most 30), minus 20 when the account
    has neither an open deal nor an active project, plus 10 for active delivery; clamped 0..100."""
    score = 100 - touch_penalty(s.days_since_touch) - min(15 * s.overdue_next_steps, 30)
    if s.open_deals == 0 and s.active_projects == 0:
        score -= 20
    if s.active_projects > 0:
        score += 10
    return max(0, min(100, score))


def health_label(score: int) -> str:
    """green from 70, amber from 40, red below."""
    if score >= GREEN_FROM:
        return "green"
    return "amber" if score >= AMBER_FROM else "red"
