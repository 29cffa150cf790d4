"""A/B test of proposed speed-ups for the import path, without touching ``src/``.

Each variant monkeypatches the current code with one more proposed change (they are
cumulative), imports the same transactions file into a fresh copy of the customers
workspace in a fresh process, and checks that the result is identical to the current
code's: same accepted rows (order-sensitive checksum of the Parquet batch) and the same
rejections (checksum of the quarantine file).

    .venv/bin/python bench/import/experiments.py [--rows 2000000] [--repeat 1]

Variants (cumulative, on top of the code as it is now; commits 1b89a90 and 19cbd71, made
while this benchmark was being written, already added fast paths for ASCII text, ISO dates
and plain amounts, pipelined the typed columns into the checks, and replaced the
duplicate-key window sort with a hash aggregate):

``current``    the code as it is
``encoding``   ``detect_encoding`` finds the first non-ASCII byte with ``bytes.isascii`` /
               ``re.search`` instead of a Python loop over every byte of the file
``dates``      the date fast path also covers ``2024/1/5``, ``20240105``, ``2024-1-5``,
               ``2024-01-05 13:04`` and ``…T13:04:05``; a fast path for plain integers
``nopandas``   ``write_quarantine`` passes the row numbers as list parameters instead of
               registering a pyarrow table (``pa.table`` from numpy imports pandas: ~1 CPU s
               per process here, where PYTHONDONTWRITEBYTECODE=1 means no cached bytecode)
``dedupe``     (kept for reference, now in 19cbd71) duplicate keys by ``GROUP BY … HAVING``
``nosort``     NOT a proposal, a measurement: the final COPY without ``ORDER BY _rec``, to
               show what the sort costs ("same result" tells whether the order survived)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import run as bench  # noqa: E402  (the benchmark module: data generation, workspace template)

VARIANTS = ["current", "encoding", "dates", "nopandas", "nosort"]  # see also "dedupe" (PATCHES)


# =============================================================================== the proposed changes
def patch_encoding():
    import codecs

    from tierwise.errors import SourceReadError
    from tierwise.ingest import encoding, sources

    non_ascii = re.compile(rb"[\x80-\xff]")

    def detect_encoding(path: Path) -> str:
        with open(path, "rb") as fh:
            head = fh.read(len(encoding.BOM))
            if head == encoding.BOM:
                return "utf-8-sig"
            fh.seek(0)
            while True:
                block = fh.read(encoding._PROBE)
                if not block:
                    return "utf-8"
                if block.isascii():  # C speed; the common case
                    continue
                first = non_ascii.search(block).start()
                # --- unchanged from here ---
                window = block[first:first + 4096]
                more = fh.read(8)
                window = (window + more) if len(block) - first <= 4096 else window
                try:
                    codecs.getincrementaldecoder("utf-8")().decode(window, final=False)
                    return "utf-8"
                except UnicodeDecodeError as exc:
                    if exc.start >= len(window) - 3:
                        return "utf-8"
                try:
                    codecs.getincrementaldecoder("gb18030")().decode(window, final=False)
                    return "gb18030"
                except UnicodeDecodeError:
                    raise SourceReadError(f"{path}: cannot read the text") from None

    encoding.detect_encoding = detect_encoding
    sources.detect_encoding = detect_encoding


ISO = r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}( [0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?|T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?)?"
SLASH = r"[0-9]{4}/[0-9]{1,2}/[0-9]{1,2}( [0-9]{2}:[0-9]{2}(:[0-9]{2})?)?"


def patch_dates():
    from tierwise.ingest import values as V

    general_ts, general_int = V.timestamp, V.integer

    def timestamp(v: str) -> str:
        fast = (f"CASE WHEN regexp_full_match({v}, '{ISO}') THEN try_cast({v} AS TIMESTAMP) "
                f"WHEN regexp_full_match({v}, '{SLASH}') THEN try_cast(replace({v}, '/', '-') AS TIMESTAMP) "
                f"WHEN regexp_full_match({v}, '[0-9]{{8}}') "
                f"THEN try_cast(substr({v}, 1, 4) || '-' || substr({v}, 5, 2) || '-' || substr({v}, 7, 2) AS TIMESTAMP) END")
        return f"coalesce({fast}, {general_ts(v)})"

    def date(v: str) -> str:
        return f"CAST({timestamp(v)} AS DATE)"

    def integer(v: str) -> str:
        fast = f"CASE WHEN regexp_full_match({v}, '-?[0-9]{{1,18}}') THEN try_cast({v} AS BIGINT) END"
        return f"coalesce({fast}, {general_int(v)})"

    V.timestamp, V.date, V.integer = timestamp, date, integer
    V.PARSERS.update(timestamp=timestamp, date=date, integer=integer)


def patch_dedupe():
    import tierwise.app.importing as importing
    from tierwise.ingest import validate
    from tierwise.ingest.validate import first_failure, q, row_checks, sql_str

    def build_checked(con, stage, table, mapping, *, returns, today, future_tolerance_days, min_year, max_year,
                      existing_sql, customers_sql):
        selects, checks = row_checks(table, mapping, returns=returns, today=today,
                                     future_tolerance_days=future_tolerance_days, min_year=min_year, max_year=max_year)
        reason, column, source_column, value = first_failure(checks, mapping)
        cols = [c.name for c in table.columns]
        # parse and check in one pass; materialise only the narrow result (it is read twice below)
        con.execute(f"""CREATE OR REPLACE TEMP TABLE {stage}_pass1 AS
            SELECT _rec, {', '.join(q(c) for c in cols)},
                   {reason} AS _reason, {column} AS _column, {source_column} AS _source_column, {value} AS _value
            FROM (SELECT _rec, {', '.join(selects)} FROM {stage})""")
        key = [k for k in table.key if k in mapping.columns]
        full_key = len(key) == len(table.key) and key
        stage2_cases, joins = [], []
        if full_key:
            key_cols = ", ".join(q(k) for k in key)
            present = f" AND {q(key[0])} IS NOT NULL" if len(key) == 1 else ""
            on = " AND ".join(f"p.{q(k)} IS NOT DISTINCT FROM d.{q(k)}" for k in key)
            # only the keys that occur more than once: a small table, instead of a window over every row
            joins.append(f"LEFT JOIN (SELECT {key_cols}, min(_rec) AS _first FROM {stage}_pass1 "
                         f"WHERE _reason IS NULL{present} GROUP BY ALL HAVING count(*) > 1) d ON {on}")
            stage2_cases.append(("p._rec > d._first", "duplicate_in_file", key[0]))
            if existing_sql:
                on_e = " AND ".join(f"p.{q(k)} IS NOT DISTINCT FROM e.{q(k)}" for k in key)
                joins.append(f"LEFT JOIN (SELECT DISTINCT {key_cols}, TRUE AS _hit FROM ({existing_sql})) e ON {on_e}")
                stage2_cases.append(("e._hit", "duplicate_existing", key[0]))
        if table.customer_ref and customers_sql:
            joins.append(f"LEFT JOIN (SELECT DISTINCT customer_id, TRUE AS _known FROM ({customers_sql})) c "
                         f"ON p.customer_id = c.customer_id")
            stage2_cases.append(("c._known IS NULL", "unknown_customer", "customer_id"))
        if not stage2_cases:
            con.execute(f"ALTER TABLE {stage}_pass1 RENAME TO {stage}_checked")
            return f"{stage}_checked"

        def case(pick) -> str:
            return ("CASE WHEN p._reason IS NOT NULL THEN " + pick(None) + " "
                    + " ".join(f"WHEN {cond} THEN {pick((r, col))}" for cond, r, col in stage2_cases) + " END")

        reason2 = case(lambda rc: "p._reason" if rc is None else sql_str(rc[0]))
        column2 = case(lambda rc: "p._column" if rc is None else sql_str(rc[1]))
        source2 = case(lambda rc: "p._source_column" if rc is None else sql_str(mapping.columns[rc[1]]))
        value2 = case(lambda rc: "p._value" if rc is None else f"CAST(p.{q(rc[1])} AS VARCHAR)")
        con.execute(f"""CREATE OR REPLACE TEMP TABLE {stage}_checked AS
            SELECT p._rec, {', '.join('p.' + q(c) for c in cols)},
                   {reason2} AS _reason, {column2} AS _column, {source2} AS _source_column, {value2} AS _value
            FROM {stage}_pass1 p {' '.join(joins)}""")
        con.execute(f"DROP TABLE {stage}_pass1")
        return f"{stage}_checked"

    validate.build_checked = build_checked
    importing.build_checked = build_checked


def patch_nopandas():
    import types

    import tierwise.app.importing as importing
    from tierwise.ingest import quarantine

    original = quarantine.write_quarantine
    # building a pyarrow table from numpy arrays (pa.table) imports pandas (~1 CPU s without .pyc files)
    quarantine.pa = types.SimpleNamespace(table=lambda columns: columns)

    class _NoArrow:
        """Connection wrapper: ``register(name, {column: numpy array})`` becomes a list-parameter insert."""

        def __init__(self, con):
            self._con = con

        def register(self, name, columns):
            self._con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT "
                              + ", ".join(f"unnest(?::BIGINT[]) AS {c}" for c in columns),
                              [v.tolist() for v in columns.values()])

        def unregister(self, name):
            self._con.execute(f"DROP TABLE IF EXISTS {name}")

        def __getattr__(self, name):
            return getattr(self._con, name)

    def write_quarantine(con, *a, **kw):
        return original(_NoArrow(con), *a, **kw)

    quarantine.write_quarantine = write_quarantine
    importing.write_quarantine = write_quarantine


def patch_nosort():
    import tierwise.app.importing as importing

    orig = importing.connect_duckdb

    class _NoSort:
        def __init__(self, con):
            self._con = con

        def execute(self, sql, *params):
            return self._con.execute(sql.replace("WHERE _reason IS NULL ORDER BY _rec)", "WHERE _reason IS NULL)"),
                                     *params)

        def __getattr__(self, name):
            return getattr(self._con, name)

    importing.connect_duckdb = lambda *a, **kw: _NoSort(orig(*a, **kw))


PATCHES = {"encoding": patch_encoding, "dates": patch_dates, "dedupe": patch_dedupe,
           "nopandas": patch_nopandas, "nosort": patch_nosort}



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
    qsum = None
    if qfile:  # the message column is left out: for "too few fields" it names a random one of the
        # missing columns (DuckDB logs one reject per missing column; the code keeps the first by line only)
        import csv

        h = hashlib.sha256()
        with open(qfile, encoding="utf-8-sig", newline="") as fh:
            for row in csv.reader(fh):
                h.update(repr(row[:5] + row[6:]).encode())
        qsum = h.hexdigest()[:16]
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
