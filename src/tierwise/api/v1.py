"""``/api/v1``: authentication, customers, customer 360, exports, runs, dashboards, segments."""

from __future__ import annotations

from typing import Annotated, Literal

import pydantic_core
from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field

from tierwise.api.deps import COOKIE, Ctx, client_of, context, settings, token_of, workspace
from tierwise.app import auth, query_customers as qc, query_dashboard as qd
from tierwise.app.access import require

router = APIRouter(prefix="/api/v1")
C = Annotated[Ctx, Depends(context)]


class LoginIn(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class PasswordIn(BaseModel):
    old_password: str = Field(max_length=256)
    new_password: str = Field(max_length=256)


def me(ctx_or_login) -> dict:
    p = ctx_or_login.principal
    return {"username": p.username, "role": p.role, "manager_id": p.manager_id, "branch_id": p.branch_id,
            "display_name": p.display_name, "locale": p.locale, "must_change_password": p.must_change_password}


def set_session_cookie(request: Request, response: Response, token: str, max_age: int) -> None:
    response.set_cookie(COOKIE, token, max_age=max_age, httponly=True, samesite="lax", path="/",
                        secure=bool(getattr(request.app.state, "secure_cookies", False)))


@router.post("/auth/login", tags=["auth"])
def login(body: LoginIn, request: Request, response: Response) -> dict:
    """Log in: sets the session cookie and returns the token (for ``Authorization: Bearer``) and CSRF token."""
    s = settings(request)
    lg = auth.login(workspace(request), body.username, body.password, client_of(request), s)
    set_session_cookie(request, response, lg.token, int(s.session_hours * 3600))
    return {"token": lg.token, "csrf_token": lg.csrf_token, "expires_at": lg.expires_at.isoformat(), "user": me(lg)}


@router.post("/auth/logout", tags=["auth"])
def logout(ctx: C, response: Response) -> dict:
    auth.logout(ctx.ws, ctx.token, ctx.principal, ctx.client)
    response.delete_cookie(COOKIE, path="/")
    return {"ok": True}


@router.get("/auth/me", tags=["auth"])
def whoami(ctx: C) -> dict:
    return {**me(ctx), "csrf_token": ctx.csrf_token}


@router.post("/auth/password", tags=["auth"])
def change_password(body: PasswordIn, ctx: C, request: Request) -> dict:
    """Change one's own password (required after a one-time password); other sessions end."""
    csrf = auth.change_password(ctx.ws, ctx.principal, body.old_password, body.new_password,
                                keep_token=ctx.token, client=ctx.client)
    return {"ok": True, "csrf_token": csrf}


def _json(data: dict) -> Response:
    """``data`` as the JSON FastAPI would write for a ``dict`` result (NaN and infinities as null), written
    directly: the hot customer endpoints skip validating a dict as a dict in a second worker-thread hop."""
    return Response(pydantic_core.to_json(data, inf_nan_mode="null"), media_type="application/json")


Sort = Literal["customer_id", "tier_level", "tier_metric", "clv", "revenue", "recency_days", "manager_id"]


def _filters(q: str | None, tier: str | None, segment: str | None, manager: str | None, branch: str | None) -> dict:
    return {"q": q, "tier": tier, "segment": segment, "manager": manager, "branch": branch}


@router.get("/customers", tags=["customers"])
def customers(ctx: C,
              q: Annotated[str | None, Query(max_length=64, description="customer number prefix or part of the name")] = None,
              tier: Annotated[str | None, Query(max_length=64)] = None,
              segment: Annotated[str | None, Query(max_length=128, description="COLUMN=VALUE, e.g. rfm_segment=important_value")] = None,
              manager: Annotated[str | None, Query(max_length=64)] = None,
              branch: Annotated[str | None, Query(max_length=64)] = None,
              sort: Sort = "customer_id", order: Literal["asc", "desc"] = "asc",
              limit: Annotated[int, Query(ge=1, le=500)] = 50,
              offset: Annotated[int, Query(ge=0, le=100_000_000)] = 0) -> dict:
    """Search and list the caller's customers in the current run (names masked), with the total."""
    return _json(qc.list_customers(ctx.ws, ctx.principal, **_filters(q, tier, segment, manager, branch), sort=sort,
                                   order=order, limit=limit, offset=offset))


@router.get("/customers/{customer_id}", tags=["customers"])
def customer(customer_id: str, ctx: C, unmask: bool = False, lang: Literal["zh-CN", "en"] = "zh-CN") -> dict:
    """Customer 360: profile (masked unless ``unmask``, which is audited and needs a manager role), tier
    history, why this tier and the gap to the next, next best products, upgrade candidacy, overrides."""
    return _json(qc.customer_360(ctx.ws, ctx.principal, customer_id, unmask=unmask, locale=lang, origin=ctx.origin))


@router.get("/customers/{customer_id}/history", tags=["customers"])
def customer_history(customer_id: str, ctx: C) -> list[dict]:
    qc.customer_row(ctx.ws, ctx.principal, customer_id)
    return qc.tier_history(ctx.ws, customer_id)


@router.get("/customers/{customer_id}/explain", tags=["customers"])
def customer_explain(customer_id: str, ctx: C, lang: Literal["zh-CN", "en"] = "zh-CN") -> dict:
    from tierwise.app.history import explain_text

    e = qc.explain_row(ctx.ws, qc.customer_row(ctx.ws, ctx.principal, customer_id))
    return {**e, "text": explain_text(e, lang) if e.get("tiers", True) else None}


@router.get("/exports/customers.csv", tags=["exports"], response_class=Response,
            responses={200: {"content": {"text/csv": {}}}})
def export_customers(ctx: C, q: Annotated[str | None, Query(max_length=64)] = None,
                     tier: Annotated[str | None, Query(max_length=64)] = None,
                     segment: Annotated[str | None, Query(max_length=128)] = None,
                     manager: Annotated[str | None, Query(max_length=64)] = None,
                     branch: Annotated[str | None, Query(max_length=64)] = None, unmask: bool = False) -> Response:
    """The caller's customers (filtered like /customers) as CSV; audited."""
    data = qc.export_csv(ctx.ws, ctx.principal, unmask=unmask, origin=ctx.origin,
                         **_filters(q, tier, segment, manager, branch))
    return Response(data, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="customers.csv"'})


@router.get("/runs", tags=["runs"])
def runs(ctx: C) -> list[dict]:
    """Published runs in force (one per as-of date), oldest first."""
    return qd.runs(ctx.ws, ctx.principal)


@router.get("/runs/{run_id}", tags=["runs"])
def run(run_id: str, ctx: C) -> dict:
    return qd.run_detail(ctx.ws, ctx.principal, run_id)


@router.get("/dashboard", tags=["dashboards"])
def dashboard(ctx: C) -> dict:
    """KPIs against the previous run, tier pyramid, distribution over time, migration, RFM, Pareto, CLV."""
    return qd.dashboard(ctx.ws, ctx.principal)


@router.get("/tiers/distribution", tags=["dashboards"])
def distribution(ctx: C) -> list[dict]:
    return qd.distribution(ctx.ws, ctx.principal)


@router.get("/tiers/migration", tags=["dashboards"])
def migration(ctx: C, from_run: Annotated[str | None, Query(alias="from", max_length=32)] = None,
              to_run: Annotated[str | None, Query(alias="to", max_length=32)] = None) -> dict:
    """Migration matrix between two runs (run ids or dates; default: the last two)."""
    return qd.migration(ctx.ws, ctx.principal, from_run, to_run)


@router.get("/segments/{column}", tags=["dashboards"])
def segments(column: str, ctx: C) -> dict:
    """Summary per segment of a classification (rfm_segment, abc_class, lifecycle, seg_*, tier …)."""
    return qd.segment_summary(ctx.ws, ctx.principal, column)


@router.get("/candidates", tags=["upgrade"])
def candidates(ctx: C, kind: Annotated[str | None, Query(max_length=32)] = None,
               manager: Annotated[str | None, Query(max_length=64)] = None,
               limit: Annotated[int, Query(ge=1, le=500)] = 50,
               offset: Annotated[int, Query(ge=0, le=100_000_000)] = 0) -> dict:
    """Upgrade candidates among the caller's customers, best first."""
    return qd.candidates(ctx.ws, ctx.principal, kind=kind, manager=manager, limit=limit, offset=offset)


@router.get("/status", tags=["runs"])
def status(ctx: C) -> dict:
    """Workspace tables and runs (analysts and admins)."""
    from tierwise.app.status import workspace_status

    require(ctx.principal, "imports.read")
    return workspace_status(ctx.ws.root)
