"""Request dependencies: the workspace, the caller's principal, the CSRF check.

Authentication is a session token, either in the ``tw_session`` cookie (browsers) or as
``Authorization: Bearer TOKEN`` (programs). Requests that change state and authenticate
with the cookie must carry the session's CSRF token in the ``X-CSRF-Token`` header or a
``csrf_token`` form field; bearer requests cannot be forged by another site and need none.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from tierwise.app.access import Principal
from tierwise.app.auth import AuthSettings, authenticate, csrf_ok
from tierwise.app.workspace import Workspace
from tierwise.errors import PermissionDeniedError

COOKIE = "tw_session"
SAFE = ("GET", "HEAD", "OPTIONS")
#: paths a user with a one-time password may still use
PASSWORD_PATHS = ("/api/v1/auth/me", "/api/v1/auth/password", "/api/v1/auth/logout", "/password", "/logout")


@dataclass
class Ctx:
    ws: Workspace
    principal: Principal
    csrf_token: str
    token: str
    client: str

    @property
    def origin(self) -> str:
        return f"web@{self.client}"


def workspace(request: Request) -> Workspace:
    return request.app.state.ws


def settings(request: Request) -> AuthSettings:
    return request.app.state.auth_settings


def client_of(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def token_of(request: Request) -> tuple[str | None, bool]:
    """(token, came from the cookie)."""
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip(), False
    return request.cookies.get(COOKIE), True


async def context(request: Request) -> Ctx:
    """The authenticated caller; 401 without a live session, 403 on a failed CSRF check."""
    ws = workspace(request)
    token, via_cookie = token_of(request)
    principal, csrf = authenticate(ws, token, settings(request))
    if via_cookie and request.method not in SAFE:
        given = request.headers.get("x-csrf-token")
        ctype = request.headers.get("content-type", "")
        if not given and ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            given = (await request.form()).get("csrf_token")
        if not csrf_ok(csrf, given if isinstance(given, str) else None):
            raise PermissionDeniedError("the request lacks a valid CSRF token",
                                        hint="send the X-CSRF-Token header from /api/v1/auth/me, or reload the page")
    if principal.must_change_password and request.url.path not in PASSWORD_PATHS:
        raise PermissionDeniedError("you must change your one-time password first",
                                    hint="POST /api/v1/auth/password, or open /password")
    return Ctx(ws, principal, csrf, token, client_of(request))
