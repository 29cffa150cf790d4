"""Access-control matrix: every endpoint × every role × own / other customer.

The fixture has RM00001 and RM00002 in BR001, RM00003 and RM00004 in BR002. For each role
"own" is a customer the role may see and "other" one it may not:

===============  ===================  ===================
role             own customer of      other customer of
===============  ===================  ===================
rm1 (RM00001)    RM00001              RM00002 (same branch)
rm3 (RM00003)    RM00003              RM00004 (same branch)
bm1 (BR001)      RM00002              RM00003
bm2 (BR002)      RM00004              RM00001
analyst1, admin1 RM00001              RM00004 (both visible)
===============  ===================  ===================

A customer outside the scope answers 404 (like one that does not exist); an action the role
may not take answers 403.
"""

from __future__ import annotations

import csv
import io

import pytest

from api.conftest import bearer, make_client

OWN = {"rm1": "RM00001", "rm3": "RM00003", "bm1": "RM00002", "bm2": "RM00004", "analyst1": "RM00001",
       "admin1": "RM00001"}
OTHER = {"rm1": "RM00002", "rm3": "RM00004", "bm1": "RM00003", "bm2": "RM00001", "analyst1": "RM00004",
         "admin1": "RM00004"}
SEES_ALL = {"analyst1", "admin1"}
MANAGERS = {"rm1", "rm3", "bm1", "bm2"}
DECIDERS = {"bm1", "bm2", "admin1"}
UNMASKERS = MANAGERS


def expected_read(user: str, which: str) -> int:
    return 200 if which == "own" or user in SEES_ALL else 404


READS = ["/api/v1/customers/{cid}", "/api/v1/customers/{cid}/history", "/api/v1/customers/{cid}/explain"]


@pytest.mark.parametrize("which", ["own", "other"])
@pytest.mark.parametrize("user", sorted(OWN))
@pytest.mark.parametrize("path", READS)
def test_customer_reads(shared_client, headers, by_manager, path, user, which):
    cid = by_manager[(OWN if which == "own" else OTHER)[user]][0]
    r = shared_client.get(path.format(cid=cid), headers=headers[user])
    assert r.status_code == expected_read(user, which), r.text
    if r.status_code == 404:
        # indistinguishable from a customer that does not exist
        missing = shared_client.get(path.format(cid="999999999"), headers=headers[user])
        assert missing.status_code == 404 and missing.json()["error"]["message"].replace("999999999", cid) == \
            r.json()["error"]["message"]


@pytest.mark.parametrize("which", ["own", "other"])
@pytest.mark.parametrize("user", sorted(OWN))
def test_search_and_export(shared_client, headers, by_manager, user, which):
    cid = by_manager[(OWN if which == "own" else OTHER)[user]][0]
    visible = expected_read(user, which) == 200
    r = shared_client.get("/api/v1/customers", params={"q": cid}, headers=headers[user])
    assert r.status_code == 200
    assert [i["customer_id"] for i in r.json()["items"]] == ([cid] if visible else [])
    r = shared_client.get("/api/v1/exports/customers.csv", params={"q": cid}, headers=headers[user])
    assert r.status_code == 200
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert [x["customer_id"] for x in rows] == ([cid] if visible else [])


@pytest.mark.parametrize("which", ["own", "other"])
@pytest.mark.parametrize("user", sorted(OWN))
def test_unmask(shared_client, headers, by_manager, user, which):
    cid = by_manager[(OWN if which == "own" else OTHER)[user]][0]
    r = shared_client.get(f"/api/v1/customers/{cid}", params={"unmask": "true"}, headers=headers[user])
    if expected_read(user, which) == 404:
        assert r.status_code == 404
    elif user in UNMASKERS:
        assert r.status_code == 200 and "*" not in (r.json()["personal"]["phone"] or "")
    else:
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"


