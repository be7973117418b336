"""SQL conditions the read queries share, each the twin of one domain rule."""
from __future__ import annotations

from datetime import datetime

from app.models import Opportunity


def next_step_overdue(now: datetime):
    """SQL for app.domain.next_step.is_overdue: the due time has passed."""
    return Opportunity.next_step_due_at < now
