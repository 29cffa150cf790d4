"""Managers and the assignment of customers to them (全部指派, 四包到人).

Managers come from two places, and both can be used together:

* **a managers file** (``tierwise managers import DIR FILE``): CSV (UTF-8, BOM or GBK) or
  ``.xlsx`` with the columns ``manager_id, name, branch_id, reports_to, capacity, active,
  tiers, email`` (Chinese headers too). HR owns this list: it is the only place that knows
  who reports to whom (for escalation) and each manager's capacity. Every bad cell is a
  located error (``file:line: column: problem``) and nothing is written.
* **derived** from ``customers.manager_id`` / ``branch_id`` (``tierwise managers derive DIR``):
  every manager id the core-banking export names becomes an active manager of their most common
  branch, so a bank can start from its existing relationships before HR's file arrives.
  Managers already known are left as they are.

Assignment (``tierwise assign DIR``) gives every customer without an active owner one, by the
rules of :mod:`tierwise.servicing.assignment`; a manager leaving (``tierwise managers leave``)
hands their customers and open tasks on. Every change keeps the history and is audited.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from pathlib import Path

import pyarrow.compute as pc

from tierwise.app.servicing import managers as list_managers
from tierwise.app.servicing import owners
from tierwise.app.workspace import Workspace
from tierwise.errors import SourceReadError, UserInputError, did_you_mean
from tierwise.servicing.assignment import assign, workload

HEADERS = {
    "manager_id": ("manager_id", "客户经理编号", "客户经理号", "经理编号", "工号", "id"),
    "name": ("name", "姓名", "客户经理", "客户经理姓名"),
    "branch_id": ("branch_id", "网点", "网点号", "机构号", "branch"),
    "reports_to": ("reports_to", "上级", "上级经理", "主管", "manager"),
    "capacity": ("capacity", "容量", "管户容量", "最大管户"),
    "active": ("active", "在职", "状态", "status"),
    "tiers": ("tiers", "服务层级", "服务客户等级"),
    "email": ("email", "邮箱", "电子邮箱"),
}
TRUE = {"1", "true", "yes", "y", "是", "在职", "active", "正常"}
FALSE = {"0", "false", "no", "n", "否", "离职", "inactive", "停用"}


def _read_rows(path: Path, sheet: str | None) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Header and (line number, cells) of a CSV or xlsx file; line numbers as an editor shows them."""
    if not path.exists():
        raise SourceReadError(f"{path}: file not found")
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        import fastexcel
        try:
            reader = fastexcel.read_excel(str(path))
            sh = reader.load_sheet(sheet if sheet is not None else 0, header_row=None, dtypes="string")
        except Exception as exc:  # fastexcel raises its own error types
            raise SourceReadError(f"{path}: cannot read the workbook: {exc}") from None
        cols = sh.to_arrow().to_pydict()
        rows = list(zip(*cols.values())) if cols else []
        cells = [[("" if v is None else str(v)) for v in r] for r in rows]
        if not cells:
            raise SourceReadError(f"{path}: the sheet is empty")
        return cells[0], [(i + 2, r) for i, r in enumerate(cells[1:])]
    raw = path.read_bytes()
    for enc in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise SourceReadError(f"{path}: not UTF-8 or GBK text")
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        raise SourceReadError(f"{path}: the file is empty") from None
    return header, [(reader.line_num, r) for r in reader if any(c.strip() for c in r)]


def read_managers_file(path: str | Path, sheet: str | None = None) -> list[dict]:
    """Managers from a file; every problem is reported with its line and column, and nothing is returned
    unless all rows are valid."""
    path = Path(path)
    header, rows = _read_rows(path, sheet)
    index = {}
    for col, names in HEADERS.items():
        for i, h in enumerate(header):
            if h.strip().lower() in {n.lower() for n in names}:
                index[col] = i
                break
    for col in ("manager_id", "name"):
        if col not in index:
            hint = did_you_mean(col, [h.strip() for h in header])
            raise UserInputError(f"{path}: no column for '{col}' (headers: {', '.join(header)})",
                                 hint=hint or f"name a column {' or '.join(HEADERS[col][:3])}")
    problems, out, seen = [], [], {}
    for line, cells in rows:
        def cell(col: str) -> str:
            i = index.get(col)
            return cells[i].strip() if i is not None and i < len(cells) else ""
        mid = cell("manager_id")
        if not mid:
            problems.append(f"{path}:{line}: manager_id: empty")
            continue
        if mid in seen:
            problems.append(f"{path}:{line}: manager_id: '{mid}' already on line {seen[mid]}")
            continue
        seen[mid] = line
        cap = cell("capacity")
        try:
            capacity = float(cap.replace(",", "")) if cap else None
            if capacity is not None and capacity <= 0:
                raise ValueError
        except ValueError:
            problems.append(f"{path}:{line}: capacity: '{cap}' is not a positive number")
            capacity = None
        act = cell("active").lower()
        if act and act not in TRUE | FALSE:
            problems.append(f"{path}:{line}: active: '{cell('active')}' (use 1/0, yes/no, 在职/离职)")
        out.append({"manager_id": mid, "name": cell("name") or mid, "branch_id": cell("branch_id") or None,
                    "reports_to": cell("reports_to") or None, "capacity": capacity,
                    "tiers": ",".join(t.strip() for t in cell("tiers").replace("，", ",").split(",") if t.strip())
                    or None, "email": cell("email") or None, "active": act not in FALSE})
    known = set(seen)
    for m in out:
        if m["reports_to"] and m["reports_to"] not in known and m["reports_to"] != m["manager_id"]:
            pass  # a boss outside the file is allowed (already in the store, or outside the branch network)
        if m["reports_to"] == m["manager_id"]:
            problems.append(f"{path}:{seen[m['manager_id']]}: reports_to: a manager cannot report to themself")
    if problems:
        raise UserInputError(f"{path}: {len(problems)} problem{'s' if len(problems) > 1 else ''} in the managers "
                             f"file; nothing was imported:\n  " + "\n  ".join(problems[:50]))
    return out


