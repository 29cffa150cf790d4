"""``/api/v1``: the manager inbox, cohort retention, classifications, threshold what-if, audit log."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from tierwise.api.deps import Ctx, context
from tierwise.app import query_audit, query_cohorts, query_dashboard as qd, web_inbox, web_whatif

router = APIRouter(prefix="/api/v1")
C = Annotated[Ctx, Depends(context)]


@router.get("/inbox", tags=["tasks"])
def inbox(ctx: C, days_ahead: Annotated[int, Query(ge=0, le=90)] = 7) -> dict:
    """Open tasks of the caller's scope: overdue, due today and coming, with SLA seconds left for alerts."""
    return web_inbox.inbox(ctx.ws, ctx.principal, days_ahead=days_ahead)


@router.get("/tiers/cohorts", tags=["dashboards"])
def cohorts(ctx: C, months: Annotated[int, Query(ge=1, le=36)] = 12) -> dict:
    """Cohort retention: per first-purchase month, the share of its customers purchasing k months later."""
    return query_cohorts.cohort_retention(ctx.ws, ctx.principal, months)


@router.get("/segments", tags=["dashboards"])
def classifications(ctx: C) -> list[str]:
    """The classifications of the current run that /segments/{column} summarises."""
    return qd.classifications(ctx.ws, ctx.principal)


class Thresholds(BaseModel):
    entry: float | None = Field(None, ge=0, le=1e15)
    maintain: float | None = Field(None, ge=0, le=1e15)


class ThresholdsIn(BaseModel):
    levels: dict[str, Thresholds] = Field(description="tier id → new entry / maintain thresholds",
                                          max_length=50)


@router.get("/whatif/levels", tags=["policy"])
def whatif_levels(ctx: C) -> list[dict]:
    """The current policy's tier levels and thresholds (what the what-if form edits)."""
    return web_whatif.current_levels(ctx.ws, ctx.principal)


@router.post("/whatif/thresholds", tags=["policy"])
def whatif_thresholds(body: ThresholdsIn, ctx: C) -> dict:
    """Migration matrix current → proposed if the given thresholds replaced the current ones (nothing is
    published)."""
    changes = {k: v.model_dump(exclude_unset=True) for k, v in body.levels.items()}
    return web_whatif.what_if_thresholds(ctx.ws, ctx.principal, changes)


@router.get("/audit", tags=["audit"])
def audit(ctx: C, action: Annotated[str | None, Query(max_length=64, description="an action, or a prefix ending "
                                                                                   "in '.' or '*'")] = None,
          actor: Annotated[str | None, Query(max_length=128)] = None,
          target: Annotated[str | None, Query(max_length=256)] = None,
          since: date | None = None, until: date | None = None,
          limit: Annotated[int, Query(ge=1, le=500)] = 100,
          offset: Annotated[int, Query(ge=0, le=100_000_000)] = 0) -> dict:
    """The audit log, newest first (administrators)."""
    return query_audit.audit_entries(ctx.ws, ctx.principal, action=action, actor=actor, target=target, since=since,
                                     until=until, limit=limit, offset=offset)


@router.get("/audit/verify", tags=["audit"])
def audit_verify(ctx: C) -> dict:
    """Whether the audit log's hash chain is intact (administrators)."""
    return query_audit.verify(ctx.ws, ctx.principal)
