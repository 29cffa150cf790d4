"""Import throughput benchmark for tierwise.

Reproduce (from the repository root)::

    .venv/bin/python bench/import/run.py              # full run, writes bench/README.md
    .venv/bin/python bench/import/run.py --quick      # 200 k customers / 1 M rows / 100 k xlsx rows, no README
    .venv/bin/python bench/import/run.py --profile    # per-SQL-statement timing of one 2 M-row import

What it does
------------
1. Generates (once; cached under ``bench/out/data/``, which git ignores) a customers CSV,
   a transactions CSV and a transactions ``.xlsx`` with realistic columns: ids with
   leading zeros, dates in mixed formats (``2024-01-05``, ``2024/1/5``, ``20240105``,
   ``2024-01-05 13:04:05``), amounts partly written ``"1,234.50"``, negative amounts
   (returns), and about 0.5 % bad rows of ten kinds (unknown customer, missing
   customer id, unparseable date, future date, implausible date, unparseable amount,
   duplicate transaction id, too many / too few fields).  The CSVs are written by DuckDB
   (``COPY (SELECT ... FROM range(N))``), the workbook by xlsxwriter (constant memory).
2. Runs every measurement in a fresh subprocess, ``--repeat`` times (default 3), on a
   fresh copy of a workspace that already holds the customers; peak memory is that
   process's ``ru_maxrss`` (from ``os.wait4``).  The import is timed inside the process
   around ``import_table``, in wall and CPU seconds (user + system, all threads), and
   split into phases with its ``progress`` callback: read, validate (``build_checked`` +
   reconciliation), quarantine, write, commit.
3. Measures the floor: plain DuckDB ``read_csv`` (auto-detected types, no validation)
   of the same file into zstd Parquet, and fastexcel → Parquet for the workbook.
4. Writes the results to ``bench/README.md`` (section "Import throughput"; other
   sections, including "Import throughput: analysis …", are left alone).
5. ``--profile``: one in-process 2 M-row import with every SQL statement and the main
   Python functions timed (wall and CPU).

The 1-minute load average is recorded before every measurement: the machine is shared,
so CPU seconds are the stable measure and wall seconds the pessimistic one.  The README
records the commit and a fingerprint of the import code, and warns if that code changed
during the run.  ``experiments.py`` (same folder) A/B-tests proposed speed-ups.
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
REPO = HERE.parent.parent
OUT = REPO / "bench" / "out"
DATA = OUT / "data"
README = REPO / "bench" / "README.md"
PYTHON = sys.executable
TODAY = date(2025, 1, 1)
GEN_VERSION = 2  # bump when the generators change, so cached files are regenerated
TARGET_ROWS_PER_S = 1_000_000

TXN_HEADER = ["transaction_id", "customer_id", "txn_time", "amount", "quantity", "product_id", "channel"]
CUST_HEADER = ["customer_id", "name", "phone", "gender", "birthday", "open_date", "city", "branch_id", "risk_level"]

# one bucket in 2000 of each kind → 10 kinds = 0.5 % bad rows
BAD_KINDS = {
    0: "unknown_customer", 1: "unknown_customer", 2: "unparseable date", 3: "missing customer_id",
    4: "unparseable amount", 5: "duplicate transaction_id", 6: "future date", 7: "implausible date",
    8: "too many fields", 9: "too few fields",
}


# =============================================================================== data generation
def _duck():
    import duckdb

    con = duckdb.connect()
    con.execute("SET preserve_insertion_order = true")
    con.execute("SET enable_progress_bar = false")
    return con


def _copy_lines(con, select_line: str, header: list[str], n: int, path: Path) -> None:
    """Write ``select_line`` (one pre-formatted CSV line per ``i`` in range(n)) verbatim to ``path``."""
    tmp = path.with_name(path.name + ".tmp")
    alias = ",".join(header).replace('"', '""')
    con.execute(f"""COPY (SELECT {select_line} AS "{alias}" FROM range({n}) t(i))
                    TO '{tmp}' (FORMAT csv, HEADER true, QUOTE '', ESCAPE '')""")
    tmp.rename(path)


def customers_csv(n: int) -> Path:
    path = DATA / f"customers-{n}-v{GEN_VERSION}.csv"
    if path.exists():
        return path
    DATA.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    con = _duck()
    # ~0.06 % bad: empty id, duplicate id (the later copy is rejected), unparseable open_date
    line = """concat_ws(',',
        CASE WHEN i % 5000 = 17 THEN '' ELSE lpad(CAST(CASE WHEN i % 5000 = 29 THEN i - 1 ELSE i END AS VARCHAR), 10, '0') END,
        'Customer ' || i,
        '13' || lpad(CAST((i * 7919) % 1000000000 AS VARCHAR), 9, '0'),
        CASE i % 2 WHEN 0 THEN 'F' ELSE 'M' END,
        strftime(DATE '1950-01-01' + CAST((i * 37) % 18000 AS INTEGER), '%Y-%m-%d'),
        CASE WHEN i % 5000 = 41 THEN 'unknown'
             WHEN i % 2 = 0 THEN strftime(DATE '2010-01-01' + CAST((i * 13) % 5000 AS INTEGER), '%Y-%m-%d')
             ELSE strftime(DATE '2010-01-01' + CAST((i * 13) % 5000 AS INTEGER), '%Y%m%d') END,
        ['Shanghai', 'Beijing', 'Shenzhen', 'Hangzhou', 'Chengdu'][1 + CAST(i % 5 AS INTEGER)],
        'B' || lpad(CAST(i % 300 AS VARCHAR), 4, '0'),
        'R' || CAST(1 + i % 5 AS VARCHAR))"""
    _copy_lines(con, line, CUST_HEADER, n, path)
    print(f"  generated {path.name} ({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t0:.1f} s", flush=True)
    return path


def _txn_fields(n_customers: int) -> dict[str, str]:
    """SQL text expressions (over ``i``) for each transactions field, bad rows included."""
    b = "(i % 2000)"
    cust = f"CAST(hash(i) % {n_customers} AS BIGINT)"
    d = "(DATE '2022-01-01' + CAST((i * 7) % 1000 AS INTEGER))"
    cents = "CAST((hash(i * 31) % 500000) AS BIGINT)"  # 0.00 .. 4999.99
    plain = f"CAST({cents} // 100 AS VARCHAR) || '.' || lpad(CAST({cents} % 100 AS VARCHAR), 2, '0')"
    grouped = (f"'\"' || CAST({cents} // 100000 AS VARCHAR) || ',' || lpad(CAST(({cents} // 100) % 1000 AS VARCHAR), 3, '0')"
               f" || '.' || lpad(CAST({cents} % 100 AS VARCHAR), 2, '0') || '\"'")
    return {
        "transaction_id": f"'T' || lpad(CAST(CASE WHEN {b} = 5 THEN i - 10 ELSE i END AS VARCHAR), 12, '0')",
        "customer_id": f"""CASE WHEN {b} IN (0, 1) THEN lpad(CAST({n_customers} + i AS VARCHAR), 10, '0')
                               WHEN {b} = 3 THEN ''
                               ELSE lpad(CAST({cust} AS VARCHAR), 10, '0') END""",
        "txn_time": f"""CASE WHEN {b} = 2 THEN '2024-13-45'
                             WHEN {b} = 6 THEN '2031-03-01'
                             WHEN {b} = 7 THEN '1850-06-01'
                             WHEN i % 4 = 0 THEN strftime({d}, '%Y-%m-%d')
                             WHEN i % 4 = 1 THEN CAST(year({d}) AS VARCHAR) || '/' || CAST(month({d}) AS VARCHAR) || '/' || CAST(day({d}) AS VARCHAR)
                             WHEN i % 4 = 2 THEN strftime({d}, '%Y%m%d')
                             ELSE strftime({d} + to_seconds(CAST(i % 86400 AS BIGINT)), '%Y-%m-%d %H:%M:%S') END""",
        "amount": f"""CASE WHEN {b} = 4 THEN '12.3.4'
                           WHEN i % 50 = 7 THEN '-' || {plain}
                           WHEN i % 3 = 0 AND {cents} >= 100000 THEN {grouped}
                           ELSE {plain} END""",
        "quantity": "CAST(1 + i % 5 AS VARCHAR)",
        "product_id": "'P' || lpad(CAST(i % 5000 AS VARCHAR), 5, '0')",
        "channel": "['app', 'branch', 'web', 'phone'][1 + CAST(i % 4 AS INTEGER)]",
    }


def transactions_csv(n: int, n_customers: int) -> Path:
    path = DATA / f"transactions-{n}-c{n_customers}-v{GEN_VERSION}.csv"
    if path.exists():
        return path
    DATA.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    f = _txn_fields(n_customers)
    line = f"concat_ws(',', {', '.join(f[h] for h in TXN_HEADER)})"
    # structural damage: an extra field, or the row cut after txn_time
    line = f"""CASE WHEN i % 2000 = 8 THEN {line} || ',EXTRA'
                    WHEN i % 2000 = 9 THEN concat_ws(',', {f['transaction_id']}, {f['customer_id']}, {f['txn_time']})
                    ELSE {line} END"""
    _copy_lines(_duck(), line, TXN_HEADER, n, path)
    print(f"  generated {path.name} ({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t0:.1f} s", flush=True)
    return path


def transactions_xlsx(n: int, n_customers: int) -> Path:
    """Workbook as Excel users make them: real date cells and numbers mostly, some text dates and amounts."""
    path = DATA / f"transactions-{n}-c{n_customers}-v{GEN_VERSION}.xlsx"
    if path.exists():
        return path
    import xlsxwriter

    DATA.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    f = _txn_fields(n_customers)
    d = "(DATE '2022-01-01' + CAST((i * 7) % 1000 AS INTEGER))"
    con = _duck()
    # kinds 8/9 (structural) do not exist in a workbook; they stay clean rows here
    rel = con.execute(f"""SELECT {f['transaction_id']} AS transaction_id, {f['customer_id']} AS customer_id,
                                 CASE WHEN i % 4 IN (0, 3) AND i % 2000 NOT IN (2, 6, 7) THEN {d} END AS txn_date,
                                 {f['txn_time']} AS txn_text,
                                 CASE WHEN i % 2000 != 4 AND i % 10 != 3 THEN try_cast(replace(replace({f['amount']}, '"', ''), ',', '') AS DOUBLE) END AS amount_num,
                                 replace({f['amount']}, '"', '') AS amount_text,
                                 1 + i % 5 AS quantity, {f['product_id']} AS product_id, {f['channel']} AS channel
                          FROM range({n}) t(i)""")
    tmp = path.with_name(path.name + ".tmp.xlsx")
    wb = xlsxwriter.Workbook(str(tmp), {"constant_memory": True})
    ws = wb.add_worksheet("transactions")
    date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    ws.write_row(0, 0, TXN_HEADER)
    r = 1
    write_string, write_number, write_datetime = ws.write_string, ws.write_number, ws.write_datetime
    while batch := rel.fetchmany(50_000):
        for tid, cid, tdate, ttext, anum, atext, qty, pid, ch in batch:
            write_string(r, 0, tid)
            if cid:
                write_string(r, 1, cid)
            if tdate is not None:
                write_datetime(r, 2, datetime(tdate.year, tdate.month, tdate.day), date_fmt)
            else:
                write_string(r, 2, ttext)
            if anum is not None:
                write_number(r, 3, anum)
            else:
                write_string(r, 3, atext)
            write_number(r, 4, qty)
            write_string(r, 5, pid)
            write_string(r, 6, ch)
            r += 1
    wb.close()
    tmp.rename(path)
    print(f"  generated {path.name} ({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t0:.1f} s", flush=True)
    return path


# =============================================================================== workers (subprocess side)
def _cpu() -> float:
    """CPU seconds (user + system, all threads) used by this process so far."""
    import resource

    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime


def _phases(t0: float, c0: float, marks: list, t1: float, c1: float) -> tuple[dict, dict]:
    """Wall and CPU seconds per phase from the ``progress`` marks (step name, wall clock, CPU clock)."""
    bounds = [("setup", t0, c0), *marks, ("end", t1, c1)]
    wall = {a[0]: round(b[1] - a[1], 3) for a, b in zip(bounds, bounds[1:])}
    cpu = {a[0]: round(b[2] - a[2], 3) for a, b in zip(bounds, bounds[1:])}
    return wall, cpu


def worker(spec: dict) -> dict:
    """Run one measurement in this (fresh) process; return timings."""
    import resource

    t_start = time.perf_counter()
    if spec["kind"] == "import":
        from tierwise.app.importing import import_table
        from tierwise.app.workspace import open_workspace

        ws = open_workspace(spec["workspace"])
        marks: list[tuple[str, float, float]] = []
        t0, c0 = time.perf_counter(), _cpu()
        rec = import_table(ws, spec["table"], spec["file"], today=date.fromisoformat(spec["today"]),
                           progress=lambda step: marks.append((step, time.perf_counter(), _cpu())))
        t1, c1 = time.perf_counter(), _cpu()
        phases, phases_cpu = _phases(t0, c0, marks, t1, c1)
        result = {"seconds": t1 - t0, "phases": phases, "phases_cpu": phases_cpu, "import_cpu": c1 - c0,
                  "rows": rec["rows_read"], "accepted": rec["accepted"],
                  "rejected": rec["rejected"], "by_reason": rec["rejected_by_reason"]}
    elif spec["kind"] == "baseline_csv":
        import duckdb

        con = duckdb.connect(":memory:")
        con.execute("SET preserve_insertion_order = true")
        t0, c0 = time.perf_counter(), _cpu()
        con.execute(f"COPY (SELECT * FROM read_csv('{spec['file']}')) TO '{spec['out']}' "
                    "(FORMAT parquet, COMPRESSION zstd)")
        t1, c1 = time.perf_counter(), _cpu()
        rows = con.execute(f"SELECT count(*) FROM read_parquet('{spec['out']}')").fetchone()[0]
        result = {"seconds": t1 - t0, "rows": rows, "phases": {}, "import_cpu": c1 - c0}
    elif spec["kind"] == "baseline_xlsx":
        import fastexcel
        import pyarrow as pa
        import pyarrow.parquet as pq

        t0, c0 = time.perf_counter(), _cpu()
        tbl = fastexcel.read_excel(spec["file"]).load_sheet(0).to_arrow()
        tbl = pa.Table.from_batches([tbl]) if isinstance(tbl, pa.RecordBatch) else tbl
        pq.write_table(tbl, spec["out"], compression="zstd")
        t1, c1 = time.perf_counter(), _cpu()
        result = {"seconds": t1 - t0, "rows": tbl.num_rows, "phases": {}, "import_cpu": c1 - c0}
    else:
        raise ValueError(spec["kind"])
    result["startup"] = round(t0 - t_start, 3)
    result["self_maxrss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return result


# =============================================================================== parent side
def run_subprocess(spec: dict) -> dict:
    """Run ``spec`` in a fresh interpreter; add wall time, peak RSS (ru_maxrss of that child) and load."""
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    OUT.mkdir(parents=True, exist_ok=True)
    with open(OUT / "worker.out", "w+b") as fout, open(OUT / "worker.err", "w+b") as ferr:
        proc = subprocess.Popen([PYTHON, __file__, "_worker", json.dumps(spec)], stdout=fout, stderr=ferr, cwd=REPO)
        _, status, usage = os.wait4(proc.pid, 0)  # rusage of this child alone
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - t0
        fout.seek(0)
        ferr.seek(0)
        out, err = fout.read(), ferr.read()
    if proc.returncode != 0:
        raise RuntimeError(f"worker failed ({spec['kind']}): {err.decode(errors='replace')[-3000:]}")
    result = json.loads(out.decode().strip().splitlines()[-1])
    result |= {"wall": wall, "maxrss_mb": usage.ru_maxrss / 1024, "load1": load,
               "cpu": usage.ru_utime + usage.ru_stime}
    return result


def fresh_workspace(template: Path | None, name: str) -> Path:
    dest = OUT / "ws" / name
    shutil.rmtree(dest, ignore_errors=True)
    if template is None:
        sys.path.insert(0, str(REPO / "src"))
        from tierwise.app.workspace import init_workspace

        dest.parent.mkdir(parents=True, exist_ok=True)
        init_workspace(dest, "bank")
    else:
        shutil.copytree(template, dest)
    return dest


def customers_template(cust_file: Path) -> Path:
    """A workspace holding the customers (imported once, reused by copying)."""
    tpl = OUT / "ws" / f"template-{cust_file.stem}"
    if (tpl / "data" / "manifest.json").exists():
        return tpl
    fresh_workspace(None, tpl.name)
    r = run_subprocess({"kind": "import", "workspace": str(tpl), "table": "customers", "file": str(cust_file),
                        "today": TODAY.isoformat()})
    print(f"  customers template: {r['accepted']:,} customers in {r['seconds']:.1f} s", flush=True)
    return tpl


def measure(label: str, make_spec, repeat: int) -> dict:
    runs = []
    for k in range(repeat):
        spec = make_spec(k)
        r = run_subprocess(spec)
        runs.append(r)
        print(f"  {label} #{k + 1}: {r['seconds']:.2f} s in import ({r['wall']:.2f} s process, {r['cpu']:.1f} CPU s), "
              f"{r['rows'] / r['seconds']:,.0f} rows/s, peak RSS {r['maxrss_mb']:,.0f} MB, load {r['load1']:.2f}"
              + (f", phases {r['phases']}, CPU by phase {r['phases_cpu']}" if r["phases"] else ""), flush=True)
        if spec.get("workspace") and spec["kind"] == "import" and "template" not in spec["workspace"]:
            shutil.rmtree(spec["workspace"], ignore_errors=True)
        if spec.get("out"):
            Path(spec["out"]).unlink(missing_ok=True)
    med = statistics.median(r["seconds"] for r in runs)
    phases = {name: statistics.median(r["phases"].get(name, 0.0) for r in runs) for name in runs[0]["phases"]}
    phases_cpu = {name: statistics.median(r["phases_cpu"].get(name, 0.0) for r in runs)
                  for name in runs[0].get("phases_cpu", {})}
    summary = {
        "label": label, "rows": runs[0]["rows"], "seconds": med,
        "wall": statistics.median(r["wall"] for r in runs), "rows_per_s": runs[0]["rows"] / med,
        "cpu": statistics.median(r["cpu"] for r in runs), "import_cpu": statistics.median(r["import_cpu"] for r in runs),
        "phases_cpu": phases_cpu,
        "maxrss_mb": max(r["maxrss_mb"] for r in runs), "phases": phases,
        "loads": [round(r["load1"], 2) for r in runs], "all_seconds": [round(r["seconds"], 2) for r in runs],
        "accepted": runs[0].get("accepted"), "rejected": runs[0].get("rejected"), "by_reason": runs[0].get("by_reason"),
    }
    print(f"  → {label}: median {med:.2f} s, {summary['rows_per_s']:,.0f} rows/s, peak {summary['maxrss_mb']:,.0f} MB",
          flush=True)
    return summary


def run_suite(args) -> list[dict]:
    what = set(args.only.split(",")) if args.only else {"customers", "csv", "xlsx", "baseline"}
    print(f"generating data (cached in {DATA.relative_to(REPO)}) ...", flush=True)
    cust = customers_csv(args.customers)
    txn = transactions_csv(args.rows, args.customers) if what & {"csv", "baseline"} else None
    xlsx = transactions_xlsx(args.xlsx_rows, args.customers) if "xlsx" in what else None
    tpl = customers_template(cust) if what & {"csv", "xlsx"} else None
    results = []
    if "customers" in what:
        results.append(measure(f"customers CSV ({args.customers:,} rows)", lambda k: {
            "kind": "import", "workspace": str(fresh_workspace(None, f"cust-{k}")), "table": "customers",
            "file": str(cust), "today": TODAY.isoformat()}, args.repeat))
    if "csv" in what:
        results.append(measure(f"transactions CSV ({args.rows:,} rows)", lambda k: {
            "kind": "import", "workspace": str(fresh_workspace(tpl, f"txn-{k}")), "table": "transactions",
            "file": str(txn), "today": TODAY.isoformat()}, args.repeat))
    if "xlsx" in what:
        results.append(measure(f"transactions .xlsx ({args.xlsx_rows:,} rows)", lambda k: {
            "kind": "import", "workspace": str(fresh_workspace(tpl, f"xlsx-{k}")), "table": "transactions",
            "file": str(xlsx), "today": TODAY.isoformat()}, args.repeat))
    if "baseline" in what:
        results.append(measure(f"baseline: DuckDB read_csv → Parquet, transactions ({args.rows:,} rows)", lambda k: {
            "kind": "baseline_csv", "file": str(txn), "out": str(OUT / "baseline.parquet")}, args.repeat))
        results.append(measure(f"baseline: DuckDB read_csv → Parquet, customers ({args.customers:,} rows)", lambda k: {
            "kind": "baseline_csv", "file": str(cust), "out": str(OUT / "baseline.parquet")}, args.repeat))
    if "xlsx" in what and "baseline" in what:
        results.append(measure(f"baseline: fastexcel → Parquet, .xlsx ({args.xlsx_rows:,} rows)", lambda k: {
            "kind": "baseline_xlsx", "file": str(xlsx), "out": str(OUT / "baseline.parquet")}, args.repeat))
    shutil.rmtree(OUT / "ws", ignore_errors=True) if args.clean else None
    return results


# =============================================================================== profile
class _TimedConnection:
    """Wraps a DuckDB connection and records the time of every ``execute``."""

    def __init__(self, con, log: list):
        self._con, self._log = con, log

    def execute(self, sql, *params):
        t0, c0 = time.perf_counter(), _cpu()
        self._con.execute(sql, *params)
        self._log.append((time.perf_counter() - t0, " ".join(str(sql).split()), _cpu() - c0))
        return self._con  # callers fetch from the returned object

    def __getattr__(self, name):
        return getattr(self._con, name)


def run_profile(args) -> str:
    """Time every SQL statement of one in-process transactions import; return a Markdown report."""
    sys.path.insert(0, str(REPO / "src"))
    import tierwise.app.importing as importing
    from tierwise.app.workspace import open_workspace

    cust = customers_csv(args.customers)
    txn = transactions_csv(args.profile_rows, args.customers)
    tpl = customers_template(cust)
    ws_dir = fresh_workspace(tpl, "profile")
    import tierwise.ingest.sources as sources

    log: list = []
    calls: dict[str, tuple[float, float]] = {}
    originals = []

    def timed(module, name):
        fn = getattr(module, name)
        originals.append((module, name, fn))

        def wrapper(*a, **kw):
            t, c = time.perf_counter(), _cpu()
            try:
                return fn(*a, **kw)
            finally:
                key = f"{module.__name__.rsplit('.', 1)[-1]}.{name}"
                w0, c0 = calls.get(key, (0.0, 0.0))
                calls[key] = (w0 + time.perf_counter() - t, c0 + _cpu() - c)
        setattr(module, name, wrapper)

    # Python-side work that a pure SQL timing would miss
    for module, name in [(sources, "detect_encoding"), (sources, "_blank_lines"), (importing, "_sha256"),
                         (importing, "write_quarantine"), (importing, "build_checked"), (importing, "read_source"),
                         (importing, "_reconcile")]:
        timed(module, name)
    orig = importing.connect_duckdb
    importing.connect_duckdb = lambda *a, **kw: _TimedConnection(orig(*a, **kw), log)
    pandas_loaded = "pandas" in sys.modules
    load = os.getloadavg()[0]
    t0, c0 = time.perf_counter(), _cpu()
    try:
        rec = importing.import_table(open_workspace(ws_dir), "transactions", str(txn), today=TODAY)
    finally:
        importing.connect_duckdb = orig
        for module, name, fn in originals:
            setattr(module, name, fn)
    total, total_cpu = time.perf_counter() - t0, _cpu() - c0
    shutil.rmtree(ws_dir, ignore_errors=True)
    sql_total, sql_cpu = sum(x[0] for x in log), sum(x[2] for x in log)
    lines = [f"Profile: one in-process import of {rec['rows_read']:,} transactions "
             f"({total:.2f} s wall, {total_cpu:.2f} CPU s, load {load:.2f}); SQL statements {sql_total:.2f} s wall / "
             f"{sql_cpu:.2f} CPU s; Python and file work outside SQL {total - sql_total:.2f} s wall / "
             f"{total_cpu - sql_cpu:.2f} CPU s.", "",
             "| wall s | CPU s | share of CPU | statement |", "|---:|---:|---:|---|"]
    for t, sql, c in sorted(log, key=lambda x: -x[2]):
        if c < 0.02:
            continue
        short = re.sub(r"'[^']{40,}'", "'…'", sql)
        short = short if len(short) <= 160 else short[:157] + "…"
        lines.append(f"| {t:.2f} | {c:.2f} | {c / total_cpu:.0%} | `{short.replace('|', '/')}` |")
    lines += ["", "Python functions (inclusive; they contain some of the statements above):", "",
              "| wall s | CPU s | share of CPU | function |", "|---:|---:|---:|---|"]
    for name, (t, c) in sorted(calls.items(), key=lambda kv: -kv[1][1]):
        lines.append(f"| {t:.2f} | {c:.2f} | {c / total_cpu:.0%} | `{name}` |")
    if not pandas_loaded and "pandas" in sys.modules:
        lines += ["", "(pandas was imported during the import — by `con.register` of a pyarrow table in "
                  "`write_quarantine`; about 1 s once per process.)"]
    return "\n".join(lines)


# =============================================================================== README
def _cmd(args) -> str:
    return "`" + " ".join([".venv/bin/python bench/import/run.py", *args.argv]) + "`"


#: the files whose code an import runs (others change concurrently without affecting this benchmark)
IMPORT_CODE = ["src/tierwise/ingest", "src/tierwise/app/importing.py", "src/tierwise/app/workspace.py",
               "src/tierwise/engine/__init__.py", "src/tierwise/canonical.py", "src/tierwise/config/policy.py"]


def import_code_fingerprint() -> str:
    import hashlib

    h = hashlib.sha256()
    for entry in IMPORT_CODE:
        p = REPO / entry
        for f in sorted(p.rglob("*.py")) if p.is_dir() else [p]:
            h.update(f.read_bytes())
    return h.hexdigest()[:12]


def _head_commit() -> str:
    """The checked-out commit, read from ``.git`` (no git process: the benchmark may run where
    git must not); whether the import code differs from it shows in the code fingerprint."""
    git = REPO / ".git"
    try:
        head = (git / "HEAD").read_text().strip()
        if not head.startswith("ref: "):
            return head[:7]
        ref = head[5:]
        if (git / ref).exists():
            return (git / ref).read_text().strip()[:7] + f" ({ref.rsplit('/', 1)[-1]})"
        for line in (git / "packed-refs").read_text().splitlines():
            if line.endswith(" " + ref):
                return line.split()[0][:7] + f" ({ref.rsplit('/', 1)[-1]})"
    except OSError:
        pass
    return "unknown"


def environment() -> dict:
    import duckdb
    import fastexcel
    import pyarrow

    model = next((ln.split(":", 1)[1].strip() for ln in subprocess.run(["lscpu"], capture_output=True, text=True)
                  .stdout.splitlines() if ln.startswith("Model name")), platform.processor())
    mem_kb = next(int(ln.split()[1]) for ln in open("/proc/meminfo") if ln.startswith("MemTotal"))
    return {"commit": _head_commit(),
            "import_code": import_code_fingerprint(), "cpu": model, "cores": os.cpu_count(), "ram_gib": mem_kb / 1024 ** 2,
            "python": platform.python_version(), "duckdb": duckdb.__version__, "pyarrow": pyarrow.__version__,
            "fastexcel": fastexcel.__version__, "os": platform.platform()}


def render(results: list[dict], args, profile: str | None) -> str:
    env = environment()
    cores = env["cores"]
    csv = next((r for r in results if r["label"].startswith("transactions CSV")), None)
    base = next((r for r in results if r["label"].startswith("baseline: DuckDB read_csv → Parquet, transactions")), None)
    out = ["## Import throughput", "",
           f"Measured {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC on {env['cpu']}, {cores} cores, "
           f"{env['ram_gib']:.0f} GiB RAM ({env['os']}); Python {env['python']}, DuckDB {env['duckdb']}, "
           f"pyarrow {env['pyarrow']}, fastexcel {env['fastexcel']}. Workspace settings at their defaults "
           f"(all cores, memory limit 80 % of RAM). Code measured: commit `{env['commit']}`; import code "
           f"fingerprint `{env['import_code']}`"
           + (" (unchanged during the run)." if getattr(args, "code_start", env["import_code"]) == env["import_code"] else
              f" — WARNING: the import code changed during the run (it started as `{args.code_start}`), "
              "so some runs measured older code."), "",
           f"Reproduce: {_cmd(args)} (data is generated once into `bench/out/`, git-ignored; "
           "`--quick` for a small smoke run, `--profile` for per-statement timing; "
           "`bench/import/experiments.py` A/B-tests proposed speed-ups). Both scripts are documented in their "
           "docstrings.", "",
           f"Each row: median of {args.repeat} runs, each in a fresh process on a fresh copy of a workspace that "
           "already holds the customers. *Wall s* is the `import_table` call (for the floor rows: the read + write "
           "statement); *process s* adds interpreter start-up and imports. *CPU s* is the CPU time (user + system, "
           "all threads) of that same call: it is much less sensitive than wall time to other processes. "
           f"*Best case* is rows / (CPU s / {cores}): the rate if the work spread perfectly over all {cores} idle "
           "cores — an upper bound. Peak RSS is the process's `ru_maxrss` (highest of the runs). "
           "*Load* is the 1-minute load average before each run: the machine was shared with other "
           f"benchmarks and test suites, and a load above {cores} means this benchmark got less than {cores} "
           "full cores, so wall times are pessimistic.", "",
           "| measurement | rows | wall s (median) | process s | rows/s (wall) | CPU s | best case rows/s | peak RSS | load |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in results:
        best = r["rows"] / (r["import_cpu"] / cores)
        out.append(f"| {r['label']} | {r['rows']:,} | {r['seconds']:.2f} | {r['wall']:.2f} | {r['rows_per_s']:,.0f} "
                   f"| {r['import_cpu']:.1f} | {best:,.0f} | {r['maxrss_mb'] / 1024:.1f} GiB "
                   f"| {', '.join(map(str, r['loads']))} |")
    out += ["", "Phase breakdown, wall s / CPU s (medians; from the `progress` callback: *setup* = lock, "
            "manifest, connection; *read* = encoding and header detection, CSV/Excel scan into the staging "
            "table; *validate* = typed columns, per-row checks, duplicate and customer checks, reconciliation "
            "count, SHA-256 of the file; *quarantine* = rejected rows to CSV; *write* = Parquet; *commit* = "
            "fsync, manifest switch, audit):", "",
            "| import | setup | read | validate | quarantine | write | commit |", "|---|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        if r["phases"]:
            p, c = r["phases"], r["phases_cpu"]
            cells = [f"{p.get(k, 0):.2f} / {c.get(k, 0):.2f}" for k in ("setup", "read", "validate", "quarantine", "write")]
            cells.append(f"{p.get('commit', 0) + p.get('end', 0):.2f} / {c.get('commit', 0) + c.get('end', 0):.2f}")
            out.append(f"| {r['label']} | " + " | ".join(cells) + " |")
    out += ["", "Rejected rows (the generated files carry ~0.5 % bad rows of ten kinds; every row is accounted for):", ""]
    for r in results:
        if r.get("by_reason"):
            reasons = ", ".join(f"{k} {v:,}" for k, v in r["by_reason"].items())
            out.append(f"- {r['label']}: {r['accepted']:,} accepted, {r['rejected']:,} rejected ({reasons})")
    if csv:
        best = csv["rows"] / (csv["import_cpu"] / cores)
        met = csv["rows_per_s"] >= TARGET_ROWS_PER_S
        verdict = (f"**Target (CSV import ≥ {TARGET_ROWS_PER_S:,} rows/s on this {cores}-core machine): "
                   f"{'met' if met else 'NOT met'}** — {csv['rows_per_s']:,.0f} rows/s measured for {csv['rows']:,} "
                   f"transactions, and even the best case on {cores} idle cores is {best:,.0f} rows/s "
                   f"({csv['import_cpu']:.0f} CPU s)")
        if base:
            bbest = base["rows"] / (base["import_cpu"] / cores)
            verdict += (f". The no-validation floor (DuckDB read_csv → Parquet) takes {base['import_cpu']:.1f} CPU s "
                        f"(best case {bbest:,.0f} rows/s), so the import costs {csv['import_cpu'] / base['import_cpu']:.1f}× "
                        f"the floor in CPU ({csv['seconds'] / base['seconds']:.1f}× in wall time)")
        out += ["", verdict + "."]
    if profile:
        out += ["", "### Where the time goes", "", profile]
    return "\n".join(out) + "\n"


def update_readme(section: str) -> None:
    text = README.read_text(encoding="utf-8") if README.exists() else "# Benchmarks\n"
    pattern = re.compile(r"^## Import throughput\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    README.write_text(text.rstrip("\n") + "\n", encoding="utf-8")


def main(argv: list[str]) -> None:
    if argv[:1] == ["_worker"]:
        sys.path.insert(0, str(REPO / "src"))
        print(json.dumps(worker(json.loads(argv[1]))))
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--customers", type=int, default=2_000_000, help="customers rows (default 2 M)")
    ap.add_argument("--rows", type=int, default=10_000_000, help="transactions CSV rows (default 10 M)")
    ap.add_argument("--xlsx-rows", type=int, default=1_000_000, help="transactions .xlsx rows (default 1 M)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--only", help="comma list of customers,csv,xlsx,baseline (default all)")
    ap.add_argument("--quick", action="store_true", help="200 k customers, 1 M rows, 100 k xlsx rows, 1 repeat; no README")
    ap.add_argument("--profile", action="store_true", help="also time every SQL statement of one in-process import")
    ap.add_argument("--profile-only", action="store_true", help="only the profile (printed, not written)")
    ap.add_argument("--profile-rows", type=int, default=2_000_000)
    ap.add_argument("--no-readme", action="store_true")
    ap.add_argument("--clean", action="store_true", help="remove bench/out/ws afterwards")
    args = ap.parse_args(argv)
    args.argv, args.is_default = argv, not argv
    if args.quick:
        args.customers, args.rows, args.xlsx_rows, args.repeat, args.no_readme = 200_000, 1_000_000, 100_000, 1, True
        args.profile_rows = min(args.profile_rows, 1_000_000)
    if args.profile_only:
        report = run_profile(args)
        print(report)
        (OUT / f"profile-{args.profile_rows}.md").write_text(report + "\n", encoding="utf-8")
        return
    args.code_start = import_code_fingerprint()
    results = run_suite(args)
    profile = run_profile(args) if args.profile else None
    if profile:
        print(profile)
    if not args.no_readme:
        update_readme(render(results, args, profile))
        print(f"wrote {README.relative_to(REPO)}")
    (OUT / "results.json").write_text(json.dumps(results, indent=2, default=str), encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1:])
