"""Manual tier overrides: request, approve or reject (by a second person), list; every step audited."""

from __future__ import annotations

from datetime import date, datetime, timezone

from tierwise.app.workspace import Workspace
from tierwise.errors import UserInputError, did_you_mean
from tierwise.tiers.overrides import KINDS


def request_override(ws: Workspace, customer_id: str, kind: str, tier: str, reason: str, expires_on: date,
                     requested_by: str, starts_on: date | None = None) -> dict:
    policy = ws.policy()
    if not policy.tiers.enabled:
        raise UserInputError("tiers are not enabled in policy.yaml", hint="add a tiers: section with levels")
    if kind not in KINDS:
        raise UserInputError(f"unknown override kind '{kind}'", hint=did_you_mean(kind, KINDS) or f"use {KINDS}")
    ids = [lv.id for lv in policy.tiers.levels]
    if tier not in ids:
        raise UserInputError(f"unknown tier '{tier}'", hint=did_you_mean(tier, ids) or f"tiers: {', '.join(ids)}")
    if not reason or not reason.strip():
        raise UserInputError("an override needs a reason", hint="--reason '…'")
    starts_on = starts_on or date.today()
    if expires_on < starts_on:
        raise UserInputError(f"the override expires ({expires_on}) before it starts ({starts_on})")
    row = {"customer_id": customer_id, "kind": kind, "tier": tier, "reason": reason.strip(), "starts_on": starts_on,
           "expires_on": expires_on, "status": "requested", "requested_by": requested_by,
           "requested_at": datetime.now(timezone.utc)}
    store = ws.store()
    oid = store.add_override(row)
    store.audit(requested_by, "override.request", customer_id, {"override_id": oid, "kind": kind, "tier": tier,
                                                               "reason": reason, "expires_on": expires_on.isoformat()})
    return store.get_override(oid)


def decide_override(ws: Workspace, override_id: int, approve: bool, decided_by: str, note: str | None = None) -> dict:
    """Approve or reject a requested override; the requester cannot decide their own request."""
    store = ws.store()
    o = store.get_override(override_id)
    if o is None:
        raise UserInputError(f"no override {override_id}")
    if o["status"] != "requested":
        raise UserInputError(f"override {override_id} is already {o['status']}")
    if decided_by == o["requested_by"]:
        raise UserInputError(f"override {override_id}: the requester ({decided_by}) cannot approve or reject it",
                             hint="a second person with the right role must decide")
    status = "approved" if approve else "rejected"
    if not store.decide_override(override_id, status, decided_by, note):
        raise UserInputError(f"override {override_id} was decided by someone else meanwhile")
    store.audit(decided_by, f"override.{'approve' if approve else 'reject'}", o["customer_id"],
                {"override_id": override_id, "note": note})
    return store.get_override(override_id)
