"""Verbs for the plain records (accounts, contacts, projects and their members, offers) that the
generated forms and REST endpoints create, change and delete."""
from __future__ import annotations

from sqlalchemy import inspect

from app.domain.accounts import email_error, normalise_email
from app.domain.errors import N_, NotFoundError, RuleViolation
from app.extensions import db
from sqlalchemy import select

from app.models import Contact, Project, ProjectMember, ProjectNote

from .context import ChangeRequest
from .transaction import transaction


@transaction
def save_record(request: ChangeRequest, item):
    """Create or change a record; a new record with an owner field belongs to its creator unless
    an owner was picked."""
    if inspect(item).transient:
        for column, relation in (("owner_user_id", "owner"), ("created_by_user_id", "created_by")):
            if hasattr(item, column) and getattr(item, column) is None and getattr(item, relation, None) is None:
                setattr(item, column, request.actor.id)
    db.session.add(item)
    if isinstance(item, Project) and item.pm_user_id is not None:
        _pm_is_member(item)
    db.session.flush()
    return item


def _pm_is_member(project: Project) -> None:
    """The project's PM is always one of its members."""
    if project.id is not None and db.session.scalar(select(ProjectMember.id).where(
            ProjectMember.project_id == project.id, ProjectMember.user_id == project.pm_user_id)) is not None:
        return
    if any(m.user_id == project.pm_user_id for m in project.members):
        return
    project.members.append(ProjectMember(user_id=project.pm_user_id, role="pm"))


@transaction
def delete_record(request: ChangeRequest, item) -> None:
    """Delete a record (opportunities and audit rows refuse: the listener says why)."""
    db.session.delete(item)
    db.session.flush()


@transaction
def add_contact(request: ChangeRequest) -> Contact:
    """A contact on an account (request.values: account_id, name, email, phone, role_tags)."""
    values = request.values
    name = (values.get("name") or "").strip()
    errors = {} if name else {"name": [N_("A contact needs a name.")]}
    if email_error(values.get("email")):
        errors["email"] = [email_error(values.get("email"))]
    if errors:
        raise RuleViolation(errors)
    return save_record(request, Contact(account_id=values["account_id"], name=name,
                                        email=normalise_email(values.get("email")), phone=values.get("phone"),
                                        role_tags=list(values.get("role_tags") or [])))


@transaction
def add_project_note(request: ChangeRequest, project_id) -> ProjectNote:
    """A note on a project (request.values["text"]), by the actor, seen by the project's members."""
    text = (request.values.get("text") or "").strip()
    if not text:
        raise RuleViolation({"text": [N_("A note must not be blank.")]})
    project = db.session.get(Project, project_id)
    if project is None:
        raise NotFoundError({"id": [N_("No such project.")]})
    note = ProjectNote(project_id=project.id, text=text, author_user_id=request.actor.id, created_at=request.now())
    db.session.add(note)
    db.session.flush()
    return note
