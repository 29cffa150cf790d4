"""Classification benchmark: tierwise (Ibis on DuckDB) against hand-written DuckDB SQL.

Run (from the repository root)::

    .venv/bin/python bench/classify/run.py --sizes 1M,10M --repeats 3
    .venv/bin/python bench/classify/run.py --sizes 100M --repeats 1
    .venv/bin/python bench/classify/run.py --sizes 10M --profile     # EXPLAIN ANALYZE of the tierwise SQL

Data come from ``generate.py`` (generated on first use, cached in ``bench/out/classify/``).

The job, per engine, one fresh subprocess per run (peak RSS = ``ru_maxrss`` of that child,
read with ``os.wait4`` when it exits — the per-child form of ``getrusage(RUSAGE_CHILDREN)``):

* **tierwise** — ``register_canonical`` views over the Parquet files, ``customer_features`` with
  ``FeatureSpec(windows_days=(), aum_windows_months=(), contact_kinds=(), profile_columns=(),
  only=CLASSIFY_FEATURES)`` (the eight features RFM, ABC and lifecycle read; the engine prunes every
  other aggregate) on the ``customers`` and ``transactions`` tables only, materialised to a DuckDB
  temp table (as ``tierwise.app.classify`` does). Then, as ``classify_customers`` does: the one-row
  ``rfm_cutoffs`` (quantile, 5 bins) and ``abc_cutoffs`` (A ≤ 80 %, B ≤ 95 %) crossed onto the
  features, and ``rfm_score_columns``, ``abc_class_column`` and ``lifecycle_column`` computed on each
  row, written to Parquet. Connection: ``connect_duckdb(scratch)`` with the scratch folder in
  ``bench/out/classify/scratch`` (DuckDB defaults otherwise: all cores, 80 % memory limit, unless
  ``--memory-limit``).
* **hand SQL** — ``hand.sql``: the same outputs written as tuned DuckDB SQL, on the same
  ``connect_duckdb(scratch)`` connection settings.

Both write ``customer_id, r_score, f_score, m_score, abc_class, lifecycle`` to
``bench/out/classify/result-<engine>-<size>.parquet``; after the timed runs the two files are
compared row by row (mismatch counts per column) and by an order-independent hash.

*Seconds* is the work inside the child (connect → Parquet written), *process* adds interpreter
start-up and imports. The 1-minute load average is recorded before each run (the machine is
shared). Results are appended to ``bench/out/classify/results.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
from datetime import date, datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import generate as gen  # noqa: E402

OUT = gen.OUT
SCRATCH = OUT / "scratch"
AS_OF = date(2025, 12, 31)
#: DuckDB memory_limit for every engine (``--memory-limit``; default: DuckDB's 80 % of RAM)
MEMORY_LIMIT = os.environ.get("CLASSIFY_BENCH_MEMORY_LIMIT") or None
ENGINES = ("tierwise", "hand", "proposal")
#: what RFM (recency_days, purchase_days, revenue), ABC (revenue) and lifecycle read
CLASSIFY_FEATURES = ("purchase_days", "recency_days", "revenue", "T", "t_x", "x", "tenure_days", "last_gap_days")


def result_path(engine: str, n: int) -> Path:
    return OUT / f"result-{engine}-{gen.label(n)}.parquet"


# --------------------------------------------------------------------------------------------
# the two jobs (run inside the child)

def tierwise_exprs(n: int, con):
    """(backend, tables, feature expression) for size ``n``."""
    from tierwise.analytics.features import FeatureSpec, customer_features
    from tierwise.canonical import TABLES
    from tierwise.engine import ibis_duckdb, register_canonical

    be = ibis_duckdb(con)
    files = gen.files(n)
    tables = register_canonical(be, files, TABLES)
    tables = {k: tables[k] for k in ("customers", "transactions")}
    spec = FeatureSpec(windows_days=(), aum_windows_months=(), contact_kinds=(), profile_columns=(),
                       only=CLASSIFY_FEATURES)
    return be, tables, customer_features(tables, AS_OF, spec)


def tierwise_result(feats, tables=None):
    """The per-customer expression on the materialised features (the building blocks of ``classify_customers``)."""
    from tierwise.analytics.abc import ABCSpec, abc_class_column, abc_cutoffs
    from tierwise.analytics.lifecycle import LifecycleSpec, lifecycle_column
    from tierwise.analytics.rfm import RFMSpec, rfm_cutoffs, rfm_score_columns

    rfm, abc = RFMSpec(), ABCSpec()
    t = feats.cross_join(rfm_cutoffs(feats, rfm), abc_cutoffs(feats, abc))
    return t.select("customer_id", **rfm_score_columns(t, rfm), abc_class=abc_class_column(t, abc),
                    lifecycle=lifecycle_column(t, LifecycleSpec()))


def run_tierwise(n: int, out: Path) -> dict:
    import ibis

    from tierwise.engine import connect_duckdb

    steps = {}
    t0 = time.perf_counter()
    con = connect_duckdb(SCRATCH, memory_limit=MEMORY_LIMIT)
    be, tables, feats = tierwise_exprs(n, con)
    steps["build"] = time.perf_counter() - t0
    t = time.perf_counter()
    be.create_table("_features", feats, temp=True, overwrite=True)
    steps["features"] = time.perf_counter() - t
    print(f"step features {steps['features']:.1f} s", file=sys.stderr, flush=True)   # survives a later failure
    t = time.perf_counter()
    res = tierwise_result(be.table("_features"), tables)
    sql = ibis.to_sql(res, dialect="duckdb")
    con.execute(f"COPY ({sql}) TO '{out}' (FORMAT parquet)")
    steps["classify+write"] = time.perf_counter() - t
    return steps


def run_proposal(n: int, out: Path) -> dict:
    """``proposal.py``: the suggested restructuring of the tierwise expressions (same outputs)."""
    import proposal

    from tierwise.engine import connect_duckdb, ibis_duckdb, register_canonical
    from tierwise.canonical import TABLES

    steps = {}
    t0 = time.perf_counter()
    con = connect_duckdb(SCRATCH, memory_limit=MEMORY_LIMIT)
    be = ibis_duckdb(con)
    tables = register_canonical(be, gen.files(n), TABLES)
    tables = {k: tables[k] for k in ("customers", "transactions")}
    steps["build"] = time.perf_counter() - t0
    t = time.perf_counter()
    be.create_table("_features", proposal.features(tables, AS_OF), temp=True, overwrite=True)
    steps["features"] = time.perf_counter() - t
    t = time.perf_counter()
    be.to_parquet(proposal.classify(be.table("_features")), out)
    steps["classify+write"] = time.perf_counter() - t
    return steps


def hand_statements(n: int, out: Path) -> list[str]:
    files = gen.files(n)
    lit = lambda fs: "[" + ", ".join("'" + f.replace("'", "''") + "'" for f in fs) + "]"  # noqa: E731
    sql = (HERE / "hand.sql").read_text()
    sql = "\n".join(line for line in sql.splitlines() if not line.lstrip().startswith("--"))
    sql = (sql.replace("{txn}", lit(files["transactions"])).replace("{cust}", lit(files["customers"]))
           .replace("{asof_end}", f"TIMESTAMP '{date.fromordinal(AS_OF.toordinal() + 1)}'")
           .replace("{asof}", str((AS_OF - date(1970, 1, 1)).days)).replace("{out}", f"'{out}'"))
    return [s.strip() for s in sql.split(";\n") if s.strip()]


def run_hand(n: int, out: Path) -> dict:
    from tierwise.engine import connect_duckdb

    steps = {}
    t0 = time.perf_counter()
    con = connect_duckdb(SCRATCH, memory_limit=MEMORY_LIMIT)
    steps["build"] = time.perf_counter() - t0
    for stmt in hand_statements(n, out):
        name = "features" if "TABLE hf" in stmt else ("classify+write" if stmt.startswith("COPY") else "cut-offs")
        t = time.perf_counter()
        con.execute(stmt)
        steps[name] = steps.get(name, 0.0) + time.perf_counter() - t
    return steps


def worker(engine: str, n: int) -> None:
    out = result_path(engine, n)
    import ibis  # noqa: F401  imports are not timed (they are in the process seconds)
    import ibis.backends.duckdb  # noqa: F401  Ibis loads its DuckDB backend lazily, on first use

    import tierwise.analytics.abc, tierwise.analytics.features, tierwise.analytics.lifecycle  # noqa: E401, F401
    import tierwise.analytics.rfm, tierwise.canonical, tierwise.engine  # noqa: E401, F401
    t = time.perf_counter()
    steps = {"tierwise": run_tierwise, "hand": run_hand, "proposal": run_proposal}[engine](n, out)
    print(json.dumps({"seconds": time.perf_counter() - t, "steps": steps}), flush=True)


# --------------------------------------------------------------------------------------------
# parent: subprocess runs, comparison, profile

def load() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def run_child(engine: str, n: int) -> dict:
    before = load()
    shutil.rmtree(SCRATCH, ignore_errors=True)
    start = time.perf_counter()
    logs = OUT / "child.out", OUT / "child.err"
    with open(logs[0], "w") as fo, open(logs[1], "w") as fe:
        p = subprocess.Popen([sys.executable, __file__, "_worker", engine, str(n)], stdout=fo, stderr=fe)
        _, status, ru = os.wait4(p.pid, 0)      # this child's own rusage (ru_maxrss in KiB)
    wall = time.perf_counter() - start
    out, err = logs[0].read_text(), logs[1].read_text()
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise RuntimeError(f"{engine} {n} failed ({code}):\n{err[-4000:]}")
    rec = json.loads(out.strip().splitlines()[-1])
    rec.update(engine=engine, n=n, process_seconds=wall, peak_rss_gib=ru.ru_maxrss / 2**20, load_before=before,
               load_after=load(), memory_limit=MEMORY_LIMIT)
    with open(OUT / "runs.jsonl", "a") as f:                  # every run, also when a later one fails
        f.write(json.dumps(rec) + "\n")
    return rec


def compare(n: int, engine: str = "tierwise", other: str = "hand") -> dict:
    """Row-by-row comparison of two engines' result files (``*_tierwise`` = ``engine``)."""
    import duckdb

    a, b = result_path(engine, n), result_path(other, n)
    con = duckdb.connect()
    cols = ["r_score", "f_score", "m_score", "abc_class", "lifecycle"]
    mism = ", ".join(f"count(*) FILTER (WHERE a.{c} IS DISTINCT FROM b.{c}) AS {c}" for c in cols)
    row = con.execute(f"""SELECT count(*) AS rows, count(a.customer_id) AS rows_tierwise,
                                 count(b.customer_id) AS rows_hand, {mism}
                          FROM read_parquet('{a}') a FULL JOIN read_parquet('{b}') b USING (customer_id)""")
    res = dict(zip([d[0] for d in row.description], row.fetchone()))
    h = f"bit_xor(hash(customer_id, {', '.join(cols)}))"
    res["hash_tierwise"] = hex(con.execute(f"SELECT {h} FROM read_parquet('{a}')").fetchone()[0])
    res["hash_hand"] = hex(con.execute(f"SELECT {h} FROM read_parquet('{b}')").fetchone()[0])
    res["equal"] = (res["rows_tierwise"] == res["rows_hand"] == res["rows"]
                    and all(res[c] == 0 for c in cols) and res["hash_tierwise"] == res["hash_hand"])
    dist = con.execute(f"""SELECT abc_class, count(*) FROM read_parquet('{a}') GROUP BY 1 ORDER BY 1""").fetchall()
    res["abc_counts"] = {k: v for k, v in dist}
    dist = con.execute(f"""SELECT lifecycle, count(*) FROM read_parquet('{a}') GROUP BY 1 ORDER BY 1""").fetchall()
    res["lifecycle_counts"] = {k: v for k, v in dist}
    return res


