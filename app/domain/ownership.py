"""Who may write a deal or an account: the one ownership rule (the audit listener applies it to
every write, the pages ask it before offering a control).

A role permission says what kind of action a user may do; ownership says on which records.
Users with the "writes every owner's records" permission (Owner and Admin by default) write
everything. Everyone else writes the records they own or that have no owner; writing an unowned
record makes it theirs, and they cannot give a record to someone else.
"""
from __future__ import annotations

from .errors import N_

OWNER_FIELD = "owner_user_id"
NOT_YOURS = N_("This belongs to another user: only its owner, an Owner or an Admin may change it.")
ONLY_TO_YOURSELF = N_("You can assign it only to yourself: an Owner or an Admin assigns it to others.")


def may_write(actor_id: int | None, writes_all: bool, owner_id: int | None) -> bool:
    """Whether the actor may change a record that has this owner now (the system always may)."""
    return actor_id is None or writes_all or owner_id is None or owner_id == actor_id


def write_refusal(actor_id: int | None, writes_all: bool, old_owner: int | None, new_owner: int | None,
                  created: bool) -> dict[str, list[str]]:
    """The field errors of a write by this actor (old_owner is ignored for a new record)."""
    if actor_id is None or writes_all:
        return {}
    if not created and not may_write(actor_id, writes_all, old_owner):
        return {OWNER_FIELD: [NOT_YOURS]}
    if new_owner is not None and new_owner != actor_id:
        return {OWNER_FIELD: [ONLY_TO_YOURSELF]}
    return {}


def owner_after(actor_id: int | None, writes_all: bool, new_owner: int | None, created: bool) -> int | None:
    """The owner to store: a new record without an owner belongs to its creator; an unowned record
    written by someone without the manager permission becomes theirs (a manager may leave or make
    a record ownerless explicitly)."""
    if new_owner is not None or actor_id is None:
        return new_owner
    return actor_id if created or not writes_all else None
