"""``/api/v1``: overrides, imports, what-if, campaigns, users and tasks."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, Form, Query, UploadFile
from pydantic import BaseModel, Field

from tierwise.api.deps import Ctx, context
from tierwise.app import query_dashboard as qd, users, web_actions as wa
from tierwise.app.access import require

router = APIRouter(prefix="/api/v1")
C = Annotated[Ctx, Depends(context)]


class OverrideIn(BaseModel):
    customer_id: str = Field(min_length=1, max_length=64)
    kind: Literal["pin", "floor", "ceiling"]
    tier: str = Field(min_length=1, max_length=64)
    reason: str = Field(min_length=1, max_length=2000)
    expires_on: date
    starts_on: date | None = None


class DecisionIn(BaseModel):
    note: str | None = Field(None, max_length=2000)


@router.get("/overrides", tags=["overrides"])
def overrides(ctx: C, status: Literal["requested", "approved", "rejected", "revoked"] | None = None) -> list[dict]:
    """Overrides of the caller's customers."""
    return qd.overrides(ctx.ws, ctx.principal, status)


@router.get("/overrides/{override_id}", tags=["overrides"])
def override(override_id: int, ctx: C) -> dict:
    return wa.get_override(ctx.ws, ctx.principal, override_id)


@router.post("/overrides", tags=["overrides"], status_code=201)
def request_override(body: OverrideIn, ctx: C) -> dict:
    """Request an override for one of the caller's customers (relationship or branch managers)."""
    return wa.request_override(ctx.ws, ctx.principal, body.customer_id, body.kind, body.tier, body.reason,
                               body.expires_on, body.starts_on)


@router.post("/overrides/{override_id}/approve", tags=["overrides"])
def approve_override(override_id: int, ctx: C, body: DecisionIn | None = None) -> dict:
    """Approve (branch manager of the customer's branch, or admin; never the requester)."""
    return wa.decide_override(ctx.ws, ctx.principal, override_id, True, body.note if body else None)


@router.post("/overrides/{override_id}/reject", tags=["overrides"])
def reject_override(override_id: int, ctx: C, body: DecisionIn | None = None) -> dict:
    return wa.decide_override(ctx.ws, ctx.principal, override_id, False, body.note if body else None)


@router.get("/imports", tags=["imports"])
def imports(ctx: C) -> list[dict]:
    """Imports with their reconciliation counts (analysts and admins)."""
    return wa.list_imports(ctx.ws, ctx.principal)


@router.post("/imports", tags=["imports"], status_code=201)
def upload_import(ctx: C, table: Annotated[str, Form(max_length=32)], file: Annotated[UploadFile, File()],
                  mode: Annotated[Literal["append", "replace"] | None, Form()] = None,
                  sheet: Annotated[str | None, Form(max_length=64)] = None) -> dict:
    """Upload a CSV, .xlsx or Parquet file into a canonical table; returns the reconciliation (admins)."""
    return wa.import_upload(ctx.ws, ctx.principal, table, file.filename, file.file, mode=mode, sheet=sheet)


@router.post("/whatif", tags=["policy"])
def what_if(ctx: C, policy: Annotated[UploadFile, File(description="the proposed policy.yaml")]) -> dict:
    """Who would change tier under a proposed policy (nothing is published)."""
    return wa.what_if_upload(ctx.ws, ctx.principal, policy.filename, policy.file)


class CampaignIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    target_kind: Literal["segment", "candidates", "rule"]
    target: str = Field(max_length=2000)
    starts_on: date
    ends_on: date
    control_share: float = Field(0.2, ge=0, lt=1)
    seed: int = Field(1, ge=0, le=2**31)


@router.get("/campaigns", tags=["campaigns"])
def campaigns(ctx: C) -> list[dict]:
    return wa.list_campaigns(ctx.ws, ctx.principal)


@router.post("/campaigns", tags=["campaigns"], status_code=201)
def create_campaign(body: CampaignIn, ctx: C) -> dict:
    return wa.create_campaign(ctx.ws, ctx.principal, name=body.name, target_kind=body.target_kind,
                              target=body.target, starts_on=body.starts_on, ends_on=body.ends_on,
                              control_share=body.control_share, seed=body.seed)


@router.get("/campaigns/{campaign_id}", tags=["campaigns"])
def campaign(campaign_id: int, ctx: C) -> dict:
    return wa.get_campaign(ctx.ws, ctx.principal, campaign_id)


@router.post("/campaigns/{campaign_id}/start", tags=["campaigns"])
def start_campaign(campaign_id: int, ctx: C) -> dict:
    return wa.start_campaign(ctx.ws, ctx.principal, campaign_id)


@router.get("/campaigns/{campaign_id}/evaluation", tags=["campaigns"])
def evaluate_campaign(campaign_id: int, ctx: C, run: Annotated[str | None, Query(max_length=32)] = None) -> dict:
    return wa.evaluate_campaign(ctx.ws, ctx.principal, campaign_id, run)


class UserIn(BaseModel):
    username: str = Field(min_length=2, max_length=64)
    role: Literal["admin", "analyst", "branch_manager", "relationship_manager"]
    manager_id: str | None = Field(None, max_length=64)
    branch_id: str | None = Field(None, max_length=64)
    display_name: str | None = Field(None, max_length=128)


@router.get("/users", tags=["users"])
def list_users(ctx: C) -> list[dict]:
    require(ctx.principal, "users.manage")
    return users.list_users(ctx.ws)


@router.post("/users", tags=["users"], status_code=201)
def add_user(body: UserIn, ctx: C) -> dict:
    """Add a user; the answer carries a one-time password (shown once)."""
    require(ctx.principal, "users.manage")
    u, password = users.add_user(ctx.ws, body.username, body.role, manager_id=body.manager_id,
                                 branch_id=body.branch_id, display_name=body.display_name,
                                 actor=ctx.principal.username)
    return {**u, "one_time_password": password}


@router.post("/users/{username}/disable", tags=["users"])
def disable_user(username: str, ctx: C) -> dict:
    require(ctx.principal, "users.manage")
    return users.set_active(ctx.ws, username, False, actor=ctx.principal.username)


@router.post("/users/{username}/reset-password", tags=["users"])
def reset_password(username: str, ctx: C) -> dict:
    require(ctx.principal, "users.manage")
    return {"username": username, "one_time_password": users.reset_password(ctx.ws, username,
                                                                           actor=ctx.principal.username)}


class CompleteIn(BaseModel):
    outcome: str = Field(min_length=1, max_length=64)
    note: str | None = Field(None, max_length=2000)


if wa.servicing() is not None:
    @router.get("/tasks", tags=["tasks"])
    def tasks(ctx: C, customer_id: Annotated[str | None, Query(max_length=64)] = None,
              status: Annotated[str | None, Query(max_length=32)] = None,
              due_before: date | None = None, limit: Annotated[int, Query(ge=1, le=500)] = 100,
              offset: Annotated[int, Query(ge=0)] = 0) -> list[dict]:
        """Service tasks of the caller's customers."""
        return wa.list_tasks(ctx.ws, ctx.principal, customer_id=customer_id, status=status, due_before=due_before,
                             limit=limit, offset=offset)

    @router.get("/tasks/{task_id}", tags=["tasks"])
    def task(task_id: int, ctx: C) -> dict:
        return wa.get_task(ctx.ws, ctx.principal, task_id)

    @router.post("/tasks/{task_id}/complete", tags=["tasks"])
    def complete_task(task_id: int, body: CompleteIn, ctx: C) -> dict:
        return wa.complete_task(ctx.ws, ctx.principal, task_id, body.outcome, body.note)
