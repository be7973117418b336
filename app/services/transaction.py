"""One user action is one unit of work: the `@transaction` decorator every verb wears.

The outermost verb commits what it (and the verbs it calls) did, or rolls everything back —
change and audit rows alike — and turns database refusals into field-level domain errors: a
constraint (IntegrityError), a stale version, and a value the database could not take (a
number beyond its column, NUL or a lone surrogate in a text, a malformed id: 422 instead of a
500). A verb called inside another joins the outer unit of work. Nothing else commits.
"""
from __future__ import annotations

import functools
import logging
from contextvars import ContextVar
from dataclasses import replace

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from app.domain.errors import ConflictError
from app.domain.opportunity import VERSION_CONFLICT
from app.extensions import db
from app.models.types import utcnow

from .context import ChangeRequest, reset_current, set_current
from .db_errors import data_error, integrity_error, unavailable

log = logging.getLogger(__name__)
_depth: ContextVar[int] = ContextVar("crm_unit_of_work_depth", default=0)


def _rollback(exc: BaseException | None = None) -> None:
    """Roll back; when the database is away the rollback may fail too, which must not hide why."""
    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001
        if exc is None or not unavailable(exc):
            log.exception("rollback failed")


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
            _rollback()
            raise integrity_error(exc) from None
        except StaleDataError:
            _rollback()
            raise ConflictError({"version": [VERSION_CONFLICT]}) from None
        except Exception as exc:  # a value the database could not take becomes a field error; the rest re-raised
            refusal = data_error(exc)
            if refusal is not None:
                _rollback()
                raise refusal from None
            if outermost:
                _rollback(exc)
            raise
        except BaseException:
            if outermost:
                _rollback()
            raise
        finally:
            reset_current(current)
            _depth.reset(depth)
    return run
