"""Build the web benchmark's workspace: 1 M customers, two published snapshots, users of every role.

How (documented in README.md):

1. A template bank of ``--template`` customers is generated with the sample generator
   (``tierwise.samples.generate("bank", …)``), imported and evaluated as of 2024-09-30 and
   2024-10-31 through the real paths, so the snapshot columns, labels and policy are real.
2. One million customers are made from it: customer ``i`` copies the snapshot rows (both runs,
   and its upgrade candidate and next-best-product rows) of template customer ``i mod T`` under
   a new id, owned by manager ``RM{i // 1000}`` of branch ``BR{i // 20000}`` (1,000 managers,
   50 branches). Their ``customers`` rows (with personal fields) and 5 M synthetic purchases
   are imported through ``import_table``; the two snapshots are published with
   ``SnapshotStore.publish`` (atomic, as a run does).
3. Users: 2 analysts, 1 admin, 10 branch managers (BR000…BR009) and 100 relationship managers
   (the first 100 managers), all with the password ``bench-password-1``.

Usage: ``uv run python bench/web/build_workspace.py --root /tmp/tierwise-bench-web``
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

PASSWORD = "bench-password-1"
PER_MANAGER = 1000
PER_BRANCH = 20_000
RUNS = (date(2024, 9, 30), date(2024, 10, 31))


def cid(i: np.ndarray) -> pa.Array:
    return pa.array(np.char.add("C", np.char.zfill(i.astype(str), 8)).tolist(), pa.string())


def manager(i: np.ndarray) -> pa.Array:
    return pa.array(np.char.add("RM", np.char.zfill((i // PER_MANAGER).astype(str), 5)).tolist(), pa.string())


def branch(i: np.ndarray) -> pa.Array:
    return pa.array(np.char.add("BR", np.char.zfill((i // PER_BRANCH).astype(str), 3)).tolist(), pa.string())


def template(root: Path, n: int) -> Path:
    from tierwise.app.demo import ORDER
    from tierwise.app.importing import import_table
    from tierwise.app.run import run_evaluation
    from tierwise.app.workspace import init_workspace
    from tierwise.canonical import TABLES
    from tierwise.samples import generate

    ws = init_workspace(root, "bank")
    ws.policy_path.write_text(ws.policy_path.read_text(encoding="utf-8").replace(
        "clusters:\n  enabled: true", "clusters:\n  enabled: false"), encoding="utf-8")
    tables = generate("bank", n, seed=5)
    inbox = root / "inbox"
    inbox.mkdir()
    for name in ORDER:
        if name in tables and name in TABLES:
            pq.write_table(tables[name], inbox / f"{name}.parquet")      # kept: scale() reads customers.parquet
            import_table(ws, name, str(inbox / f"{name}.parquet"), actor="bench", today=date(2025, 1, 1))
    for d in RUNS:
        run_evaluation(ws, d, actor="bench")
    return root


def scale(tpl: Path, root: Path, n: int, n_txn: int) -> None:
    from tierwise.app.importing import import_table
    from tierwise.app.users import add_user
    from tierwise.app.workspace import init_workspace
    from tierwise.snapshots.store import SnapshotStore, write_table

    ws = init_workspace(root, "bank")
    shutil.copy(tpl / "policy.yaml", root / "policy.yaml")
    rng = np.random.default_rng(7)
    i = np.arange(n)
    src_snaps = SnapshotStore(tpl / "snapshots")
    runs = src_snaps.in_force()
    t0 = src_snaps.read(runs[-1].run_id)
    t_ids = t0["customer_id"].to_pylist()
    T = len(t_ids)
    pick = i % T
    new_ids, mgr, br = cid(i), manager(i), branch(i)

    # the customers table (personal fields included), through the real import
    cust = pq.read_table(tpl / "inbox" / "customers.parquet")     # the generator's file, personal fields included
    pos = {c: k for k, c in enumerate(cust["customer_id"].to_pylist())}
    order = pa.array([pos[t_ids[p]] for p in range(T)], pa.int64())
    cust = cust.take(order).take(pa.array(pick))
    cust = cust.set_column(cust.schema.get_field_index("customer_id"), "customer_id", new_ids)
    cust = cust.set_column(cust.schema.get_field_index("manager_id"), "manager_id", mgr)
    cust = cust.set_column(cust.schema.get_field_index("branch_id"), "branch_id", br)
    inbox = root / "inbox"
    inbox.mkdir()
    pq.write_table(cust, inbox / "customers.parquet")
    t = time.perf_counter()
    import_table(ws, "customers", str(inbox / "customers.parquet"), actor="bench", today=date(2025, 1, 1))
    print(f"customers imported in {time.perf_counter() - t:.1f} s")

    # synthetic purchases over two years (skewed towards some customers)
    who = np.minimum((rng.pareto(1.2, n_txn) * n / 20).astype(np.int64), n - 1)
    day0 = np.datetime64("2022-11-01")
    days = rng.integers(0, (np.datetime64("2024-10-31") - day0).astype(int) + 1, n_txn)
    txn = pa.table({
        "transaction_id": pa.array(np.char.add("T", np.arange(n_txn).astype(str)).tolist(), pa.string()),
        "customer_id": cid(who),
        "txn_time": pa.array((day0 + days).astype("datetime64[us]")),
        "amount": pa.array(np.round(rng.lognormal(7, 1.2, n_txn), 2)).cast(pa.decimal128(18, 2)),
        "product_id": pa.array(rng.choice(["FUND-001", "DEP-003", "INS-002", "BOND-004"], n_txn).tolist()),
        "product_category": pa.array(rng.choice(["fund", "deposit", "insurance", "bond"], n_txn).tolist()),
        "channel": pa.array(rng.choice(["branch", "app", "web"], n_txn).tolist()),
    })
    pq.write_table(txn, inbox / "transactions.parquet")
    t = time.perf_counter()
    import_table(ws, "transactions", str(inbox / "transactions.parquet"), actor="bench", today=date(2025, 1, 1))
    print(f"{n_txn:,} transactions imported in {time.perf_counter() - t:.1f} s")
    shutil.rmtree(inbox)

    # the two snapshots, published atomically
    dst = SnapshotStore(ws.snapshots)
    for info in runs:
        src = src_snaps.path(info.run_id)
        run_id = dst.next_run_id()
        staged = dst.staging(run_id)
        snap = src_snaps.read(info.run_id)
        spos = {c: k for k, c in enumerate(snap["customer_id"].to_pylist())}
        snap = snap.take(pa.array([spos[t_ids[p]] for p in range(T)], pa.int64())).take(pa.array(pick))
        for col, arr in (("customer_id", new_ids), ("manager_id", mgr), ("branch_id", br)):
            snap = snap.set_column(snap.schema.get_field_index(col), col, arr)
        write_table(snap, staged / "customers.parquet")
        for name in ("candidates", "next_best_products"):
            if not (src / f"{name}.parquet").exists():
                continue
            part = pq.read_table(src / f"{name}.parquet")
            # every replica of a template customer gets its rows
            tpos = pa.array([t_ids.index(c) for c in part["customer_id"].to_pylist()], pa.int64())
            reps = [np.arange(k, n, T) for k in range(T)]
            rows = np.concatenate([np.repeat(j, len(reps[tp])) for j, tp in enumerate(tpos.to_pylist())])
            ids = np.concatenate([reps[tp] for tp in tpos.to_pylist()])
            part = part.take(pa.array(rows))
            part = part.set_column(part.schema.get_field_index("customer_id"), "customer_id", cid(ids))
            if "manager_id" in part.column_names:
                part = part.set_column(part.schema.get_field_index("manager_id"), "manager_id", manager(ids))
            write_table(part, staged / f"{name}.parquet")
        for name in ("policy.yaml", "labels.json", "models.json"):
            shutil.copy(src / name, staged / name)
        meta = json.loads((src / "run.json").read_text(encoding="utf-8"))
        meta.update(run_id=run_id, customers=n, finished_at=datetime.now().isoformat())
        (staged / "run.json").write_text(json.dumps(meta, ensure_ascii=False, default=str), encoding="utf-8")
        (staged / "identity.json").write_text(json.dumps({"as_of": info.as_of.isoformat(), "customers": n,
                                                          "synthetic": "bench/web"}), encoding="utf-8")
        dst.publish(run_id, info.as_of, staged)
        print(f"published {run_id} as of {info.as_of}: {n:,} customers")

    for u, role, mid, bid in ([("admin1", "admin", None, None), ("analyst1", "analyst", None, None),
                               ("analyst2", "analyst", None, None)]
                              + [(f"bm{b}", "branch_manager", None, f"BR{b:03d}") for b in range(10)]
                              + [(f"rm{m}", "relationship_manager", f"RM{m:05d}", None) for m in range(100)]):
        add_user(ws, u, role, password=PASSWORD, manager_id=mid, branch_id=bid, actor="bench")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", default="/tmp/tierwise-bench-web")
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--transactions", type=int, default=5_000_000)
    ap.add_argument("--template", type=int, default=2000)
    a = ap.parse_args()
    root = Path(a.root)
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    t = time.perf_counter()
    template(root / "template", a.template)
    print(f"template of {a.template} customers evaluated in {time.perf_counter() - t:.1f} s")
    scale(root / "template", root / "ws", a.customers, a.transactions)
    shutil.rmtree(root / "template")
    print(f"workspace {root / 'ws'} ready in {time.perf_counter() - t:.1f} s")


if __name__ == "__main__":
    main()
