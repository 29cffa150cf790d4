"""SIGKILL a run at points spread over its life: the snapshot in force stays complete, a rerun succeeds."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pyarrow.parquet as pq
import pytest

from tierwise.snapshots.store import SnapshotStore, digest_of

from .test_runs import base  # noqa: F401  (module fixture: a workspace with two runs)


def state(root):
    snaps = SnapshotStore(root / "snapshots")
    index = (root / "snapshots" / "index.json").read_text()
    for s in snaps.index():                       # every published snapshot is complete and intact
        assert digest_of(snaps.path(s.run_id)) == s.digest
        assert pq.read_metadata(snaps.path(s.run_id) / "customers.parquet").num_rows == 300
    return index


@pytest.mark.slow
def test_sigkill_during_run(base, tmp_path):  # noqa: F811
    root = tmp_path / "ws"
    shutil.copytree(base, root)
    cmd = [sys.executable, "-m", "tierwise", "run", str(root), "--as-of", "2024-11-30", "--json"]
    probe = tmp_path / "probe"
    shutil.copytree(base, probe)
    t0 = time.perf_counter()
    subprocess.run([*cmd[:4], str(probe), *cmd[5:]], check=True, capture_output=True)
    full = time.perf_counter() - t0
    killed = 0
    for k in range(4):
        before = state(root)
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(full * (0.3 + 0.6 * k / 3) * 0.95)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            killed += 1
        proc.wait()
        after = state(root)
        if proc.returncode == -signal.SIGKILL:
            # killed before publishing: nothing changed; killed after (during the post-run task
            # generation): the new snapshot is published whole (state() checked every digest)
            if after != before:
                old, new = json.loads(before)["runs"], json.loads(after)["runs"]
                added = [r for r in new if r not in old]
                assert [r for r in new if r in old] == old
                assert [r["as_of"] for r in added] == ["2024-11-30"]
        else:
            break
    assert killed >= 1
    res = subprocess.run(cmd, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    rec = json.loads(res.stdout)[0]
    snaps = SnapshotStore(root / "snapshots")
    assert snaps.current().run_id == rec["run_id"]
    assert not [p for p in (root / "snapshots").iterdir() if p.name.startswith("_staging")]
    state(root)
