"""The audit log for administrators: filtered by action, actor and date, newest first, paged.

Reads the hash-chained ``audit_log`` table of the operational store with one SQLAlchemy Core
query (SQLite or PostgreSQL alike); ``verify`` says whether the chain is intact.
"""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta, timezone

import sqlalchemy as sa

from tierwise.app.access import Principal, require
from tierwise.app.workspace import Workspace
from tierwise.errors import UserInputError
from tierwise.store.db import audit_log

MAX_LIMIT = 500


def _bound(d: date | None, end: bool) -> datetime | None:
    if d is None:
        return None
    return datetime.combine(d + timedelta(days=1) if end else d, time(0), tzinfo=timezone.utc)


def audit_entries(ws: Workspace, principal: Principal, *, action: str | None = None, actor: str | None = None,
                  target: str | None = None, since: date | None = None, until: date | None = None,
                  limit: int = 100, offset: int = 0) -> dict:
    """Audit records matching every filter given; ``action`` ending in ``.`` or ``*`` matches a prefix
    (``override.`` → every override action). Dates are UTC days, ``until`` inclusive."""
    require(principal, "audit.read")
    if not 1 <= limit <= MAX_LIMIT or offset < 0:
        raise UserInputError(f"limit {limit}, offset {offset}: limit must be 1…{MAX_LIMIT}, offset ≥ 0")
    if since and until and until < since:
        raise UserInputError(f"the date range ends ({until}) before it starts ({since})")
    c = audit_log.c
    cond = []
    if action:
        a = action.rstrip("*")
        cond.append(c.action.startswith(a, autoescape=True) if a != action or a.endswith(".") else c.action == a)
    if actor:
        cond.append(c.actor == actor)
    if target:
        cond.append(c.target == target)
    if since:
        cond.append(c.at >= _bound(since, False))
    if until:
        cond.append(c.at < _bound(until, True))
    where = sa.and_(sa.true(), *cond)
    engine = ws.store().engine
    with engine.connect() as conn:
        total = conn.execute(sa.select(sa.func.count()).select_from(audit_log).where(where)).scalar_one()
        rows = conn.execute(sa.select(c.seq, c.at, c.actor, c.action, c.target, c.detail, c.origin)
                            .where(where).order_by(c.seq.desc()).limit(limit).offset(offset)).mappings().all()
        actions = [r[0] for r in conn.execute(sa.select(c.action).distinct().order_by(c.action))]
    items = []
    for r in rows:
        detail = r["detail"]
        try:
            detail = json.loads(detail) if detail else None
        except ValueError:
            pass
        items.append({"seq": r["seq"], "at": r["at"].isoformat() if r["at"] else None, "actor": r["actor"],
                      "action": r["action"], "target": r["target"], "detail": detail, "origin": r["origin"]})
    return {"total": total, "limit": limit, "offset": offset, "items": items, "actions": actions}


def verify(ws: Workspace, principal: Principal) -> dict:
    require(principal, "audit.read")
    ok, broken = ws.store().verify_audit()
    return {"intact": ok, "first_broken_seq": broken}
