"""``tierwise serve`` as a real process on loopback, and the due-evaluation runner inside the server."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import httpx
import pytest

from api.workspace import PASSWORD
from tierwise.snapshots.store import SnapshotStore
from web.conftest import free_port


@pytest.fixture
def ws_copy(tmp_path, base_root):
    dst = tmp_path / "ws"
    shutil.copytree(base_root, dst)
    return dst


def wait_up(url: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"tierwise serve exited with {proc.returncode}: {proc.stderr.read()}")
        try:
            if httpx.get(url + "/login", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError("tierwise serve did not answer in time")


def test_serve_command_logs_in_and_serves_pages(ws_copy):
    port = free_port()
    exe = Path(sys.executable).with_name("tierwise")
    proc = subprocess.Popen([str(exe), "serve", str(ws_copy), "--port", str(port), "--due-every", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    base = f"http://127.0.0.1:{port}"
    try:
        wait_up(base, proc)
        with httpx.Client(base_url=base, follow_redirects=False) as c:
            page = c.get("/login")
            token = page.cookies["tw_login_csrf"]
            r = c.post("/login", data={"username": "rm1", "password": PASSWORD, "csrf_token": token})
            assert r.status_code == 303 and r.headers["location"] == "/dashboard"
            dash = c.get("/dashboard")
            assert dash.status_code == 200 and "我的客户（RM00001）" in dash.text
            assert dash.headers["content-security-policy"].startswith("default-src 'self'")
            assert c.get("/inbox").status_code == 200
            assert c.get("/api/v1/customers").json()["total"] == 60
        with httpx.Client(base_url=base) as anon:
            assert anon.get("/api/v1/customers").status_code == 401
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, proc.stderr.read()


def test_due_runner_runs_what_is_due(ws_copy):
    """Runs published 2024-09-30 and 10-31; the data reach into December: November is due by 2024-12-15."""
    from fastapi.testclient import TestClient

    from tierwise.app.status import latest_data_date
    from tierwise.app.workspace import open_workspace
    from tierwise.web.server import create_app

    ws = open_workspace(ws_copy)
    assert latest_data_date(ws) >= date(2024, 11, 30)
    before = [s.as_of for s in SnapshotStore(ws_copy / "snapshots").in_force()]
    assert before == [date(2024, 9, 30), date(2024, 10, 31)]
    app = create_app(ws_copy, due_every=0.2, due_today=lambda: date(2024, 12, 15))
    with TestClient(app):                        # the lifespan starts and stops the runner
        runner = app.state.due_runner
        deadline = time.time() + 90
        while len(runner.history) < 2 and time.time() < deadline:
            time.sleep(0.1)
    assert runner.history[0]["ran"] == [date(2024, 11, 30)]
    assert runner.history[0]["tasks"] == date(2024, 12, 15)     # daily tasks, once that day
    assert runner.history[1] == {"ran": [], "tasks": None, "skipped": None}
    after = [s.as_of for s in SnapshotStore(ws_copy / "snapshots").in_force()]
    assert after == [*before, date(2024, 11, 30)]
    actions = [(e["actor"], e["action"]) for e in ws.store().audit_entries()]
    assert ("serve", "run.published") in actions and ("serve", "tasks.generate") in actions


def test_due_runner_skips_quietly_when_the_workspace_is_busy(ws_copy):
    from tierwise.app.web_scheduler import DueRunner
    from tierwise.app.workspace import open_workspace

    ws = open_workspace(ws_copy)
    runner = DueRunner(ws, 60, today=lambda: date(2024, 12, 15))
    with ws.lock("import"):                      # another writer holds the workspace
        done = runner.tick()
    assert done == {"ran": [], "tasks": None, "skipped": "busy"}
    assert [s.as_of for s in SnapshotStore(ws_copy / "snapshots").in_force()][-1] == date(2024, 10, 31)
    assert runner.tick()["ran"] == [date(2024, 11, 30)]          # and catches up at the next tick
