"""The CRM's additions to Flask-AppBuilder's user: the time zone they read and type times in
(empty: the studio's CRM_TIMEZONE), when their sessions and tokens start to count (a password
change moves it: every cookie and JWT issued before is dead) and until when their login is locked
after repeated wrong passwords. Declared on FAB's own mapped class, so FAB's forms, the security
manager and g.user all carry them without a second query.

`RevokedToken` is the blocklist of single sessions and JWTs that were logged out before they
expire (app/sessions.py)."""
from datetime import datetime

from flask_appbuilder import Model
from flask_appbuilder.security.sqla.models import User
from sqlalchemy import Column, DateTime, Index, String
from sqlalchemy.orm import Mapped, mapped_column

if "timezone" not in User.__table__.c:
    User.timezone = Column(String(64), nullable=True)
if "sessions_valid_after" not in User.__table__.c:
    User.sessions_valid_after = Column(DateTime(timezone=True), nullable=True)
if "locked_until" not in User.__table__.c:
    User.locked_until = Column(DateTime(timezone=True), nullable=True)


class RevokedToken(Model):
    """A logged-out session id or JWT id (`jti`), kept until the session or token would have
    expired anyway."""

    __tablename__ = "revoked_tokens"
    __table_args__ = (Index("ix_revoked_tokens_expires_at", "expires_at"),)

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


__all__ = ["User", "RevokedToken"]
