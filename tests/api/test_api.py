"""The API against independent answers: the snapshot files, the CLI's application functions, the audit log."""

from __future__ import annotations

from datetime import date

import pyarrow.parquet as pq

from api.conftest import bearer, make_client
from tierwise.app.history import explain, migration_matrix
from tierwise.app.workspace import open_workspace
from tierwise.snapshots.store import SnapshotStore


def test_list_sorting_and_paging_match_the_snapshot(shared_client, headers, snapshot):
    mine = [r for r in snapshot if r["manager_id"] == "RM00001"]
    expect = [r["customer_id"] for r in sorted(mine, key=lambda r: (-r["tier_metric"], r["customer_id"]))]
    got = []
    for offset in range(0, len(expect), 7):
        r = shared_client.get("/api/v1/customers", headers=headers["rm1"],
                              params={"sort": "tier_metric", "order": "desc", "limit": 7, "offset": offset}).json()
        assert r["total"] == len(expect)
        got += [i["customer_id"] for i in r["items"]]
    assert got == expect
    gold = [r["customer_id"] for r in snapshot if r["tier"] == "gold"]
    r = shared_client.get("/api/v1/customers", headers=headers["analyst1"], params={"tier": "gold", "limit": 500})
    assert sorted(i["customer_id"] for i in r.json()["items"]) == sorted(gold)
    seg = [r["customer_id"] for r in snapshot if r["rfm_segment"] == "important_value"]
    r = shared_client.get("/api/v1/customers", headers=headers["analyst1"],
                          params={"segment": "rfm_segment=important_value", "limit": 500})
    assert r.json()["total"] == len(seg)


def test_search_by_name_and_masking(shared_client, headers, base_root):
    # the generator's file the fixture imported (personal fields live in the vault after the import)
    people = pq.read_table(base_root / "inbox" / "customers.parquet").to_pylist()
    p = next(x for x in people if x["manager_id"] == "RM00001" and x["name"] and len(x["name"]) >= 2)
    r = shared_client.get("/api/v1/customers", headers=headers["rm1"], params={"q": p["name"]}).json()
    hit = next(i for i in r["items"] if i["customer_id"] == p["customer_id"])
    assert hit["name"] == p["name"][0] + "*" * (len(p["name"]) - 1)
    c = shared_client.get(f"/api/v1/customers/{p['customer_id']}", headers=headers["rm1"]).json()
    ph = p["phone"]
    assert c["personal"]["phone"] == ph[:3] + "*" * (len(ph) - 7) + ph[-4:] and c["masked"] is True
    n_before = len(open_workspace(base_root).store().audit_entries())
    c = shared_client.get(f"/api/v1/customers/{p['customer_id']}", headers=headers["rm1"],
                          params={"unmask": "true"}).json()
    assert c["personal"]["phone"] == ph and c["personal"]["name"] == p["name"]
    last = open_workspace(base_root).store().audit_entries()[n_before:]
    assert [(e["actor"], e["action"], e["target"]) for e in last] == [("rm1", "personal.unmask", p["customer_id"])]


def test_customer_360_explanations_equal_the_cli(shared_client, headers, snapshot, base_root):
    ws = open_workspace(base_root)
    for r in snapshot[::7]:
        c = shared_client.get(f"/api/v1/customers/{r['customer_id']}", headers=headers["admin1"]).json()
        assert c["explanation"] == _jsonable(explain(ws, r["customer_id"]))
        assert [h["tier"] for h in c["history"]] == [s["tier"] for s in _history(base_root, r["customer_id"])]


def _jsonable(d):
    import json
    return json.loads(json.dumps(d, default=str))


def _history(root, cid):
    snaps = SnapshotStore(root / "snapshots")
    out = []
    for s in snaps.in_force():
        t = snaps.read(s.run_id).to_pylist()
        out += [x for x in t if x["customer_id"] == cid]
    return out


def test_migration_and_summaries_equal_the_cli(shared_client, headers, base_root):
    ws = open_workspace(base_root)
    m = shared_client.get("/api/v1/tiers/migration", headers=headers["analyst1"]).json()
    assert m == _jsonable(migration_matrix(ws, None, None))
    snaps = SnapshotStore(base_root / "snapshots")
    stored = pq.read_table(snaps.path(snaps.current().run_id) / "summaries" / "rfm_segment.parquet").to_pylist()
    got = {s["segment"]: s for s in shared_client.get("/api/v1/segments/rfm_segment",
                                                       headers=headers["analyst1"]).json()["segments"]}
    for s in stored:
        g = got[s["segment"]]
        assert g["customers"] == s["customers"] and abs(g["revenue"] - float(s["revenue"])) < 0.005
        for k in ("aov", "avg_clv", "median_recency_days"):
            assert (g[k] is None and s[k] is None) or abs(g[k] - s[k]) < 1e-6, (s["segment"], k)


