"""What the project page shows, and the project choices of the board, dashboard and triage
filters. Reads only; the read scope (app/scope.py) already hides every project the viewer
is not a member of (unless they see all projects), so an unseen project reads as "no such project"."""
from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import func, select

from app.queries import timeline as timelines
from sqlalchemy.orm import contains_eager, joinedload

from app.domain.errors import N_, NotFoundError
from app.extensions import db
from app.models import (Account, AuditEvent, InboundMessage, InboundThread, Opportunity, OpportunityEvent, Project,
                        ProjectMember, ProjectNote, User)

TIMELINE_PAGE = 20
NOTES_SHOWN = 10
THREADS_SHOWN = 50
CHOICES_LIMIT = 300  # a filter select, not a list page


@dataclass(frozen=True)
class ProjectChoice:
    id: uuid.UUID
    name: str
    account_name: str
    status: str

    @property
    def label(self) -> str:
        return f"{self.name} — {self.account_name}"


def get_project(project_id) -> Project:
    project = db.session.get(Project, project_id, options=[joinedload(Project.account), joinedload(Project.pm)])
    if project is None:
        raise NotFoundError({"id": [N_("No such project.")]})
    return project


def project_choices(account_ids=None) -> list[ProjectChoice]:
    """The projects the viewer can see (active first, then by name), optionally of some accounts:
    one statement."""
    query = (select(Project.id, Project.name, Account.name, Project.status)
             .join(Account, Account.id == Project.account_id)
             .order_by(Project.status.notin_(("active", "planned")), func.lower(Project.name), Project.id)
             .limit(CHOICES_LIMIT))
    if account_ids is not None:
        query = query.where(Project.account_id.in_(list(account_ids)))
    return [ProjectChoice(*row) for row in db.session.execute(query)]


def projects_by_account(account_ids) -> dict[uuid.UUID, list[ProjectChoice]]:
    """The visible projects of these accounts, grouped (one statement; none asked, none run)."""
    ids = {a for a in account_ids if a is not None}
    if not ids:
        return {}
    query = (select(Project.account_id, Project.id, Project.name, Account.name, Project.status)
             .join(Account, Account.id == Project.account_id).where(Project.account_id.in_(ids))
             .order_by(Project.status.notin_(("active", "planned")), func.lower(Project.name), Project.id))
    grouped: dict[uuid.UUID, list[ProjectChoice]] = {}
    for account_id, *row in db.session.execute(query):
        grouped.setdefault(account_id, []).append(ProjectChoice(*row))
    return grouped


def project_names(project_ids) -> dict[uuid.UUID, str]:
    """Names of the visible projects among these ids (one statement; none asked, none run)."""
    ids = {p for p in project_ids if p is not None}
    if not ids:
        return {}
    return dict(db.session.execute(select(Project.id, Project.name).where(Project.id.in_(ids))).all())


def project_page(project_id, timeline_page: int = 0, with_users: bool = False) -> dict:
    """Everything the project page shows (a fixed number of statements)."""
    project = get_project(project_id)
    members = db.session.scalars(
        select(ProjectMember).join(User, User.id == ProjectMember.user_id).options(contains_eager(ProjectMember.user))
        .where(ProjectMember.project_id == project.id)
        .order_by(ProjectMember.user_id != project.pm_user_id,  # the PM first
                  func.lower(User.first_name), func.lower(User.last_name), User.id)).all()
    deals = db.session.scalars(
        select(Opportunity).where(Opportunity.project_id == project.id)
        .order_by(Opportunity.status != "open", Opportunity.next_step_due_at.asc().nulls_last(),
                  Opportunity.closed_at.desc(), Opportunity.id)).all()
    threads = db.session.scalars(
        select(InboundThread).where(InboundThread.project_id == project.id)
        .order_by(InboundThread.last_message_at.desc().nulls_last(), InboundThread.id).limit(THREADS_SHOWN)).all()
    notes_total = db.session.scalar(select(func.count()).select_from(ProjectNote)
                                    .where(ProjectNote.project_id == project.id))
    notes = db.session.scalars(
        select(ProjectNote).where(ProjectNote.project_id == project.id)
        .order_by(ProjectNote.created_at.desc(), ProjectNote.id).limit(NOTES_SHOWN)).all()
    member_ids = {m.user_id for m in members}
    users = []
    if with_users:  # who may be added: active users not yet members
        users = [u for u in db.session.execute(
            select(User.id, User.first_name, User.last_name, User.username).where(User.active.is_(True))
            .order_by(func.lower(User.first_name), func.lower(User.last_name), User.id)) if u.id not in member_ids]
    total, items = timeline(project.id, timeline_page)
    return {"project": project, "members": members, "deals": deals, "threads": threads, "notes": notes,
            "notes_total": notes_total, "users": users, "timeline": items, "timeline_total": total,
            "timeline_page": timeline_page, "timeline_size": TIMELINE_PAGE,
            "user_names": timelines.user_names(items)}


def timeline(project_id, page: int = 0) -> tuple[int, list[dict]]:
    """The project's record audit rows (the project, its members), its deals' events, its notes and
    its threads' client messages, newest first, paged."""
    return timelines.page([
        timelines.source("record", AuditEvent.project_id == project_id),
        timelines.source("event", Opportunity.project_id == project_id,
                         join=(Opportunity, Opportunity.id == OpportunityEvent.opportunity_id)),
        timelines.source("note", ProjectNote.project_id == project_id),
        timelines.source("message", InboundThread.project_id == project_id, InboundMessage.private.is_(False),
                         join=(InboundThread, InboundThread.id == InboundMessage.thread_id)),
    ], page, TIMELINE_PAGE)
