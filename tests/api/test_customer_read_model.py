"""The in-memory read model behind the customer 360 and the customer list, against independent answers.

The 360 and the plain list read Arrow tables with binary-searched customer ids
(``tierwise.app.query_engine.Keyed``) instead of SQL. These tests compare what the API
returns with the snapshot files read directly by pyarrow and sorted by plain Python, for
every customer and every sort, so the faster path answers exactly what the files say.
"""

from __future__ import annotations

import json
import random
import time
from datetime import date, datetime
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from api.conftest import bearer, make_client
from tierwise.app.query_customers import SORTS
from tierwise.app.query_engine import Keyed
from tierwise.snapshots.store import SnapshotStore

ROLES = {"rm1": ("manager_id", "RM00001"), "bm1": ("branch_id", "BR001"), "analyst1": None}


def plain(v):
    """A value as the API writes it (the independent conversion)."""
    if isinstance(v, Decimal):
        return float(v)
    if isinstance(v, (date, datetime)):
        return v.isoformat()
    if isinstance(v, float) and v != v:
        return None
    return v


def row(d: dict) -> dict:
    return {k: plain(v) for k, v in d.items()}


@pytest.fixture(scope="module")
def files(base_root):
    snaps = SnapshotStore(base_root / "snapshots")
    cur = snaps.current()
    path = snaps.path(cur.run_id)
    parts = {}
    for name in ("next_best_products", "candidates"):
        parts[name] = pq.read_table(path / f"{name}.parquet").to_pylist() if (path / f"{name}.parquet").exists() \
            else []
    return {"snapshot": pq.read_table(path / "customers.parquet").to_pylist(), "parts": parts,
            "runs": [(s, pq.read_table(snaps.path(s.run_id) / "customers.parquet").to_pylist())
                     for s in snaps.in_force()]}


def test_every_customer_360_equals_the_snapshot_files(shared_client, headers, files):
    history_fields = ("tier", "tier_status", "tier_event", "tier_metric", "watch_count", "override_ids")
    nbp = files["parts"]["next_best_products"]
    cand = files["parts"]["candidates"]
    assert nbp and cand, "the fixture should have next best products and candidates"
    seen_products = seen_candidates = 0
    for r in files["snapshot"]:
        cid = r["customer_id"]
        got = shared_client.get(f"/api/v1/customers/{cid}", headers=headers["analyst1"]).json()
        assert got["snapshot"] == row(r), cid
        want_hist = [{"as_of": s.as_of.isoformat(), "run_id": s.run_id, **{k: plain(x.get(k)) for k in history_fields}}
                     for s, rows in files["runs"] for x in rows if x["customer_id"] == cid]
        assert got["history"] == want_hist, cid
        products = sorted((x for x in nbp if x["customer_id"] == cid), key=lambda x: x["nbp_rank"])
        assert got["next_best_products"] == [row(x) for x in products], cid
        mine = sorted((x for x in cand if x["customer_id"] == cid), key=lambda x: x["rank"])
        assert got["candidate"] == (row(mine[0]) if mine else None), cid
        seen_products += bool(products)
        seen_candidates += bool(mine)
    assert seen_products and seen_candidates


def _oracle(snapshot: list[dict], role, sort: str, order: str, tier: str | None) -> list[str]:
    rows = [r for r in snapshot if (role is None or r[role[0]] == role[1]) and (tier is None or r["tier"] == tier)]
    rows.sort(key=lambda r: r["customer_id"])                               # the tie-breaker
    present = [r for r in rows if r[sort] is not None]
    nulls = [r for r in rows if r[sort] is None]
    present.sort(key=lambda r: r[sort], reverse=order == "desc")             # stable: ties keep id order
    return [r["customer_id"] for r in (nulls + present if order == "asc" else present + nulls)]


@pytest.mark.parametrize("user", sorted(ROLES))
def test_every_list_order_equals_python_sorting(shared_client, headers, files, user):
    snapshot = files["snapshot"]
    tiers = sorted({r["tier"] for r in snapshot})
    for sort in SORTS:
        for order in ("asc", "desc"):
            for tier in (None, tiers[0], "no-such-tier"):
                want = _oracle(snapshot, ROLES[user], sort, order, tier)
                params = {"sort": sort, "order": order, "limit": 500, **({"tier": tier} if tier else {})}
                got = shared_client.get("/api/v1/customers", headers=headers[user], params=params).json()
                assert got["total"] == len(want), (sort, order, tier)
                assert [i["customer_id"] for i in got["items"]] == want, (sort, order, tier)
    # a page is the same slice of the same order, with the list's columns and the masked name
    want = _oracle(snapshot, ROLES[user], "clv", "desc", None)
    page = shared_client.get("/api/v1/customers", headers=headers[user],
                             params={"sort": "clv", "order": "desc", "limit": 7, "offset": 5}).json()
    assert [i["customer_id"] for i in page["items"]] == want[5:12]
    by_id = {r["customer_id"]: r for r in snapshot}
    for item in page["items"]:
        assert {k: v for k, v in item.items() if k != "name"} == {k: plain(by_id[item["customer_id"]][k])
                                                                    for k in item if k != "name"}
        assert item["name"] is None or "*" in item["name"]