def profile(n: int) -> Path:
    """Profile the two tierwise statements (DuckDB JSON profiling, i.e. EXPLAIN ANALYZE's numbers).

    Writes the SQL and the heaviest operators to ``bench/out/classify/profile-tierwise-<size>.txt``
    (and the raw JSON next to it) and prints the operators.
    """
    import ibis

    from tierwise.engine import connect_duckdb

    shutil.rmtree(SCRATCH, ignore_errors=True)
    con = connect_duckdb(SCRATCH, memory_limit=MEMORY_LIMIT)
    be, tables, feats = tierwise_exprs(n, con)
    stem = OUT / f"profile-tierwise-{gen.label(n)}"
    parts = []
    fsql = ibis.to_sql(feats, dialect="duckdb")
    for name in ("features", "classify"):
        if name == "features":
            sql = f"CREATE TEMP TABLE _features AS {fsql}"
        else:
            res = tierwise_result(be.table("_features"), tables)
            sql = f"COPY ({ibis.to_sql(res, dialect='duckdb')}) TO '{result_path('tierwise', n)}' (FORMAT parquet)"
        js = Path(f"{stem}-{name}.json")
        con.execute("SET enable_profiling = 'json'")
        con.execute(f"SET profiling_output = '{js}'")
        t = time.perf_counter()
        con.execute(sql)
        secs = time.perf_counter() - t
        con.execute("RESET enable_profiling")
        ops = operators(json.loads(js.read_text()))
        lines = [f"===== {name}: {secs:.2f} s wall (load {load()}); operator CPU seconds (summed over threads):"]
        lines += [f"{t_op:8.2f} s {rows:>13,} rows  {op}" for t_op, rows, op in ops if t_op >= 0.05]
        print("\n".join(lines), flush=True)
        parts.append("\n".join(lines) + f"\n-- SQL\n{sql}\n")
    report = Path(f"{stem}.txt")
    report.write_text("\n".join(parts))
    return report