@pytest.mark.parametrize("user", sorted(OWN))
def test_lists_hold_only_visible_customers(shared_client, headers, by_manager, user):
    allowed = set(by_manager[OWN[user]]) if user not in SEES_ALL else {c for v in by_manager.values() for c in v}
    if user.startswith("bm"):
        branch = {"bm1": ("RM00001", "RM00002"), "bm2": ("RM00003", "RM00004")}[user]
        allowed = {c for m in branch for c in by_manager[m]}
    r = shared_client.get("/api/v1/customers", params={"limit": 500}, headers=headers[user])
    assert {i["customer_id"] for i in r.json()["items"]} == allowed and r.json()["total"] == len(allowed)
    r = shared_client.get("/api/v1/candidates", params={"limit": 500}, headers=headers[user])
    assert {i["customer_id"] for i in r.json()["items"]} <= allowed
    d = shared_client.get("/api/v1/dashboard", headers=headers[user]).json()
    assert d["kpis"]["customers"]["value"] == len(allowed)
    assert sum(p["customers"] for p in d["pyramid"]) == len(allowed)
    m = shared_client.get("/api/v1/tiers/migration", headers=headers[user]).json()
    assert sum(sum(row.values()) for row in m["counts"].values()) == len(allowed)
    s = shared_client.get("/api/v1/segments/rfm_segment", headers=headers[user]).json()
    assert sum(x["customers"] for x in s["segments"]) == len(allowed)


#: role-only endpoints: (method, path, body) → users allowed (others get 403)
ROLE_ONLY = [
    ("GET", "/api/v1/imports", None, {"admin1", "analyst1"}),
    ("GET", "/api/v1/status", None, {"admin1", "analyst1"}),
    ("GET", "/api/v1/campaigns", None, {"admin1", "analyst1", "bm1", "bm2"}),
    ("GET", "/api/v1/users", None, {"admin1"}),
    ("GET", "/api/v1/runs", None, set(OWN)),
    ("GET", "/api/v1/dashboard", None, set(OWN)),
    ("GET", "/api/v1/tiers/distribution", None, set(OWN)),
    ("GET", "/api/v1/overrides", None, set(OWN)),
    ("GET", "/api/v1/audit", None, {"admin1"}),
    ("GET", "/api/v1/audit/verify", None, {"admin1"}),
    ("GET", "/api/v1/inbox", None, set(OWN)),
    ("GET", "/api/v1/tiers/cohorts", None, set(OWN)),
    ("GET", "/api/v1/segments", None, set(OWN)),
    ("GET", "/api/v1/whatif/levels", None, {"admin1", "analyst1"}),
]


@pytest.mark.parametrize("user", sorted(OWN))
@pytest.mark.parametrize("method,path,body,allowed", ROLE_ONLY, ids=[f"{m} {p}" for m, p, _, _ in ROLE_ONLY])
def test_role_only_reads(shared_client, headers, method, path, body, allowed, user):
    r = shared_client.request(method, path, json=body, headers=headers[user])
    assert r.status_code == (200 if user in allowed else 403), r.text


@pytest.fixture(scope="module")
def mutable(tmp_path_factory, base_root):
    """A private workspace for the writing half of the matrix."""
    import shutil
    dst = tmp_path_factory.mktemp("matrix") / "ws"
    shutil.copytree(base_root, dst)
    client = make_client(dst)
    from api.workspace import USERS
    return client, {u: bearer(client, u) for u in USERS}


@pytest.mark.parametrize("which", ["own", "other"])
@pytest.mark.parametrize("user", sorted(OWN))
def test_request_override(mutable, by_manager, user, which):
    client, hdr = mutable
    cid = by_manager[(OWN if which == "own" else OTHER)[user]][1]
    r = client.post("/api/v1/overrides", headers=hdr[user], json={
        "customer_id": cid, "kind": "floor", "tier": "gold", "reason": "matrix", "expires_on": "2030-01-01"})
    if user not in MANAGERS:
        assert r.status_code == 403
    else:
        assert r.status_code == (201 if which == "own" else 404), r.text


