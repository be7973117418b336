"""SQL conditions the read queries share, each the twin of one domain rule."""
from __future__ import annotations

from datetime import datetime

from app.models import Opportunity


def next_step_overdue(now: datetime):
    """SQL for app.domain.next_step.is_overdue: the due time has passed."""
    return Opportunity.next_step_due_at < now


NO_PROJECT = "none"  # a project filter asking for the deals outside any project


def in_project(project, column=Opportunity.project_id) -> list:
    """SQL for a project filter of a page: [] for all deals, deals outside any project for
    NO_PROJECT, else the deals of that project (the read scope still applies underneath)."""
    if project is None:
        return []
    if project == NO_PROJECT:
        return [column.is_(None)]
    return [column == project]
