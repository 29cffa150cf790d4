"""Does a change to the import code change any accepted value or quarantine row? An A/B check.

Compares the code in ``src/`` with a reference: the same code with the import files named
by ``--files`` taken from an older copy of the package (``--ref``, by default
``bench/out/ref-src``: make one with ``cp -a src/tierwise bench/out/ref-src/`` before
changing the code). So only those files differ between the two runs, even while other
parts of the package move on:

    .venv/bin/python bench/import/identity.py tests [PYTEST ARGS]   # default: tests/ingest tests/app/test_demo.py
    .venv/bin/python bench/import/identity.py bench [--sizes quick|full]

``tests`` runs the tests twice, once on each version of the code, with
``identity_plugin`` recording every import they make (reconciliation, accepted rows with
their personal fields, quarantine bytes), and compares the records one by one.

``bench`` imports the benchmark files (``run.py`` generates them) with each version, each in
a fresh process and workspace, and compares the reconciliation, an order-sensitive checksum
of every accepted value (personal fields opened from the vault) and the SHA-256 of the
quarantine file. ``quick``: 200 k customers, 1 M transactions, 100 k-row workbook; ``full``
adds 2 M customers, 2 M and 10 M transactions and the 1 M-row workbook.

Exit status 0 when everything is identical, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import run as bench  # noqa: E402  (data generation, workspace templates)

REPO = bench.REPO
DEFAULT_REF = bench.OUT / "ref-src"
#: the files of the import path (relative to the package) swapped in from the reference copy
DEFAULT_FILES = ["ingest/values.py", "ingest/validate.py", "ingest/sources.py", "ingest/quarantine.py",
                 "ingest/encoding.py", "app/importing.py"]


def snapshot(name: str, ref: Path | None = None, files: list[str] = ()) -> Path:
    """A copy of today's package under ``bench/out/identity-<name>`` (so that edits made while the
    comparison runs change neither side), with ``files`` taken from ``ref``."""
    dest = bench.OUT / f"identity-{name}"
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(REPO / "src" / "tierwise", dest / "tierwise",
                    ignore=shutil.ignore_patterns("__pycache__"))
    for f in files:
        shutil.copy2(ref / "tierwise" / f, dest / "tierwise" / f)
    return dest
VOLATILE = {"seconds", "started_at", "finished_at"}


# =============================================================================== tests
def compare_tests(ref: Path, cur: Path, pytest_args: list[str]) -> bool:
    logs = {}
    for name, code in (("reference", ref), ("current", cur)):
        log = bench.OUT / f"identity-{name}.jsonl"
        log.unlink(missing_ok=True)
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(code), str(HERE)]), TIERWISE_IDENTITY_LOG=str(log))
        # the same seed on both sides, so that property-based tests make the same examples
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "identity_plugin", "-p", "no:cacheprovider",
               "--continue-on-collection-errors", "--hypothesis-seed=20261123", *pytest_args]
        print(f"{name}: {' '.join(cmd[2:])} (code from {code})", flush=True)
        done = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, errors="replace")
        report = bench.OUT / f"identity-{name}-pytest.txt"
        report.write_text(done.stdout + done.stderr, encoding="utf-8")
        print("   ", (done.stdout.strip().split("\n") or ["(no output)"])[-1], f"(output in {report})", flush=True)
        logs[name] = [json.loads(line) for line in log.read_text(encoding="utf-8").split("\n") if line]
    a, b = ({(e["test"], e["call"]): e for e in logs[k]} for k in ("reference", "current"))
    identical, other_input, different = 0, [], 0
    for key in sorted(set(a) | set(b)):
        ea, eb = a.get(key, {}), b.get(key, {})
        if ea and eb and ea.get("input") != eb.get("input"):
            # a property-based test drew other data, or a workbook was written differently: not comparable
            other_input.append(key)
            continue
        if ea == eb:
            identical += 1
            continue
        different += 1
        print(f"DIFFERENT: {key[0]} (import #{key[1]})")
        for field in sorted(set(ea) | set(eb)):
            if ea.get(field) != eb.get(field):
                print(f"   {field}:\n      reference {json.dumps(ea.get(field), ensure_ascii=False)[:400]}\n"
                      f"      current   {json.dumps(eb.get(field), ensure_ascii=False)[:400]}")
    tests = sorted({k[0].rsplit("::", 1)[-1] for k in other_input})
    print(f"{len(a)} imports recorded on the reference, {len(b)} on the current code: {identical} identical, "
          f"{different} different or missing; {len(other_input)} not comparable because the input differed "
          f"between the runs ({', '.join(tests) or 'none'})")
    print("identical" if not different else "NOT identical")
    return not different


# =============================================================================== benchmark files
def worker(spec: dict) -> dict:
    """Import one file in this process (the code comes from PYTHONPATH); return the digests."""
    import hashlib
    from datetime import date

    import duckdb

    from tierwise.app.importing import import_table
    from tierwise.app.personal import personal_fields
    from tierwise.app.workspace import open_workspace
    from tierwise.canonical import TABLES

    ws = open_workspace(spec["workspace"])
    table = TABLES[spec["table"]]
    rec = import_table(ws, table.name, spec["file"], today=date.fromisoformat(spec["today"]))
    out = {"reconciliation": {k: v for k, v in rec.items() if k not in VOLATILE | {"quarantine"}},
           "code": __import__("tierwise").__file__}
    con = duckdb.connect()

    def checksum(files: list[str], cols: list[str]) -> list:
        # every value, in file order: each row's hash times its position, summed as an exact integer
        return list(con.execute(
            f"SELECT count(*), sum(hash({', '.join(cols)})::HUGEINT * (file_row_number + 1))::VARCHAR "
            f"FROM read_parquet({files!r}, file_row_number = true)").fetchone())

    batch = ws.data.batch_dir(table.name, rec["import_id"])
    files = sorted(str(p) for p in batch.glob("part-*.parquet"))
    assert len(files) == 1, files
    out["rows"] = checksum(files, [c.name for c in table.columns if not c.personal])
    if table.personal_columns():
        import pyarrow.parquet as pq

        clear = personal_fields(ws, table=table.name)
        pq.write_table(clear, batch.parent / "_clear.parquet")
        out["personal"] = checksum([str(batch.parent / "_clear.parquet")], clear.column_names)
    if rec.get("quarantine"):
        out["quarantine_sha256"] = hashlib.sha256(Path(rec["quarantine"]).read_bytes()).hexdigest()
    return out


def scenarios(sizes: str) -> list[tuple[str, str, Path, Path | None]]:
    """(label, table, file, workspace template or None for a fresh one)."""
    plan = [(200_000, 1_000_000, 100_000)] + ([(2_000_000, 2_000_000, 1_000_000), (2_000_000, 10_000_000, None)]
                                              if sizes == "full" else [])
    out = []
    for n_cust, n_txn, n_xlsx in plan:
        cust = bench.customers_csv(n_cust)
        tpl = bench.customers_template(cust)
        if not any(s[2] == cust for s in out):
            out.append((f"customers CSV {n_cust:,}", "customers", cust, None))
        out.append((f"transactions CSV {n_txn:,}", "transactions", bench.transactions_csv(n_txn, n_cust), tpl))
        if n_xlsx:
            out.append((f"transactions xlsx {n_xlsx:,}", "transactions", bench.transactions_xlsx(n_xlsx, n_cust), tpl))
    return out


def compare_bench(ref: Path, cur: Path, sizes: str) -> bool:
    same = True
    for label, table, file, tpl in scenarios(sizes):
        results = {}
        for name, code in (("reference", ref), ("current", cur)):
            ws = bench.fresh_workspace(tpl, f"identity-{name}")
            spec = {"workspace": str(ws), "table": table, "file": str(file), "today": bench.TODAY.isoformat()}
            env = dict(os.environ, PYTHONPATH=str(code))
            done = subprocess.run([sys.executable, __file__, "_worker", json.dumps(spec)], cwd=REPO, env=env,
                                  capture_output=True, text=True)
            shutil.rmtree(ws, ignore_errors=True)
            Path(f"{ws}.key").unlink(missing_ok=True)
            if done.returncode:
                raise RuntimeError(f"{label} on the {name} code failed:\n{done.stderr[-3000:]}")
            results[name] = json.loads(done.stdout.strip().splitlines()[-1])
            if not results[name].pop("code").startswith(str(code)):
                raise RuntimeError(f"the {name} run did not use the code in {code}")
        ok = results["reference"] == results["current"]
        same &= ok
        rec = results["current"]["reconciliation"]
        print(f"{'identical' if ok else 'NOT IDENTICAL'}: {label}: {rec['accepted']:,} accepted, "
              f"{rec['rejected']:,} rejected", flush=True)
        if not ok:
            for field in results["reference"]:
                if results["reference"][field] != results["current"].get(field):
                    print(f"   {field}: reference {results['reference'][field]}\n"
                          f"   {' ' * len(field)}  current   {results['current'].get(field)}")
    return same


def main(argv: list[str]) -> int:
    if argv[:1] == ["_worker"]:
        print(json.dumps(worker(json.loads(argv[1])), default=str))
        return 0
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("what", choices=["tests", "bench"])
    ap.add_argument("--ref", type=Path, default=DEFAULT_REF, help="folder holding the reference tierwise package")
    ap.add_argument("--files", default=",".join(DEFAULT_FILES),
                    help="comma list of package files taken from the reference (default: the import path)")
    ap.add_argument("--sizes", choices=["quick", "full"], default="quick")
    args, rest = ap.parse_known_args(argv)
    if not (args.ref / "tierwise" / "__init__.py").exists():
        ap.error(f"no reference package in {args.ref} (cp -a src/tierwise {args.ref}/)")
    files = [f for f in args.files.split(",") if f]
    for f in files:
        if not (args.ref / "tierwise" / f).exists():
            ap.error(f"{args.ref}/tierwise/{f} does not exist")
    ref = snapshot("ref", args.ref.resolve(), files)
    cur = snapshot("cur")
    print(f"reference: src/ with {', '.join(files)} from {args.ref}; current: src/ as it is now", flush=True)
    if args.what == "tests":
        same = compare_tests(ref, cur, rest or ["tests/ingest", "tests/app/test_demo.py"])
    else:
        same = compare_bench(ref, cur, args.sizes)
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