@pytest.mark.parametrize("which", ["own", "other"])
@pytest.mark.parametrize("user", sorted(OWN))
def test_decide_override(mutable, by_manager, user, which):
    """Overrides requested by someone else (an admin) on the user's own / other customer."""
    client, hdr = mutable
    cid = by_manager[(OWN if which == "own" else OTHER)[user]][2]
    manager = (OWN if which == "own" else OTHER)[user]
    requester = {"RM00001": "rm1", "RM00002": "rm2", "RM00003": "rm3", "RM00004": "rm4"}[manager]
    if requester == user:          # someone else must ask: the branch manager
        requester = {"RM00001": "bm1", "RM00003": "bm2"}[manager]
    made = client.post("/api/v1/overrides", headers=hdr[requester], json={
        "customer_id": cid, "kind": "pin", "tier": "gold", "reason": "matrix", "expires_on": "2030-01-01"})
    assert made.status_code == 201, made.text
    oid = made.json()["override_id"]
    r = client.post(f"/api/v1/overrides/{oid}/approve", headers=hdr[user], json={"note": "ok"})
    visible = expected_read(user, which) == 200
    if not visible:
        assert r.status_code == 404
    elif user in DECIDERS:
        assert r.status_code == 200 and r.json()["status"] == "approved" and r.json()["decided_by"] == user
    else:
        assert r.status_code == 403


WRITE_ROLE_ONLY = [
    ("POST", "/api/v1/campaigns", {"name": "m", "target_kind": "candidates", "target": "all",
                                   "starts_on": "2024-11-01", "ends_on": "2024-12-31"}, {"admin1", "analyst1"}, 201),
    ("POST", "/api/v1/users", {"username": "new_{user}", "role": "analyst"}, {"admin1"}, 201),
    ("POST", "/api/v1/users/rm2/reset-password", None, {"admin1"}, 200),
]


@pytest.mark.parametrize("user", sorted(OWN))
@pytest.mark.parametrize("method,path,body,allowed,ok", WRITE_ROLE_ONLY, ids=[p for _, p, _, _, _ in WRITE_ROLE_ONLY])
def test_role_only_writes(mutable, method, path, body, allowed, ok, user):
    client, hdr = mutable
    if body and "username" in body:
        body = {**body, "username": body["username"].format(user=user)}
    r = client.request(method, path, json=body, headers=hdr[user])
    assert r.status_code == (ok if user in allowed else 403), r.text


@pytest.mark.parametrize("user", sorted(OWN))
def test_uploads_need_their_role(mutable, user):
    client, hdr = mutable
    r = client.post("/api/v1/imports", headers=hdr[user], data={"table": "interactions"},
                    files={"file": ("x.csv", b"customer_id\n", "text/csv")})
    # admins reach the import itself (which rejects this file); everyone else is refused first
    assert (r.status_code != 403) if user == "admin1" else (r.status_code == 403)
    r = client.post("/api/v1/whatif", headers=hdr[user], files={"policy": ("p.yaml", b"not: [valid", "text/yaml")})
    assert (r.status_code == 422) if user in ("admin1", "analyst1") else (r.status_code == 403), r.text


@pytest.mark.parametrize("which", ["own", "other"])
@pytest.mark.parametrize("user", sorted(OWN))
def test_tasks(mutable, user, which):
    """Read and complete a task of the user's own / other manager: 404 outside the scope, 403 for non-managers."""
    client, hdr = mutable
    manager = (OWN if which == "own" else OTHER)[user]
    every = client.get("/api/v1/tasks", params={"status": "open", "limit": 500}, headers=hdr["admin1"]).json()
    task = next(t for t in every if t["manager_id"] == manager and t["type"] == "cadence")
    visible = expected_read(user, which) == 200
    r = client.get(f"/api/v1/tasks/{task['task_id']}", headers=hdr[user])
    assert r.status_code == (200 if visible else 404), r.text
    listed = client.get("/api/v1/tasks", params={"status": "open", "limit": 500}, headers=hdr[user])
    assert (task["task_id"] in {t["task_id"] for t in listed.json()}) == visible
    r = client.post(f"/api/v1/tasks/{task['task_id']}/complete", json={"outcome": "reached"}, headers=hdr[user])
    if not visible:
        assert r.status_code == 404
    elif user in MANAGERS:
        assert r.status_code == 200 and r.json()["closed_by"] == user
    else:
        assert r.status_code == 403
