from __future__ import annotations

import uuid
from datetime import date, datetime

from flask_appbuilder import Model
from sqlalchemy import CheckConstraint, Date, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column, object_session, relationship

from .choices import PROJECT_STATUSES, check_in
from .mixins import Timestamps, UUIDPk
from .types import GUID, utcnow


class Project(UUIDPk, Timestamps, Model):
    """Delivery work for an account; later also a data-isolation boundary."""

    __tablename__ = "projects"
    __table_args__ = (
        CheckConstraint(check_in("status", PROJECT_STATUSES), name="ck_projects_status"),
        CheckConstraint("end_date IS NULL OR start_date IS NULL OR end_date >= start_date", name="ck_projects_dates"),
        Index("ix_projects_account_status", "account_id", "status"),
    )

    account_id: Mapped[uuid.UUID] = mapped_column(GUID(), ForeignKey("accounts.id"), nullable=False)
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="planned", server_default="planned")
    pm_user_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("ab_user.id"))
    start_date: Mapped[date | None] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)

    audit_entity = "project"
    audit_fields = ("account_id", "name", "status", "pm_user_id", "start_date", "end_date")

    account = relationship("Account", back_populates="projects", lazy="joined", innerjoin=True)

    def audit_scope(self):
        return self.account_id or (self.account.id if self.account else None), self.id
    pm = relationship("User", foreign_keys=[pm_user_id], lazy="joined")
    members = relationship("ProjectMember", back_populates="project", lazy="select", cascade="all, delete-orphan")

    def __repr__(self) -> str:
        return self.name or ""


class ProjectNote(UUIDPk, Model):
    """A note written on a project (visible to its members, Owner and Admin)."""

    __tablename__ = "project_notes"
    __table_args__ = (Index("ix_project_notes_project_created", "project_id", "created_at"),)

    project_id: Mapped[uuid.UUID] = mapped_column(GUID(), ForeignKey("projects.id"), nullable=False)
    text: Mapped[str] = mapped_column(Text, nullable=False)
    author_user_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("ab_user.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow,
                                                 server_default=func.now())

    author = relationship("User", foreign_keys=[author_user_id], lazy="joined")


class ProjectMember(UUIDPk, Model):
    """A user working on a project (the future isolation boundary)."""

    __tablename__ = "project_members"
    __table_args__ = (UniqueConstraint("project_id", "user_id", name="uq_project_members_project_user"),)

    project_id: Mapped[uuid.UUID] = mapped_column(GUID(), ForeignKey("projects.id", ondelete="CASCADE"), nullable=False)
    user_id: Mapped[int] = mapped_column(Integer, ForeignKey("ab_user.id"), nullable=False)
    role: Mapped[str | None] = mapped_column(String(64))

    audit_entity = "project_member"
    audit_fields = ("project_id", "user_id", "role")

    project = relationship("Project", back_populates="members")

    def audit_scope(self):
        project = self.project
        if project is None and self.project_id is not None:
            project = object_session(self).get(Project, self.project_id)
        return (project.account_id or project.account.id if project is not None else None,
                self.project_id or (project.id if project is not None else None))
    user = relationship("User", foreign_keys=[user_id], lazy="joined")

    def __repr__(self) -> str:
        return str(self.user) if self.user else ""
