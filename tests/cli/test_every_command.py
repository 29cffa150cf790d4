"""Every command of ``tierwise`` through its real entry point (issue #9).

Each command runs as ``python -m tierwise …`` in a subprocess on a small real workspace: its
effect is checked against answers read independently (the snapshot's and the data area's
Parquet with pyarrow, the operational store with :mod:`sqlite3`, or hand-computed for a
five-customer workspace), and at least one mistake per command must end with the documented
exit code and one ``error:`` line (plus a hint), never a traceback.

``COVERAGE`` names, for every command of the Typer app, the tests that run it. The last test
checks the table against what the subprocesses really ran, and a table test fails as soon as
a command exists that the table does not name, so no new command slips in untested.

The workspaces are built once per module: the bank demo (200 customers, two monthly runs) by
``tierwise demo`` itself, and a five-customer retail workspace by ``init`` and ``import``.
Tests that write work on a copy. Independent subprocesses run two at a time.
"""

from __future__ import annotations

import csv
import fcntl
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import typer

from tierwise.cli.main import app

ROOT = typer.main.get_command(app)

# command path → (the tests where it succeeds, the tests where a mistake ends with a message), every one as a
# subprocess. "tests/…::name" entries are other modules' subprocess tests, referenced instead of repeated.
READS, MISTAKES = "test_read_commands_json_equals_the_workspace", "test_read_command_mistakes"
SERVICING, USERS, UPGRADE = "test_servicing", "test_users", "test_upgrade_exports_and_campaigns"
OVERRIDES, BACKUP, RERUN = "test_overrides_and_whatif", "test_backup_restore_and_keys", \
    "test_a_rerun_and_a_busy_workspace_exits_5"
COVERAGE: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "demo": (("demo",), ("test_demo_built_a_whole_workspace",)),
    "init": (("small",), ("test_init_and_import_mistakes",)),
    "import": (("small",), ("test_init_and_import_mistakes", RERUN)),
    "status": (("test_status_equals_the_data_area", READS), ("test_status_equals_the_data_area", MISTAKES)),
    "segments": (("test_segments_and_a_run_of_five_customers",), ("test_segments_and_a_run_of_five_customers",)),
    "run": (("test_segments_and_a_run_of_five_customers", RERUN), (RERUN,)),
    "explain": ((READS,), (MISTAKES,)),
    "whatif": ((OVERRIDES,), (OVERRIDES,)),
    "tiers distribution": ((READS,), (MISTAKES,)),
    "tiers migration": ((READS,), (MISTAKES,)),
    "override request": ((OVERRIDES,), (OVERRIDES,)),
    "override approve": ((OVERRIDES,), (OVERRIDES,)),
    "override reject": ((OVERRIDES,), (OVERRIDES,)),
    "override list": ((READS, OVERRIDES), (MISTAKES,)),
    "upgrade candidates": ((READS,), (MISTAKES,)),
    "upgrade products": ((READS,), (MISTAKES,)),
    "upgrade export-products": ((UPGRADE,), (UPGRADE,)),
    "upgrade campaign create": ((UPGRADE,), (UPGRADE,)),
    "upgrade campaign start": ((UPGRADE,), (UPGRADE,)),
    "upgrade campaign evaluate": ((UPGRADE,), (UPGRADE,)),
    "report": (("test_report_and_export",), ("tests/cli/test_report_cli.py::test_mistakes_exit_2_with_a_message",)),
    "export": (("test_report_and_export",), ("tests/cli/test_report_cli.py::test_mistakes_exit_2_with_a_message",)),
    "serve": (("test_serve_answers_then_stops",), ("test_serve_answers_then_stops",)),
    "users add": ((USERS,), (USERS,)),
    "users list": ((READS, USERS), (MISTAKES,)),
    "users set": ((USERS,), (USERS,)),
    "users disable": ((USERS,), (USERS,)),
    "users enable": ((USERS,), (USERS,)),
    "users reset-password": ((USERS,), (USERS,)),
    "backup": ((BACKUP,), (BACKUP,)),
    "restore": ((BACKUP,), (BACKUP,)),
    "audit verify": ((READS,), ("test_an_altered_audit_log_exits_6",)),
    "audit list": ((READS,), (MISTAKES,)),
    "key generate": ((BACKUP,), (BACKUP,)),
    "key check": ((READS, BACKUP), (BACKUP,)),
    "key rotate": ((BACKUP,), (BACKUP,)),
    "assign": ((SERVICING,), (SERVICING,)),
    "managers import": ((SERVICING,), (SERVICING,)),
    "managers derive": ((SERVICING,), (MISTAKES,)),
    "managers list": ((READS, SERVICING), (MISTAKES,)),
    "managers leave": ((SERVICING,), (SERVICING,)),
    "managers unassigned": ((READS, SERVICING), (MISTAKES,)),
    "tasks generate": ((SERVICING,), (SERVICING,)),
    "tasks list": ((READS, SERVICING), (MISTAKES,)),
    "tasks complete": ((SERVICING,), (SERVICING,)),
    "tasks export": ((SERVICING,), (SERVICING,)),
    "tasks contacts": ((SERVICING,), (SERVICING,)),
    "tasks compliance": ((READS,), (MISTAKES,)),
    "tasks escalate": ((SERVICING,), (SERVICING,)),
    "outbox send": ((SERVICING,), (SERVICING,)),
    "outbox export": ((SERVICING,), (SERVICING,)),
    "outbox list": ((READS,), (MISTAKES,)),
}

# the exit codes documented in tierwise.cli.main, and where a subprocess test provokes each
EXIT_CODES: dict[int, tuple[str, ...]] = {
    0: (READS,),
    1: (),   # a bug: nothing provokes it on purpose, and the last test fails if any command exits 1
    2: (MISTAKES, "test_init_and_import_mistakes"),
    3: ("test_init_and_import_mistakes",),
    # no CLI command exits 4: a value model that does not converge is recorded in the run (models.json) and
    # the tiers go on; test_segments_and_a_run_of_five_customers checks that record on five customers
    4: ("test_segments_and_a_run_of_five_customers",),
    5: ("test_a_rerun_and_a_busy_workspace_exits_5",),
    6: ("test_an_altered_audit_log_exits_6",),
    # no CLI command exits 7: the CLI acts as the workspace's owner and has no login; the errors behind 7
    # (AuthenticationError, PermissionDeniedError) reach people as HTTP 401/403 (tests/api/test_auth.py)
    7: (),
    8: ("tests/app/test_storage_faults.py::test_disk_full_run_and_import",
        "tests/app/test_storage_faults.py::test_read_only_workspace"),
}

# ------------------------------------------------------------------ running the real entry point

