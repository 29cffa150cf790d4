"""The whole evaluation on Spark gives the same snapshot as on the embedded DuckDB (bank and retail presets).

One workspace is imported once; a copy of it is switched to ``engine: spark`` (local mode, the
test session's one SparkSession). Both then run the same two month ends — the second run reads
the first's tier state, so hysteresis, events and upgrade likelihoods are compared too — and
every published file is compared: the customers table value by value (floating-point values to
1e-9 relative: the engines sum in different orders), the summaries, the RFM edges, the fitted
value models and the upgrade tables.
"""

from __future__ import annotations

import json
import math
import shutil
from datetime import date

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tierwise.app.demo import month_ends, run_demo
from tierwise.app.run import run_evaluation
from tierwise.app.status import latest_data_date
from tierwise.app.workspace import open_workspace, write_settings
from tierwise.snapshots.store import SnapshotStore

pytestmark = pytest.mark.slow


def _same_value(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same_value(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same_value(x, y) for x, y in zip(a, b))
    return a == b


def assert_same_table(want: pa.Table, got: pa.Table, what: str) -> None:
    assert got.schema.names == want.schema.names, what
    diff = [(f.name, str(f.type), str(got.schema.field(f.name).type)) for f in want.schema
            if f.type != got.schema.field(f.name).type]
    assert not diff, f"{what}: types differ (column, DuckDB, Spark): {diff}"
    assert got.num_rows == want.num_rows, what
    for name in want.column_names:
        w, g = want[name].to_pylist(), got[name].to_pylist()
        bad = [i for i, (x, y) in enumerate(zip(w, g)) if not _same_value(x, y)]
        assert not bad, f"{what}.{name}: {len(bad)} rows differ, first at {bad[0]}: {w[bad[0]]!r} != {g[bad[0]]!r}"


def _published(ws) -> list:
    store = SnapshotStore(ws.snapshots)
    return [(s.as_of, store.path(s.run_id)) for s in store.in_force()]


@pytest.mark.parametrize("preset", ["bank", "retail"])
def test_the_whole_run_on_spark_publishes_the_same_snapshots(preset, spark, tmp_path):
    duck = tmp_path / "duck"
    run_demo(duck, preset=preset, n_customers=250, seed=31, months=0, outputs=False)
    twin = tmp_path / "spark"
    shutil.copytree(duck, twin)
    ws_spark = open_workspace(twin)
    write_settings(twin, ws_spark.settings.model_copy(update={"engine": "spark"}))
    ws_duck, ws_spark = open_workspace(duck), open_workspace(twin)
    assert (ws_duck.settings.engine, ws_spark.settings.engine) == ("duckdb", "spark")
    assert ws_spark.compute().kind == "spark"

    dates = month_ends(latest_data_date(ws_duck), 2)
    for d in dates:
        a = run_evaluation(ws_duck, d)
        b = run_evaluation(ws_spark, d)
        assert a["counts"] == b["counts"], d

    snaps_duck, snaps_spark = _published(ws_duck), _published(ws_spark)
    assert [d for d, _ in snaps_duck] == [d for d, _ in snaps_spark] == dates
    for (d, pd_), (_, ps) in zip(snaps_duck, snaps_spark):
        files = sorted(p.relative_to(pd_).as_posix() for p in pd_.rglob("*.parquet"))
        assert files == sorted(p.relative_to(ps).as_posix() for p in ps.rglob("*.parquet"))
        assert "customers.parquet" in files and any(f.startswith("summaries/") for f in files)
        for f in files:
            assert_same_table(pq.read_table(pd_ / f), pq.read_table(ps / f), f"{d} {f}")
        want, got = (json.loads((p / "models.json").read_text(encoding="utf-8")) for p in (pd_, ps))
        assert _same_value(want, got), f"{d} models.json"
        for name in ("labels.json", "policy.yaml"):
            assert (pd_ / name).read_bytes() == (ps / name).read_bytes()
    # the comparison is not vacuous: tiers and segments are really there
    last = pq.read_table(snaps_duck[-1][1] / "customers.parquet")
    assert last.num_rows > 200 and len(set(last["tier"].to_pylist())) >= 2


def test_spark_reads_input_tables_by_name_or_path_instead_of_imports(spark, tmp_path):
    """A bank whose transactions live in the cluster: the twin workspace imports everything but the
    transactions, which it reads from a Spark table by name — and publishes the same snapshot as the
    workspace that imported them. A Parquet path reads the same rows as the imported batches."""
    from tierwise.app.demo import ORDER
    from tierwise.app.importing import import_table
    from tierwise.app.workspace import init_workspace
    from tierwise.canonical import TABLES
    from tierwise.engine.compute import SparkCompute

    duck = tmp_path / "duck"
    run_demo(duck, preset="retail", n_customers=200, seed=8, months=0, outputs=False)
    ws_duck = open_workspace(duck)
    txn_files = ws_duck.data.table_files("transactions", ws_duck.data.manifest())
    spark.read.parquet(*txn_files).createOrReplaceGlobalTempView("tw_cluster_txn")

    twin = tmp_path / "twin"
    ws_twin = init_workspace(twin, "retail", engine="spark")
    inbox = tmp_path / "duck-inbox"
    for name in ORDER:
        src = inbox / f"{name}.csv"
        if name != "transactions" and src.exists():
            import_table(ws_twin, name, str(src), actor="test")
    settings = ws_twin.settings.model_copy(deep=True)
    settings.spark.tables = {"transactions": "global_temp.tw_cluster_txn"}
    write_settings(twin, settings)
    ws_twin = open_workspace(twin)
    assert not ws_twin.data.table_files("transactions", ws_twin.data.manifest())

    as_of = latest_data_date(ws_duck)
    a, b = run_evaluation(ws_duck, as_of), run_evaluation(ws_twin, as_of)
    assert a["counts"] == b["counts"] and a["counts"]["customers"] == 200
    pa_, pb = (SnapshotStore(w.snapshots).path(r["run_id"]) for w, r in ((ws_duck, a), (ws_twin, b)))
    assert_same_table(pq.read_table(pa_ / "customers.parquet"), pq.read_table(pb / "customers.parquet"), "customers")

    # a path (local here; hdfs:// or s3a:// on a cluster) reads exactly the imported rows
    with SparkCompute(spark, {"transactions": str(txn_files[0])}) as by_path, \
            SparkCompute(spark) as imported:
        t1 = by_path.canonical({}, {"transactions": TABLES["transactions"]})["transactions"]
        t2 = imported.canonical({"transactions": txn_files}, {"transactions": TABLES["transactions"]})["transactions"]
        want = by_path.to_arrow(t1.order_by("transaction_id"))
        assert want.num_rows == pq.read_metadata(txn_files[0]).num_rows > 500
        assert_same_table(want, imported.to_arrow(t2.order_by("transaction_id")), "transactions by path")