def test_error_shape(shared_client, headers):
    for r, status, code in (
            (shared_client.get("/api/v1/nowhere", headers=headers["rm1"]), 404, "not_found"),
            (shared_client.get("/api/v1/customers", headers=headers["rm1"], params={"sort": "name"}), 422,
             "invalid_request"),
            (shared_client.get("/api/v1/customers", headers=headers["rm1"], params={"segment": "x"}), 400,
             "invalid_input"),
            (shared_client.get("/api/v1/runs"), 401, "not_authenticated"),
            (shared_client.get("/api/v1/segments/nope", headers=headers["rm1"]), 404, "not_found")):
        assert r.status_code == status and set(r.json()) == {"error"}
        assert r.json()["error"]["code"] == code and set(r.json()["error"]) >= {"code", "message", "hint"}


def test_override_approved_by_the_branch_manager_reaches_the_next_run(root, by_manager):
    from tierwise.app.run import run_evaluation

    c = make_client(root)
    rm, bm1, bm2 = bearer(c, "rm1"), bearer(c, "bm1"), bearer(c, "bm2")
    cid = next(x for x in by_manager["RM00001"])
    o = c.post("/api/v1/overrides", headers=rm, json={"customer_id": cid, "kind": "pin", "tier": "diamond",
                                                      "reason": "一户一策", "expires_on": "2030-12-31",
                                                      "starts_on": "2024-01-01"}).json()
    assert c.post(f"/api/v1/overrides/{o['override_id']}/approve", headers=bm2).status_code == 404  # other branch
    own = c.post("/api/v1/overrides", headers=bm1, json={"customer_id": cid, "kind": "floor", "tier": "gold",
                                                         "reason": "x", "expires_on": "2030-12-31"}).json()
    r = c.post(f"/api/v1/overrides/{own['override_id']}/approve", headers=bm1)
    assert r.status_code == 400 and "cannot approve" in r.json()["error"]["message"]
    r = c.post(f"/api/v1/overrides/{o['override_id']}/approve", headers=bm1, json={"note": "同意"})
    assert r.status_code == 200 and r.json()["decided_by"] == "bm1"
    run_evaluation(open_workspace(root), date(2024, 11, 30))
    got = c.get(f"/api/v1/customers/{cid}", headers=rm).json()
    assert got["as_of"] == "2024-11-30" and got["snapshot"]["tier"] == "diamond"
    assert got["explanation"]["overrides"][0]["override_id"] == o["override_id"]


def test_import_upload_returns_the_reconciliation(root, by_manager):
    c = make_client(root)
    admin = bearer(c, "admin1")
    cid = by_manager["RM00002"][0]
    good = (f"customer_id,interaction_time,channel,kind\n{cid},2024-10-01 10:00:00,phone,call\n"
            f"{cid},2024-10-02 10:00:00,visit,visit\n").encode()
    r = c.post("/api/v1/imports", headers=admin, data={"table": "interactions"},
               files={"file": ("contacts.csv", good, "text/csv")})
    assert r.status_code == 201, r.text
    assert (r.json()["rows_read"], r.json()["accepted"], r.json()["rejected"]) == (2, 2, 0)
    bad = (f"customer_id,interaction_time,channel,kind\n{cid},2024-10-03 10:00:00,phone,call\n"
           "NOPE,2024-10-03 10:00:00,phone,call\n").encode()
    r = c.post("/api/v1/imports", headers=admin, data={"table": "interactions"},
               files={"file": ("contacts2.csv", bad, "text/csv")})
    assert r.status_code == 422 and r.json()["error"]["code"] == "import_refused"
    assert r.json()["error"]["reconciliation"]["rejected_by_reason"] == {"unknown_customer": 1}
    listed = c.get("/api/v1/imports", headers=admin).json()
    assert listed[-1]["source"].endswith("contacts.csv") and listed[-1]["accepted"] == 2
