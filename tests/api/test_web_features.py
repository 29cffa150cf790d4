"""Inbox, audit log, cohort retention, threshold what-if and classifications against independent answers."""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from datetime import date, datetime, timedelta

import pyarrow.parquet as pq
import pytest
import yaml

from tierwise.app.access import Principal
from tierwise.app.workspace import open_workspace

RM1 = Principal("rm1", "relationship_manager", manager_id="RM00001")
BM2 = Principal("bm2", "branch_manager", branch_id="BR002")


def open_tasks(root) -> list[tuple]:
    con = sqlite3.connect(root / "store.db")
    try:
        return con.execute("SELECT task_id, manager_id, due_at FROM tasks WHERE status = 'open'").fetchall()
    finally:
        con.close()


@pytest.mark.parametrize("principal,managers", [(RM1, {"RM00001"}), (BM2, {"RM00003", "RM00004"})])
def test_inbox_splits_by_due_time(base_root, principal, managers):
    from tierwise.app.web_inbox import inbox

    ws = open_workspace(base_root)
    rows = [(tid, datetime.fromisoformat(due)) for tid, m, due in open_tasks(base_root) if m in managers]
    dues = sorted({d for _, d in rows})
    now = dues[len(dues) // 2] - timedelta(minutes=1)        # some tasks before, some after
    tomorrow = datetime.combine(now.date() + timedelta(days=1), datetime.min.time())
    horizon = datetime.combine(now.date() + timedelta(days=8), datetime.min.time())
    box = inbox(ws, principal, now=now, days_ahead=7)
    assert {t["task_id"] for t in box["overdue"]} == {i for i, d in rows if d < now}
    assert {t["task_id"] for t in box["today"]} == {i for i, d in rows if now <= d < tomorrow}
    assert {t["task_id"] for t in box["coming"]} == {i for i, d in rows if tomorrow <= d < horizon}
    assert box["overdue"] and all(t["sla_seconds"] == int((datetime.fromisoformat(t["due_at"]) - now)
                                                          .total_seconds()) for t in box["overdue"])


def test_inbox_api_is_scoped(shared_client, headers, base_root):
    box = shared_client.get("/api/v1/inbox", headers=headers["rm1"]).json()
    seen = {t["manager_id"] for k in ("overdue", "today", "coming") for t in box[k]}
    assert seen <= {"RM00001"}
    mine = {tid for tid, m, _ in open_tasks(base_root) if m == "RM00001"}
    assert {t["task_id"] for t in box["overdue"]} <= mine


def test_audit_filters_match_the_table(shared_client, headers, base_root):
    shared_client.get("/api/v1/exports/customers.csv", params={"q": "0"}, headers=headers["bm1"])
    con = sqlite3.connect(base_root / "store.db")
    every = con.execute("SELECT seq, actor, action, at FROM audit_log ORDER BY seq DESC").fetchall()
    con.close()
    r = shared_client.get("/api/v1/audit", params={"limit": 500}, headers=headers["admin1"]).json()
    assert r["total"] == len(every) and [e["seq"] for e in r["items"]] == [e[0] for e in every][:500]
    r = shared_client.get("/api/v1/audit", params={"action": "user.", "limit": 500}, headers=headers["admin1"]).json()
    assert [e["seq"] for e in r["items"]] == [e[0] for e in every if e[2].startswith("user.")] and r["items"]
    r = shared_client.get("/api/v1/audit", params={"actor": "bm1", "action": "customers.export"},
                          headers=headers["admin1"]).json()
    assert [e["seq"] for e in r["items"]] == [e[0] for e in every if e[1] == "bm1" and e[2] == "customers.export"]
    assert r["items"] and r["items"][0]["detail"]["filters"] == {"q": "0"}
    today = datetime.fromisoformat(every[0][3]).date()
    r = shared_client.get("/api/v1/audit", params={"since": (today + timedelta(days=1)).isoformat()},
                          headers=headers["admin1"]).json()
    assert r["total"] == 0
    r = shared_client.get("/api/v1/audit", params={"since": "2026-01-02", "until": "2026-01-01"},
                          headers=headers["admin1"])
    assert r.status_code == 400
    assert shared_client.get("/api/v1/audit/verify", headers=headers["admin1"]).json() == {
        "intact": True, "first_broken_seq": None}
    assert shared_client.get("/api/v1/audit", headers=headers["analyst1"]).status_code == 403


def _cohorts_by_hand(base_root, as_of: date, customers: set[str] | None, months: int = 12) -> list[dict]:
    from tierwise.ingest.batches import DataArea

    t = pq.read_table(DataArea(base_root / "data").table_files("transactions")[0]).to_pylist()
    active: dict[str, set[tuple[int, int]]] = defaultdict(set)
    for r in t:
        d = r["txn_time"].date() if hasattr(r["txn_time"], "date") else r["txn_time"]
        if r["amount"] > 0 and d <= as_of and (customers is None or r["customer_id"] in customers):
            active[r["customer_id"]].add((d.year, d.month))
    first_ok = (as_of.year * 12 + as_of.month - 1) - (months - 1)
    out: dict[tuple, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for cid, ms in active.items():
        c = min(ms)
        if c[0] * 12 + c[1] - 1 < first_ok:
            continue
        for m in ms:
            out[c][(m[0] * 12 + m[1]) - (c[0] * 12 + c[1])] += 1
    return [{"cohort": f"{y}-{m:02d}", "size": out[(y, m)][0],
             "retention": [out[(y, m)].get(k, 0) / out[(y, m)][0]
                           for k in range((as_of.year - y) * 12 + as_of.month - m + 1)]}
            for (y, m) in sorted(out)]


@pytest.mark.parametrize("user", ["analyst1", "rm1"])
def test_cohort_retention_by_hand(shared_client, headers, base_root, by_manager, user):
    r = shared_client.get("/api/v1/tiers/cohorts", headers=headers[user]).json()
    as_of = date.fromisoformat(r["as_of"])
    expect = _cohorts_by_hand(base_root, as_of, None if user == "analyst1" else set(by_manager["RM00001"]))
    assert [(c["cohort"], c["size"]) for c in r["cohorts"]] == [(c["cohort"], c["size"]) for c in expect] and expect
    for got, want in zip(r["cohorts"], expect):
        assert got["retention"] == pytest.approx(want["retention"])


def test_threshold_what_if(shared_client, headers, base_root, snapshot):
    levels = shared_client.get("/api/v1/whatif/levels", headers=headers["analyst1"]).json()
    assert [lv["id"] for lv in levels] == ["standard", "gold", "platinum", "diamond", "private"]
    same = shared_client.post("/api/v1/whatif/thresholds", json={"levels": {}}, headers=headers["analyst1"]).json()
    assert same["moved"] == 0                      # the current policy reproduces the current run
    r = shared_client.post("/api/v1/whatif/thresholds", headers=headers["analyst1"],
                           json={"levels": {"gold": {"entry": 20000, "maintain": 15000}}}).json()
    assert r["proposal"] == {"gold": {"entry": 20000, "maintain": 15000}}
    current = defaultdict(int)
    for row in snapshot:
        current[row["tier"]] += 1
    assert {k: sum(v.values()) for k, v in r["counts"].items() if sum(v.values())} == dict(current)
    # the same change as a whole uploaded policy gives the same matrix
    raw = yaml.safe_load((base_root / "policy.yaml").read_text(encoding="utf-8"))
    gold = next(lv for lv in raw["tiers"]["levels"] if lv["id"] == "gold")
    gold.update(entry=20000, maintain=15000)
    up = shared_client.post("/api/v1/whatif", headers=headers["analyst1"],
                            files={"policy": ("p.yaml", yaml.safe_dump(raw, allow_unicode=True, sort_keys=False).encode(), "text/yaml")})
    assert up.json()["counts"] == r["counts"] and r["upgrades"] > 0 and r["downgrades"] == 0
    bad = shared_client.post("/api/v1/whatif/thresholds", headers=headers["analyst1"],
                             json={"levels": {"gold": {"maintain": 90000}}})
    assert bad.status_code == 422 and "maintain: must be ≤ entry" in bad.json()["error"]["message"]
    assert "scratch" not in bad.json()["error"]["message"]
    bad = shared_client.post("/api/v1/whatif/thresholds", headers=headers["analyst1"],
                             json={"levels": {"golden": {"entry": 1}}})
    assert bad.status_code == 400 and "gold" in bad.json()["error"]["hint"]
    assert shared_client.post("/api/v1/whatif/thresholds", json={"levels": {}},
                              headers=headers["rm1"]).status_code == 403


def test_classifications_can_all_be_summarised_and_drilled(shared_client, headers, snapshot):
    cols = shared_client.get("/api/v1/segments", headers=headers["analyst1"]).json()
    assert {"rfm_segment", "abc_class", "lifecycle", "tier"} <= set(cols)
    for col in cols:
        s = shared_client.get(f"/api/v1/segments/{col}", headers=headers["analyst1"]).json()
        seg = next(x for x in s["segments"] if x["segment"] is not None)
        params = {"tier": seg["segment"]} if col == "tier" else {"segment": f"{col}={seg['segment']}"}
        lst = shared_client.get("/api/v1/customers", params={**params, "limit": 1}, headers=headers["analyst1"])
        assert lst.status_code == 200 and lst.json()["total"] == seg["customers"] == \
            sum(1 for r in snapshot if str(r[col]) == seg["segment"]), col
