"""Logging in and out: server-side sessions with expiry, login throttling, CSRF tokens.

* A session token is 256 random bits, given to the browser once (cookie) and stored only as
  its SHA-256 hash. A session ends at ``session_hours`` after login, after ``idle_minutes``
  without a request, at logout, or when the user is disabled, changed or reset.
* Each session carries a CSRF token; every state-changing request made with the session
  cookie must echo it (form field or ``X-CSRF-Token`` header). Checked in the web shell.
* Throttling: more than ``user_failures`` failed logins for one username, or
  ``client_failures`` from one address, within ``window_minutes`` lock further attempts
  until the window has passed since the latest failure; a success clears the user's count.

Every login, failure, lock-out, logout and password change is audited.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from tierwise.app.access import Principal
from tierwise.app.users import check_password, hasher
from tierwise.app.workspace import Workspace
from tierwise.errors import AuthenticationError, LoginThrottledError, UserInputError

#: hash verified when the username is unknown, so both failures take as long
_DUMMY_HASH = hasher.hash("tierwise-no-such-user")


@dataclass(frozen=True)
class AuthSettings:
    session_hours: float = 8
    idle_minutes: float = 60
    user_failures: int = 5
    client_failures: int = 20
    window_minutes: float = 15


@dataclass(frozen=True)
class Login:
    token: str            # give to the client once; only its hash is stored
    csrf_token: str
    principal: Principal
    expires_at: datetime


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def principal_of(user: dict) -> Principal:
    return Principal(username=user["username"], role=user["role"], manager_id=user["manager_id"],
                     branch_id=user["branch_id"], user_id=user["user_id"], display_name=user["display_name"],
                     locale=user["locale"], must_change_password=bool(user["must_change_password"]))


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _check_throttle(ws: Workspace, username: str, client: str, s: AuthSettings, now: datetime) -> None:
    store = ws.store()
    since = now - timedelta(minutes=s.window_minutes)
    for what, n_max, kw in (("this user", s.user_failures, {"username": username}),
                            ("this address", s.client_failures, {"client": client})):
        n, latest = store.login_failures(since, **kw)
        if n >= n_max:
            until = latest + timedelta(minutes=s.window_minutes)
            minutes = max(1, int((until - now).total_seconds() // 60) + 1)
            store.audit(username, "auth.login_locked", username, {"client": client, "failures": n, "scope": what},
                        origin=f"web@{client}")
            raise LoginThrottledError(
                f"too many failed logins for {what} ({n} in {s.window_minutes:g} minutes); "
                f"logins are locked for about {minutes} more minute(s)",
                hint="wait, or ask an administrator to reset the password (tierwise users reset-password)")


def login(ws: Workspace, username: str, password: str, client: str = "unknown",
          settings: AuthSettings | None = None) -> Login:
    """Check the password and open a session; raises AuthenticationError (same message for every failure)."""
    s = settings or AuthSettings()
    now = _now()
    username = (username or "").strip()
    _check_throttle(ws, username, client, s, now)
    store = ws.store()
    user = store.get_user(username=username) if username else None
    try:
        ok = hasher.verify(user["password_hash"] if user else _DUMMY_HASH, password or "")
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        ok = False
    if not (ok and user and user["active"]):
        store.add_login_attempt(username[:64], client[:128], now, False)
        store.audit(username[:64] or "-", "auth.login_failed", username[:64],
                    {"client": client, "reason": "disabled" if (ok and user) else "bad_credentials"},
                    origin=f"web@{client}")
        raise AuthenticationError("wrong username or password", hint="check both; logins lock after repeated failures")
    if hasher.check_needs_rehash(user["password_hash"]):
        store.update_user(user["user_id"], password_hash=hasher.hash(password))
    store.add_login_attempt(username, client[:128], now, True)
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    expires = now + timedelta(hours=s.session_hours)
    store.add_session({"token_hash": token_hash(token), "user_id": user["user_id"], "csrf_token": csrf,
                       "client": client[:128], "created_at": now, "last_seen": now, "expires_at": expires})
    store.audit(username, "auth.login", username, {"client": client}, origin=f"web@{client}")
    return Login(token, csrf, principal_of(user), expires)


def authenticate(ws: Workspace, token: str | None, settings: AuthSettings | None = None
                 ) -> tuple[Principal, str]:
    """The principal and CSRF token of a live session; AuthenticationError otherwise."""
    s = settings or AuthSettings()
    if not token:
        raise AuthenticationError("not logged in", hint="log in first")
    store = ws.store()
    th = token_hash(token)
    sess = store.get_session(th)
    now = _now()
    if sess is None:
        raise AuthenticationError("your session has ended", hint="log in again")
    if now >= sess["expires_at"] or now - sess["last_seen"] > timedelta(minutes=s.idle_minutes):
        store.delete_session(th)
        raise AuthenticationError("your session has expired", hint="log in again")
    user = store.get_user(user_id=sess["user_id"])
    if user is None or not user["active"]:
        store.delete_session(th)
        raise AuthenticationError("your account is disabled", hint="ask an administrator")
    if now - sess["last_seen"] > timedelta(seconds=30):     # fewer writes: the idle clock has 30 s grain
        store.touch_session(th, now)
    return principal_of(user), sess["csrf_token"]


def csrf_ok(expected: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(expected.encode(), given.encode())


def logout(ws: Workspace, token: str | None, principal: Principal | None = None, client: str = "unknown") -> None:
    if not token:
        return
    ws.store().delete_session(token_hash(token))
    if principal is not None:
        ws.store().audit(principal.username, "auth.logout", principal.username, origin=f"web@{client}")


def change_password(ws: Workspace, principal: Principal, old: str, new: str, *, keep_token: str | None = None,
                    client: str = "unknown") -> str | None:
    """Change one's own password (the old one is required); other sessions of the user end.

    Returns the new CSRF token of the kept session (``keep_token``), if any."""
    store = ws.store()
    user = store.get_user(user_id=principal.user_id)
    try:
        hasher.verify(user["password_hash"], old or "")
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        raise AuthenticationError("the current password is wrong") from None
    check_password(new or "", user["username"])
    if new == old:
        raise UserInputError("the new password must differ from the current one")
    store.update_user(user["user_id"], password_hash=hasher.hash(new), must_change_password=False)
    store.delete_user_sessions(user["user_id"])
    csrf = None
    if keep_token:       # the session that changed the password stays open, with a new CSRF token
        th = token_hash(keep_token)
        now = _now()
        csrf = secrets.token_urlsafe(32)
        store.add_session({"token_hash": th, "user_id": user["user_id"], "csrf_token": csrf,
                           "client": client[:128], "created_at": now, "last_seen": now,
                           "expires_at": now + timedelta(hours=AuthSettings().session_hours)})
    store.audit(principal.username, "user.change_password", principal.username, origin=f"web@{client}")
    return csrf
