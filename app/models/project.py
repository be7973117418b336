from __future__ import annotations

import uuid
from datetime import date

from flask_appbuilder import Model
from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .choices import PROJECT_STATUSES, check_in
from .mixins import Timestamps, UUIDPk
from .types import GUID


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
        return (project.account_id or project.account.id if project is not None else None,
                self.project_id or (project.id if project is not None else None))
    user = relationship("User", foreign_keys=[user_id], lazy="joined")

    def __repr__(self) -> str:
        return str(self.user) if self.user else ""
