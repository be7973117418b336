"""The one read scope: who may see what of the projects (the spec's data isolation boundary).

A project's data — the project, its members and notes, its deals (their events and offers), its
inbound threads (their messages and history) and its record audit rows — is visible only to its
members and to users holding "can read on AllProjects" (Owner, Admin). A user without "can read
on AllAccounts" (a PM) sees only the accounts of their projects, read-only, with their contacts
and the deals outside any project.

Every ORM SELECT of the session passes `do_orm_execute`, which adds the criteria below with
`with_loader_criteria`; generated views, REST, pages, lookups, metrics, exports and relationship
loads all go through it. The scope is fail-closed: with no scope at all, scoped rows are invisible.
Requests get theirs from the web layer (a provider registered at start-up); the system
(webhooks, importers without --as, the demo loader) runs under SYSTEM explicitly.
"""
from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from sqlalchemy import event, or_, select, true
from sqlalchemy.orm import Session, with_loader_criteria
from sqlalchemy.sql.visitors import iterate

from app.models import (Account, AuditEvent, Contact, InboundMessage, InboundThread, InboundThreadEvent, Offer,
                        Opportunity, OpportunityEvent, Project, ProjectMember, ProjectNote)

UNSCOPED = "crm_unscoped"  # execution option of the few queries that compute a scope


@dataclass(frozen=True)
class Scope:
    all_projects: bool
    all_accounts: bool
    project_ids: tuple[uuid.UUID, ...] = ()
    account_ids: tuple[uuid.UUID, ...] = ()  # accounts of the user's projects

    @property
    def everything(self) -> bool:
        return self.all_projects and self.all_accounts

    def sees_project(self, project_id) -> bool:
        return project_id is None or self.all_projects or project_id in self.project_ids


SYSTEM = Scope(all_projects=True, all_accounts=True)
NOBODY = Scope(all_projects=False, all_accounts=False)

_current: ContextVar[Scope | None] = ContextVar("crm_read_scope", default=None)
_request_provider: Callable[[], Scope | None] = lambda: None  # noqa: E731


def set_request_provider(provider: Callable[[], Scope | None]) -> None:
    """The web layer tells how to find the scope of the request being served (if any)."""
    global _request_provider
    _request_provider = provider


def current() -> Scope:
    """The scope in force: the logged-in user's in a request, else an explicit one (the system, a
    CLI user), else nobody's (fail closed)."""
    return _request_provider() or _current.get() or NOBODY


@contextmanager
def scoped(scope: Scope):
    """Run a block under an explicit scope (the system's, or a CLI user's)."""
    token = _current.set(scope)
    try:
        yield scope
    finally:
        _current.reset(token)


def scope_for(session: Session, user_id: int, all_projects: bool, all_accounts: bool) -> Scope:
    """A user's scope: the projects they are a member of and those projects' accounts."""
    rows = session.execute(select(ProjectMember.project_id, Project.account_id)
                           .join(Project, Project.id == ProjectMember.project_id)
                           .where(ProjectMember.user_id == user_id)
                           .execution_options(**{UNSCOPED: True})).all()
    return Scope(all_projects, all_accounts, tuple(sorted({r.project_id for r in rows}, key=str)),
                 tuple(sorted({r.account_id for r in rows}, key=str)))


def project_visible(column, scope: Scope):
    """SQL: a row of this project (or of none) is visible under the scope."""
    if scope.all_projects:
        return true()
    return or_(column.is_(None), column.in_(scope.project_ids))


def account_visible(column, scope: Scope):
    """SQL: a row of this account is visible under the scope."""
    return true() if scope.all_accounts else column.in_(scope.account_ids)


def opportunity_visible(scope: Scope):
    """SQL: the deal is visible (the one helper raw aggregates over deals use too)."""
    if scope.everything:
        return true()
    if scope.all_accounts:
        return project_visible(Opportunity.project_id, scope)
    return or_(Opportunity.project_id.in_(scope.project_ids),
               Opportunity.project_id.is_(None) & Opportunity.account_id.in_(scope.account_ids))


def thread_visible(scope: Scope):
    if scope.everything:
        return true()
    if scope.all_accounts:
        return project_visible(InboundThread.project_id, scope)
    return or_(InboundThread.project_id.in_(scope.project_ids),
               InboundThread.project_id.is_(None) & InboundThread.account_id.in_(scope.account_ids))


