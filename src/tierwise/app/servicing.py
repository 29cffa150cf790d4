"""Servicing for the shells (CLI, API, web): owners, managers, tasks, completion, compliance.

The manager inbox and row-level access build on :func:`owners`, :func:`managers` and
:func:`list_tasks`; completing a task goes through :func:`complete_task` everywhere, so the
check, the contact record and the audit entry are the same for every shell.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pyarrow as pa
import pyarrow.compute as pc

from tierwise.app.workspace import Workspace
from tierwise.errors import UserInputError, did_you_mean
from tierwise.protect.vault import TEXT_PREFIX, open_text
from tierwise.servicing.compliance import GROUPS, report

OUTCOMES = ("reached", "no_answer", "declined", "sold")


class TaskStateError(UserInputError):
    """A task cannot be completed: unknown id, or already done or closed."""


def _canonical(ws: Workspace, table: str, columns: list[str]) -> pa.Table:
    from tierwise.app.servicing_generate import read_canonical
    return read_canonical(ws, table, columns)


def owners(ws: Workspace) -> pa.Table:
    """The current owner of every customer: ``customer_id, manager_id, branch_id``.

    The assignment in the store when there is one, else ``customers.manager_id`` / ``branch_id``."""
    cust = _canonical(ws, "customers", ["customer_id", "manager_id", "branch_id"])
    cids, mids, bids = ws.store().assignment_columns()
    if not cids:
        return cust.select(["customer_id", "manager_id", "branch_id"])
    assigned = pa.table({"customer_id": pa.array(cids, pa.string()), "a_manager": pa.array(mids, pa.string()),
                         "a_branch": pa.array(bids, pa.string())})
    j = cust.join(assigned, "customer_id", join_type="left outer")
    has = pc.is_valid(j["a_manager"])
    return pa.table({"customer_id": j["customer_id"],
                     "manager_id": pc.if_else(has, j["a_manager"], j["manager_id"]),
                     "branch_id": pc.if_else(has, j["a_branch"], j["branch_id"])}).sort_by("customer_id")


def managers(ws: Workspace) -> list[dict]:
    """Every manager: ``manager_id, name, branch_id, reports_to, active`` (and capacity, tiers)."""
    return [{k: m[k] for k in ("manager_id", "name", "branch_id", "reports_to", "active", "capacity", "tiers",
                               "email")} for m in ws.store().list_managers()]


def manager_names(ws: Workspace) -> dict[str, str]:
    return {m["manager_id"]: m["name"] for m in ws.store().list_managers()}


def _public(task: dict, ring=None) -> dict:
    """A task for callers: times as ISO text, the message opened from its seal (``ring``)."""
    out = dict(task)
    if ring is not None and out.get("message"):
        out["message"] = open_text(ring, out["message"], f"tasks.message|{out['task_key']}")
    for k in ("due_at", "created_at", "closed_at", "escalated_at"):
        if out.get(k) is not None:
            out[k] = out[k].isoformat()
    for k in ("anchor", "created_on"):
        if out.get(k) is not None:
            out[k] = out[k].isoformat()
    return out


def list_tasks(ws: Workspace, *, manager_ids: set[str] | None = None, customer_id: str | None = None,
               status: str | None = None, due_before: date | None = None, limit: int = 100, offset: int = 0,
               type: str | None = None) -> list[dict]:
    """Tasks ordered by due time; ``manager_ids`` also matches tasks escalated to those managers."""
    if status is not None and status not in ("open", "done", "closed"):
        raise UserInputError(f"unknown task status '{status}'", hint=did_you_mean(status, ("open", "done", "closed"))
                             or "use open, done or closed")
    before = datetime.combine(due_before, time(0)) if due_before else None
    rows = ws.store().find_tasks(manager_ids=manager_ids, customer_id=customer_id, status=status, type=type,
                                 due_before=before, limit=limit, offset=offset)
    ring = ws.keyring() if any(str(r.get("message") or "").startswith(TEXT_PREFIX) for r in rows) else None
    return [_public(r, ring) for r in rows]


def get_task(ws: Workspace, task_id: int) -> dict | None:
    t = ws.store().get_task(int(task_id))
    return _public(t, ws.keyring()) if t else None


def parse_outcome(outcome: str) -> tuple[str, str | None]:
    """``reached`` | ``no_answer`` | ``declined`` | ``sold:PRODUCT`` → (outcome, product)."""
    kind, _, product = outcome.partition(":")
    kind = kind.strip().replace("-", "_").replace(" ", "_")
    if kind not in OUTCOMES:
        hint = did_you_mean(kind, OUTCOMES)
        raise UserInputError(f"unknown outcome '{outcome}'",
                             hint=hint or "use reached, no_answer, declined or sold:PRODUCT")
    if kind == "sold" and not product.strip():
        raise UserInputError(f"outcome '{outcome}': say which product was sold", hint="e.g. sold:FUND-001")
    return kind, (product.strip() or None)


def complete_task(ws: Workspace, task_id: int, *, outcome: str, actor: str, note: str | None = None,
                  at: datetime | None = None) -> dict:
    """Complete an open task with an outcome; a contact outcome is also logged as a contact (it resets the
    cadence clock). Audited. Raises :class:`TaskStateError` for an unknown or closed task."""
    from tierwise.app.servicing_generate import local_now

    kind, product = parse_outcome(outcome)
    store = ws.store()
    task = store.get_task(int(task_id))
    if task is None:
        raise TaskStateError(f"no task {task_id}", hint="list tasks with: tierwise tasks list DIR")
    if task["status"] != "open":
        raise TaskStateError(f"task {task_id} is already {task['status']} ({task['outcome'] or task['close_reason']})",
                             hint="only open tasks can be completed")
    policy = ws.policy()
    at = at or local_now(policy.servicing)
    stored = f"sold:{product}" if product else kind
    if not store.close_task(int(task_id), status="done", outcome=stored, reason=None, actor=actor, at=at, note=note):
        raise TaskStateError(f"task {task_id} was completed by someone else just now")
    if kind in policy.servicing.contact_outcomes and task["type"] not in ("birthday", "holiday"):
        store.add_contacts([{"customer_id": task["customer_id"], "contact_at": at, "manager_id": task["manager_id"],
                             "channel": "task", "outcome": kind, "source": f"task:{task_id}", "task_id": int(task_id)}])
    store.audit(actor, "task.complete", str(task_id), {"outcome": stored, "customer_id": task["customer_id"],
                                                       "note": note})
    return get_task(ws, int(task_id))


def compliance(ws: Workspace, *, by: str = "manager", as_of: date | None = None, since: date | None = None) -> list[dict]:
    """Compliance per manager, branch or tier over tasks due from ``since`` (default a year before) to
    ``as_of`` (default today); the last row (key ``*``) is the total."""
    from tierwise.app.servicing_generate import local_now

    if by not in GROUPS:
        raise UserInputError(f"compliance by '{by}': use manager, branch or tier",
                             hint=did_you_mean(by, GROUPS))
    policy = ws.policy()
    as_of = as_of or local_now(policy.servicing).date()
    since = since or as_of - timedelta(days=365)
    facts = ws.store().task_facts(datetime.combine(since, time(0)), datetime.combine(as_of + timedelta(days=1), time(0)))
    return report(facts, by=by, since=since, as_of=as_of, contact_outcomes=policy.servicing.contact_outcomes)


def service_plan(ws: Workspace, customer_id: str) -> dict:
    """A customer's plan: owner, plan value, priority-service flags, open tasks."""
    from tierwise.app.servicing_generate import _snapshot_part, local_now

    policy = ws.policy()
    sv = policy.servicing
    own = owners(ws)
    row = own.filter(pc.equal(own["customer_id"], customer_id)).to_pylist()
    if not row:
        raise UserInputError(f"unknown customer '{customer_id}'")
    _, snap, _ = _snapshot_part(ws, policy, local_now(sv).date())
    plan = None
    if snap is not None:
        hit = snap.filter(pc.equal(snap["customer_id"], customer_id))
        plan = hit[sv.plan_by][0].as_py() if hit.num_rows else None
    return {**row[0], "plan": plan, "flags": sv.priority_flags.get(plan, []) if plan else [],
            "cadence_months": sv.cadence.months.get(plan) if plan else None,
            "open_tasks": list_tasks(ws, customer_id=customer_id, status="open", limit=None)}


