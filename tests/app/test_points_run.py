"""Points through runs: every customer's points equal an independent recomputation from the raw data."""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import date

import pyarrow.parquet as pq

from tierwise.app.demo import run_demo
from tierwise.app.run import run_evaluation
from tierwise.app.workspace import open_workspace
from tierwise.snapshots.store import SnapshotStore


def test_points_use_the_tier_in_force_at_purchase(tmp_path):
    root = tmp_path / "ws"
    run_demo(root, preset="retail", n_customers=200, seed=9)
    p = root / "policy.yaml"
    p.write_text(p.read_text(encoding="utf-8").replace("clusters:\n  enabled: true", "clusters:\n  enabled: false")
                 .replace("tier_multipliers: {silver: 1.2, gold: 1.5, diamond: 2}",
                          "tier_multipliers: {silver: 2, gold: 3, diamond: 4}"), encoding="utf-8")
    ws = open_workspace(root)
    first, second = date(2024, 6, 30), date(2024, 12, 31)
    run_evaluation(ws, first)
    run_evaluation(ws, second)
    snaps = SnapshotStore(ws.snapshots)
    tier_then = {r["customer_id"]: r["tier"] for r in snaps.read(snaps.find(first.isoformat()).run_id).to_pylist()}
    mult = {"silver": 2, "gold": 3, "diamond": 4}
    expected = defaultdict(int)
    txn = pq.read_table(ws.data.table_files("transactions")).to_pylist()
    for t in txn:
        d = t["txn_time"].date()
        if t["amount"] <= 0 or d > second:
            continue
        m = mult.get(tier_then.get(t["customer_id"]), 1) if d > first else 1
        expected[t["customer_id"]] += math.floor(float(t["amount"]) * m)
    got = {r["customer_id"]: r["points_earned"] for r in snaps.read(snaps.current().run_id).to_pylist()}
    assert sum(expected.values()) > 0
    assert {c: v for c, v in got.items() if v} == dict(expected)