def _parent_visible(parent, join, visible):
    """EXISTS (the parent row of this row is visible): keeps its own FROM even when the outer query
    joins the parent too."""
    return select(parent.id).where(join, visible).correlate_except(parent).exists()


# A merged account or contact is kept (history, its old id answering the survivor) but seen by
# nobody: every list, search, picker and metric reads only the survivors.
MERGED_HIDDEN = {Account: Account.merged_into_id.is_(None), Contact: Contact.merged_into_id.is_(None)}


@functools.lru_cache(maxsize=256)
def conditions(scope: Scope) -> dict:
    """The visibility condition of every scoped model under this scope (seeing everything: only
    the merged records hidden)."""
    if scope.everything:
        return dict(MERGED_HIDDEN)
    def in_projects(column):
        return true() if scope.all_projects else column.in_(scope.project_ids)
    # children follow their parent row through a correlated EXISTS (an index lookup per row),
    # never through a list of every visible parent
    visible_opp = opportunity_visible(scope)
    visible_thread = thread_visible(scope)
    return {
        Account: account_visible(Account.id, scope) & MERGED_HIDDEN[Account],
        Contact: account_visible(Contact.account_id, scope) & MERGED_HIDDEN[Contact],
        Project: in_projects(Project.id),
        ProjectMember: in_projects(ProjectMember.project_id),
        ProjectNote: in_projects(ProjectNote.project_id),
        Opportunity: visible_opp,
        OpportunityEvent: _parent_visible(Opportunity, Opportunity.id == OpportunityEvent.opportunity_id, visible_opp),
        Offer: _parent_visible(Opportunity, Opportunity.id == Offer.opportunity_id, visible_opp),
        InboundThread: visible_thread,
        InboundMessage: _parent_visible(InboundThread, InboundThread.id == InboundMessage.thread_id, visible_thread),
        InboundThreadEvent: _parent_visible(InboundThread, InboundThread.id == InboundThreadEvent.thread_id,
                                            visible_thread),
        AuditEvent: project_visible(AuditEvent.project_id, scope) & account_visible(AuditEvent.account_id, scope),
    }


def visible(model):
    """SQL: rows of `model` the current scope may see — the one helper for aggregates written by
    hand (scalar subqueries, raw SQL), where loader criteria do not reach."""
    return conditions(current()).get(model, true())


@functools.lru_cache(maxsize=256)
def _criteria(scope: Scope) -> tuple:
    return tuple(with_loader_criteria(model, condition, include_aliases=True)
                 for model, condition in conditions(scope).items())


SCOPED_MODELS = (Account, Contact, Opportunity, OpportunityEvent, Offer, Project, ProjectMember, ProjectNote,
                 InboundThread, InboundMessage, InboundThreadEvent, AuditEvent)
_resolving: ContextVar[bool] = ContextVar("crm_resolving_scope", default=False)


_SCOPED_TABLES = frozenset(model.__table__ for model in SCOPED_MODELS)


def _touches_scoped_data(execute_state) -> bool:
    """Whether the statement reads a scoped table anywhere (subqueries and unions included): the
    statement's tree walked breadth-first, stopping at the first scoped table (most statements
    name one in their first FROM), instead of listing every table first."""
    return any(element.__visit_name__ == "table" and element in _SCOPED_TABLES
               for element in iterate(execute_state.statement))


def _apply(execute_state) -> None:
    if not execute_state.is_select or execute_state.is_column_load or execute_state.is_relationship_load:
        return
    if execute_state.execution_options.get(UNSCOPED) or _resolving.get() or not _touches_scoped_data(execute_state):
        return
    token = _resolving.set(True)  # finding the scope (the user, their projects) is not itself scoped
    try:
        view = current()
    finally:
        _resolving.reset(token)
    criteria = _criteria(view)
    if criteria:
        execute_state.statement = execute_state.statement.options(*criteria)


def install() -> None:
    """Register the read scope on every session once per process (idempotent)."""
    if not event.contains(Session, "do_orm_execute", _apply):
        event.listen(Session, "do_orm_execute", _apply)