def export_tasks(ws: Workspace, path, *, manager_ids: set[str] | None = None, status: str | None = "open") -> int:
    """Write tasks to CSV (UTF-8 with BOM) or xlsx, atomically; returns the number written."""
    import csv
    import io
    import os
    from pathlib import Path

    from tierwise.atomic import write_atomic

    path = Path(path)
    rows = list_tasks(ws, manager_ids=manager_ids, status=status, limit=None)
    cols = ["task_id", "type", "customer_id", "manager_id", "due_at", "priority", "status", "message", "rule",
            "created_at", "closed_at", "outcome"]
    if path.suffix.lower() == ".xlsx":
        import xlsxwriter
        tmp = path.with_name(f"_{path.name}.tmp")
        wb = xlsxwriter.Workbook(str(tmp))
        sheet = wb.add_worksheet("tasks")
        for i, r in enumerate([cols, *[[r.get(c) for c in cols] for r in rows]]):
            sheet.write_row(i, 0, r)
        wb.close()
        os.replace(tmp, path)
    elif path.suffix.lower() == ".csv":
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(cols)
        w.writerows([[r.get(c) for c in cols] for r in rows])
        write_atomic(path, "\ufeff" + buf.getvalue())
    else:
        raise UserInputError(f"{path}: export to .csv or .xlsx")
    return len(rows)
