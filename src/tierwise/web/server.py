"""The web application: REST API under /api/v1, server-rendered pages, static files, security headers.

``tierwise serve DIR`` runs :func:`app_from_env` with uvicorn; tests call :func:`create_app`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import asynccontextmanager
from datetime import date
from importlib import metadata
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, PlainTextResponse
from fastapi.staticfiles import StaticFiles

from tierwise.api import errors as api_errors
from tierwise.api.v1 import router as v1
from tierwise.api.v1_ops import router as v1_ops
from tierwise.api.v1_web import router as v1_web
from tierwise.app.auth import AuthSettings
from tierwise.app.workspace import Workspace, open_workspace
from tierwise.web import pages, pages_analysis, pages_work

STATIC = Path(__file__).parent / "static"

#: plotly.js is allowed no inline script: every chart is drawn by /static/app.js from JSON data blocks
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
       "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
       "frame-ancestors 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


def plotly_js() -> Path:
    """plotly.min.js as shipped inside the pinned ``plotly`` Python package."""
    import plotly

    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def plotly_license() -> str:
    dist = metadata.distribution("plotly")
    for f in dist.files or []:
        if f.name.upper().startswith(("LICENSE", "LICENCE")):
            return f"plotly {dist.version} (plotly.js bundled inside it)\n\n" + Path(dist.locate_file(f)).read_text()
    return f"plotly {dist.version}: MIT licence, https://github.com/plotly/plotly.py/blob/main/LICENSE.txt\n"


def create_app(workspace: Workspace | str | Path, *, auth_settings: AuthSettings | None = None,
               secure_cookies: bool = False, due_every: float | None = None,
               due_today: Callable[[], date] | None = None) -> FastAPI:
    """The application. ``due_every`` (seconds) starts a :class:`~tierwise.app.web_scheduler.DueRunner`
    with the server that runs due evaluations and the daily task generation; ``None`` runs none."""
    ws = workspace if isinstance(workspace, Workspace) else open_workspace(workspace)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        runner = None
        if due_every:
            from tierwise.app.web_scheduler import DueRunner
            runner = DueRunner(ws, due_every, **({"today": due_today} if due_today else {})).start()
        app.state.due_runner = runner
        try:
            yield
        finally:
            if runner is not None:
                runner.stop()

    app = FastAPI(title="tierwise", version="1", openapi_url="/api/openapi.json", docs_url=None, redoc_url=None,
                  lifespan=lifespan,
                  description="Customer classification, tiering and upgrade (客户分类、分层分级与升级). "
                              "Log in with POST /api/v1/auth/login, then send `Authorization: Bearer TOKEN`.")
    app.state.ws = ws
    app.state.auth_settings = auth_settings or AuthSettings()
    app.state.secure_cookies = secure_cookies

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        response = await call_next(request)
        for k, v in SECURITY_HEADERS.items():
            response.headers.setdefault(k, v)
        if request.url.path.startswith("/api/") or "text/html" in response.headers.get("content-type", ""):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    api_errors.install(app)
    pages.install_error_pages(app)
    app.include_router(v1)
    app.include_router(v1_ops)
    app.include_router(v1_web)
    app.include_router(pages.router)
    app.include_router(pages_work.router)
    app.include_router(pages_analysis.router)

    js = plotly_js()

    @app.get("/static/vendor/plotly.min.js", include_in_schema=False)
    def plotly_file():
        return FileResponse(js, media_type="text/javascript",
                            headers={"Cache-Control": "public, max-age=31536000, immutable"})

    @app.get("/static/vendor/plotly.LICENSE.txt", include_in_schema=False)
    def plotly_licence():
        return PlainTextResponse(plotly_license())

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


def app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory`` (used by ``tierwise serve``).

    ``TIERWISE_DUE_MINUTES`` (``tierwise serve --due-every``): minutes between checks for due
    evaluations; 0 or unset runs none."""
    minutes = float(os.environ.get("TIERWISE_DUE_MINUTES") or 0)
    return create_app(os.environ["TIERWISE_WORKSPACE"], secure_cookies=bool(os.environ.get("TIERWISE_SECURE_COOKIES")),
                      due_every=minutes * 60 if minutes > 0 else None)
