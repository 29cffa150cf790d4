"""A bounded load test on loopback while a run publishes a new snapshot (issue #11 item 6, #8).

``tierwise serve`` runs as a real process on the API tests' bank workspace (240 customers, four
relationship managers in two branches). Ten concurrent sessions — two each of an admin, an analyst,
a branch manager and two relationship managers — hit the customer list, customer 360 (in and out of
their scope), the dashboard (API and page) and the task list, while ``tierwise run`` publishes the
2024-11-30 snapshot and generates its tasks in another process. The driver is
``bench/web/load_during_run.py`` (the same code gives the benchmark figures in bench/web/README.md);
it checks every answer against what it reads from the workspace itself. Asserted: no error and no
5xx, no cross-role leak, every answer from a complete published snapshot (the old or the new one)
and consistent with it, and both snapshots served.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

import pytest

from api.workspace import PASSWORD

pytestmark = pytest.mark.slow

BENCH = Path(__file__).resolve().parents[2] / "bench" / "web" / "load_during_run.py"


def driver():
    spec = importlib.util.spec_from_file_location("load_during_run", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module          # dataclasses resolve their module by name
    spec.loader.exec_module(module)
    return module


def test_many_sessions_of_every_role_while_a_run_publishes(base_root, tmp_path):
    load = driver()
    root = tmp_path / "ws"
    shutil.copytree(base_root, root)
    users = ["admin1", "analyst1", "bm1", "rm1", "rm2"]
    scopes = load.scopes(root, users)
    # the scopes the checks use, read from the workspace: 60 customers per manager, 120 per branch
    assert [len(scopes[u].customers) for u in ("bm1", "rm1", "rm2")] == [120, 60, 60]
    assert not scopes["rm1"].customers & scopes["rm2"].customers
    # bounded: each session pauses 50 ms between requests, so the run gets its share of two cores
    plan = load.Plan(root, users, PASSWORD, sessions=10, run_as_of="2024-11-30", run_after=3.0,
                     after_publish=4.0, max_seconds=90.0, think=0.05)
    res = load.load_during_run(plan)
    assert res["run"]["returncode"] == 0, res["run"].get("stderr")
    assert res["run"]["session_failures"] == []
    assert res["problems"] == {}, res["examples"]
    old, new = "run-000002", res["run"]["run_id"]
    assert set(res["answers_by_run"]) == {old, new}, res["answers_by_run"]   # the switch happened under load
    kinds = res["latency"]
    assert {"list", "360", "360_other", "dashboard", "dashboard_page", "tasks"} <= set(kinds)
    assert res["requests_during_run"] > 50 and kinds["360_other"]["n"] > 0
    print({k: v for k, v in res.items() if k in ("requests", "req_per_s", "latency", "run", "answers_by_run")})
