"""`flask crm ...` commands: each translates its arguments into a change request and calls a
verb (the verb owns the transaction), so every change runs through the same rules and audit."""
from __future__ import annotations


from .common import crm
from . import aggregates, inbound, opportunities  # noqa: F401  (register their commands on `crm`)

__all__ = ["crm"]
