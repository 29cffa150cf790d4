"""The manager inbox: today's, overdue and coming tasks of the caller's scope, with SLA countdowns.

Built on the servicing module's public functions (``list_tasks``) and the same task scope as
the tasks API (:func:`tierwise.app.web_actions.list_tasks`): a relationship manager sees the
tasks of their own customers (and tasks escalated to them), a branch manager those of the
branch, analysts and admins every task. Times are the policy's local time, like the tasks.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from tierwise.app.access import Principal, require
from tierwise.app.web_actions import _task_scope, servicing
from tierwise.app.workspace import Workspace
from tierwise.errors import NotFoundError

#: task types with a service-level deadline, shown with a countdown
SLA_TYPES = ("alert", "escalation")


def local_now(ws: Workspace) -> datetime:
    from tierwise.app.servicing_generate import local_now as _now

    return _now(ws.policy().servicing)


def _parse(v) -> datetime | None:
    if v is None or isinstance(v, datetime):
        return v
    return datetime.fromisoformat(v)


def inbox(ws: Workspace, principal: Principal, *, now: datetime | None = None, days_ahead: int = 7,
          limit: int = 300) -> dict:
    """Open tasks due up to ``days_ahead`` days from today, split into overdue / today / coming.

    Each task carries ``sla_seconds`` (seconds left until it is due; negative once late) when
    its type has a service-level deadline.
    """
    svc = servicing()
    if svc is None:
        raise NotFoundError("tasks are not available in this installation", hint="the servicing module is missing")
    require(principal, "tasks.read")
    now = now or local_now(ws)
    today = now.date()
    tomorrow = datetime.combine(today + timedelta(days=1), time(0))
    scope = _task_scope(ws, principal)
    rows = svc.list_tasks(ws, manager_ids=set(scope) if scope is not None else None, status="open",
                          due_before=today + timedelta(days=days_ahead + 1), limit=limit)
    out: dict[str, list] = {"overdue": [], "today": [], "coming": []}
    for r in rows:
        due = _parse(r["due_at"])
        r = {**r, "sla": r["type"] in SLA_TYPES,
             "sla_seconds": int((due - now).total_seconds()) if due is not None else None}
        key = "overdue" if due < now else ("today" if due < tomorrow else "coming")
        out[key].append(r)
    return {"now": now.isoformat(timespec="seconds"), "today": today.isoformat(), "days_ahead": days_ahead,
            "truncated": len(rows) >= limit, **out,
            "outcomes": list(getattr(svc, "OUTCOMES", ("reached", "no_answer", "declined", "sold")))}


def remaining(seconds: int | None) -> tuple[int, int, int] | None:
    """(days, hours, minutes) of ``abs(seconds)``.

    >>> remaining(90061)
    (1, 1, 1)
    >>> remaining(-3600)
    (0, 1, 0)
    """
    if seconds is None:
        return None
    s = abs(int(seconds))
    return s // 86400, s % 86400 // 3600, s % 3600 // 60


def customer_work(ws: Workspace, principal: Principal, customer_id: str, limit: int = 20) -> dict:
    """A customer's tasks (open first, then the latest closed) and contact log, for customer 360."""
    from tierwise.app.access import require_customer

    svc = servicing()
    require(principal, "tasks.read")
    require_customer(ws, principal, customer_id)
    if svc is None:
        return {"tasks": [], "contacts": []}
    tasks = svc.list_tasks(ws, customer_id=customer_id, limit=None)
    tasks = sorted(tasks, key=lambda r: (r["status"] != "open", r["due_at"] or ""))[:limit]
    store = ws.store()
    contacts = store.list_contacts(customer_id) if hasattr(store, "list_contacts") else []
    contacts = sorted(contacts, key=lambda r: r["contact_at"], reverse=True)[:limit]
    return {"tasks": tasks, "contacts": [{k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in c.items()}
                                         for c in contacts]}
