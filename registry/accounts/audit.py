"""The audit trail: who changed what, when. Written in the caller's transaction, read by admins.

Structured answers are health data, so an experience or rating change records which fields
changed, not their values; roles, moderation states and exports record the values.
"""

from __future__ import annotations

import getpass

from sqlalchemy import select

from registry.models import AuditEvent, User
from registry.platform.extensions import db
from registry.platform.pagination import Window


def _no_request() -> tuple[bool, User | None]:
    return False, None


# (inside a web request?, its signed-in account or None): the web layer installs its own (registry.web.hooks).
_request_actor = _no_request


def use_request_actor(lookup) -> None:
    """Name who acts when a caller names nobody: lookup() -> (in a request, signed-in account or None)."""
    global _request_actor
    _request_actor = lookup


def actor_label(user: User | None) -> str:
    if user is not None:
        return f"{user.pseudonym} (#{user.id})"[:60]
    return "system" if _request_actor()[0] else f"cli:{getpass.getuser()}"[:60]


def _current_actor(actor: User | None) -> User | None:
    return actor if actor is not None else _request_actor()[1]


def record(
    action: str, kind: str, object_id: int | None, changes: dict | None = None, actor: User | None = None
) -> AuditEvent:
    """Add an audit event to the session (the caller commits, so a rolled-back change leaves none)."""
    actor = _current_actor(actor)
    event = AuditEvent(
        actor_id=actor.id if actor is not None else None,
        actor_label=actor_label(actor),
        action=action,
        object_kind=kind,
        object_id=object_id,
        changes=changes or {},
    )
    db.session.add(event)
    return event


def changed_fields(before: dict, after: dict) -> list[str]:
    """Names of the fields whose values differ between two snapshots."""
    return sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))


def events(page: int, per_page: int = 50, kind: str | None = None, actor_id: int | None = None) -> Window:
    """The trail, newest first, optionally for one kind of object or one actor."""
    query = select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    if kind:
        query = query.where(AuditEvent.object_kind == kind)
    if actor_id is not None:
        query = query.where(AuditEvent.actor_id == actor_id)
    return Window(db.session, query, page, per_page)
