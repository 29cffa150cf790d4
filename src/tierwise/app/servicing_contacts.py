"""Importing a contact log (CSV or xlsx: customer, time, manager, channel, outcome).

Each contact is logged once (the same customer, time, manager and channel again is skipped). A
contact whose outcome counts as a contact (``servicing → contact_outcomes``) completes the
customer's open cadence task with that outcome at the contact's time, and resets the cadence clock
(the next cycle counts from it). Every bad cell is a located error and nothing is imported.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from tierwise.app.assign import _read_rows
from tierwise.app.servicing import parse_outcome
from tierwise.app.workspace import Workspace
from tierwise.errors import UserInputError

HEADERS = {
    "customer_id": ("customer_id", "customer", "客户号", "客户编号", "客户"),
    "time": ("time", "contact_time", "联系时间", "时间", "日期"),
    "manager_id": ("manager_id", "manager", "客户经理", "客户经理编号"),
    "channel": ("channel", "渠道", "联系方式"),
    "outcome": ("outcome", "结果", "联系结果"),
}
OUTCOME_ALIASES = {"已联系": "reached", "联系上": "reached", "未接通": "no_answer", "无人接听": "no_answer",
                   "拒绝": "declined", "婉拒": "declined"}


def _time(text: str) -> datetime:
    text = text.strip().replace("/", "-")
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    raise ValueError(text)


def import_contacts(ws: Workspace, path: str | Path, *, sheet: str | None = None, actor: str = "cli") -> dict:
    path = Path(path)
    header, rows = _read_rows(path, sheet)
    lower = [h.strip().lower() for h in header]
    index = {col: next((i for i, h in enumerate(lower) if h in {n.lower() for n in names}), None)
             for col, names in HEADERS.items()}
    missing = [c for c in ("customer_id", "time", "outcome") if index[c] is None]
    if missing:
        raise UserInputError(f"{path}: no column for {', '.join(missing)} (headers: {', '.join(header)})",
                             hint="columns: customer, time, manager, channel, outcome")
    problems, contacts = [], []
    for line, cells in rows:
        def cell(col: str) -> str:
            i = index[col]
            return cells[i].strip() if i is not None and i < len(cells) else ""
        cid = cell("customer_id")
        if not cid:
            problems.append(f"{path}:{line}: customer: empty")
            continue
        try:
            at = _time(cell("time"))
        except ValueError:
            problems.append(f"{path}:{line}: time: '{cell('time')}' is not a date or time (use 2024-03-05 14:30)")
            continue
        raw = cell("outcome")
        try:
            kind, product = parse_outcome(OUTCOME_ALIASES.get(raw, raw))
        except UserInputError as exc:
            problems.append(f"{path}:{line}: outcome: {exc.message}")
            continue
        contacts.append({"customer_id": cid, "contact_at": at, "manager_id": cell("manager_id") or None,
                         "channel": cell("channel") or None, "outcome": kind, "source": path.name, "task_id": None,
                         "_product": product, "_line": line})
    if problems:
        raise UserInputError(f"{path}: {len(problems)} problem{'s' if len(problems) > 1 else ''}; nothing was "
                             f"imported:\n  " + "\n  ".join(problems[:50]))
    store = ws.store()
    counting = set(ws.policy().servicing.contact_outcomes)
    open_cadence = {}
    for t in store.find_tasks(status="open", type="cadence", limit=None):
        open_cadence.setdefault(t["customer_id"], []).append(t)
    closes, closed_ids = [], set()
    for c in sorted(contacts, key=lambda c: c["contact_at"]):
        if c["outcome"] not in counting:
            continue
        for t in open_cadence.get(c["customer_id"], []):
            if t["task_id"] in closed_ids or (t["anchor"] is not None and c["contact_at"].date() <= t["anchor"]):
                continue
            closes.append({"task_id": t["task_id"], "at": c["contact_at"], "actor": c["manager_id"] or actor,
                           "outcome": f"sold:{c['_product']}" if c["_product"] else c["outcome"]})
            closed_ids.add(t["task_id"])
    added = store.add_contacts([{k: v for k, v in c.items() if not k.startswith("_")} for c in contacts], closes)
    store.audit(actor, "contacts.import", str(path), {"rows": len(contacts), "new": added,
                                                     "cadence_closed": len(closes)})
    return {"rows": len(contacts), "new": added, "duplicates": len(contacts) - added, "cadence_closed": len(closes)}