def import_managers(ws: Workspace, path: str | Path, *, sheet: str | None = None, actor: str = "cli") -> dict:
    from tierwise.app.servicing_generate import local_now

    rows = read_managers_file(path, sheet)
    now = local_now(ws.policy().servicing)
    res = ws.store().upsert_managers([{**r, "source": "file", "updated_at": now} for r in rows])
    ws.store().audit(actor, "managers.import", str(path), res)
    return {**res, "managers": len(rows)}


def derive_managers(ws: Workspace, *, actor: str = "cli") -> dict:
    """Managers named in ``customers.manager_id`` that the store does not know yet (most common branch)."""
    from tierwise.app.servicing_generate import local_now, read_canonical

    cust = read_canonical(ws, "customers", ["manager_id", "branch_id"])
    branches: dict[str, Counter] = {}
    for m, b in zip(cust["manager_id"].to_pylist(), cust["branch_id"].to_pylist()):
        if m:
            branches.setdefault(m, Counter())[b] += 1
    known = {m["manager_id"] for m in ws.store().list_managers()}
    now = local_now(ws.policy().servicing)
    new = [{"manager_id": m, "name": m, "branch_id": sorted(c.items(), key=lambda kv: (-kv[1], str(kv[0])))[0][0],
            "reports_to": None, "capacity": None, "tiers": None, "email": None, "active": True, "source": "derived",
            "updated_at": now} for m, c in sorted(branches.items()) if m not in known]
    res = ws.store().upsert_managers(new)
    ws.store().audit(actor, "managers.derive", None, res)
    return res


def _plans(ws: Workspace) -> dict[str, str]:
    from tierwise.app.servicing_generate import _snapshot_part, local_now

    policy = ws.policy()
    _, snap, _ = _snapshot_part(ws, policy, local_now(policy.servicing).date())
    if snap is None:
        return {}
    return dict(zip(snap["customer_id"].to_pylist(), pc.cast(snap[policy.servicing.plan_by], "string").to_pylist()))


def _assign(ws: Workspace, *, leaving: str | None = None, actor: str, reason: str | None) -> dict:
    from tierwise.app.servicing_generate import local_now, read_canonical

    policy = ws.policy()
    ap = policy.servicing.assignment
    store = ws.store()
    cust = read_canonical(ws, "customers", ["customer_id", "manager_id", "branch_id"])
    cids, mids, _ = store.assignment_columns()
    current = dict(zip(cids, mids))
    plans = _plans(ws)
    default_plan = policy.tiers.levels[0].id if policy.tiers.levels else None
    rows = [{"customer_id": c, "branch_id": b, "plan": plans.get(c, default_plan), "owner": current.get(c),
             "hint": None if current.get(c) == leaving and leaving else h}
            for c, h, b in zip(cust["customer_id"].to_pylist(), cust["manager_id"].to_pylist(),
                               cust["branch_id"].to_pylist())]
    mgrs = list_managers(ws)
    if not any(m["active"] for m in mgrs):
        raise UserInputError("no active managers to assign customers to",
                             hint="import a managers file (tierwise managers import DIR FILE) or derive them from "
                                  "the customers (tierwise managers derive DIR)")
    changes = assign(rows, mgrs, weights=ap.tier_weights, keep_existing=ap.keep_existing, by_branch=ap.by_branch,
                     by_tier=ap.by_tier, fallback=ap.fallback, default_capacity=ap.default_capacity)
    if leaving:
        changes = [{**c, "rule": "reassigned" if c["from_manager"] == leaving else c["rule"]} for c in changes]
    store.apply_assignments(changes, actor=actor, at=local_now(policy.servicing), reason=reason)
    rules = Counter(c["rule"] for c in changes)
    store.audit(actor, "assign", leaving, {"assigned": len(changes), "rules": dict(rules), "reason": reason})
    left = unassigned(ws)
    return {"assigned": len(changes), "by_rule": dict(rules), "unassigned": len(left)}


