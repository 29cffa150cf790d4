"""Users, logins, sessions, throttling, CSRF, security headers, the first admin, audit."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from api.conftest import bearer, make_client
from api.workspace import PASSWORD
from tierwise.app.auth import AuthSettings, token_hash
from tierwise.app.workspace import open_workspace
from tierwise.store.auth import sessions


def actions(root, since: int = 0) -> list[tuple[str, str]]:
    return [(e["actor"], e["action"]) for e in open_workspace(root).store().audit_entries()[since:]]


def test_login_sets_a_hashed_session_and_audits(root):
    c = make_client(root)
    r = c.post("/api/v1/auth/login", json={"username": "rm1", "password": PASSWORD})
    assert r.status_code == 200
    token = r.json()["token"]
    assert c.cookies.get("tw_session") == token
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    with open_workspace(root).store().engine.connect() as conn:
        stored = [row.token_hash for row in conn.execute(sa.select(sessions))]
    assert token not in stored and token_hash(token) in stored
    assert ("rm1", "auth.login") in actions(root)
    assert c.get("/api/v1/auth/me").json()["manager_id"] == "RM00001"


def test_wrong_password_and_unknown_user_look_the_same(root):
    c = make_client(root)
    a = c.post("/api/v1/auth/login", json={"username": "rm1", "password": "nope-nope-nope"})
    b = c.post("/api/v1/auth/login", json={"username": "ghost", "password": "nope-nope-nope"})
    assert a.status_code == b.status_code == 401
    assert a.json() == b.json() and a.json()["error"]["code"] == "not_authenticated"
    assert ("rm1", "auth.login_failed") in actions(root) and ("ghost", "auth.login_failed") in actions(root)


def test_user_lockout_then_window_passes(root):
    s = AuthSettings(user_failures=3, client_failures=100, window_minutes=15)
    c = make_client(root, auth_settings=s)
    for _ in range(3):
        assert c.post("/api/v1/auth/login", json={"username": "rm1", "password": "bad-password"}).status_code == 401
    r = c.post("/api/v1/auth/login", json={"username": "rm1", "password": PASSWORD})
    assert r.status_code == 429 and r.json()["error"]["code"] == "login_locked"
    assert "too many failed logins for this user" in r.json()["error"]["message"]
    assert ("rm1", "auth.login_locked") in actions(root)
    # another user from the same address is not locked by rm1's failures
    assert c.post("/api/v1/auth/login", json={"username": "rm3", "password": PASSWORD}).status_code == 200
    # move the failures out of the window: the correct password works again
    store = open_workspace(root).store()
    from tierwise.store.auth import login_attempts
    with store.engine.begin() as conn:
        conn.execute(login_attempts.update().values(at=datetime.now(timezone.utc) - timedelta(minutes=16)))
    assert c.post("/api/v1/auth/login", json={"username": "rm1", "password": PASSWORD}).status_code == 200


def test_client_lockout_across_usernames(root):
    c = make_client(root, auth_settings=AuthSettings(user_failures=100, client_failures=4))
    for name in ("a1", "a2", "a3", "a4"):
        assert c.post("/api/v1/auth/login", json={"username": name, "password": "x" * 12}).status_code == 401
    r = c.post("/api/v1/auth/login", json={"username": "rm1", "password": PASSWORD})
    assert r.status_code == 429 and "this address" in r.json()["error"]["message"]


def test_session_expiry_idle_and_absolute(root):
    c = make_client(root, auth_settings=AuthSettings(idle_minutes=5))
    h = bearer(c, "rm1")
    assert c.get("/api/v1/runs", headers=h).status_code == 200
    th = token_hash(h["Authorization"].split()[1])
    store = open_workspace(root).store()
    with store.engine.begin() as conn:
        conn.execute(sessions.update().where(sessions.c.token_hash == th)
                     .values(last_seen=datetime.now(timezone.utc) - timedelta(minutes=6)))
    r = c.get("/api/v1/runs", headers=h)
    assert r.status_code == 401 and "expired" in r.json()["error"]["message"]
    h = bearer(c, "rm1")
    th = token_hash(h["Authorization"].split()[1])
    with store.engine.begin() as conn:
        conn.execute(sessions.update().where(sessions.c.token_hash == th)
                     .values(expires_at=datetime.now(timezone.utc) - timedelta(seconds=1)))
    assert c.get("/api/v1/runs", headers=h).status_code == 401


def test_csrf_on_cookie_requests(root, by_manager):
    c = make_client(root)
    r = c.post("/api/v1/auth/login", json={"username": "rm1", "password": PASSWORD})
    csrf = r.json()["csrf_token"]
    body = {"customer_id": by_manager["RM00001"][0], "kind": "pin", "tier": "gold", "reason": "r",
            "expires_on": "2030-01-01"}
    r = c.post("/api/v1/overrides", json=body)
    assert r.status_code == 403 and "CSRF" in r.json()["error"]["message"]
    assert c.post("/api/v1/overrides", json=body, headers={"X-CSRF-Token": "forged"}).status_code == 403
    assert c.post("/api/v1/overrides", json=body, headers={"X-CSRF-Token": csrf}).status_code == 201
    # a form post with the token in a field (as the pages do)
    r = c.post(f"/customers/{body['customer_id']}/overrides", follow_redirects=False,
               data={"csrf_token": csrf, "kind": "floor", "tier": "gold", "reason": "form", "expires_on": "2030-01-01"})
    assert r.status_code == 303
    # the login form needs its double-submit token
    fresh = make_client(root)
    r = fresh.post("/login", data={"username": "rm1", "password": PASSWORD}, follow_redirects=False)
    assert r.status_code == 403


def test_security_headers(shared_client):
    for path in ("/login", "/api/openapi.json", "/api/v1/runs"):
        h = shared_client.get(path).headers
        csp = h["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in \
            csp.split("script-src")[1].split(";")[0]
        assert h["x-content-type-options"] == "nosniff" and h["referrer-policy"] == "same-origin"


def test_first_admin_must_change_the_one_time_password(tmp_path):
    from tierwise.app.users import take_one_time_password
    from tierwise.app.workspace import init_workspace

    init_workspace(tmp_path / "w", "bank")
    password = take_one_time_password(tmp_path / "w")
    assert password and take_one_time_password(tmp_path / "w") is None      # shown once
    c = make_client(tmp_path / "w")
    h = bearer(c, "admin", password)
    r = c.get("/api/v1/users", headers=h)
    assert r.status_code == 403 and "one-time password" in r.json()["error"]["message"]
    r = c.post("/api/v1/auth/password", headers=h, json={"old_password": password, "new_password": "short"})
    assert r.status_code == 400 and "too short" in r.json()["error"]["message"]
    r = c.post("/api/v1/auth/password", headers=h, json={"old_password": password, "new_password": "a-better-one-42"})
    assert r.status_code == 200
    assert c.get("/api/v1/users", headers=h).status_code == 200      # the same session goes on
    assert c.post("/api/v1/auth/login", json={"username": "admin", "password": password}).status_code == 401
    assert [a for _, a in actions(tmp_path / "w")][-1] == "auth.login_failed"


def test_disable_and_reset_end_sessions(root):
    c = make_client(root)
    admin, rm = bearer(c, "admin1"), bearer(c, "rm1")
    assert c.post("/api/v1/users/rm1/disable", headers=admin).status_code == 200
    assert c.get("/api/v1/runs", headers=rm).status_code == 401
    assert c.post("/api/v1/auth/login", json={"username": "rm1", "password": PASSWORD}).status_code == 401
    rm3 = bearer(c, "rm3")
    r = c.post("/api/v1/users/rm3/reset-password", headers=admin)
    assert c.get("/api/v1/runs", headers=rm3).status_code == 401
    h = bearer(c, "rm3", r.json()["one_time_password"])
    assert c.get("/api/v1/auth/me", headers=h).json()["must_change_password"] is True
    acts = actions(root)
    assert ("admin1", "user.disable") in acts and ("admin1", "user.reset_password") in acts


def test_user_validation(root):
    from tierwise.app.users import add_user, set_active, update_user
    from tierwise.errors import UserInputError

    ws = open_workspace(root)
    with pytest.raises(UserInputError, match="needs a manager id"):
        add_user(ws, "x1", "relationship_manager")
    with pytest.raises(UserInputError, match="did you mean 'analyst'"):
        add_user(ws, "x2", "analist")
    with pytest.raises(UserInputError, match="already exists"):
        add_user(ws, "rm1", "analyst")
    set_active(ws, "admin", False)                   # admin1 remains
    with pytest.raises(UserInputError, match="last active admin"):
        set_active(ws, "admin1", False)
    u = update_user(ws, "rm2", role="branch_manager", branch_id="BR002")
    assert (u["role"], u["branch_id"], u["manager_id"]) == ("branch_manager", "BR002", None)
    assert ("cli", "user.update") in actions(root)


def test_users_cli(root):
    import json

    from typer.testing import CliRunner

    from tierwise.cli.main import app

    run = CliRunner().invoke
    r = run(app, ["users", "add", str(root), "carol", "--role", "branch_manager", "--branch-id", "BR001", "--json"])
    assert r.exit_code == 0, r.output
    otp = json.loads(r.output)["one_time_password"]
    users = {u["username"]: u for u in json.loads(run(app, ["users", "list", str(root), "--json"]).output)}
    assert users["carol"]["must_change_password"] is True and users["carol"]["branch_id"] == "BR001"
    assert "password_hash" not in users["carol"]
    assert run(app, ["users", "disable", str(root), "carol"]).exit_code == 0
    r = run(app, ["users", "reset-password", str(root), "carol", "--json"])
    assert json.loads(r.output)["one_time_password"] != otp
    from tierwise.cli.main import main
    assert main(["users", "add", str(root), "dave", "--role", "branch_manager"]) == 2     # no branch id
