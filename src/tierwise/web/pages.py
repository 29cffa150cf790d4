"""Server-rendered pages (Jinja2), zh-CN and en: login, dashboard, customers, customer 360, overrides, runs.

Pages call the same application functions with the same principal as the API, so what a
page shows obeys the same row-level rule. Forms carry the session's CSRF token; the login
form, before there is a session, uses a double-submit cookie.
"""

from __future__ import annotations

import json
import secrets
from datetime import date
from pathlib import Path
from urllib.parse import quote, urlencode

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from tierwise.api import errors as api_errors
from tierwise.api.deps import COOKIE, Ctx, client_of, context, settings, workspace
from tierwise.api.v1 import set_session_cookie
from tierwise.app import auth, query_cohorts, query_customers as qc, query_dashboard as qd, web_actions as wa
from tierwise.errors import AuthenticationError, NotFoundError, PermissionDeniedError, TierwiseError
from tierwise.i18n import t as _t
from tierwise.web import charts

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
LANG_COOKIE = "tw_lang"
PRE_CSRF = "tw_login_csrf"


def locale_of(request: Request, principal=None) -> str:
    lang = request.cookies.get(LANG_COOKIE)
    if lang in ("zh-CN", "en"):
        return lang
    if principal is not None and principal.locale in ("zh-CN", "en"):
        return principal.locale
    return "zh-CN"


def render(request: Request, name: str, ctx: Ctx | None = None, status: int = 200, **data) -> HTMLResponse:
    loc = locale_of(request, ctx.principal if ctx else None)

    def t(key: str, **kw) -> str:
        return _t(key, loc, **kw)

    def label(labels: dict | None, default) -> str:
        return (labels or {}).get(loc) or str(default if default is not None else "—")

    return templates.TemplateResponse(request, name, {
        "t": t, "loc": loc, "ctx": ctx, "me": ctx.principal if ctx else None, "csrf": ctx.csrf_token if ctx else "",
        "path": request.url.path, "has_tasks": wa.servicing() is not None, "label": label,
        "fmt": fmt, "tojson": lambda v: json.dumps(v, ensure_ascii=False, default=str).replace("</", "<\\/"),
        **data}, status_code=status)


def fmt(v, digits: int = 0) -> str:
    if v is None:
        return "—"
    if isinstance(v, float) or isinstance(v, int):
        return f"{v:,.{digits}f}"
    return str(v)


def _next(request: Request) -> str:
    target = request.query_params.get("next") or "/dashboard"
    return target if target.startswith("/") and not target.startswith("//") else "/dashboard"


# ---------------------------------------------------------------------------- login
@router.get("/login")
def login_page(request: Request):
    token = secrets.token_urlsafe(24)
    resp = render(request, "login.html", pre_csrf=token, next=_next(request), error=None)
    resp.set_cookie(PRE_CSRF, token, httponly=True, samesite="strict", path="/login")
    return resp


@router.post("/login")
async def login_submit(request: Request):
    form = await request.form()
    expected = request.cookies.get(PRE_CSRF)
    if not expected or not auth.csrf_ok(expected, form.get("csrf_token")):
        raise PermissionDeniedError("the login form has expired", hint="reload the login page and try again")
    try:
        lg = auth.login(workspace(request), str(form.get("username", "")), str(form.get("password", "")),
                        client_of(request), settings(request))
    except AuthenticationError as exc:
        token = secrets.token_urlsafe(24)
        resp = render(request, "login.html", status=api_errors.status_of(exc)[0], pre_csrf=token,
                      next=_next(request), error=exc, username=form.get("username", ""))
        resp.set_cookie(PRE_CSRF, token, httponly=True, samesite="strict", path="/login")
        return resp
    target = "/password" if lg.principal.must_change_password else _next(request)
    resp = RedirectResponse(target, status_code=303)
    set_session_cookie(request, resp, lg.token, int(settings(request).session_hours * 3600))
    resp.delete_cookie(PRE_CSRF, path="/login")
    return resp


async def page_ctx(request: Request) -> Ctx:
    return await context(request)


@router.post("/logout")
async def logout(request: Request):
    ctx = await page_ctx(request)
    auth.logout(ctx.ws, ctx.token, ctx.principal, ctx.client)
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(COOKIE, path="/")
    return resp


@router.get("/password")
async def password_page(request: Request):
    ctx = await page_ctx(request)
    return render(request, "password.html", ctx, error=None)


@router.post("/password")
async def password_submit(request: Request):
    ctx = await page_ctx(request)
    form = await request.form()
    try:
        auth.change_password(ctx.ws, ctx.principal, str(form.get("old_password", "")),
                             str(form.get("new_password", "")), keep_token=ctx.token, client=ctx.client)
    except TierwiseError as exc:
        return render(request, "password.html", ctx, status=api_errors.status_of(exc)[0], error=exc)
    return RedirectResponse("/dashboard", status_code=303)


@router.get("/lang/{lang}")
def switch_language(lang: str, request: Request):
    resp = RedirectResponse(_next(request), status_code=303)
    if lang in ("zh-CN", "en"):
        resp.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax", path="/")
    return resp


# ---------------------------------------------------------------------------- pages
@router.get("/")
def home():
    return RedirectResponse("/dashboard", status_code=303)


@router.get("/dashboard")
async def dashboard_page(request: Request):
    ctx = await page_ctx(request)
    try:
        d = qd.dashboard(ctx.ws, ctx.principal)
    except NotFoundError:
        d = None
    loc = locale_of(request, ctx.principal)
    cohort = query_cohorts.cohort_retention(ctx.ws, ctx.principal) if d else None
    return render(request, "dashboard.html", ctx, d=d, charts=charts.dashboard_charts(d, loc, cohort) if d else {})


