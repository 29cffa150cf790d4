"""The one place that maps error types to HTTP status, and the one JSON error shape.

Every error answer is ``{"error": {"code": ..., "message": ..., "hint": ...}}``; ``code`` is a
stable identifier for programs, ``message`` and ``hint`` are for people.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from tierwise.errors import (AuthenticationError, ConcurrencyError, ConvergenceError, ImportRejectedError,
                             LoginThrottledError, NotFoundError, PermissionDeniedError, PolicyError, TierwiseError,
                             UserInputError)

log = logging.getLogger("tierwise.api")

#: error class → (HTTP status, code); the first matching class wins, so subclasses come first
STATUS: tuple[tuple[type[TierwiseError], int, str], ...] = (
    (LoginThrottledError, 429, "login_locked"),
    (AuthenticationError, 401, "not_authenticated"),
    (PermissionDeniedError, 403, "forbidden"),
    (NotFoundError, 404, "not_found"),
    (ImportRejectedError, 422, "import_refused"),
    (PolicyError, 422, "invalid_policy"),
    (ConcurrencyError, 409, "busy"),
    (ConvergenceError, 422, "not_converged"),
    (UserInputError, 400, "invalid_input"),
    (TierwiseError, 400, "error"),
)

HTTP_CODES = {400: "bad_request", 401: "not_authenticated", 403: "forbidden", 404: "not_found",
              405: "method_not_allowed", 413: "too_large", 415: "unsupported_media_type", 422: "invalid_request",
              429: "too_many_requests"}


def status_of(exc: TierwiseError) -> tuple[int, str]:
    for cls, status, code in STATUS:
        if isinstance(exc, cls):
            return status, code
    return 400, "error"


def error_body(code: str, message: str, hint: str | None = None, **extra) -> dict:
    return {"error": {"code": code, "message": message, "hint": hint, **extra}}


def tierwise_error_response(exc: TierwiseError) -> JSONResponse:
    status, code = status_of(exc)
    extra = {}
    if isinstance(exc, ImportRejectedError) and exc.reconciliation:
        extra["reconciliation"] = exc.reconciliation
    headers = {"WWW-Authenticate": 'Bearer realm="tierwise"'} if status == 401 else None
    import json
    body = json.loads(json.dumps(error_body(code, exc.message, exc.hint, **extra), default=str))
    return JSONResponse(body, status_code=status, headers=headers)


def validation_message(exc: RequestValidationError) -> str:
    parts = []
    for e in exc.errors()[:5]:
        where = ".".join(str(x) for x in e.get("loc", ()) if x != "body")
        parts.append(f"{where}: {e.get('msg')}")
    return "; ".join(parts) or "invalid request"


def install(app: FastAPI) -> None:
    """JSON error handlers for the API (the web shell wraps them to render pages for browsers)."""

    @app.exception_handler(TierwiseError)
    async def _tierwise(request: Request, exc: TierwiseError):
        return tierwise_error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        return JSONResponse(error_body("invalid_request", validation_message(exc),
                                       "see the OpenAPI document at /api/openapi.json"), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        code = HTTP_CODES.get(exc.status_code, "error")
        return JSONResponse(error_body(code, str(exc.detail)), status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception):
        log.exception("internal error on %s %s", request.method, request.url.path)
        return JSONResponse(error_body("internal", "internal error; it has been logged",
                                       "please report it with the time of the request"), status_code=500)