def operators(node: dict, depth: int = 0) -> list[tuple[float, int, str]]:
    """(seconds, rows, description) for every operator of a DuckDB JSON profile, in plan order."""
    out = []
    for child in node.get("operator", []) if depth == 0 else []:
        out += operators(child, 1)
    if depth == 0:
        return out
    info = node.get("extra_info") or {}
    keep = {k: v for k, v in info.items() if k in ("Groups", "Aggregates", "Conditions", "Join Type", "Function",
                                                  "Projections", "Expressions", "Filters", "CTE Name")}
    desc = "  " * (depth - 1) + node.get("type", "?") + " " + " ".join(
        f"{k}: {' '.join(str(v).split())[:160]}" for k, v in keep.items())
    out.append((float(node.get("timing", 0.0)), int(node.get("intermediate_rows", 0)), desc))
    for child in node.get("children", []):
        out += operators(child, depth + 1)
    return out


def machine() -> dict:
    import duckdb
    import ibis

    model = ""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        model = re.search(r"Model name:\s*(.*)", out).group(1).strip()
    except Exception:  # noqa: BLE001
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {"cpu": model, "cores": os.cpu_count(), "ram_gib": round(mem, 1), "python": platform.python_version(),
            "duckdb": duckdb.__version__, "ibis": ibis.__version__, "platform": platform.platform(),
            "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_worker":
        worker(sys.argv[2], int(sys.argv[3]))
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1M,10M")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--engines", default="tierwise,hand", help="any of tierwise,hand,proposal")
    ap.add_argument("--profile", action="store_true", help="EXPLAIN ANALYZE the tierwise statements instead")
    ap.add_argument("--memory-limit", help="DuckDB memory_limit for every engine, e.g. 12GB (default: DuckDB's)")
    a = ap.parse_args()
    if a.memory_limit:
        global MEMORY_LIMIT
        MEMORY_LIMIT = os.environ["CLASSIFY_BENCH_MEMORY_LIMIT"] = a.memory_limit
    sizes = [gen.parse_size(s) for s in a.sizes.split(",")]
    engines = a.engines.split(",")
    m = machine()
    print(json.dumps(m))
    log = OUT / "results.json"
    for n in sizes:
        meta = gen.generate(n)
        print(f"== {gen.label(n)}: {meta['customers']:,} customers, {meta['transactions']:,} transactions, "
              f"one-time buyers {meta['one_time_share']:.1%}", flush=True)
        if a.profile:
            print(profile(n))
            continue
        runs = {e: [] for e in engines}
        for rep in range(a.repeats):
            order = engines if rep % 2 == 0 else engines[::-1]   # alternate who goes first
            for e in order:
                rec = run_child(e, n)
                runs[e].append(rec)
                print(f"  {e:8s} run {rep + 1}: {rec['seconds']:7.2f} s (process {rec['process_seconds']:.2f} s), "
                      f"peak {rec['peak_rss_gib']:.2f} GiB, load {rec['load_before']}  steps "
                      + ", ".join(f"{k} {v:.2f}" for k, v in rec["steps"].items()), flush=True)
        summary = {"size": gen.label(n), "meta": meta, "machine": m, "repeats": a.repeats, "engines": {},
                   "memory_limit": MEMORY_LIMIT}
        for e, rs in runs.items():
            summary["engines"][e] = {
                "median_seconds": statistics.median(r["seconds"] for r in rs),
                "median_process_seconds": statistics.median(r["process_seconds"] for r in rs),
                "peak_rss_gib": max(r["peak_rss_gib"] for r in rs),
                "median_steps": {k: statistics.median(r["steps"][k] for r in rs) for k in rs[0]["steps"]},
                "loads": [r["load_before"] for r in rs], "runs": rs}
        if "hand" in engines:
            hd = summary["engines"]["hand"]
            for e in engines:
                if e == "hand":
                    continue
                tw = summary["engines"][e]
                tw["compare_with_hand"] = compare(n, e, "hand")
                tw["ratio_to_hand"] = tw["median_seconds"] / hd["median_seconds"]
                print(f"  ratio {e} / hand: {tw['ratio_to_hand']:.2f}; peak {e} {tw['peak_rss_gib']:.2f} GiB, "
                      f"hand {hd['peak_rss_gib']:.2f} GiB")
                print(f"  compare {e} vs hand:", json.dumps(tw["compare_with_hand"]), flush=True)
        hist = json.loads(log.read_text()) if log.exists() else []
        hist.append(summary)
        log.write_text(json.dumps(hist, indent=1, default=str))


if __name__ == "__main__":
    main()
