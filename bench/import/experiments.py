"""A/B test of proposed speed-ups for the import path, without touching ``src/``.

Each variant monkeypatches the current code with one more proposed change (they are
cumulative), imports the same transactions file into a fresh copy of the customers
workspace in a fresh process, and checks that the result is identical to the current
code's: same accepted rows (order-sensitive checksum of the Parquet batch) and the same
rejections (SHA-256 of the whole quarantine file).

    .venv/bin/python bench/import/experiments.py [--rows 2000000] [--repeat 1] [--variants current,nodict]

The proposals of the first benchmark (the encoding scan, date and integer fast paths, no
pandas in the quarantine, duplicates by hash aggregate) are in the code now, and so is the
validation redesign (``ingest/validate.py``); ``identity.py`` checks that code against the
code before it. What is left is in ``app/importing.py``, the final Parquet write:

``current``    the code as it is
``nodict``     the write without dictionary pages for text columns
               (``STRING_DICTIONARY_PAGE_SIZE_LIMIT 1``): the writer stops building a
               dictionary for every text column, which for ids (all distinct) is wasted
``nosort``     NOT a proposal, a measurement: the write without ``ORDER BY _rec``, to show
               what the sort costs ("same result" tells whether the order survived)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import run as bench  # noqa: E402  (the benchmark module: data generation, workspace template)

VARIANTS = ["current", "nodict", "nosort"]


# =============================================================================== the proposed changes
def _rewrite_write(old: str, new: str) -> None:
    """Patch the final COPY statement of ``import_table`` through a connection wrapper."""
    import tierwise.app.importing as importing

    orig = importing.connect_duckdb

    class _Rewriting:
        def __init__(self, con):
            self._con = con

        def execute(self, sql, *params):
            return self._con.execute(sql.replace(old, new) if "part-0.parquet" in sql else sql, *params)

        def __getattr__(self, name):
            return getattr(self._con, name)

    importing.connect_duckdb = lambda *a, **kw: _Rewriting(orig(*a, **kw))


def patch_nodict():
    _rewrite_write("COMPRESSION zstd)", "COMPRESSION zstd, STRING_DICTIONARY_PAGE_SIZE_LIMIT 1)")


def patch_nosort():
    _rewrite_write("WHERE _reason IS NULL ORDER BY _rec)", "WHERE _reason IS NULL)")


PATCHES = {"nodict": patch_nodict, "nosort": patch_nosort}


# =============================================================================== worker
def worker(spec: dict) -> dict:
    sys.path.insert(0, str(bench.REPO / "src"))
    chain = VARIANTS[1:VARIANTS.index(spec["variant"]) + 1] if spec["variant"] in VARIANTS else [spec["variant"]]
    for name in chain:
        PATCHES[name]()
    import resource
    from datetime import date

    import duckdb

    from tierwise.app.importing import import_table
    from tierwise.app.workspace import open_workspace

    log: list = []
    if spec.get("statements"):  # time every SQL statement (see run.py --profile)
        import tierwise.app.importing as importing

        orig = importing.connect_duckdb
        importing.connect_duckdb = lambda *a, **kw: bench._TimedConnection(orig(*a, **kw), log)
    ws = open_workspace(spec["workspace"])
    marks = []
    t0, c0 = time.perf_counter(), bench._cpu()
    rec = import_table(ws, "transactions", spec["file"], today=date.fromisoformat(spec["today"]),
                       progress=lambda s: marks.append((s, time.perf_counter(), bench._cpu())))
    t1, c1 = time.perf_counter(), bench._cpu()
    phases, phases_cpu = bench._phases(t0, c0, marks, t1, c1)
    parquet = next(Path(spec["workspace"], "data", "transactions").rglob("*.parquet"))
    con = duckdb.connect()
    accepted_sum = con.execute(
        f"SELECT count(*), sum(hash(transaction_id, customer_id, txn_time, amount, quantity, product_id, channel) "
        f"* (file_row_number % 1000 + 1))::VARCHAR FROM read_parquet('{parquet}', file_row_number = true)").fetchone()
    qfile = rec.get("quarantine")
    qsum = hashlib.sha256(Path(qfile).read_bytes()).hexdigest()[:16] if qfile else None
    return {"seconds": t1 - t0, "phases": phases, "phases_cpu": phases_cpu, "import_cpu": c1 - c0,
            "rows": rec["rows_read"], "by_reason": rec["rejected_by_reason"],
            "accepted_checksum": list(accepted_sum), "quarantine_sha": qsum,
            "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "statements": [(round(c, 2), sql[:110]) for t, sql, c in sorted(log, key=lambda x: -x[2]) if c >= 0.05]}


def main(argv):
    if argv[:1] == ["_worker"]:
        print(json.dumps(worker(json.loads(argv[1]))))
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=2_000_000)
    ap.add_argument("--customers", type=int, default=2_000_000)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--statements", action="store_true", help="also print the time of every SQL statement")
    args = ap.parse_args(argv)
    cust = bench.customers_csv(args.customers)
    txn = bench.transactions_csv(args.rows, args.customers)
    tpl = bench.customers_template(cust)
    variants = args.variants.split(",")
    code_start = bench.import_code_fingerprint()
    print(f"code: commit {bench.environment()['commit']}, import code fingerprint {code_start}", flush=True)
    runs: dict[str, list] = {v: [] for v in variants}
    for k in range(args.repeat):  # interleaved, so that every variant sees the same machine load
        for variant in variants:
            ws_dir = bench.fresh_workspace(tpl, f"exp-{variant}-{k}")
            load = os.getloadavg()[0]
            out = subprocess.run([sys.executable, __file__, "_worker", json.dumps(
                {"variant": variant, "workspace": str(ws_dir), "file": str(txn), "today": bench.TODAY.isoformat(),
                 "statements": args.statements})],
                capture_output=True, text=True, cwd=bench.REPO)
            shutil.rmtree(ws_dir, ignore_errors=True)
            if out.returncode:
                raise RuntimeError(out.stderr[-3000:])
            r = json.loads(out.stdout.strip().splitlines()[-1]) | {"load1": load}
            runs[variant].append(r)
            print(f"  {variant} #{k + 1}: {r['seconds']:.2f} s, {r['rows'] / r['seconds']:,.0f} rows/s, "
                  f"{r['import_cpu']:.1f} CPU s, RSS {r['maxrss_mb']:,.0f} MB, load {load:.2f}, phases {r['phases']}, CPU {r['phases_cpu']}",
                  flush=True)
            for t, sql in r["statements"]:
                print(f"      {t:6.2f} CPU s  {sql}")
    rows = []
    reference = runs[variants[0]][0]
    for variant in variants:
        rs = runs[variant]
        same = None if variant == variants[0] else all(
            r["accepted_checksum"] == reference["accepted_checksum"] and r["by_reason"] == reference["by_reason"]
            and r["quarantine_sha"] == reference["quarantine_sha"] for r in rs)
        med = statistics.median(r["seconds"] for r in rs)
        phases = {p: statistics.median(r["phases_cpu"].get(p, 0.0) for r in rs) for p in rs[0]["phases_cpu"]}
        rows.append({"variant": variant, "seconds": med, "rows_per_s": rs[0]["rows"] / med, "same": same,
                     "cpu": statistics.median(r["import_cpu"] for r in rs), "phases": phases,
                     "loads": [round(r["load1"], 2) for r in rs], "maxrss_mb": max(r["maxrss_mb"] for r in rs)})
    code_end = bench.import_code_fingerprint()
    if code_end != code_start:
        print(f"WARNING: the import code changed during the run ({code_start} → {code_end})")
    print(f"\n{rs[0]['rows']:,} transactions, cumulative variants (median of {args.repeat}, interleaved):\n")
    print("Wall seconds are distorted by the machine's load; CPU seconds (all threads) much less. "
          "Phase columns are CPU seconds.\n")
    print("| variant | wall s | rows/s | CPU s | read | validate | quarantine | write | peak RSS | same result | load |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|")
    for r in rows:
        p = r["phases"]
        print(f"| {r['variant']} | {r['seconds']:.2f} | {r['rows_per_s']:,.0f} | {r['cpu']:.1f} | {p.get('read', 0):.2f} | "
              f"{p.get('validate', 0):.2f} | {p.get('quarantine', 0):.2f} | {p.get('write', 0):.2f} | "
              f"{r['maxrss_mb'] / 1024:.1f} GiB | {'reference' if r['same'] is None else ('yes' if r['same'] else 'NO')} "
              f"| {', '.join(map(str, r['loads']))} |")
    (bench.OUT / f"experiments-{args.rows}.json").write_text(json.dumps(rows, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1:])
