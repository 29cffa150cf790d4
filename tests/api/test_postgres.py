"""The API with the operational store on a real PostgreSQL server (users, sessions, throttling, overrides, audit)."""

from __future__ import annotations

import pytest

from api.conftest import bearer, make_client
from api.workspace import PASSWORD, build
from tierwise.app.auth import AuthSettings
from tierwise.app.workspace import open_workspace


@pytest.fixture
def pg_root(tmp_path, pg_url):
    return build(tmp_path / "ws", n=120, store_url=pg_url)


def test_api_on_postgres(pg_root):
    ws = open_workspace(pg_root)
    assert ws.store().engine.dialect.name == "postgresql"
    c = make_client(pg_root, auth_settings=AuthSettings(user_failures=2))
    rm, bm = bearer(c, "rm1"), bearer(c, "bm1")
    mine = c.get("/api/v1/customers", headers=rm, params={"limit": 500}).json()["items"]
    assert mine and {i["manager_id"] for i in mine} == {"RM00001"}
    other = c.get("/api/v1/customers", headers=bm, params={"manager": "RM00002", "limit": 1}).json()["items"][0]
    assert c.get(f"/api/v1/customers/{other['customer_id']}", headers=rm).status_code == 404
    o = c.post("/api/v1/overrides", headers=rm, json={"customer_id": mine[0]["customer_id"], "kind": "floor",
                                                      "tier": "gold", "reason": "pg", "expires_on": "2030-01-01"})
    assert o.status_code == 201
    r = c.post(f"/api/v1/overrides/{o.json()['override_id']}/approve", headers=bm)
    assert r.status_code == 200 and r.json()["status"] == "approved"
    for _ in range(2):
        c.post("/api/v1/auth/login", json={"username": "rm3", "password": "wrong-password"})
    assert c.post("/api/v1/auth/login", json={"username": "rm3", "password": PASSWORD}).status_code == 429
    c.get(f"/api/v1/customers/{mine[0]['customer_id']}", headers=rm, params={"unmask": "true"})
    acts = [e["action"] for e in ws.store().audit_entries()]
    for a in ("auth.login", "auth.login_failed", "auth.login_locked", "override.request", "override.approve",
              "personal.unmask", "user.add"):
        assert a in acts
    assert ws.store().verify_audit() == (True, None)
