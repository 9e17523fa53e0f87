"""The audit log: every change to the registry with who, when, what, before and after.

Library functions that change the registry call :func:`record` inside their transaction,
so an entry lands exactly when the change does. Who acted is taken from :data:`actor`,
a context variable: the web app sets it to the signed-in user for the duration of a
request, the command line leaves the default (``cli:<login name>``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import getpass
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tumorboard.outcomes import jsonable
from tumorboard.registry.models import AuditEntry


def _cli_actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no passwd entry (containers)
        return "cli"


actor: ContextVar[str | None] = ContextVar("tumorboard_audit_actor", default=None)


def current_actor() -> str:
    """Who is making changes now: the web user, else ``cli:<login name>``."""
    return actor.get() or _cli_actor()


@contextlib.contextmanager
def acting_as(name: str) -> Iterator[None]:
    """Attribute the changes made inside the block to ``name``."""
    token = actor.set(name)
    try:
        yield
    finally:
        actor.reset(token)


def row_state(row: Any, *, exclude: tuple[str, ...] = ()) -> dict[str, Any]:
    """The column values of an ORM row, JSON-ready (for ``before``/``after``)."""
    return {c.key: jsonable(getattr(row, c.key)) for c in row.__table__.columns
            if c.key not in exclude}


def record(session: Session, action: str, entity: str, entity_id: Any = None, *,
           patient_id: int | None = None, before: dict[str, Any] | None = None,
           after: dict[str, Any] | None = None) -> None:
    """Add an audit entry to the caller's transaction.

    Parameters
    ----------
    action
        What was done, as ``<noun>.<verb>`` (``recommendation.decide``, ``user.add``).
    entity, entity_id
        The table and row (or natural key) changed.
    before, after
        The record before and after the change (``None`` for creation or deletion).
    """
    session.add(AuditEntry(
        at=dt.datetime.now(dt.UTC), actor=current_actor(), action=action, entity=entity,
        entity_id=None if entity_id is None else str(entity_id), patient_id=patient_id,
        before=jsonable(before) if before is not None else None,
        after=jsonable(after) if after is not None else None))


def entries(session: Session, *, entity: str | None = None, entity_id: Any = None,
            actor_name: str | None = None, action: str | None = None, limit: int = 100,
            offset: int = 0) -> dict[str, Any]:
    """Audit entries newest first, optionally narrowed; ``total`` counts all that match."""
    stmt = select(AuditEntry)
    if entity:
        stmt = stmt.where(AuditEntry.entity == entity)
    if entity_id is not None:
        stmt = stmt.where(AuditEntry.entity_id == str(entity_id))
    if actor_name:
        stmt = stmt.where(AuditEntry.actor == actor_name)
    if action:
        stmt = stmt.where(AuditEntry.action == action)
    total = session.scalar(select(func.count()).select_from(stmt.subquery()))
    rows = session.scalars(stmt.order_by(AuditEntry.id.desc()).limit(limit).offset(offset))
    return {"total": int(total or 0), "entries": [
        {"id": r.id, "at": r.at.isoformat(timespec="seconds"), "actor": r.actor,
         "action": r.action, "entity": r.entity, "entity_id": r.entity_id,
         "patient_id": r.patient_id, "before": r.before, "after": r.after}
        for r in rows]}
