"""Changes people make through the API and pages, checked against their role and scope.

Each function takes the :class:`~tierwise.app.access.Principal`, checks the permission and
the row-level scope (a customer outside it is *not found*), then calls the one application
function that does the work (overrides, imports, what-if, campaigns, tasks) with the
principal's username as the actor, so the audit log names the person.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import secrets
import shutil
from datetime import date

from tierwise.app.access import Principal, require, require_customer, visible_ids
from tierwise.app.workspace import Workspace
from tierwise.errors import NotFoundError, TierwiseError, UserInputError

MAX_UPLOAD = 512 << 20


# ---------------------------------------------------------------------------- overrides
def request_override(ws: Workspace, principal: Principal, customer_id: str, kind: str, tier: str, reason: str,
                     expires_on: date, starts_on: date | None = None) -> dict:
    from tierwise.app.overrides import request_override as _request

    require(principal, "overrides.request")
    require_customer(ws, principal, customer_id)
    return _request(ws, customer_id, kind, tier, reason, expires_on, principal.username, starts_on)


def decide_override(ws: Workspace, principal: Principal, override_id: int, approve: bool,
                    note: str | None = None) -> dict:
    """Approve or reject: a branch manager (of the customer's branch) or an admin, not the requester."""
    from tierwise.app.overrides import decide_override as _decide

    o = ws.store().get_override(override_id)
    ids = visible_ids(ws, principal)
    if o is None or (ids is not None and o["customer_id"] not in ids):
        raise NotFoundError(f"no override {override_id}")
    require(principal, "overrides.decide")
    return _decide(ws, override_id, approve, principal.username, note)


def get_override(ws: Workspace, principal: Principal, override_id: int) -> dict:
    require(principal, "overrides.read")
    o = ws.store().get_override(override_id)
    ids = visible_ids(ws, principal)
    if o is None or (ids is not None and o["customer_id"] not in ids):
        raise NotFoundError(f"no override {override_id}")
    return o


# ---------------------------------------------------------------------------- uploads
def _upload_path(ws: Workspace, filename: str | None) -> tuple:
    name = re.sub(r"[^\w.\-]", "_", (filename or "upload").split("/")[-1].split("\\")[-1])[:120] or "upload"
    folder = ws.scratch / "uploads" / secrets.token_hex(8)
    folder.mkdir(parents=True)
    return folder, folder / name


def save_upload(ws: Workspace, filename: str | None, stream) -> tuple:
    """Copy an uploaded file into the scratch area (size-limited); returns (folder, path)."""
    folder, path = _upload_path(ws, filename)
    size = 0
    with open(path, "wb") as out:
        while block := stream.read(1 << 20):
            size += len(block)
            if size > MAX_UPLOAD:
                out.close()
                shutil.rmtree(folder, ignore_errors=True)
                raise UserInputError(f"the upload is larger than {MAX_UPLOAD >> 20} MiB",
                                     hint="import large files with the command line: tierwise import")
            out.write(block)
    return folder, path


def import_upload(ws: Workspace, principal: Principal, table: str, filename: str | None, stream, *,
                  mode: str | None = None, sheet: str | None = None) -> dict:
    """Import an uploaded file; returns the reconciliation (refusals raise ImportRejectedError with it)."""
    from tierwise.app.importing import import_table

    require(principal, "imports.upload")
    folder, path = save_upload(ws, filename, stream)
    try:
        return import_table(ws, table, str(path), mode=mode, sheet=sheet, actor=principal.username)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def list_imports(ws: Workspace, principal: Principal) -> list[dict]:
    import json

    require(principal, "imports.read")
    out = []
    for r in ws.store().list_imports():
        rec = json.loads(r["reconciliation"])
        out.append({"import_id": r["import_id"], "table": r["table_name"], "mode": r["mode"], "status": r["status"],
                    "source": r["source"], "rows_read": r["rows_read"], "accepted": r["accepted"],
                    "rejected": r["rejected"], "created_at": r["created_at"].isoformat(),
                    "rejected_by_reason": rec.get("rejected_by_reason", {})})
    return out


def what_if_upload(ws: Workspace, principal: Principal, filename: str | None, stream) -> dict:
    """Evaluate an uploaded policy against the current data (nothing is published)."""
    from tierwise.app.whatif import what_if

    require(principal, "whatif.run")
    folder, path = save_upload(ws, filename or "policy.yaml", stream)
    try:
        return what_if(ws, path, actor=principal.username)
    except TierwiseError as exc:         # name the upload, not the scratch file
        exc.message = exc.message.replace(str(path), path.name)
        exc.args = (exc.message,)
        raise
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# ---------------------------------------------------------------------------- campaigns
def list_campaigns(ws: Workspace, principal: Principal) -> list[dict]:
    require(principal, "campaigns.read")
    return ws.store().list_campaigns()


def get_campaign(ws: Workspace, principal: Principal, campaign_id: int) -> dict:
    require(principal, "campaigns.read")
    c = ws.store().get_campaign(campaign_id)
    if c is None:
        raise NotFoundError(f"no campaign {campaign_id}")
    return c


def create_campaign(ws: Workspace, principal: Principal, **kw) -> dict:
    from tierwise.app.campaigns import create_campaign as _create

    require(principal, "campaigns.write")
    return _create(ws, created_by=principal.username, **kw)


def start_campaign(ws: Workspace, principal: Principal, campaign_id: int) -> dict:
    from tierwise.app.campaigns import start_campaign as _start

    get_campaign(ws, principal, campaign_id)
    require(principal, "campaigns.write")
    return _start(ws, campaign_id, principal.username)


def evaluate_campaign(ws: Workspace, principal: Principal, campaign_id: int, run: str | None = None) -> dict:
    from tierwise.app.campaigns import evaluate_campaign as _evaluate

    get_campaign(ws, principal, campaign_id)
    res = _evaluate(ws, campaign_id, run)
    scope = _task_scope(ws, principal)
    if scope is not None:            # a branch manager sees the breakdown of their own managers only
        res["by_manager"] = {m: v for m, v in res["by_manager"].items() if m in scope}
    return res


# ---------------------------------------------------------------------------- tasks (servicing)
def servicing():
    """``tierwise.app.servicing`` if it exists in this installation, else None."""
    if importlib.util.find_spec("tierwise.app.servicing") is None:
        return None
    return importlib.import_module("tierwise.app.servicing")


def _task_scope(ws: Workspace, principal: Principal) -> list[str] | None:
    """Manager ids whose tasks the principal sees (None: all)."""
    if principal.sees_all:
        return None
    if principal.role == "relationship_manager":
        return [principal.manager_id]
    from tierwise.app.access import owners
    o = owners(ws)
    return sorted({m for m, b in zip(o["manager_id"].to_pylist(), o["branch_id"].to_pylist())
                   if b == principal.branch_id and m})


def list_tasks(ws: Workspace, principal: Principal, **kw) -> list[dict]:
    svc = servicing()
    if svc is None:
        raise NotFoundError("tasks are not available in this installation", hint="the servicing module is missing")
    require(principal, "tasks.read")
    if kw.get("customer_id"):
        require_customer(ws, principal, kw["customer_id"])
    return svc.list_tasks(ws, manager_ids=_task_scope(ws, principal), **kw)


def _visible_task(ws: Workspace, principal: Principal, task_id: int) -> dict:
    svc = servicing()
    if svc is None:
        raise NotFoundError("tasks are not available in this installation")
    task = svc.get_task(ws, task_id)
    scope = _task_scope(ws, principal)
    if task is None or (scope is not None and task.get("manager_id") not in scope
                        and not _customer_visible(ws, principal, task.get("customer_id"))):
        raise NotFoundError(f"no task {task_id}")
    return task


def _customer_visible(ws, principal, customer_id) -> bool:
    ids = visible_ids(ws, principal)
    return ids is None or (customer_id is not None and customer_id in ids)


def get_task(ws: Workspace, principal: Principal, task_id: int) -> dict:
    require(principal, "tasks.read")
    return _visible_task(ws, principal, task_id)


def complete_task(ws: Workspace, principal: Principal, task_id: int, outcome: str, note: str | None = None) -> dict:
    _visible_task(ws, principal, task_id)
    require(principal, "tasks.complete")
    return servicing().complete_task(ws, task_id, outcome=outcome, actor=principal.username, note=note)
