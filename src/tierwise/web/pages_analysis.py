"""Pages for analysis and administration: segment explorer, policy what-if, audit log."""

from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

from fastapi import APIRouter, Request

from tierwise.app import query_audit, query_customers as qc, query_dashboard as qd, web_actions as wa, web_whatif
from tierwise.api import errors as api_errors
from tierwise.errors import NotFoundError, TierwiseError, UserInputError
from tierwise.web import charts
from tierwise.web.pages import locale_of, page_ctx, render

router = APIRouter(include_in_schema=False)


# ---------------------------------------------------------------------------- segment explorer
def _drill(column: str, value: str | None) -> dict:
    """The customer-list filter that selects one segment."""
    if column == "tier":
        return {"tier": value}
    return {"segment": f"{column}={value}"}


@router.get("/segments")
async def segments_page(request: Request):
    ctx = await page_ctx(request)
    p = request.query_params
    try:
        columns = qd.classifications(ctx.ws, ctx.principal)
    except NotFoundError:
        return render(request, "segments.html", ctx, columns=[], column=None, summary=None)
    column = p.get("by") or ("rfm_segment" if "rfm_segment" in columns else (columns[0] if columns else None))
    if column not in columns:
        raise NotFoundError(f"no classification '{column}'", hint=f"use one of {', '.join(columns)}")
    summary = qd.segment_summary(ctx.ws, ctx.principal, column)
    loc = locale_of(request, ctx.principal)
    value = p.get("value")
    listing = None
    drill_q: dict = {}
    if value is not None:
        drill_q = _drill(column, value)
        try:
            offset = max(int(p.get("offset", 0)), 0)
        except ValueError:
            offset = 0
        listing = qc.list_customers(ctx.ws, ctx.principal, **drill_q, limit=50, offset=offset)
    link = lambda v: "/segments?" + urlencode({"by": column, "value": v})  # noqa: E731
    return render(request, "segments.html", ctx, columns=columns, column=column, summary=summary, value=value,
                  listing=listing, link=link,
                  chart=charts.segments(summary, loc, [link(s["segment"]) for s in summary["segments"]]),
                  export_url="/api/v1/exports/customers.csv?" + urlencode(drill_q) if drill_q else None,
                  page_url=lambda off: "/segments?" + urlencode({"by": column, "value": value, "offset": off}))


# ---------------------------------------------------------------------------- what-if
@router.get("/whatif")
async def whatif_page(request: Request):
    ctx = await page_ctx(request)
    levels = web_whatif.current_levels(ctx.ws, ctx.principal)
    return render(request, "whatif.html", ctx, levels=levels, result=None, values={}, error=None)


@router.post("/whatif")
async def whatif_submit(request: Request):
    ctx = await page_ctx(request)
    levels = web_whatif.current_levels(ctx.ws, ctx.principal)
    form = await request.form()
    upload = form.get("policy")
    values = {k: str(v) for k, v in form.items() if isinstance(v, str)}
    try:
        if upload is not None and not isinstance(upload, str) and upload.filename:
            result = wa.what_if_upload(ctx.ws, ctx.principal, upload.filename, upload.file)
            source = upload.filename
        else:
            changes = {lv["id"]: {k: values.get(f"{k}:{lv['id']}") for k in ("entry", "maintain")} for lv in levels}
            result = web_whatif.what_if_thresholds(ctx.ws, ctx.principal, changes)
            source = None
    except TierwiseError as exc:          # shown on the form, with what was typed
        return render(request, "whatif.html", ctx, status=api_errors.status_of(exc)[0], levels=levels, result=None,
                      values=values, error=exc)
    loc = locale_of(request, ctx.principal)
    names = {lv["id"]: lv["label"].get(loc) or lv["id"] for lv in levels}
    return render(request, "whatif.html", ctx, levels=levels, result=result, values=values, source=source,
                  chart=charts.whatif(result, names, loc))


# ---------------------------------------------------------------------------- audit log
@router.get("/admin/audit")
async def audit_page(request: Request):
    ctx = await page_ctx(request)
    p = request.query_params

    def day(key: str) -> date | None:
        v = p.get(key)
        if not v:
            return None
        try:
            return date.fromisoformat(v)
        except ValueError:
            raise UserInputError(f"{key}: {v!r} is not a date", hint="use YYYY-MM-DD") from None

    try:
        offset = max(int(p.get("offset", 0)), 0)
    except ValueError:
        offset = 0
    filters = {k: (p.get(k) or None) for k in ("action", "actor", "target")}
    res = query_audit.audit_entries(ctx.ws, ctx.principal, **filters, since=day("since"), until=day("until"),
                                    limit=100, offset=offset)
    chain = query_audit.verify(ctx.ws, ctx.principal)
    query = {k: v for k, v in {**filters, "since": p.get("since"), "until": p.get("until")}.items() if v}
    return render(request, "audit.html", ctx, res=res, chain=chain, filters={**filters, "since": p.get("since") or "",
                                                                            "until": p.get("until") or ""},
                  page_url=lambda off: "/admin/audit?" + urlencode({**query, "offset": off}))
