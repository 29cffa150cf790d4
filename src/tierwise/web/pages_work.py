"""Pages for daily work: the manager inbox (complete tasks with an outcome) and campaigns."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse

from tierwise.app import web_actions as wa, web_inbox
from tierwise.errors import UserInputError
from tierwise.web.pages import locale_of, page_ctx, render

router = APIRouter(include_in_schema=False)


# ---------------------------------------------------------------------------- inbox
@router.get("/inbox")
async def inbox_page(request: Request):
    ctx = await page_ctx(request)
    box = web_inbox.inbox(ctx.ws, ctx.principal)
    return render(request, "inbox.html", ctx, box=box, remaining=web_inbox.remaining,
                  message=request.query_params.get("message"), done=request.query_params.get("task"))


@router.post("/inbox/{task_id}/complete")
async def inbox_complete(task_id: int, request: Request):
    ctx = await page_ctx(request)
    form = await request.form()
    outcome = str(form.get("outcome") or "")
    product = str(form.get("product") or "").strip()
    if outcome == "sold" and product:
        outcome = f"sold:{product}"
    wa.complete_task(ctx.ws, ctx.principal, task_id, outcome, str(form.get("note") or "").strip() or None)
    return RedirectResponse(f"/inbox?message=task_done&task={task_id}", status_code=303)


# ---------------------------------------------------------------------------- campaigns
def _date(v, field: str) -> date:
    try:
        return date.fromisoformat(str(v or ""))
    except ValueError:
        raise UserInputError(f"{field}: {v!r} is not a date", hint="use YYYY-MM-DD") from None


def _float(v, field: str, default: float) -> float:
    if v in (None, ""):
        return default
    try:
        return float(str(v))
    except ValueError:
        raise UserInputError(f"{field}: {v!r} is not a number", hint="e.g. 0.2 for a 20 % control group") from None


@router.get("/campaigns")
async def campaigns_page(request: Request):
    ctx = await page_ctx(request)
    rows = wa.list_campaigns(ctx.ws, ctx.principal)[::-1]
    today = date.today()
    return render(request, "campaigns.html", ctx, campaigns=rows, today=today,
                  message=request.query_params.get("message"))


@router.post("/campaigns")
async def campaign_create(request: Request):
    ctx = await page_ctx(request)
    form = await request.form()
    c = wa.create_campaign(ctx.ws, ctx.principal, name=str(form.get("name") or "").strip(),
                           target_kind=str(form.get("target_kind") or ""), target=str(form.get("target") or ""),
                           starts_on=_date(form.get("starts_on"), "starts_on"),
                           ends_on=_date(form.get("ends_on"), "ends_on"),
                           control_share=_float(form.get("control_share"), "control_share", 0.2),
                           seed=int(_float(form.get("seed"), "seed", 1)))
    return RedirectResponse(f"/campaigns/{c['campaign_id']}?message=created", status_code=303)


@router.get("/campaigns/{campaign_id}")
async def campaign_page(campaign_id: int, request: Request):
    ctx = await page_ctx(request)
    c = wa.get_campaign(ctx.ws, ctx.principal, campaign_id)
    evaluation = None
    if c["status"] == "started":
        evaluation = wa.evaluate_campaign(ctx.ws, ctx.principal, campaign_id)
    today = date.today()
    span = max((c["ends_on"] - c["starts_on"]).days, 1)
    progress = min(max((today - c["starts_on"]).days / span, 0.0), 1.0)
    return render(request, "campaign.html", ctx, c=c, ev=evaluation, progress=progress,
                  loc_=locale_of(request, ctx.principal), message=request.query_params.get("message"))


@router.post("/campaigns/{campaign_id}/start")
async def campaign_start(campaign_id: int, request: Request):
    ctx = await page_ctx(request)
    wa.start_campaign(ctx.ws, ctx.principal, campaign_id)
    return RedirectResponse(f"/campaigns/{campaign_id}?message=started", status_code=303)
