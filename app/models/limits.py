"""Login failures per client address, shared by every worker and every app host (issue 17).

One row per address and minute (`bucket`) with the number of failed logins in that minute; the
per-address limit sums the buckets of the last CRM_LOGIN_ADDRESS_WINDOW_MINUTES. Rows older than the
window are pruned as new failures arrive (app/sessions.py), so the table stays small. Increments are
one atomic `INSERT … ON CONFLICT DO UPDATE` each: no session state, PgBouncer-safe."""
from datetime import datetime

from flask_appbuilder import Model
from sqlalchemy import DateTime, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column


class LoginFailure(Model):
    """The failed logins of one client address within one minute."""

    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_bucket", "bucket"),)

    address: Mapped[str] = mapped_column(String(64), primary_key=True)
    bucket: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, nullable=False, default=1)


__all__ = ["LoginFailure"]
