"""One user action is one unit of work: the `@transaction` decorator every verb wears.

The outermost verb commits what it (and the verbs it calls) did, or rolls everything back —
change and audit rows alike — and turns database refusals into field-level domain errors. A
verb called inside another joins the outer unit of work. Nothing else commits.
"""
from __future__ import annotations

import functools
from contextvars import ContextVar
from dataclasses import replace

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from app.domain.errors import ConflictError
from app.domain.opportunity import VERSION_CONFLICT
from app.extensions import db
from app.models.types import utcnow

from .context import ChangeRequest, reset_current, set_current
from .db_errors import integrity_error

_depth: ContextVar[int] = ContextVar("crm_unit_of_work_depth", default=0)


def transaction(verb):
    """Run `verb(request, ...)` as one unit of work with `request` as the current change request."""
    @functools.wraps(verb)
    def run(request: ChangeRequest, *args, **kwargs):
        if not isinstance(request, ChangeRequest):
            raise TypeError(f"{verb.__name__} takes a ChangeRequest first")
        outermost = _depth.get() == 0
        if request.at is None:  # one action, one time: every row it writes carries the same instant
            request = replace(request, at=utcnow())
        depth, current = _depth.set(_depth.get() + 1), set_current(request)
        try:
            result = verb(request, *args, **kwargs)
            if outermost:
                db.session.commit()
            return result
        except IntegrityError as exc:
            db.session.rollback()
            raise integrity_error(exc) from None
        except StaleDataError:
            db.session.rollback()
            raise ConflictError({"version": [VERSION_CONFLICT]}) from None
        except BaseException:
            if outermost:
                db.session.rollback()
            raise
        finally:
            reset_current(current)
            _depth.reset(depth)
    return run
