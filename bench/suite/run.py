"""Side-by-side benchmark suite: tierwise against the tools a user would otherwise pick.

One command (from the repository root; data are generated on first use by
``bench/classify/generate.py`` and cached in ``bench/out/classify/<size>/``)::

    .venv/bin/python bench/suite/run.py --setup-pymc          # once: pymc-marketing in its own venv
    .venv/bin/python bench/suite/run.py --sizes 1M,10M --repeats 3 --clv-customers 10000000
    .venv/bin/python bench/suite/run.py --sizes 100M --repeats 1 --engines hand,polars,tierwise

Every run of every engine is a fresh subprocess; its peak RSS is the child's ``ru_maxrss``
(``os.wait4``). A watchdog kills a child whose RSS passes ``--rss-cap-gib`` or whose wall time
passes ``--timeout`` and records why. Engines (see README.md):

====================  ========================================================================
classification job    features → RFM quintile scores → ABC classes → lifecycle stage
``tierwise``          ``bench/classify/run.py``'s tierwise job (Ibis on DuckDB)
``hand``              ``bench/classify/hand.sql`` (tuned hand-written DuckDB SQL)
``pandas``            ``pandas_rfm.py`` (a tutorial-style script)
``polars``            ``polars_rfm.py`` (lazy API)
value-model job       per-customer summary → BG/NBD and Gamma-Gamma fits → predictions
``tierwise-clv``      ``clv_jobs.run_tierwise`` (features on DuckDB, ``tierwise.models.clv``)
``lifetimes``         ``clv_jobs.run_lifetimes``
``pymc``              ``pymc_summary.py``: pymc-marketing's ``rfm_summary`` (summary only)
====================  ========================================================================

Per-customer results go to ``bench/out/suite/result-<engine>-<size>.parquet`` and are compared
row by row with tierwise's (``compare.py``). Every run is appended to
``bench/out/suite/runs.jsonl``, the summaries to ``bench/out/suite/results.json``; the tables
in ``bench/suite/README.md`` (between the ``results`` markers) are rewritten from it
(``--report`` rewrites them without running anything).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCH = HERE.parent
sys.path.insert(0, str(BENCH / "classify"))
sys.path.insert(0, str(HERE))
import generate as gen  # noqa: E402

OUT = BENCH / "out" / "suite"
SCRATCH = OUT / "scratch"
PYMC_VENV = OUT / "pymc-venv"
PYMC_RELEASE = "pymc-marketing==0.19.2"     # its last release that installs on Python 3.11 (0.19.2)
CLASSIFY = ("tierwise", "hand", "pandas", "polars")
VALUE = ("tierwise-clv", "lifetimes", "pymc")
ENGINES = CLASSIFY + VALUE
#: engines that hold the transactions in pandas: peak RSS at 100 M measured in issue #3
#: (pandas script 18 GiB, lifetimes' summary 17 GiB); rfm_summary is the same kind of code
IN_MEMORY = {"pandas": 18.0, "lifetimes": 17.0, "pymc": 17.0}


def result_path(engine: str, n: int) -> Path:
    return OUT / f"result-{engine}-{gen.label(n)}.parquet"


def classify_run():
    """``bench/classify/run.py`` as a module (read-only reuse of its tierwise and hand-SQL jobs)."""
    spec = importlib.util.spec_from_file_location("classify_run", BENCH / "classify" / "run.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# --------------------------------------------------------------------------------------------
# the child

def worker(engine: str, n: int, memory_limit: str | None) -> None:
    out = result_path(engine, n)
    files = gen.files(n)
    if engine in ("tierwise", "hand"):
        crun = classify_run()
        crun.SCRATCH, crun.MEMORY_LIMIT = SCRATCH, memory_limit
        import ibis  # noqa: F401  imports are not timed (they are in the process seconds)

        import tierwise.analytics.abc, tierwise.analytics.features, tierwise.analytics.lifecycle  # noqa: E401, F401
        import tierwise.analytics.rfm, tierwise.canonical, tierwise.engine  # noqa: E401, F401
        job = lambda: (crun.run_tierwise if engine == "tierwise" else crun.run_hand)(n, out)  # noqa: E731
    elif engine == "pandas":
        import pandas_rfm
        job = lambda: pandas_rfm.run(files, gen.AS_OF, str(out))  # noqa: E731
    elif engine == "polars":
        import polars_rfm
        job = lambda: polars_rfm.run(files, gen.AS_OF, str(out), os.environ.get("SUITE_POLARS_ENGINE", "auto"))  # noqa: E731
    elif engine == "tierwise-clv":
        import clv_jobs
        import tierwise.analytics.features, tierwise.engine, tierwise.models.clv  # noqa: E401, F401
        job = lambda: clv_jobs.run_tierwise(files, gen.AS_OF, str(out), SCRATCH, memory_limit)  # noqa: E731
    elif engine == "lifetimes":
        import clv_jobs
        import lifetimes  # noqa: F401
        job = lambda: clv_jobs.run_lifetimes(files, gen.AS_OF, str(out))  # noqa: E731
    else:
        raise SystemExit(f"unknown engine {engine!r}; known: {', '.join(ENGINES)}")
    t = time.perf_counter()
    steps = job()
    seconds = time.perf_counter() - t
    extra = {k[1:]: steps.pop(k) for k in list(steps) if k.startswith("_")}
    print(json.dumps({"seconds": seconds, "steps": steps, **extra}), flush=True)


# --------------------------------------------------------------------------------------------
# the parent

def load() -> float:
    return round(os.getloadavg()[0], 2)


def rss_gib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return 0.0


def command(engine: str, n: int, memory_limit: str | None) -> list[str]:
    if engine == "pymc":
        py = PYMC_VENV / "bin" / "python"
        if not py.exists():
            raise FileNotFoundError(f"{py} is missing: run `.venv/bin/python bench/suite/run.py --setup-pymc` first")
        return [str(py), str(HERE / "pymc_summary.py"), str(result_path(engine, n)), gen.AS_OF.isoformat(),
                *gen.files(n)["transactions"]]
    return [sys.executable, __file__, "_worker", engine, str(n), memory_limit or ""]


def run_child(engine: str, n: int, a) -> dict:
    """One run in a fresh process, watched for RSS and time; the record of that run."""
    shutil.rmtree(SCRATCH, ignore_errors=True)
    result_path(engine, n).unlink(missing_ok=True)
    before = load()
    logs = OUT / "child.out", OUT / "child.err"
    start = time.perf_counter()
    killed, peak_seen = None, 0.0
    with open(logs[0], "w") as fo, open(logs[1], "w") as fe:
        p = subprocess.Popen(command(engine, n, a.memory_limit), stdout=fo, stderr=fe, cwd=BENCH.parent)
        while True:
            pid, status, ru = os.wait4(p.pid, os.WNOHANG)
            if pid:
                break
            peak_seen = max(peak_seen, rss_gib(p.pid))
            if killed is None and peak_seen > a.rss_cap_gib:
                killed = f"killed: RSS passed {a.rss_cap_gib:g} GiB"
            elif killed is None and time.perf_counter() - start > a.timeout:
                killed = f"killed: still running after {a.timeout:g} s"
            if killed and p.poll() is None:
                p.kill()
            time.sleep(0.2)
    wall = time.perf_counter() - start
    rec = {"engine": engine, "n": n, "size": gen.label(n), "process_seconds": wall,
           "peak_rss_gib": ru.ru_maxrss / 2**20, "load_before": before, "load_after": load(),
           "memory_limit": a.memory_limit if engine in ("tierwise", "hand", "tierwise-clv") else None}
    code = os.waitstatus_to_exitcode(status)
    if killed or code != 0:
        err = logs[1].read_text().strip()
        rec["failed"] = killed or f"exit {code}: {err.splitlines()[-1][:300] if err else ''}"
        rec["stderr_tail"] = err[-3000:]
    else:
        rec.update(json.loads(logs[0].read_text().strip().splitlines()[-1]))
    with open(OUT / "runs.jsonl", "a") as f:
        f.write(json.dumps(rec, default=str) + "\n")
    return rec


def skip_reason(engine: str, n: int, a, peaks: dict) -> str | None:
    """Why ``engine`` is not run at ``n`` transactions (None: run it)."""
    if engine == "pymc" and not (PYMC_VENV / "bin" / "python").exists():
        return "pymc-marketing venv missing (run --setup-pymc)"
    if engine in IN_MEMORY and n > 30_000_000:
        # scale a peak measured at a smaller size (this run or earlier), else issue #3's figure
        known = [(m, g) for (e, m), g in peaks.items() if e == engine and m < n]
        est = max(known)[1] * n / max(known)[0] if known else IN_MEMORY[engine]
        if est > a.rss_cap_gib:
            src = f"{max(known)[1]:.1f} GiB at {gen.label(max(known)[0])} × {n / max(known)[0]:g}" if known \
                else "issue #3's measurement"
            return f"not run: estimated peak {est:.0f} GiB ({src}) > the {a.rss_cap_gib:g} GiB cap"
    return None


def summarise(runs: list[dict]) -> dict:
    ok = [r for r in runs if "failed" not in r]
    s = {"runs": len(runs), "ok": len(ok), "loads": [r["load_before"] for r in runs],
         "peak_rss_gib": max(r["peak_rss_gib"] for r in runs)}
    if not ok:
        s["failed"] = runs[-1]["failed"]
        return s
    s["median_seconds"] = statistics.median(r["seconds"] for r in ok)
    s["median_process_seconds"] = statistics.median(r["process_seconds"] for r in ok)
    s["median_steps"] = {k: statistics.median(r["steps"][k] for r in ok) for k in ok[0]["steps"]}
    for k in ("params", "qcut_mismatches", "versions"):
        if k in ok[-1]:
            s[k] = ok[-1][k]
    return s


def setup_pymc() -> None:
    """Make ``bench/out/suite/pymc-venv`` with pymc-marketing's last Python 3.11 release."""
    OUT.mkdir(parents=True, exist_ok=True)
    subprocess.run(["uv", "venv", str(PYMC_VENV), "--python", sys.executable], check=True)
    subprocess.run(["uv", "pip", "install", "--python", str(PYMC_VENV / "bin" / "python"), PYMC_RELEASE, "pyarrow"],
                   check=True)


