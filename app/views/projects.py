"""The project page: key fields, members (managed by Owner, Admin and the project's PM), its deals,
threads and notes, and a timeline. Thin: reads from app/queries/projects.py, writes through the
record verbs; the read scope makes a project the viewer may not see a 404."""
from __future__ import annotations

import uuid

from flask import abort, current_app, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_babel import gettext

from app.domain.errors import DomainError
from app.domain.next_step import next_step_state
from app.extensions import db
from app.models import ProjectMember
from app.queries import projects as queries
from app.services import records
from app.views.labels import CHOICE_LABELS
from app.web import change_request, local_now, request_actor

from .helpers import arg_int, remember_names, template_helpers
from .history import evidence_messages, group_timeline

# Every view and API named "Project" declares the same set (FAB drops the permissions a view of
# the same name does not declare when it syncs).
PROJECT_PERMISSIONS = ["can_read", "can_write", "can_delete", "can_note"]


def flash_refusal(exc: DomainError) -> None:
    """A refusal as plain sentences (the page has no form fields to put them on)."""
    for messages in exc.messages.values():
        for message in messages:
            flash(gettext(message), "danger")


def manages_members(project) -> bool:
    """Owner and Admin (every project) and the project's own PM add and remove its members, when
    their role may write projects at all; the verb decides again on save."""
    actor = request_actor()
    return (actor.all_projects or actor.id == project.pm_user_id) and \
        current_app.appbuilder.sm.has_access("can_write", "Project")


class ProjectPageView(BaseView):
    route_base = "/projects"
    default_view = "show"
    class_permission_name = "Project"
    method_permission_name = {"show": "read", "add_member": "write", "remove_member": "write", "add_note": "note"}
    base_permissions = PROJECT_PERMISSIONS

    @expose("/<uuid:pk>")
    @has_access
    def show(self, pk):
        """Key fields, members, deals, threads, notes and the timeline of one project."""
        try:
            project = queries.get_project(pk)
            manage = manages_members(project)
            data = queries.project_page(pk, arg_int("timeline_page"), with_users=manage)
        except DomainError:
            abort(404)
        sm = self.appbuilder.sm
        data["timeline"] = group_timeline(data["timeline"])
        remember_names(data.pop("user_names"))
        return self.render_template("pages/project.html", labels=CHOICE_LABELS,
                                    evidence_messages=evidence_messages(e["item"] for e in data["timeline"]),
                                    now=local_now(), next_step_state=next_step_state, manage=manage,
                                    may_note=sm.has_access("can_note", "Project"),
                                    may_edit=sm.has_access("can_write", "Project"),
                                    may_read_threads=sm.has_access("can_read", "Triage"), **data, **template_helpers())

    def _back(self, pk):
        return redirect(url_for("ProjectPageView.show", pk=pk))

    @expose("/<uuid:pk>/members", methods=["POST"])
    @has_access
    def add_member(self, pk):
        """Add a user to the project with their role in it (pm, designer, sales, …)."""
        project = self._visible(pk)
        user_id = request.form.get("user_id", "")
        if not user_id.isdigit():
            flash(gettext("Choose a user to add."), "danger")
            return self._back(pk)
        role = (request.form.get("role") or "").strip()[:64] or None
        try:
            # with the project itself (not only its id) the audit row carries the project's account too
            records.save_record(change_request(), ProjectMember(project=project, user_id=int(user_id), role=role))
            flash(gettext("Member added."), "success")
        except DomainError as exc:
            flash_refusal(exc)
        return self._back(pk)

    @expose("/<uuid:pk>/members/<uuid:member_id>/remove", methods=["POST"])
    @has_access
    def remove_member(self, pk, member_id):
        """Remove one member (the project's PM stays a member while they are its PM)."""
        project = self._visible(pk)
        member = db.session.get(ProjectMember, member_id)
        if member is None or member.project_id != project.id:
            abort(404)
        if member.user_id == project.pm_user_id:
            flash(gettext("The project's PM is always a member: choose another PM first."), "danger")
            return self._back(pk)
        try:
            records.delete_record(change_request(), member)
            flash(gettext("Member removed."), "success")
        except DomainError as exc:
            flash_refusal(exc)
        return self._back(pk)

    @expose("/<uuid:pk>/notes", methods=["POST"])
    @has_access
    def add_note(self, pk):
        """A note on the project, seen by its members."""
        self._visible(pk)
        try:
            records.add_project_note(change_request({"text": request.form.get("text", "")}), pk)
            flash(gettext("Note added."), "success")
        except DomainError as exc:
            flash_refusal(exc)
        return self._back(pk)

    @staticmethod
    def _visible(pk: uuid.UUID):
        """The project, or 404 when it does not exist for this viewer (its existence is not revealed)."""
        try:
            return queries.get_project(pk)
        except DomainError:
            abort(404)