def assign_customers(ws: Workspace, *, actor: str = "cli") -> dict:
    """Give every customer without an active owner one (initial owners, then balanced)."""
    return _assign(ws, actor=actor, reason="assign")


def assign_customer(ws: Workspace, customer_id: str, manager_id: str, *, actor: str, reason: str) -> dict:
    """Assign one customer by hand (一户一策), with a reason; open tasks follow."""
    from tierwise.app.servicing_generate import local_now

    store = ws.store()
    m = store.get_manager(manager_id)
    if m is None or not m["active"]:
        raise UserInputError(f"'{manager_id}' is not an active manager",
                             hint=did_you_mean(manager_id, [x["manager_id"] for x in store.list_managers()]))
    own = owners(ws)
    hit = own.filter(pc.equal(own["customer_id"], customer_id)).to_pylist()
    if not hit:
        raise UserInputError(f"unknown customer '{customer_id}'")
    change = {"customer_id": customer_id, "manager_id": manager_id, "branch_id": m["branch_id"], "rule": "manual",
              "from_manager": hit[0]["manager_id"]}
    store.apply_assignments([change], actor=actor, at=local_now(ws.policy().servicing), reason=reason)
    store.audit(actor, "assign.manual", customer_id, {"to": manager_id, "from": hit[0]["manager_id"], "reason": reason})
    return change


def manager_leaves(ws: Workspace, manager_id: str, *, actor: str, successor: str | None = None,
                   reason: str = "manager left") -> dict:
    """Deactivate a manager and hand their customers (and open tasks) to a successor or by the rules."""
    from tierwise.app.servicing_generate import local_now

    store = ws.store()
    m = store.get_manager(manager_id)
    if m is None:
        raise UserInputError(f"unknown manager '{manager_id}'",
                             hint=did_you_mean(manager_id, [x["manager_id"] for x in store.list_managers()]))
    if not m["active"]:
        raise UserInputError(f"manager '{manager_id}' has already left")
    if successor is not None:
        s = store.get_manager(successor)
        if s is None or not s["active"] or successor == manager_id:
            raise UserInputError(f"successor '{successor}' is not another active manager")
    now = local_now(ws.policy().servicing)
    # make current every implicit ownership (customers.manager_id) before the manager goes
    own = owners(ws)
    cids, _, _ = store.assignment_columns()
    have = set(cids)
    implicit = [{"customer_id": c, "manager_id": mm, "branch_id": b, "rule": "initial", "from_manager": None}
                for c, mm, b in zip(own["customer_id"].to_pylist(), own["manager_id"].to_pylist(),
                                    own["branch_id"].to_pylist()) if c not in have and mm == manager_id]
    store.apply_assignments(implicit, actor=actor, at=now, reason="owner before leaving")
    store.set_manager_active(manager_id, False, now)
    store.audit(actor, "manager.leave", manager_id, {"successor": successor, "reason": reason})
    if successor is not None:
        theirs = [c for c, mm in zip(*store.assignment_columns()[:2]) if mm == manager_id]
        changes = [{"customer_id": c, "manager_id": successor, "branch_id": store.get_manager(successor)["branch_id"],
                    "rule": "reassigned", "from_manager": manager_id} for c in theirs]
        store.apply_assignments(changes, actor=actor, at=now, reason=reason)
        store.audit(actor, "assign", manager_id, {"assigned": len(changes), "to": successor, "reason": reason})
        return {"assigned": len(changes), "by_rule": {"reassigned": len(changes)}, "unassigned": len(unassigned(ws))}
    return _assign(ws, leaving=manager_id, actor=actor, reason=reason)


def unassigned(ws: Workspace) -> list[dict]:
    """Customers without an active owner (empty after a successful ``assign``)."""
    active = {m["manager_id"] for m in list_managers(ws) if m["active"]}
    own = owners(ws)
    return [r for r in own.to_pylist() if r["manager_id"] not in active]


def workloads(ws: Workspace) -> list[dict]:
    """Customers and weighted load per manager, against capacity."""
    policy = ws.policy()
    own = owners(ws)
    plans = _plans(ws)
    default_plan = policy.tiers.levels[0].id if policy.tiers.levels else None
    pairs = [(m, plans.get(c, default_plan)) for c, m in zip(own["customer_id"].to_pylist(),
                                                              own["manager_id"].to_pylist())]
    load = workload(pairs, policy.servicing.assignment.tier_weights)
    count = Counter(m for m, _ in pairs if m)
    return [{"manager_id": m["manager_id"], "name": m["name"], "branch_id": m["branch_id"], "active": m["active"],
             "customers": count.get(m["manager_id"], 0), "load": load.get(m["manager_id"], 0.0),
             "capacity": m["capacity"] if m["capacity"] is not None else policy.servicing.assignment.default_capacity}
            for m in list_managers(ws)]