def run_clv_10m(n: int, a) -> dict:
    """``bench/clv/run_bench.py --skip-master`` once (BG/NBD and Gamma-Gamma on n simulated customers)."""
    before = load()
    start = time.perf_counter()
    cmd = [sys.executable, str(BENCH / "clv" / "run_bench.py"), "--skip-master", "--repeats", "1", "--n", str(n),
           "--only", "BetaGeoModel", "GammaGammaModel"]
    with open(OUT / "clv.out", "w") as fo, open(OUT / "clv.err", "w") as fe:
        p = subprocess.Popen(cmd, stdout=fo, stderr=fe, cwd=BENCH.parent)
        _, status, ru = os.wait4(p.pid, 0)
    return {"customers": n, "command": " ".join(cmd[1:]), "process_seconds": time.perf_counter() - start,
            "peak_rss_gib": ru.ru_maxrss / 2**20, "load_before": before,
            "exit": os.waitstatus_to_exitcode(status), "output": (OUT / "clv.out").read_text()}


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_worker":
        worker(sys.argv[2], int(sys.argv[3]), sys.argv[4] or None)
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1M,10M", help="transactions: 1M, 10M, 100M (comma-separated)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--engines", default=",".join(ENGINES), help=f"any of {','.join(ENGINES)}")
    ap.add_argument("--memory-limit", default="12GB", help="DuckDB memory_limit of the DuckDB engines")
    ap.add_argument("--rss-cap-gib", type=float, default=16.0, help="kill a run whose RSS passes this")
    ap.add_argument("--timeout", type=float, default=660.0, help="kill a run still going after this many seconds")
    ap.add_argument("--clv-customers", type=int, default=0,
                    help="also run bench/clv/run_bench.py --skip-master on this many simulated customers")
    ap.add_argument("--setup-pymc", action="store_true", help="create the pymc-marketing venv and stop")
    ap.add_argument("--report", action="store_true", help="only rewrite the README tables from results.json")
    a = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    import report
    if a.setup_pymc:
        setup_pymc()
        return
    if a.report:
        report.write_readme()
        return
    engines = [e for e in a.engines.split(",") if e]
    bad = [e for e in engines if e not in ENGINES]
    if bad:
        ap.error(f"unknown engine(s) {bad}; known: {', '.join(ENGINES)}")
    m = report.machine()
    print(json.dumps(m), flush=True)
    log = OUT / "results.json"
    hist = json.loads(log.read_text()) if log.exists() else {"sizes": {}, "clv": None}
    peaks = {(e, int(s["n"])): v["peak_rss_gib"] for s in hist["sizes"].values()
             for e, v in s["engines"].items() if "peak_rss_gib" in v}
    for n in [gen.parse_size(s) for s in a.sizes.split(",")]:
        meta = gen.generate(n)
        print(f"== {gen.label(n)}: {meta['customers']:,} customers, {meta['transactions']:,} transactions",
              flush=True)
        runs = {e: [] for e in engines}
        skipped = {e: r for e in engines if (r := skip_reason(e, n, a, peaks))}
        active = [e for e in engines if e not in skipped]
        for e, why in skipped.items():
            print(f"  {e:12s} {why}", flush=True)
        for rep in range(a.repeats):
            for e in (active if rep % 2 == 0 else active[::-1]):     # alternate who goes first
                if runs[e] and "failed" in runs[e][-1]:
                    continue                                         # a failure is not retried
                rec = run_child(e, n, a)
                runs[e].append(rec)
                print(f"  {e:12s} run {rep + 1}: " + (f"FAILED {rec['failed']}" if "failed" in rec else
                      f"{rec['seconds']:7.2f} s (process {rec['process_seconds']:.1f} s)")
                      + f", peak {rec['peak_rss_gib']:.2f} GiB, load {rec['load_before']}", flush=True)
                peaks[(e, n)] = max(peaks.get((e, n), 0.0), rec["peak_rss_gib"])
        import compare
        summary = {"n": n, "size": gen.label(n), "meta": meta, "machine": m, "repeats": a.repeats,
                   "memory_limit": a.memory_limit, "rss_cap_gib": a.rss_cap_gib, "engines": {}}
        for e in engines:
            summary["engines"][e] = {"skipped": skipped[e]} if e in skipped else summarise(runs[e])
            summary["engines"][e]["measured"] = m["date"]
        summary["equality"] = compare.all_engines(n, {e for e in active if "median_seconds" in summary["engines"][e]})
        print("  equality:", json.dumps(summary["equality"]), flush=True)
        prev = hist["sizes"].get(gen.label(n))
        if prev:            # a run of some engines keeps the other engines' earlier figures
            summary["engines"] = {**prev["engines"], **summary["engines"]}
            summary["equality"] = {**prev.get("equality", {}), **summary["equality"]}
        hist["sizes"][gen.label(n)] = summary
        log.write_text(json.dumps(hist, indent=1, default=str))
    if a.clv_customers:
        print(f"== bench/clv/run_bench.py on {a.clv_customers:,} simulated customers", flush=True)
        hist["clv"] = run_clv_10m(a.clv_customers, a)
        print(hist["clv"]["output"], flush=True)
        log.write_text(json.dumps(hist, indent=1, default=str))
    report.write_readme()


if __name__ == "__main__":
    main()