CALLS: list[dict] = []          # every subprocess: the test that ran it, its command path, exit code, stderr
RAN: set[str] = set()           # the tests (and module fixtures) of this module that ran in this session
_current = {"test": "?"}
_env: dict[str, str] = {}


def _prepare_env(cache: Path) -> None:
    env = dict(os.environ, TIERWISE_LANG="en", PYTHONUNBUFFERED="1")
    if env.pop("PYTHONDONTWRITEBYTECODE", None):
        # with no bytecode cache every interpreter recompiles ~4,000 modules (seconds a command here);
        # a private cache folder keeps the venv untouched and changes nothing the command does
        env["PYTHONPYCACHEPREFIX"] = str(cache)
    _env.clear()
    _env.update(env)


@pytest.fixture(scope="module", autouse=True)
def _subprocess_env():
    import tempfile
    _prepare_env(Path(tempfile.gettempdir()) / f"tierwise-pycache-{os.getuid()}")


@pytest.fixture(autouse=True)
def _name_calls(request):
    _current["test"] = request.node.name
    RAN.add(request.node.name)


def command_path(args) -> str:
    """The command an argument list runs (``tasks list`` for ``tasks list DIR --json``)."""
    cmd, path = ROOT, []
    for a in args:
        if hasattr(cmd, "commands") and a in cmd.commands:
            path.append(a)
            cmd = cmd.commands[a]
        else:
            break
    return " ".join(path)


