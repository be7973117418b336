"""The CRM's one addition to Flask-AppBuilder's user: the time zone they read and type times in
(empty: the studio's CRM_TIMEZONE). Declared on FAB's own mapped class, so FAB's forms, the
security manager and g.user all carry it without a second query."""
from flask_appbuilder.security.sqla.models import User
from sqlalchemy import Column, String

if "timezone" not in User.__table__.c:
    User.timezone = Column(String(64), nullable=True)

__all__ = ["User"]