@router.get("/customers")
async def customers_page(request: Request):
    ctx = await page_ctx(request)
    p = request.query_params
    filters = {k: (p.get(k) or None) for k in ("q", "tier", "segment", "manager", "branch")}
    try:
        limit = min(max(int(p.get("limit", 50)), 1), 500)
        offset = max(int(p.get("offset", 0)), 0)
    except ValueError:
        limit, offset = 50, 0
    res = qc.list_customers(ctx.ws, ctx.principal, **filters, sort=p.get("sort") or "customer_id",
                            order=p.get("order") or "asc", limit=limit, offset=offset)
    g_levels = qd._levels(ctx.ws, qd._gen(ctx.ws).current)
    query = {k: v for k, v in filters.items() if v}
    return render(request, "customers.html", ctx, res=res, filters=filters, levels=g_levels,
                  sort=res["sort"], order=res["order"],
                  export_url="/api/v1/exports/customers.csv" + ("?" + urlencode(query) if query else ""),
                  page_url=lambda off: "/customers?" + urlencode({**query, "sort": res["sort"], "order": res["order"],
                                                                  "limit": limit, "offset": off}))


@router.get("/customers/{customer_id}")
async def customer_page(customer_id: str, request: Request):
    ctx = await page_ctx(request)
    unmask = request.query_params.get("unmask") == "1"
    loc = locale_of(request, ctx.principal)
    c = qc.customer_360(ctx.ws, ctx.principal, customer_id, unmask=unmask, locale=loc, origin=ctx.origin)
    levels = list(c["explanation"].get("labels", {}).items())
    from tierwise.app.web_inbox import customer_work
    return render(request, "customer.html", ctx, c=c, levels=levels, today=date.today(), chart=charts.history(c, loc),
                  message=request.query_params.get("message"), work=customer_work(ctx.ws, ctx.principal, customer_id))


@router.post("/customers/{customer_id}/overrides")
async def customer_override(customer_id: str, request: Request):
    ctx = await page_ctx(request)
    form = await request.form()
    from tierwise.errors import UserInputError
    try:
        expires = date.fromisoformat(str(form.get("expires_on", "")))
        starts = date.fromisoformat(str(form.get("starts_on"))) if form.get("starts_on") else None
    except ValueError:
        raise UserInputError(f"invalid date {form.get('starts_on')!r} or {form.get('expires_on')!r}",
                             hint="use YYYY-MM-DD") from None
    o = wa.request_override(ctx.ws, ctx.principal, customer_id, str(form.get("kind", "")), str(form.get("tier", "")),
                            str(form.get("reason", "")), expires, starts)
    return RedirectResponse(f"/customers/{quote(customer_id)}?message=override_requested&id={o['override_id']}",
                            status_code=303)


@router.get("/overrides")
async def overrides_page(request: Request):
    ctx = await page_ctx(request)
    rows = qd.overrides(ctx.ws, ctx.principal)
    return render(request, "overrides.html", ctx, pending=[o for o in rows if o["status"] == "requested"],
                  decided=[o for o in rows if o["status"] != "requested"][-50:][::-1],
                  message=request.query_params.get("message"))


@router.post("/overrides/{override_id}/{decision}")
async def override_decide(override_id: int, decision: str, request: Request):
    ctx = await page_ctx(request)
    if decision not in ("approve", "reject"):
        raise NotFoundError(f"no page /overrides/{override_id}/{decision}")
    form = await request.form()
    wa.decide_override(ctx.ws, ctx.principal, override_id, decision == "approve", str(form.get("note") or "") or None)
    return RedirectResponse(f"/overrides?message={decision}d", status_code=303)


@router.get("/runs")
async def runs_page(request: Request):
    ctx = await page_ctx(request)
    runs = qd.runs(ctx.ws, ctx.principal)[::-1]
    imports = wa.list_imports(ctx.ws, ctx.principal)[::-1] if ctx.principal.can("imports.read") else None
    return render(request, "runs.html", ctx, runs=runs, imports=imports)


@router.get("/candidates")
async def candidates_page(request: Request):
    ctx = await page_ctx(request)
    res = qd.candidates(ctx.ws, ctx.principal, kind=request.query_params.get("kind") or None, limit=100)
    return render(request, "candidates.html", ctx, res=res)


# ---------------------------------------------------------------------------- errors
def install_error_pages(app: FastAPI) -> None:
    """Errors on pages render HTML (or redirect to the login); errors on /api stay JSON (api.errors)."""

    def is_api(request: Request) -> bool:
        return request.url.path.startswith("/api/")

    def page_error(request: Request, status: int, code: str, message: str, hint: str | None):
        if status == 401:
            return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
        if code == "forbidden" and "one-time password" in message:
            return RedirectResponse("/password", status_code=303)
        return render(request, "error.html", None, status=status, status_code=status, code=code, message=message,
                      hint=hint)

    @app.exception_handler(TierwiseError)
    async def _tierwise(request: Request, exc: TierwiseError):
        if is_api(request):
            return api_errors.tierwise_error_response(exc)
        status, code = api_errors.status_of(exc)
        return page_error(request, status, code, exc.message, exc.hint)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        code = api_errors.HTTP_CODES.get(exc.status_code, "error")
        if is_api(request):
            return JSONResponse(api_errors.error_body(code, str(exc.detail)), status_code=exc.status_code)
        return page_error(request, exc.status_code, code, str(exc.detail), None)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        msg = api_errors.validation_message(exc)
        if is_api(request):
            return JSONResponse(api_errors.error_body("invalid_request", msg,
                                                      "see the OpenAPI document at /api/openapi.json"), 422)
        return page_error(request, 422, "invalid_request", msg, None)
