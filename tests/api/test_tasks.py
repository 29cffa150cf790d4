"""Tasks through the API: lists scoped by role, completion with an outcome, 404 outside the scope.

The expected sets are read straight from the SQLite store file with ``sqlite3`` (not through
tierwise), so the API is checked against the rows as they are stored.
"""

from __future__ import annotations

import sqlite3

import pytest

from api.conftest import bearer, make_client

BRANCH = {"RM00001": "BR001", "RM00002": "BR001", "RM00003": "BR002", "RM00004": "BR002"}


def stored(root, where: str = "1=1", params=()) -> list[tuple]:
    con = sqlite3.connect(root / "store.db")
    try:
        return con.execute(f"SELECT task_id, manager_id, customer_id, status, outcome, closed_by FROM tasks "
                           f"WHERE {where} ORDER BY task_id", params).fetchall()
    finally:
        con.close()


def ids(r) -> set[int]:
    assert r.status_code == 200, r.text
    return {t["task_id"] for t in r.json()}


@pytest.fixture(scope="module")
def tasks_ws(tmp_path_factory, base_root):
    import shutil
    dst = tmp_path_factory.mktemp("tasks") / "ws"
    shutil.copytree(base_root, dst)
    client = make_client(dst)
    from api.workspace import USERS
    return dst, client, {u: bearer(client, u) for u in USERS}


def test_the_fixture_has_tasks_for_every_manager(base_root):
    managers = {r[1] for r in stored(base_root, "status = 'open'")}
    assert managers == set(BRANCH)


@pytest.mark.parametrize("user,managers", [
    ("rm1", {"RM00001"}), ("rm3", {"RM00003"}), ("bm1", {"RM00001", "RM00002"}), ("bm2", {"RM00003", "RM00004"}),
    ("analyst1", set(BRANCH)), ("admin1", set(BRANCH))])
def test_list_is_scoped_by_role(shared_client, headers, base_root, user, managers):
    expect = {r[0] for r in stored(base_root, "status = 'open'") if r[1] in managers}
    got = ids(shared_client.get("/api/v1/tasks", params={"status": "open", "limit": 500}, headers=headers[user]))
    assert got == expect and expect


def test_list_filters_and_pages(shared_client, headers, base_root):
    mine = [r for r in stored(base_root, "status = 'open'") if r[1] == "RM00001"]
    cid = mine[0][2]
    got = ids(shared_client.get("/api/v1/tasks", params={"customer_id": cid}, headers=headers["rm1"]))
    assert got == {r[0] for r in mine if r[2] == cid}
    pages = []
    for off in range(0, len(mine), 25):
        r = shared_client.get("/api/v1/tasks", params={"status": "open", "limit": 25, "offset": off},
                              headers=headers["rm1"])
        pages += [t["task_id"] for t in r.json()]
    assert sorted(pages) == [r[0] for r in mine] and len(pages) == len(set(pages))
    # ordered by due time
    r = shared_client.get("/api/v1/tasks", params={"status": "open", "limit": 500}, headers=headers["rm1"]).json()
    assert [t["due_at"] for t in r] == sorted(t["due_at"] for t in r)
    # another manager's customer as a filter: 404, like an unknown customer
    other = next(r for r in stored(base_root) if r[1] == "RM00002")[2]
    assert shared_client.get("/api/v1/tasks", params={"customer_id": other}, headers=headers["rm1"]).status_code == 404
    bad = shared_client.get("/api/v1/tasks", params={"status": "opn"}, headers=headers["rm1"])
    assert bad.status_code == 400 and "open" in (bad.json()["error"]["hint"] or "")


def test_get_one_task(shared_client, headers, base_root):
    own = next(r for r in stored(base_root) if r[1] == "RM00001")
    other = next(r for r in stored(base_root) if r[1] == "RM00002")
    r = shared_client.get(f"/api/v1/tasks/{own[0]}", headers=headers["rm1"])
    assert r.status_code == 200 and r.json()["customer_id"] == own[2] and r.json()["message"]
    for tid in (other[0], 987654):
        r = shared_client.get(f"/api/v1/tasks/{tid}", headers=headers["rm1"])
        assert r.status_code == 404 and r.json()["error"]["message"] == f"no task {tid}"
    assert shared_client.get(f"/api/v1/tasks/{other[0]}", headers=headers["bm1"]).status_code == 200
    assert shared_client.get(f"/api/v1/tasks/{other[0]}", headers=headers["bm2"]).status_code == 404


