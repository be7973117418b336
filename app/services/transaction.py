"""One user action is one transaction: commit, or roll back and raise a domain error."""
from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from app.domain.errors import ConflictError, N_

from .db_errors import integrity_error


@contextmanager
def transaction(session):
    """Commit what the block did; on any error roll everything back (change and audit alike)."""
    try:
        yield session
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise integrity_error(exc) from None
    except StaleDataError:
        session.rollback()
        raise ConflictError({"version": [N_("This record was changed by someone else; reload it and try again.")]}) from None
    except BaseException:
        session.rollback()
        raise