def tw(*args, env: dict | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    """``python -m tierwise ARGS`` in a subprocess, in English; recorded for the coverage check."""
    args = [str(a) for a in args]
    started = time.perf_counter()
    res = subprocess.run([sys.executable, "-m", "tierwise", *args], capture_output=True, text=True,
                         env={**_env, **(env or {})}, timeout=timeout)
    CALLS.append({"test": _current["test"], "command": command_path(args), "rc": res.returncode,
                  "stderr": res.stderr, "seconds": round(time.perf_counter() - started, 2), "args": args})
    if os.environ.get("TW_CALL_LOG"):        # TW_CALL_LOG=FILE: where the time goes, one line a command
        with open(os.environ["TW_CALL_LOG"], "a", encoding="utf-8") as fh:
            fh.write(f"{CALLS[-1]['seconds']:7.2f} {res.returncode} {_current['test']} {' '.join(args)[:150]}\n")
    return res


def tw_all(*calls) -> list[subprocess.CompletedProcess]:
    """Independent commands, two at a time (the machine has two cores), results in order."""
    test = _current["test"]

    def one(args):
        _current["test"] = test
        return tw(*args)
    with ThreadPoolExecutor(2) as pool:
        return list(pool.map(one, calls))


def ok(res: subprocess.CompletedProcess):
    """The parsed ``--json`` output of a command that must succeed."""
    assert res.returncode == 0, (res.args[3:], res.returncode, res.stderr[-3000:])
    assert "Traceback" not in res.stderr
    return json.loads(res.stdout)


def fails(res: subprocess.CompletedProcess, code: int, *texts: str) -> str:
    """Exit ``code`` with one ``error:`` line (a hint and located details may follow), no traceback."""
    err = res.stderr
    assert res.returncode == code, (res.args[3:], res.returncode, res.stdout[-2000:], err[-2000:])
    assert "Traceback" not in err + res.stdout, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines, f"{res.args[3:]}: no message"
    if lines[0].startswith("Usage: "):           # a usage mistake that click finds before the command runs
        assert lines[-1].startswith("Error: ") and len(lines) <= 4, err
    else:
        assert lines[0].startswith("error: ") and sum(x.startswith("error: ") for x in lines) == 1, err
        assert all(x.startswith(("error: ", "hint: ", " ")) for x in lines), err
    flat = " ".join(err.split())
    for text in texts:
        assert text in flat, (text, err)
    return flat


# ------------------------------------------------------------------ independent readers

def manifest(ws: Path) -> dict:
    return json.loads((ws / "data" / "manifest.json").read_text(encoding="utf-8"))


def data_rows(ws: Path, table: str) -> int:
    """Rows of a canonical table: its current batches' Parquet parts, counted by pyarrow."""
    return sum(pq.read_metadata(p).num_rows for batch in manifest(ws)["current"].get(table, [])
               for p in (ws / "data" / table / batch).glob("part-*.parquet"))


def runs(ws: Path) -> list[dict]:
    return json.loads((ws / "snapshots" / "index.json").read_text(encoding="utf-8"))["runs"]


def snapshot(ws: Path, run_id: str, name: str = "customers"):
    return pq.read_table(ws / "snapshots" / run_id / f"{name}.parquet")


def sql(ws: Path, query: str, *params) -> list[tuple]:
    with sqlite3.connect(ws / "store.db") as con:
        return con.execute(query, params).fetchall()


def copy_ws(src: Path, dst: Path) -> Path:
    """A copy of a workspace (its settings still name the original's key file, beside the original)."""
    shutil.copytree(src, dst)
    return dst


# ------------------------------------------------------------------ the two workspaces

@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> tuple[Path, dict]:
    """``tierwise demo``: the bank preset through the messy Chinese export, 200 customers, two monthly runs."""
    _current["test"] = "demo"
    RAN.add("demo")
    root = tmp_path_factory.mktemp("every") / "bank"
    res = tw("demo", root, "--customers", 200, "--seed", 5, "--months", 2, "--json")
    return root, ok(res)


CUSTOMERS = """customer_id,name,phone,birthday,open_date,manager_id,branch_id
C1,Ann,13800000001,1980-03-01,2023-01-05,M1,B1
C2,Bob,13800000002,1975-07-15,2023-02-10,M1,B1
C3,Cat,13800000003,1990-12-24,2023-03-15,M2,B1
C4,Dan,13800000004,1985-05-05,2024-11-20,M2,B1
C5,Eve,13800000005,1970-01-30,2022-06-01,M1,B1
"""
# revenue in 2024: C1 6,000 (three days), C2 1,200, C3 300, C4 none, C5 25,000 (two days) = 32,500
TRANSACTIONS = """customer_id,txn_time,amount,product_id
C1,2024-02-01 10:00:00,2000.00,P1
C1,2024-06-01 10:00:00,2500.00,P1
C1,2024-11-15 10:00:00,1500.00,P2
C2,2024-09-10 12:00:00,1200.00,P1
C3,2024-12-20 09:30:00,300.00,P3
C5,2024-03-03 15:00:00,20000.00,P2
C5,2024-10-10 15:00:00,5000.00,P2
"""


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> dict:
    """A retail workspace of five hand-written customers, made by ``init`` and ``import``."""
    _current["test"] = "small"
    RAN.add("small")
    root = tmp_path_factory.mktemp("every-small")
    (root / "c.csv").write_text(CUSTOMERS, encoding="utf-8")
    (root / "t.csv").write_text(TRANSACTIONS, encoding="utf-8")
    ws = root / "shop"
    made = ok(tw("init", ws, "--preset", "retail", "--json"))
    customers = ok(tw("import", ws, "customers", root / "c.csv", "--json"))
    transactions = ok(tw("import", ws, "transactions", root / "t.csv", "--today", "2025-01-01", "--json"))
    return {"ws": ws, "root": root, "init": made, "customers": customers, "transactions": transactions}


# ------------------------------------------------------------------ the tests

def test_demo_built_a_whole_workspace(demo, tmp_path):
    root, summary = demo
    assert [r["as_of"] for r in summary["runs"]] == ["2024-11-30", "2024-12-31"]
    assert [r["run_id"] for r in summary["runs"]] == [r["run_id"] for r in runs(root)]
    for r in summary["runs"]:
        snap = snapshot(root, r["run_id"])
        assert r["customers"] == snap.num_rows == 200
        assert r["tiers"] == dict(Counter(snap["tier"].to_pylist()))
    for rec in summary["imports"]:        # what each import accepted is what its batch holds
        parts = (root / "data" / rec["table"] / rec["import_id"]).glob("part-*.parquet")
        assert rec["accepted"] == sum(pq.read_metadata(p).num_rows for p in parts), rec
    assert sum(rec["rejected"] for rec in summary["imports"]) >= 6       # the planted bad rows
    assert Path(summary["report"]).read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert Path(summary["export"]).read_bytes()[:2] == b"PK"
    assert summary["admin"]["username"] == "admin" and len(summary["admin"]["one_time_password"]) >= 12

    fails(tw("demo", tmp_path / "d", "--preset", "bnak"), 2, "unknown preset", "did you mean 'bank'?")
    assert not (tmp_path / "d").exists()
    fails(tw("demo", root, "--months", 1), 2, "already a tierwise workspace")


def test_init_and_import_mistakes(small, tmp_path):
    ws, made = small["ws"], small["init"]
    assert made["preset"] == "retail" and Path(made["key_file"]) == ws.resolve().parent / "shop.key"
    assert (ws / "policy.yaml").read_text(encoding="utf-8").startswith("# tierwise policy — retail")
    assert sql(ws, "SELECT username, role, must_change_password FROM users") == [("admin", "admin", 1)]
    c, t = small["customers"], small["transactions"]
    assert (c["rows_read"], c["accepted"], c["rejected"]) == (5, 5, 0)
    assert (t["rows_read"], t["accepted"], t["rejected"]) == (7, 7, 0)

    bad_header = tmp_path / "h.csv"
    bad_header.write_text("custmer_id,name\nC9,x\n", encoding="utf-8")
    refused = tmp_path / "r.csv"          # 2 of 3 rows bad: far above the 5 % the policy allows
    refused.write_text("customer_id,txn_time,amount\nC1,2024-05-01,10\nC1,notadate,5\nC77,2024-05-02,7\n",
                       encoding="utf-8")
    # imports into one workspace wait for each other (the writer lock): one of them per parallel pair
    again, header = tw_all(("init", ws, "--preset", "retail"), ("import", ws, "customers", bad_header))
    preset, too_bad = tw_all(("init", tmp_path / "x", "--preset", "retial"),
                             ("import", ws, "transactions", refused, "--today", "2025-01-01"))
    no_ws, table = tw_all(("import", tmp_path / "nows", "customers", small["root"] / "c.csv"),
                          ("import", ws, "custmers", small["root"] / "c.csv"))
    fails(again, 2, "already a tierwise workspace")
    fails(preset, 2, "did you mean 'retail'?")
    fails(header, 2, "required column of table 'customers' not found", "is it 'custmer_id'?")
    fails(too_bad, 3, "import refused", "nothing was changed")
    assert "unparseable" in too_bad.stdout and "unknown_customer" in too_bad.stdout
    fails(table, 2, "did you mean 'customers'?")
    fails(no_ws, 2, "no such folder")
    fails(tw("import", ws, "customers", small["root"] / "c.csv", "--mode", "merge"), 2, "unknown import mode")
    fails(tw("import", ws, "customers", tmp_path / "missing.csv"), 2, "file not found")
    assert data_rows(ws, "transactions") == 7 and data_rows(ws, "customers") == 5      # nothing changed


def test_status_equals_the_data_area(small, tmp_path):
    ws = small["ws"]
    (tmp_path / "plain").mkdir()
    info, not_ws = tw_all(("status", ws, "--json"), ("status", tmp_path / "plain"))
    info = ok(info)
    for table, t in info["tables"].items():
        assert t["rows"] == data_rows(ws, table), table
        assert t["imports"] == manifest(ws)["current"].get(table, [])
    assert (info["tables"]["customers"]["rows"], info["tables"]["transactions"]["rows"]) == (5, 7)
    fails(not_ws, 2, "not a tierwise workspace")


def test_segments_and_a_run_of_five_customers(small, tmp_path):
    ws = small["ws"]
    other = copy_ws(ws, tmp_path / "shop2")           # the same workspace with a misspelt segment map
    policy = other / "policy.yaml"
    policy.write_text(policy.read_text(encoding="utf-8").replace("map: en11", "map: en12"), encoding="utf-8")
    seg, typo, run, bad_map = tw_all(
        ("segments", ws, "--as-of", "2024-12-31", "--json"),
        ("segments", ws, "--as-of", "2024-12-31", "--by", "abc_clas"),
        ("run", ws, "--as-of", "2024-12-31", "--json"),
        ("segments", other, "--as-of", "2024-12-31"),
    )
    seg = ok(seg)
    assert seg["as_of"] == "2024-12-31" and seg["customers"] == 5
    for name, rows in seg["summaries"].items():
        assert sum(r["customers"] for r in rows) == 5, name
        assert sum(float(r["revenue"] or 0) for r in rows) == 32500, name
    # ABC with classes A 80 / B 95 / C 100 % of revenue: C5 alone is 76.9 %; with C1 95.4 % is past B's 95
    abc = {r["segment"]: (r["customers"], float(r["revenue"])) for r in seg["summaries"]["abc_class"]}
    assert abc == {"A": (1, 25000.0), "C": (4, 7500.0)}
    # `--by` is checked against the policy before classifying: every summary a classification gives is allowed
    from tierwise.cli.main import classifications
    from tierwise.config.policy import load_policy
    assert set(seg["summaries"]) <= set(classifications(load_policy(ws / "policy.yaml")))
    fails(typo, 2, "no classification 'abc_clas'", "did you mean 'abc_class'?")
    fails(bad_map, 2, "unknown segment map 'en12'", "did you mean 'en11'?")

    (rec,) = ok(run)
    snap = snapshot(ws, rec["run_id"])
    tiers = dict(zip(snap["customer_id"].to_pylist(), snap["tier"].to_pylist()))
    # revenue in the last 365 days against entry 1,000 / 5,000 / 20,000, upgrades immediate
    assert tiers == {"C1": "gold", "C2": "silver", "C3": "member", "C4": "member", "C5": "diamond"}
    assert rec["counts"]["tier"] == {"diamond": 1, "gold": 1, "member": 2, "silver": 1}
    # four buyers cannot fit the value model: the run records why (no exit 4) and leaves CLV empty
    models = json.loads((ws / "snapshots" / rec["run_id"] / "models.json").read_text(encoding="utf-8"))
    assert "too few buyers" in models["value"]["error"]
    assert snap["clv"].null_count == 5


def test_read_commands_json_equals_the_workspace(demo):
    root, _ = demo
    (first, second) = [r["run_id"] for r in runs(root)]
    now, before = snapshot(root, second), snapshot(root, first)
    nbp = snapshot(root, second, "next_best_products")
    cid = nbp["customer_id"][0].as_py()
    (status, dist, mig, explain, cands, products, overrides, managers, unassigned, tasks, compliance, outbox,
     users, key) = map(ok, tw_all(
        ("status", root, "--json"),
        ("tiers", "distribution", root, "--json"),
        ("tiers", "migration", root, "--json"),
        ("explain", root, cid, "--history", "--json"),
        ("upgrade", "candidates", root, "--top", 5, "--json"),
        ("upgrade", "products", root, cid, "--json"),
        ("override", "list", root, "--json"),
        ("managers", "list", root, "--json"),
        ("managers", "unassigned", root, "--json"),
        ("tasks", "list", root, "--status", "all", "--limit", 100000, "--json"),
        ("tasks", "compliance", root, "--by", "branch", "--as-of", "2024-12-31", "--json"),
        ("outbox", "list", root, "--limit", 100000, "--json"),
        ("users", "list", root, "--json"),
        ("key", "check", root, "--json"),
    ))
    assert {t: v["rows"] for t, v in status["tables"].items()} == {t: data_rows(root, t) for t in status["tables"]}
    assert status["current_run"]["run_id"] == second and status["runs"] == 2

    assert [d["as_of"] for d in dist] == ["2024-11-30", "2024-12-31"]
    assert [d["tiers"] for d in dist] == [dict(Counter(s["tier"].to_pylist())) for s in (before, now)]

    pairs = Counter(zip(before["tier"].to_pylist(), now["tier"].to_pylist()))
    assert before["customer_id"].to_pylist() == now["customer_id"].to_pylist()
    assert {(a, b): n for a, row in mig["counts"].items() for b, n in row.items() if n} == dict(pairs)
    levels = Counter(zip(before["tier_level"].to_pylist(), now["tier_level"].to_pylist()))
    assert mig["upgrades"] == sum(n for (a, b), n in levels.items() if b > a)
    assert mig["downgrades"] == sum(n for (a, b), n in levels.items() if b < a)

    row = {k: v for k, v in zip(now["customer_id"].to_pylist(), now["tier"].to_pylist())}
    assert explain["tier"] == row[cid]
    assert [h["tier"] for h in explain["history"]] == [
        dict(zip(s["customer_id"].to_pylist(), s["tier"].to_pylist()))[cid] for s in (before, now)]

    ranked = snapshot(root, second, "candidates").sort_by("rank")["customer_id"].to_pylist()
    assert [c["customer_id"] for c in cands] == ranked[:5]
    expected = sorted((r["nbp_rank"], r["product"]) for r in nbp.to_pylist() if r["customer_id"] == cid)
    assert [(p["nbp_rank"], p["product"]) for p in products["products"]] == expected

    assert overrides == [] and sql(root, "SELECT count(*) FROM overrides") == [(0,)]
    assert managers == [] and sql(root, "SELECT count(*) FROM managers") == [(0,)]
    assert sorted(u["customer_id"] for u in unassigned) == sorted(now["customer_id"].to_pylist())
    assert sorted(t["task_id"] for t in tasks) == [r[0] for r in sql(root, "SELECT task_id FROM tasks ORDER BY 1")]
    total = next(r for r in compliance if r["key"] == "*")
    assert total["open"] == sql(root, "SELECT count(*) FROM tasks WHERE status = 'open'")[0][0]
    assert Counter((m["channel"], m["status"]) for m in outbox) == Counter(
        dict(((c, s), n) for c, s, n in sql(root, "SELECT channel, status, count(*) FROM outbox GROUP BY 1, 2")))
    assert [(u["username"], u["role"], u["must_change_password"]) for u in users] == [("admin", "admin", True)]
    personal = sum(pq.read_metadata(root / "data" / table / batch / "personal-index.parquet").num_rows
                   for table, batches in manifest(root)["current"].items() for batch in batches
                   if (root / "data" / table / batch / "personal-index.parquet").exists())
    assert key["rows"] == personal and key["source"] == str(root.resolve().parent / "bank.key")

    # the audit log last, once nothing else writes: every entry listed, and the chain verifies
    listed, verified = ok(tw("audit", "list", root, "--limit", 100000, "--json")), ok(tw("audit", "verify", root,
                                                                                          "--json"))
    in_store = sql(root, "SELECT seq, actor, action FROM audit_log ORDER BY seq")
    assert [(a["seq"], a["actor"], a["action"]) for a in listed] == in_store
    assert verified == {"ok": True, "entries": len(in_store), "first_broken": None}


def test_read_command_mistakes(demo, small, tmp_path):
    root, _ = demo
    plain = tmp_path / "plain"
    plain.mkdir()
    checks = [
        (("status", tmp_path / "nows", "--json"), "no such folder"),
        (("tiers", "distribution", plain, "--json"), "not a tierwise workspace"),
        (("tiers", "migration", root, "--from", "run-00001", "--json"), "did you mean 'run-000001'?"),
        (("explain", root, "nobody", "--json"), "customer 'nobody' is not in run run-000002"),
        (("upgrade", "candidates", root, "--kind", "nearr", "--json"), "did you mean 'near'?"),
        (("upgrade", "products", root, "nobody", "--json"), "customer 'nobody' is not in run"),
        (("override", "list", plain, "--json"), "not a tierwise workspace"),
        (("managers", "list", plain, "--json"), "not a tierwise workspace"),
        (("managers", "unassigned", plain, "--json"), "not a tierwise workspace"),
        (("managers", "derive", plain, "--json"), "not a tierwise workspace"),
        (("tasks", "list", root, "--status", "opne", "--json"), "did you mean 'open'?"),
        (("tasks", "compliance", root, "--by", "brnch", "--json"), "did you mean 'branch'?"),
        (("outbox", "list", root, "--channel", "smss", "--json"), "did you mean 'sms'?"),
        (("users", "list", plain, "--json"), "not a tierwise workspace"),
        (("audit", "list", root, "--limit", "many"), "Invalid value"),
        (("tiers", "migration", root, "--to", "2019-01-01", "--json"), "no run '2019-01-01'"),
    ]
    for res, (_, text) in zip(tw_all(*(a for a, _ in checks)), checks):
        fails(res, 2, text)


def test_a_rerun_and_a_busy_workspace_exits_5(demo, tmp_path):
    root, _ = demo
    ws = copy_ws(root, tmp_path / "ws")
    (rec,) = ok(tw("run", ws, "--as-of", "2024-12-31", "--json"))
    first = runs(root)
    assert rec["as_of"] == "2024-12-31" and rec["previous"]["as_of"] == "2024-11-30"
    # the same inputs, policy and date give the same snapshot
    assert runs(ws)[-1]["digest"] == first[-1]["digest"]
    src = tmp_path / "c.csv"
    src.write_text("customer_id\nX1\n", encoding="utf-8")
    with open(ws / ".lock", "a+") as lock:            # another writer holds the workspace
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        busy_run, busy_import = tw_all(("run", ws, "--as-of", "2024-12-31", "--json"),
                                       ("import", ws, "customers", src, "--json"))
    fails(busy_run, 5, "another tierwise command is writing to this workspace")
    fails(busy_import, 5, "another tierwise command is writing to this workspace")
    assert len(runs(ws)) == 3 and data_rows(ws, "customers") == 200


def test_overrides_and_whatif(demo, tmp_path):
    root, _ = demo
    ws = copy_ws(root, tmp_path / "ws")
    now = snapshot(ws, runs(ws)[-1]["run_id"]).to_pylist()
    gold = [r for r in now if r["tier"] == "gold"]
    near = {r["customer_id"] for r in gold if r["tier_metric"] >= 400000}
    cid = next(r["customer_id"] for r in gold if r["tier_metric"] < 400000)
    ask = ("--starts", "2024-12-01", "--expires", "2025-06-30", "--reason", "VIP")
    pin = ok(tw("override", "request", ws, cid, "--kind", "pin", "--tier", "platinum", *ask, "--by", "alice",
                "--json"))
    floor = ok(tw("override", "request", ws, cid, "--kind", "floor", "--tier", "gold", *ask, "--by", "alice",
                  "--json"))
    assert (pin["status"], pin["tier"], floor["status"]) == ("requested", "platinum", "requested")
    results = tw_all(
        ("override", "approve", ws, pin["override_id"], "--by", "alice"),
        ("override", "request", ws, cid, "--kind", "pin", "--tier", "platnum", *ask, "--by", "alice"),
        ("override", "reject", ws, 999, "--by", "bob"),
    )
    fails(results[0], 2, "the requester (alice) cannot approve or reject it")
    fails(results[1], 2, "did you mean 'platinum'?")
    fails(results[2], 2, "no override 999")
    approved = ok(tw("override", "approve", ws, pin["override_id"], "--by", "bob", "--json"))
    rejected = ok(tw("override", "reject", ws, floor["override_id"], "--by", "carol", "--note", "no", "--json"))
    assert (approved["status"], approved["decided_by"], rejected["status"]) == ("approved", "bob", "rejected")
    listed = ok(tw("override", "list", ws, "--customer", cid, "--json"))
    assert sorted((o["override_id"], o["status"]) for o in listed) == sql(
        ws, "SELECT override_id, status FROM overrides ORDER BY 1")

    # what-if: the approved pin moves its customer; platinum from 400,000 moves every gold customer at 400,000+
    policy = (ws / "policy.yaml").read_text(encoding="utf-8")
    lower = policy.replace("entry: 500000, maintain: 400000", "entry: 400000, maintain: 400000")
    assert lower != policy
    (tmp_path / "lower.yaml").write_text(lower, encoding="utf-8")
    (tmp_path / "typo.yaml").write_text(policy.replace("entry: 50000,", "entyr: 50000,"), encoding="utf-8")
    w, typo = tw_all(("whatif", ws, tmp_path / "lower.yaml", "--json"), ("whatif", ws, tmp_path / "typo.yaml"))
    w = ok(w)
    assert w["counts"]["gold"]["platinum"] == len(near) + 1
    assert w["moved"] == w["upgrades"] == len(near) + 1 and w["downgrades"] == 0
    fails(typo, 2, "the policy is invalid", "tiers → levels → 1 → entyr: unknown setting 'entyr'")


def test_upgrade_exports_and_campaigns(demo, tmp_path):
    root, _ = demo
    ws = copy_ws(root, tmp_path / "ws")
    run_id = runs(ws)[-1]["run_id"]
    nbp, cands = snapshot(ws, run_id, "next_best_products"), snapshot(ws, run_id, "candidates")
    out = tmp_path / "nbp.csv"
    exported, wrong_file, bad_kind = tw_all(
        ("upgrade", "export-products", ws, "--out", out, "--json"),
        ("upgrade", "export-products", ws, "--out", tmp_path / "nbp.txt"),
        ("upgrade", "campaign", "create", ws, "--name", "x", "--target-kind", "candidate", "--target", "all",
         "--starts", "2025-01-01", "--ends", "2025-03-31"),
    )
    exported = ok(exported)
    with open(out, encoding="utf-8-sig", newline="") as fh:
        lines = list(csv.DictReader(fh))
    assert exported["rows"] == len(lines) == nbp.num_rows and exported["run_id"] == run_id
    assert Counter(r["customer_id"] for r in lines) == Counter(nbp["customer_id"].to_pylist())
    fails(wrong_file, 2, "write a .csv or an .xlsx file")
    fails(bad_kind, 2, "did you mean 'candidates'?")

    made = ok(tw("upgrade", "campaign", "create", ws, "--name", "Q1", "--target-kind", "candidates", "--target",
                 "all", "--starts", "2025-01-01", "--ends", "2025-03-31", "--control", "0.2", "--json"))
    draft = ok(tw("upgrade", "campaign", "create", ws, "--name", "later", "--target-kind", "candidates",
                  "--target", "near", "--starts", "2025-04-01", "--ends", "2025-06-30", "--json"))
    assert made["status"] == draft["status"] == "draft"
    started = ok(tw("upgrade", "campaign", "start", ws, made["campaign_id"], "--json"))
    assert started["members"] == cands.num_rows and started["start_run_id"] == run_id
    in_store = dict(sql(ws, "SELECT arm, count(*) FROM campaign_members WHERE campaign_id = ? GROUP BY 1",
                        made["campaign_id"]))
    assert in_store == {"treatment": started["members"] - started["control"], "control": started["control"]}
    evaluated, again, not_started = tw_all(
        ("upgrade", "campaign", "evaluate", ws, made["campaign_id"], "--out", tmp_path / "uplift.csv", "--json"),
        ("upgrade", "campaign", "start", ws, made["campaign_id"]),
        ("upgrade", "campaign", "evaluate", ws, draft["campaign_id"]),
    )
    evaluated = ok(evaluated)
    assert evaluated["members"] == started["members"] and evaluated["end_run"] == run_id
    assert evaluated["overall"]["upgraded"]["n_control"] == started["control"]
    assert (tmp_path / "uplift.csv").exists()
    fails(again, 2, "has already started")
    fails(not_started, 2, "has not started")


def test_report_and_export(demo, tmp_path):
    root, _ = demo
    ws = copy_ws(root, tmp_path / "ws")
    report, workbook = tw_all(                        # their mistakes: tests/cli/test_report_cli.py
        ("report", ws, "--lang", "en", "--out", tmp_path / "r.html", "--json"),
        ("export", ws, "--as-of", "2024-11-30", "--out", tmp_path / "e.xlsx", "--json"),
    )
    report, workbook = ok(report), ok(workbook)
    first, second = [r["run_id"] for r in runs(ws)]
    assert report["run_id"] == second and report["bytes"] == (tmp_path / "r.html").stat().st_size
    import openpyxl
    book = openpyxl.load_workbook(tmp_path / "e.xlsx", read_only=True)
    assert workbook["run_id"] == first and [s["sheet"] for s in workbook["sheets"]] == book.sheetnames


def test_servicing(demo, tmp_path):
    root, _ = demo
    ws = copy_ws(root, tmp_path / "ws")
    people = pq.read_table(ws / "data" / "customers" / manifest(ws)["current"]["customers"][0] / "part-0.parquet")
    owners = Counter(people["manager_id"].to_pylist())
    derived = ok(tw("managers", "derive", ws, "--json"))
    assert derived == {"added": len(owners), "updated": 0}
    (old,) = owners                                   # the demo has one manager: they leave for M2, who reports to BOSS
    (tmp_path / "m.csv").write_text(f"manager_id,name,branch_id,reports_to\nM2,Two,BR001,BOSS\nBOSS,Boss,BR001,\n"
                                    f"{old},Old,BR001,BOSS\n", encoding="utf-8")
    (tmp_path / "bad.csv").write_text("manager_id,name,capacity\nM3,Three,-1\n", encoding="utf-8")
    imported, bad_file, half = tw_all(("managers", "import", ws, tmp_path / "m.csv", "--json"),
                                      ("managers", "import", ws, tmp_path / "bad.csv"),
                                      ("assign", ws, "--customer", "X"))
    assert ok(imported)["added"] == 2
    fails(bad_file, 2, "bad.csv:2: capacity: '-1' is not a positive number")
    fails(half, 2, "needs --customer, --manager and --reason")
    assigned = ok(tw("assign", ws, "--by", "ops", "--json"))
    assert assigned == {"assigned": 200, "by_rule": {"initial": 200}, "unassigned": 0}
    assert ok(tw("managers", "unassigned", ws, "--json")) == []
    left, unknown = tw_all(("managers", "leave", ws, old, "--by", "hr", "--to", "M2", "--json"),
                           ("managers", "leave", ws, "M22", "--by", "hr"))
    assert ok(left)["unassigned"] == 0
    fails(unknown, 2, "unknown manager 'M22'", "did you mean 'M2'?")
    listed = {m["manager_id"]: m for m in ok(tw("managers", "list", ws, "--json"))}
    assert (listed["M2"]["customers"], listed[old]["customers"], listed[old]["active"]) == (200, 0, False)
    assert sql(ws, "SELECT manager_id, count(*) FROM assignments GROUP BY 1") == [("M2", 200)]

    due = sql(ws, "SELECT count(*) FROM tasks t JOIN managers m ON m.manager_id = t.manager_id WHERE t.type = "
                  "'alert' AND t.status = 'open' AND t.due_at < '2025-01-02' AND t.escalated_at IS NULL AND "
                  "m.reports_to IS NOT NULL")[0][0]
    assert due > 0
    escalated, bad_at = tw_all(("tasks", "escalate", ws, "--at", "2025-01-02T00:00", "--json"),
                               ("tasks", "escalate", ws, "--at", "soon"))
    assert ok(escalated) == {"escalated": due}
    fails(bad_at, 2, "--at 'soon': not a date and time")

    before = sql(ws, "SELECT count(*) FROM tasks")[0][0]
    gen, bad_day = tw_all(("tasks", "generate", ws, "--on", "2025-01-02", "--json"),
                          ("tasks", "generate", ws, "--on", "2025-02-30"))
    gen = ok(gen)
    assert gen["created"] + gen["escalated"] == sql(ws, "SELECT count(*) FROM tasks")[0][0] - before > 0
    assert ok(tw("tasks", "generate", ws, "--on", "2025-01-02", "--json"))["created"] == 0     # idempotent
    fails(bad_day, 2, "not a date")
    (task,) = ok(tw("tasks", "list", ws, "--type", "cadence", "--limit", 1, "--json"))
    done, outcome_typo = tw_all(
        ("tasks", "complete", ws, task["task_id"], "--outcome", "reached", "--by", "M2", "--json"),
        ("tasks", "complete", ws, task["task_id"] + 100000, "--outcome", "reachd", "--by", "M2"))
    assert ok(done)["outcome"] == "reached"
    assert sql(ws, "SELECT status, outcome, closed_by FROM tasks WHERE task_id = ?", task["task_id"]) == [
        ("done", "reached", "M2")]
    fails(outcome_typo, 2, "did you mean 'reached'?")

    other = sql(ws, "SELECT customer_id FROM tasks WHERE type = 'cadence' AND status = 'open' LIMIT 1")[0][0]
    (tmp_path / "log.csv").write_text(f"customer,time,manager,channel,outcome\n{other},2025-01-03 10:00,M2,phone,"
                                      "已联系\n", encoding="utf-8")
    (tmp_path / "badlog.csv").write_text(f"customer,time,outcome\n{other},yesterday,reached\n", encoding="utf-8")
    contacts, bad_log = tw_all(("tasks", "contacts", ws, tmp_path / "log.csv", "--json"),
                               ("tasks", "contacts", ws, tmp_path / "badlog.csv"))
    assert ok(contacts) == {"rows": 1, "new": 1, "duplicates": 0, "cadence_closed": 1}
    assert sql(ws, "SELECT count(*) FROM tasks WHERE customer_id = ? AND type = 'cadence' AND status = 'open'",
               other) == [(0,)]
    fails(bad_log, 2, "badlog.csv:2: time: 'yesterday' is not a date or time")

    exported, wrong = tw_all(("tasks", "export", ws, "--out", tmp_path / "t.csv", "--status", "all", "--json"),
                             ("tasks", "export", ws, "--out", tmp_path / "t.txt"))
    with open(tmp_path / "t.csv", encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert ok(exported)["exported"] == len(rows) == sql(ws, "SELECT count(*) FROM tasks")[0][0]
    fails(wrong, 2, "export to .csv or .xlsx")

    pending = set(sql(ws, "SELECT message_id FROM outbox WHERE channel = 'sms' AND status = 'pending'"))
    sms, sent, wrong_channel, wrong_format = tw_all(
        ("outbox", "export", ws, "--out", tmp_path / "sms.csv", "--json"), ("outbox", "send", ws, "--json"),
        ("outbox", "send", ws, "--channel", "sms"), ("outbox", "export", ws, "--out", tmp_path / "sms.txt"))
    sms = ok(sms)
    newly_sent = pending & set(sql(ws, "SELECT message_id FROM outbox WHERE status = 'sent'"))
    with open(tmp_path / "sms.csv", encoding="utf-8-sig", newline="") as fh:
        assert sms["exported"] == len(list(csv.DictReader(fh))) == len(newly_sent) > 0
    # no e-mail or webhook message exists in the bank demo: nothing to send, nothing failed
    assert sql(ws, "SELECT count(*) FROM outbox WHERE channel IN ('email', 'webhook')") == [(0,)]
    assert ok(sent) == {"sent": 0, "retry": 0, "failed": 0}
    fails(wrong_channel, 2, "use email or webhook")
    fails(wrong_format, 2, "SMS export format 'txt': use csv or xlsx")


def test_users(demo, tmp_path):
    root, _ = demo
    ws = copy_ws(root, tmp_path / "ws")
    added = ok(tw("users", "add", ws, "rm1", "--role", "relationship_manager", "--manager-id", "RM00001", "--json"))
    assert (added["role"], added["manager_id"], added["must_change_password"]) == ("relationship_manager",
                                                                                   "RM00001", True)
    changed, disabled, bad_role, last_admin, nobody = tw_all(
        ("users", "set", ws, "rm1", "--role", "analyst", "--json"),
        ("users", "disable", ws, "rm1", "--json"),
        ("users", "add", ws, "ann", "--role", "analist"),
        ("users", "disable", ws, "admin"),
        ("users", "enable", ws, "rm2"),
    )
    assert ok(changed)["role"] == "analyst" and ok(disabled)["active"] is False
    fails(bad_role, 2, "unknown role 'analist'", "did you mean 'analyst'?")
    fails(last_admin, 2, "is the last active admin")
    fails(nobody, 2, "no user 'rm2'", "did you mean 'rm1'?")
    enabled, reset, reset_nobody, set_nobody = tw_all(
        ("users", "enable", ws, "rm1", "--json"), ("users", "reset-password", ws, "rm1", "--json"),
        ("users", "reset-password", ws, "rm11"), ("users", "set", ws, "adm", "--role", "analyst"))
    assert ok(enabled)["active"] is True
    reset = ok(reset)
    assert reset["username"] == "rm1" and reset["one_time_password"] != added["one_time_password"]
    fails(reset_nobody, 2, "no user 'rm11'")
    fails(set_nobody, 2, "no user 'adm'", "did you mean 'admin'?")
    users = ok(tw("users", "list", ws, "--json"))
    assert [(u["username"], u["role"], u["active"]) for u in users] == [
        (n, r, bool(a)) for n, r, a in sql(ws, "SELECT username, role, active FROM users ORDER BY user_id")]
    assert [u["username"] for u in users] == ["admin", "rm1"]


def test_backup_restore_and_keys(demo, tmp_path):
    root, _ = demo
    ws = copy_ws(root, tmp_path / "ws")
    archive = tmp_path / "b.tar"
    made = ok(tw("backup", ws, archive, "--by", "ops", "--json"))
    tables = [t for (t,) in sql(ws, "SELECT name FROM sqlite_master WHERE type = 'table'")]
    store_rows = {t: sql(ws, f'SELECT count(*) FROM "{t}"')[0][0] for t in tables}
    store_rows["audit_log"] -= 1                    # the backup's own audit entry follows its copy of the store
    assert made["store_rows"] == {t: n for t, n in store_rows.items() if t in made["store_rows"]}
    assert made["store_rows"]["tasks"] == store_rows["tasks"] > 0
    damaged = tmp_path / "damaged.tar"
    damaged.write_bytes(b"not a tar at all")
    checked, exists, no_target, broken = tw_all(
        ("restore", archive, "--check", "--json"), ("backup", ws, archive),
        ("restore", archive), ("restore", damaged, tmp_path / "nowhere"))
    checked = ok(checked)
    assert checked["ok"] is True and checked["files"] == made["files"]
    fails(exists, 2, "already exists", "--force")
    fails(no_target, 2, "restore needs a target folder")
    fails(broken, 2, "not a tierwise backup archive")

    new = tmp_path / "restored"
    restored = ok(tw("restore", archive, new, "--json"))
    assert restored["files"] == made["files"]
    for table in manifest(ws)["current"]:
        assert data_rows(new, table) == data_rows(ws, table), table
    assert sql(new, "SELECT task_id, status FROM tasks ORDER BY 1") == sql(ws, "SELECT task_id, status FROM tasks "
                                                                               "ORDER BY 1")
    assert runs(new) == runs(ws)

    key2 = tmp_path / "k2.key"
    generated, inside = tw_all(("key", "generate", key2, "--json"), ("key", "generate", new / "inside.key"))
    generated = ok(generated)
    assert generated["key_file"] == str(key2) and key2.stat().st_mode & 0o777 == 0o600
    assert inside.returncode == 0 and "key" in inside.stdout    # made anywhere, but never used from inside
    before, again, refused = tw_all(
        ("key", "check", new, "--json"),
        ("key", "generate", key2),
        ("key", "rotate", new, "--new-key-file", new / "inside.key"))
    before = ok(before)
    assert before["rows"] == sum(pq.read_metadata(p).num_rows for p in new.glob("data/*/imp-*/personal-index.parquet")
                                 if p.parent.name in manifest(new)["current"].get(p.parent.parent.name, []))
    fails(again, 2, "already exists")
    fails(refused, 2, "inside the workspace")
    rotated = ok(tw("key", "rotate", new, "--new-key-file", key2, "--by", "ops", "--json"))
    assert rotated
    after = ok(tw("key", "check", new, "--json"))
    assert after["key_id"] == generated["key_id"] != before["key_id"] and after["rows"] == before["rows"]
    old_key = tw("key", "check", new, env={"TIERWISE_KEY_FILE": before["source"]})
    fails(old_key, 2, f"the personal data were sealed with key {generated['key_id']}")


def test_an_altered_audit_log_exits_6(demo, tmp_path):
    root, _ = demo
    ws = copy_ws(root, tmp_path / "ws")
    (seq,) = sql(ws, "SELECT min(seq) + 1 FROM audit_log")[0]
    with sqlite3.connect(ws / "store.db") as con:
        con.execute("UPDATE audit_log SET actor = 'mallory' WHERE seq = ?", (seq,))
    as_json, text = tw_all(("audit", "verify", ws, "--json"), ("audit", "verify", ws))
    assert as_json.returncode == text.returncode == 6 and "Traceback" not in as_json.stderr + text.stderr
    result = json.loads(as_json.stdout)
    assert result["ok"] is False and result["first_broken"] == seq
    assert str(seq) in text.stdout


def test_serve_answers_then_stops(demo, tmp_path):
    import httpx

    root, _ = demo
    ws = copy_ws(root, tmp_path / "ws")
    no_ws, bad_port = tw_all(("serve", tmp_path / "nows"), ("serve", ws, "--port", "http"))
    fails(no_ws, 2, "no such folder")
    fails(bad_port, 2, "Invalid value")
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    args = [sys.executable, "-m", "tierwise", "serve", str(ws), "--port", str(port), "--due-every", "0"]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline, up = time.time() + 120, False
        while time.time() < deadline and not up:
            assert proc.poll() is None, proc.stderr.read()
            try:
                up = httpx.get(base + "/login", timeout=2).status_code == 200
            except httpx.TransportError:
                time.sleep(0.3)
        assert up, "tierwise serve did not answer"
        assert httpx.get(base + "/api/v1/customers", timeout=5).status_code == 401      # not logged in
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    stderr = proc.stderr.read()
    CALLS.append({"test": _current["test"], "command": "serve", "rc": proc.returncode, "stderr": stderr,
                  "args": args[3:]})
    assert proc.returncode == 0, stderr


def test_shell_completion(tmp_path):
    """Typer's completion through the installed ``tierwise`` script and a real bash."""
    exe = Path(sys.executable).with_name("tierwise")
    env = {**_env, "PATH": f"{exe.parent}{os.pathsep}{os.environ.get('PATH', '')}", "HOME": str(tmp_path),
           "SHELL": "/bin/bash"}
    helped = subprocess.run([exe, "--help"], capture_output=True, text=True, env=env)
    assert "--install-completion" in helped.stdout and "--show-completion" in helped.stdout

    def complete(words: str, cword: int) -> list[str]:
        res = subprocess.run([exe], capture_output=True, text=True, env={
            **env, "_TIERWISE_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": str(cword)})
        assert res.returncode == 0, res.stderr
        return res.stdout.split()
    assert complete("tierwise ti", 1) == ["tiers"]
    assert sorted(complete("tierwise upgrade ca", 2)) == ["campaign", "candidates"]
    assert sorted(complete("tierwise tasks co", 2)) == ["complete", "compliance", "contacts"]

    # the script --show-completion prints, sourced in bash, completes through the program itself
    script = subprocess.run([exe, "--show-completion", "bash"], capture_output=True, text=True, env=env).stdout
    assert "_TIERWISE_COMPLETE=complete_bash" in script
    (tmp_path / "completion.sh").write_text(script, encoding="utf-8")
    probe = ('source completion.sh; COMP_WORDS=(tierwise users re); COMP_CWORD=2; _tierwise_completion tierwise; '
             'echo "${COMPREPLY[@]}"')
    res = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert res.stdout.split() == ["reset-password"], res.stderr
    installed = subprocess.run([exe, "--install-completion", "bash"], capture_output=True, text=True, env=env)
    assert installed.returncode == 0, installed.stderr
    assert "_TIERWISE_COMPLETE" in (tmp_path / ".bash_completions" / "tierwise.sh").read_text(encoding="utf-8")
    assert ".bash_completions/tierwise.sh" in (tmp_path / ".bashrc").read_text(encoding="utf-8")


# ------------------------------------------------------------------ the tables themselves

def _commands() -> set[str]:
    from tierwise.cli.reference import _walk
    return {" ".join(p[1:]) for p, cmd in _walk(ROOT, ["tierwise"]) if len(p) > 1 and not hasattr(cmd, "commands")}


def _exists(ref: str, command: str | None = None) -> bool:
    if "::" in ref:       # another module's test: it exists and runs this command
        path, name = ref.split("::")
        text = (Path(__file__).resolve().parents[2] / path).read_text(encoding="utf-8")
        return f"def {name}(" in text and (command is None or f'"{command.split()[-1]}"' in text)
    return ref in ("demo", "small") or callable(globals().get(ref))


def test_the_coverage_table_names_every_command():
    assert set(COVERAGE) == _commands(), "a command without tests (or a test of a command that is gone)"
    assert all(ok_tests and mistake_tests for ok_tests, mistake_tests in COVERAGE.values())
    missing = [(cmd, ref) for cmd, pair in COVERAGE.items() for refs in pair for ref in refs if not _exists(ref, cmd)]
    missing += [(code, ref) for code, refs in EXIT_CODES.items() for ref in refs if not _exists(ref)]
    assert missing == []


def test_every_command_prints_json_but_the_server():
    from tierwise.cli.reference import _walk
    without = sorted(" ".join(p[1:]) for p, cmd in _walk(ROOT, ["tierwise"]) if len(p) > 1
                     and not hasattr(cmd, "commands") and not any("--json" in q.opts for q in cmd.params))
    assert without == ["serve"]


def test_the_exit_codes_table_matches_the_documented_codes():
    import re

    import tierwise.cli.main as main_module
    documented = {int(c) for c in re.findall(r"^(\d+)\s{2,}\S", main_module.__doc__, flags=re.M)}
    assert documented == set(EXIT_CODES)
    provoked = {c["rc"] for c in CALLS}
    if RAN >= {"test_init_and_import_mistakes", RERUN, "test_an_altered_audit_log_exits_6"}:
        assert {0, 2, 3, 5, 6} <= provoked


def test_zz_every_command_ran_with_success_and_a_mistake():
    """Against the subprocesses this module really ran: each test the table names ran its command with
    success (exit 0), or with a mistake (a documented code other than 0 and 1, and no traceback)."""
    checked = 0
    for command, (ok_tests, mistake_tests) in COVERAGE.items():
        for tests, wanted in ((ok_tests, "success"), (mistake_tests, "mistake")):
            for test in tests:
                if "::" in test or test not in RAN:
                    continue
                codes = [c["rc"] for c in CALLS if c["command"] == command and c["test"] == test]
                assert (0 in codes) if wanted == "success" else any(rc not in (0, 1) for rc in codes), \
                    f"{command}: no {wanted} in {test} (exit codes {codes})"
                checked += 1
    assert [c["args"] for c in CALLS if c["rc"] == 1 or (c["rc"] and "Traceback" in c["stderr"])] == []
    if checked == 0:
        pytest.skip("run the whole module to check the table")
