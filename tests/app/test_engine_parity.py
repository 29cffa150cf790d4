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
