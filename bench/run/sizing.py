"""Whole monthly runs at a given size: import, two month-end evaluations, their step timings and peak memory.

Usage (from the project root)::

    .venv/bin/python bench/run/sizing.py --customers 100000,1000000 [--preset bank] [--months 24]
                                         [--engine duckdb] [--memory-limit 12GB] [--keep]

For each size, a fresh child process: generates the preset's sample data for ``--customers``
customers over ``--months`` months (cached as Parquet in ``bench/out/run/<preset>-<n>/src``),
creates a workspace, imports every table (Parquet path), then runs the evaluations of the
last two month ends. The second run has the first as its previous snapshot, so it is a normal
monthly run "with history": hysteresis state, events, upgrade likelihoods, task generation.

Reported per size (JSON lines appended to ``bench/out/run/results.jsonl``; ``--table`` prints
the markdown table of every result so far):

- rows imported and import seconds;
- the second run's step timings from its run record (``prepare``, ``classify`` — features,
  every classification and the value models —, ``tiers`` — the ladder, overrides and events
  —, ``upgrade``, ``write``, ``publish``) and the servicing generation after it;
- the ratio tiers / classify (issue #5's target: the tier step adds ≤ 20 % to the
  classification step);
- the child's peak RSS (``ru_maxrss``), the 1-minute load before the run, and the versions.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE.parent / "out" / "run"
RESULTS = OUT / "results.jsonl"


def _sizes(text: str) -> list[int]:
    out = []
    for part in text.split(","):
        part = part.strip().upper()
        mult = 1_000_000 if part.endswith("M") else 1_000 if part.endswith("K") else 1
        out.append(int(float(part.rstrip("MK")) * mult))
    return out


def child(preset: str, n: int, months: int, engine: str, memory_limit: str | None, keep: bool) -> dict:
    """One size, in this (child) process."""
    from tierwise.app.demo import month_ends
    from tierwise.app.importing import import_table
    from tierwise.app.run import run_evaluation
    from tierwise.app.status import latest_data_date
    from tierwise.app.workspace import init_workspace, open_workspace, write_settings
    from tierwise.samples import iter_chunks, write_parquet

    base = OUT / f"{preset}-{n}"
    src = base / "src"
    t0 = time.perf_counter()
    if not (src / "customers.parquet").exists():
        shutil.rmtree(src, ignore_errors=True)
        kwargs = {"months": months} if preset == "bank" else {}
        write_parquet(iter_chunks(preset, n, seed=11, **kwargs), src)
    generated = round(time.perf_counter() - t0, 1)
    root = base / "ws"
    shutil.rmtree(root, ignore_errors=True)
    Path(str(root) + ".key").unlink(missing_ok=True)
    ws = init_workspace(root, preset, engine=engine)
    if memory_limit:
        write_settings(root, ws.settings.model_copy(update={"memory_limit": memory_limit}))
        ws = open_workspace(root)
    order = ["customers", "balances", "holdings", "products", "transactions", "interactions", "points", "leads"]
    imported, rows = 0.0, {}
    for name in order:
        f = src / f"{name}.parquet"
        if not f.exists():
            continue
        t0 = time.perf_counter()
        rec = import_table(ws, name, str(f), actor="bench")
        imported += time.perf_counter() - t0
        rows[name] = rec["accepted"]
    dates = month_ends(latest_data_date(ws), 2)
    load = os.getloadavg()[0]
    records = []
    for d in dates:
        t0 = time.perf_counter()
        rec = run_evaluation(ws, d, actor="bench")
        rec["wall"] = round(time.perf_counter() - t0, 2)
        records.append(rec)
    last = records[-1]
    tm = last["timings"]
    result = {
        "measured_at": datetime.now(timezone.utc).isoformat(timespec="minutes"),
        "preset": preset, "customers": n, "months": months, "engine": engine, "memory_limit": memory_limit,
        "rows": rows, "generate_s": generated, "import_s": round(imported, 1),
        "first_run_s": records[0]["wall"], "run_s": last["wall"], "timings": tm,
        "servicing": last.get("servicing"),
        "tiers_over_classify": round(tm.get("tiers", 0) / tm["classify"], 3) if tm.get("classify") else None,
        "load_before": round(load, 2),
        "peak_rss_gib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
                   f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.1f} GiB",
        "versions": _versions(),
    }
    if not keep:
        shutil.rmtree(root, ignore_errors=True)
    return result


def _versions() -> str:
    import duckdb
    import ibis
    import pyarrow

    import tierwise

    return (f"Python {platform.python_version()}, tierwise {getattr(tierwise, '__version__', '?')}, "
            f"DuckDB {duckdb.__version__}, Ibis {ibis.__version__}, pyarrow {pyarrow.__version__}")


def table() -> str:
    rows = [json.loads(line) for line in RESULTS.read_text(encoding="utf-8").splitlines() if line.strip()]
    head = ("| measured | preset | customers | rows imported | import s | run s | classify s | tiers s | "
            "tiers / classify | upgrade s | write+publish s | tasks after the run s | peak RSS | load |\n"
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    lines = [head]
    for r in rows:
        tm = r["timings"]
        lines.append(
            f"| {r['measured_at'][:16]} | {r['preset']} ({r['engine']}) | {r['customers']:,} | "
            f"{sum(r['rows'].values()):,} | {r['import_s']} | {r['run_s']} | {tm.get('classify')} | "
            f"{tm.get('tiers')} | {r['tiers_over_classify']:.1%} | {tm.get('upgrade', '—')} | "
            f"{round(tm.get('write', 0) + tm.get('publish', 0), 2)} | {round(r['run_s'] - sum(tm.values()), 1)} | "
            f"{r['peak_rss_gib']} GiB | {r['load_before']} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--customers", default="100K")
    ap.add_argument("--preset", default="bank")
    ap.add_argument("--months", type=int, default=24)
    ap.add_argument("--engine", default="duckdb")
    ap.add_argument("--memory-limit")
    ap.add_argument("--keep", action="store_true", help="keep the workspace (bench/out/run/<preset>-<n>/ws)")
    ap.add_argument("--table", action="store_true", help="print the results table and exit")
    ap.add_argument("--child", type=int, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.table:
        print(table())
        return
    if a.child is not None:
        print(json.dumps(child(a.preset, a.child, a.months, a.engine, a.memory_limit, a.keep)))
        return
    OUT.mkdir(parents=True, exist_ok=True)
    for n in _sizes(a.customers):
        cmd = [sys.executable, __file__, "--child", str(n), "--preset", a.preset, "--months", str(a.months),
               "--engine", a.engine] + (["--memory-limit", a.memory_limit] if a.memory_limit else []) \
            + (["--keep"] if a.keep else [])
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            print(proc.stderr[-4000:], file=sys.stderr)
            raise SystemExit(f"size {n}: child failed ({proc.returncode})")
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        with RESULTS.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(result, ensure_ascii=False) + "\n")
        print(json.dumps(result, ensure_ascii=False, indent=1))
    print(table())


if __name__ == "__main__":
    main()