def test_list_filters_by_manager_and_branch_within_the_scope(shared_client, headers, files):
    snapshot = files["snapshot"]
    for user, params in (("bm1", {"manager": "RM00002"}), ("bm1", {"manager": "RM00003"}),
                         ("analyst1", {"branch": "BR002"}), ("rm1", {"branch": "BR001"})):
        role = ROLES[user]
        want = sorted(r["customer_id"] for r in snapshot if (role is None or r[role[0]] == role[1])
                      and r["manager_id"] == params.get("manager", r["manager_id"])
                      and r["branch_id"] == params.get("branch", r["branch_id"]))
        got = shared_client.get("/api/v1/customers", headers=headers[user], params={**params, "limit": 500}).json()
        assert [i["customer_id"] for i in got["items"]] == want and got["total"] == len(want), (user, params)


def test_keyed_lookups_equal_a_linear_scan():
    rng = random.Random(5)
    ids = ["C1", "C10", "C2", "客户7", "客户10", "", "A", "A\0", "Z" * 40] + [f"X{rng.randrange(500)}" for _ in range(300)]
    table = pa.table({"customer_id": ids, "n": list(range(len(ids)))})
    k = Keyed(table, order=("n",))
    assert [r["customer_id"] for r in k.rows("A")] == ["A"] and [r["n"] for r in k.rows("A\0")] == [7]
    for cid in [*set(ids), "C", "C100", "客户", "missing", "Z" * 41]:
        want = [{"customer_id": cid, "n": i} for i, x in enumerate(ids) if x == cid]
        assert k.rows(cid) == want, cid
    wanted = rng.sample(sorted(set(ids)), 40) + ["nope", "A\0"]
    expect = sorted(i for i, x in enumerate(k.batch.column(0).to_pylist()) if x in set(wanted))
    assert k.positions(wanted).tolist() == expect                  # the vectorised path (> 32 ids)
    few = wanted[:5]
    assert k.positions(few).tolist() == sorted(i for i, x in enumerate(k.batch.column(0).to_pylist()) if x in few)


def test_reassignment_reaches_the_scope_and_an_unchanged_store_keeps_it(root, by_manager, monkeypatch):
    from tierwise.app import access
    from tierwise.app.access import Principal, visible_ids
    from tierwise.app.workspace import open_workspace

    monkeypatch.setattr(access, "SERVICING_TTL", 0.05)
    c = make_client(root)
    rm1, rm2 = bearer(c, "rm1"), bearer(c, "rm2")
    cid = by_manager["RM00001"][0]
    assert c.get(f"/api/v1/customers/{cid}", headers=rm1).status_code == 200
    ws = open_workspace(root)
    p = Principal("rm1", "relationship_manager", manager_id="RM00001")
    before = visible_ids(ws, p)
    time.sleep(0.1)
    assert visible_ids(ws, p) is before              # nothing changed: not recomputed
    ws.store().apply_assignments([{"customer_id": cid, "manager_id": "RM00002", "branch_id": "BR001",
                                   "rule": "manual", "from_manager": "RM00001"}], actor="test",
                                 at=datetime(2024, 11, 1))
    time.sleep(0.1)
    assert c.get(f"/api/v1/customers/{cid}", headers=rm1).status_code == 404
    assert c.get(f"/api/v1/customers/{cid}", headers=rm2).json()["customer_id"] == cid
    listed = c.get("/api/v1/customers", headers=rm2, params={"limit": 500}).json()
    assert cid in [i["customer_id"] for i in listed["items"]]
    assert cid not in [i["customer_id"] for i in c.get("/api/v1/customers", headers=rm1,
                                                       params={"limit": 500}).json()["items"]]


def test_a_new_run_replaces_the_read_model(root, by_manager):
    from tierwise.app.run import run_evaluation
    from tierwise.app.workspace import open_workspace

    c = make_client(root)
    analyst = bearer(c, "analyst1")
    cid = by_manager["RM00003"][0]
    assert c.get(f"/api/v1/customers/{cid}", headers=analyst).json()["as_of"] == "2024-10-31"
    run_evaluation(open_workspace(root), date(2024, 11, 30))
    got = c.get(f"/api/v1/customers/{cid}", headers=analyst).json()
    snaps = SnapshotStore(root / "snapshots")
    new = next(r for r in pq.read_table(snaps.path(snaps.current().run_id) / "customers.parquet").to_pylist()
               if r["customer_id"] == cid)
    assert got["as_of"] == "2024-11-30" and got["snapshot"] == json.loads(json.dumps(row(new)))
    assert [h["as_of"] for h in got["history"]] == ["2024-09-30", "2024-10-31", "2024-11-30"]
    # SQL over the same tables (a name search goes to DuckDB) sees the new run too
    listed = c.get("/api/v1/customers", headers=analyst, params={"q": cid}).json()
    assert [i["customer_id"] for i in listed["items"]] == [cid]