def test_complete_with_an_outcome(tasks_ws):
    root, client, hdr = tasks_ws
    own = [r for r in stored(root, "status = 'open' AND type = 'cadence'") if r[1] == "RM00001"]
    other = next(r for r in stored(root, "status = 'open'") if r[1] == "RM00002")
    tid, cid = own[0][0], own[0][2]
    # another manager's task: 404, and it stays open
    r = client.post(f"/api/v1/tasks/{other[0]}/complete", json={"outcome": "reached"}, headers=hdr["rm1"])
    assert r.status_code == 404
    assert stored(root, "task_id = ?", (other[0],))[0][3] == "open"
    # an analyst reads tasks but does not complete them
    r = client.post(f"/api/v1/tasks/{tid}/complete", json={"outcome": "reached"}, headers=hdr["analyst1"])
    assert r.status_code == 403
    # a wrong outcome is explained
    r = client.post(f"/api/v1/tasks/{tid}/complete", json={"outcome": "reachd"}, headers=hdr["rm1"])
    assert r.status_code == 400 and "reached" in r.json()["error"]["hint"]
    r = client.post(f"/api/v1/tasks/{tid}/complete", json={"outcome": "reached", "note": "回访完成"},
                    headers=hdr["rm1"])
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["outcome"], r.json()["closed_by"]) == ("done", "reached", "rm1")
    assert stored(root, "task_id = ?", (tid,))[0][3:] == ("done", "reached", "rm1")
    # once only
    again = client.post(f"/api/v1/tasks/{tid}/complete", json={"outcome": "reached"}, headers=hdr["rm1"])
    assert again.status_code == 400 and "already done" in again.json()["error"]["message"]
    # a sale names its product; the branch manager may complete tasks of the branch
    tid2 = own[1][0]
    r = client.post(f"/api/v1/tasks/{tid2}/complete", json={"outcome": "sold:FUND-001"}, headers=hdr["bm1"])
    assert r.status_code == 200 and r.json()["outcome"] == "sold:FUND-001"
    # audited with the person, and the contact is logged (a cadence task's contact resets its clock)
    con = sqlite3.connect(root / "store.db")
    audit = con.execute("SELECT actor, action, target FROM audit_log WHERE action = 'task.complete' ORDER BY seq"
                        ).fetchall()
    contacts = con.execute("SELECT customer_id, outcome, task_id FROM contacts WHERE task_id = ?", (tid,)).fetchall()
    con.close()
    assert audit == [("rm1", "task.complete", str(tid)), ("bm1", "task.complete", str(tid2))]
    assert contacts == [(cid, "reached", tid)]
    # a done task is no longer among the open ones
    open_now = ids(client.get("/api/v1/tasks", params={"status": "open", "limit": 500}, headers=hdr["rm1"]))
    assert tid not in open_now and tid2 not in open_now


def test_cookie_sessions_need_the_csrf_token(tasks_ws):
    from api.workspace import PASSWORD
    root, client, _ = tasks_ws
    tid = next(r for r in stored(root, "status = 'open'") if r[1] == "RM00003")[0]
    from fastapi.testclient import TestClient
    from tierwise.web.server import create_app
    c = TestClient(create_app(root), raise_server_exceptions=False)
    lg = c.post("/api/v1/auth/login", json={"username": "rm3", "password": PASSWORD}).json()
    r = c.post(f"/api/v1/tasks/{tid}/complete", json={"outcome": "no_answer"})
    assert r.status_code == 403 and "CSRF" in r.json()["error"]["message"]
    r = c.post(f"/api/v1/tasks/{tid}/complete", json={"outcome": "no_answer"},
               headers={"X-CSRF-Token": lg["csrf_token"]})
    assert r.status_code == 200 and r.json()["outcome"] == "no_answer"
