"""Backup and restore: a restored workspace equals the original, file by file and row by row,
and behaves the same (a rerun gives the same snapshot digest); damaged archives are refused;
a backup taken while others write to the store is consistent; a killed backup leaves no archive."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import signal
import subprocess
import sys
import tarfile
import threading
import time
from datetime import date, datetime, timezone

import pytest

from tierwise.app.backup import BackupError, backup_workspace, restore_workspace, verify_backup, workspace_files
from tierwise.app.overrides import request_override
from tierwise.app.run import run_evaluation
from tierwise.app.workspace import open_workspace
from tierwise.cli.main import main
from tierwise.errors import ConcurrencyError
from tierwise.snapshots.store import SnapshotStore
from tierwise.store.dump import consistent_connection, decode_row, dump_tables

from .test_runs import base  # noqa: F401  (module fixture: a bank workspace with two runs)

AS_OF = date(2024, 10, 31)


@pytest.fixture
def ws(base, tmp_path):  # noqa: F811
    root = tmp_path / "ws"
    shutil.copytree(base, root)
    w = open_workspace(root)
    cid = SnapshotStore(w.snapshots).read(SnapshotStore(w.snapshots).current().run_id)["customer_id"][0].as_py()
    request_override(w, cid, kind="floor", tier="gold", reason="家族客户 / family account",
                     starts_on=date(2024, 10, 1), expires_on=date(2025, 6, 30), requested_by="rm01")
    return w


def file_hashes(ws) -> dict[str, str]:
    return {p.as_posix(): hashlib.sha256((ws.root / p).read_bytes()).hexdigest() for p in workspace_files(ws)}


def store_dump(ws) -> dict[str, list[str]]:
    with consistent_connection(ws.store().engine, ws.scratch) as conn:
        return {name: list(lines) for name, lines in dump_tables(conn)}


def test_roundtrip_equal_files_rows_and_behaviour(ws, tmp_path):
    before_files, before_rows = file_hashes(ws), store_dump(ws)
    assert any(p.startswith("data/transactions/") for p in before_files)
    assert any(p.startswith("snapshots/run-") for p in before_files)
    assert not any(p.startswith(("scratch/", "store.db")) or "/_" in p for p in before_files)
    archive = tmp_path / "ws.tar"
    res = backup_workspace(ws.root, archive, actor="ops")
    assert res["files"] == len(before_files)
    assert res["store_rows"] == {k: len(v) for k, v in before_rows.items()}

    target = tmp_path / "restored"
    restore_workspace(archive, target, actor="ops")
    r = open_workspace(target)
    assert file_hashes(r) == before_files
    after_rows = store_dump(r)
    # the restored store holds exactly the archived rows, plus its own "backup.restore" audit entry
    assert after_rows["audit_log"][:-1] == before_rows["audit_log"]
    assert json.loads(after_rows["audit_log"][-1])["action"] == "backup.restore"
    assert {k: v for k, v in after_rows.items() if k != "audit_log"} == \
           {k: v for k, v in before_rows.items() if k != "audit_log"}
    assert r.store().verify_audit() == (True, None)
    # the original recorded the backup in its own audit log
    assert ws.store().audit_entries()[-1]["action"] == "backup.create"
    # the restored workspace behaves the same: a rerun of a date gives the identical snapshot
    again = run_evaluation(r, AS_OF)
    orig = SnapshotStore(ws.snapshots).find(AS_OF.isoformat())
    assert again["digest"] == orig.digest
    # new rows get new keys after the restored ones (sequences continue)
    cid = r.store().list_overrides()[0]["customer_id"]
    new = request_override(r, cid, kind="pin", tier="gold", reason="x", starts_on=date(2024, 10, 1), expires_on=date(2025, 1, 31), requested_by="rm02")
    assert new["override_id"] == max(o["override_id"] for o in ws.store().list_overrides()) + 1


def test_restore_into_postgres_store(ws, tmp_path, pg_url):
    """A SQLite store restores into PostgreSQL row for row, and the audit chain still verifies there."""
    before = store_dump(ws)
    archive = tmp_path / "ws.tar"
    backup_workspace(ws.root, archive)
    target = tmp_path / "pg"
    restore_workspace(archive, target, store_url=pg_url)
    r = open_workspace(target)
    assert r.settings.store_url == pg_url
    assert r.store().engine.dialect.name == "postgresql"
    assert r.store().verify_audit() == (True, None)
    after = store_dump(r)
    assert len(after["audit_log"]) == len(before["audit_log"]) + 1  # + its "backup.restore" entry
    def rows(lines):  # SQLite returns naive UTC datetimes, PostgreSQL aware ones: compare the instants
        out = []
        for line in lines:
            r = decode_row(line)
            out.append({k: v.replace(tzinfo=timezone.utc) if isinstance(v, datetime) and v.tzinfo is None else v
                        for k, v in r.items()})
        return out

    for name in ("imports", "runs", "overrides", "campaigns", "audit_log"):
        n = len(before[name])
        assert rows(after[name])[:n] == rows(before[name])
    # restoring again into the same (now non-empty) database is refused, and nothing is created
    with pytest.raises(BackupError, match="not empty"):
        restore_workspace(archive, tmp_path / "pg2", store_url=pg_url)
    assert not (tmp_path / "pg2").exists()


def _rewrite(archive, out, change):
    """Copy a tar, letting ``change(name, data) -> (name, data) | None`` alter or drop members."""
    with tarfile.open(archive) as src, tarfile.open(out, "w") as dst:
        for m in src.getmembers():
            res = change(m.name, src.extractfile(m).read())
            if res is None:
                continue
            info = tarfile.TarInfo(res[0])
            info.size = len(res[1])
            dst.addfile(info, io.BytesIO(res[1]))


@pytest.fixture
def archive(ws, tmp_path):
    a = tmp_path / "good.tar"
    backup_workspace(ws.root, a)
    return a


def _first(archive, prefix):
    with tarfile.open(archive) as t:
        return next(n for n in t.getnames() if n.startswith(prefix))


@pytest.mark.parametrize("damage, message", [
    ("flip", "is damaged"), ("drop", "missing"), ("extra", "not listed"), ("traversal", "unexpected member"),
    ("truncate", "not a tierwise backup"), ("nomanifest", "not a tierwise backup"),
])
def test_damaged_archives_are_refused_and_nothing_is_written(archive, tmp_path, damage, message):
    bad = tmp_path / "bad.tar"
    victim = _first(archive, "workspace/data/transactions/")
    if damage == "flip":
        _rewrite(archive, bad, lambda n, d: (n, d[:100] + bytes([d[100] ^ 1]) + d[101:]) if n == victim else (n, d))
    elif damage == "drop":
        _rewrite(archive, bad, lambda n, d: None if n == victim else (n, d))
    elif damage == "extra":
        _rewrite(archive, bad, lambda n, d: ("workspace/evil.txt", d) if n == "workspace/policy.yaml" else (n, d))
    elif damage == "traversal":
        _rewrite(archive, bad, lambda n, d: ("workspace/../../evil.txt", d) if n == "workspace/policy.yaml" else (n, d))
    elif damage == "truncate":
        bad.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    elif damage == "nomanifest":
        _rewrite(archive, bad, lambda n, d: None if n == "tierwise-backup.json" else (n, d))
    target = tmp_path / "restored"
    with pytest.raises(BackupError, match=message):
        restore_workspace(bad, target)
    assert not target.exists()
    assert not list(tmp_path.glob("_restored.restoring-*"))
    assert not (tmp_path / "evil.txt").exists()
    if damage in ("flip", "drop"):
        with pytest.raises(BackupError, match=message):
            verify_backup(bad)
    assert verify_backup(archive)["ok"]


def test_refusals(ws, archive, tmp_path):
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "keep.txt").write_text("mine")
    with pytest.raises(BackupError, match="not an empty folder"):
        restore_workspace(archive, busy)
    assert [p.name for p in busy.iterdir()] == ["keep.txt"]
    with pytest.raises(BackupError, match="already exists"):
        backup_workspace(ws.root, archive)
    with pytest.raises(BackupError, match="inside the workspace"):
        backup_workspace(ws.root, ws.root / "self.tar")
    with ws.lock("run"), pytest.raises(ConcurrencyError):
        backup_workspace(ws.root, tmp_path / "other.tar")
    empty = tmp_path / "empty"
    empty.mkdir()
    restore_workspace(archive, empty)  # an empty folder is fine
    assert (empty / "policy.yaml").exists()


def test_backup_while_the_store_is_being_written(ws, tmp_path):
    """Another process-like writer (the web server) appends audit entries throughout the backup:
    the archived store is one consistent point in time, so the restored chain verifies."""
    stop = threading.Event()
    written = []

    def writer():
        store = open_workspace(ws.root).store()
        while not stop.is_set():
            store.audit("web", "customer.view", f"c{len(written)}")
            written.append(1)

    t = threading.Thread(target=writer)
    t.start()
    try:
        time.sleep(0.2)
        backup_workspace(ws.root, tmp_path / "live.tar")
    finally:
        stop.set()
        t.join()
    restore_workspace(tmp_path / "live.tar", tmp_path / "r")
    r = open_workspace(tmp_path / "r").store()
    assert r.verify_audit() == (True, None)
    views = [e for e in r.audit_entries() if e["action"] == "customer.view"]
    assert 0 < len(views) <= len(written)
    assert [e["target"] for e in views] == [f"c{i}" for i in range(len(views))]  # a prefix, no gaps


@pytest.mark.slow
def test_sigkill_during_backup_leaves_no_archive(ws, tmp_path):
    out = tmp_path / "k.tar"
    cmd = [sys.executable, "-m", "tierwise", "backup", str(ws.root), str(out), "--json"]
    t0 = time.perf_counter()
    subprocess.run([*cmd[:5], str(tmp_path / "probe.tar"), "--json"], check=True, capture_output=True)
    full = time.perf_counter() - t0
    for frac in (0.2, 0.5, 0.8, 0.95):
        out.unlink(missing_ok=True)
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(full * frac)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        if out.exists():            # finished before the kill: then it is whole
            assert verify_backup(out)["ok"]
        # the next backup succeeds and clears what the killed one left
        backup_workspace(ws.root, out, force=True)
        assert verify_backup(out)["ok"]
        assert not list(tmp_path.glob("_k.tar.partial-*"))


def test_cli_backup_restore_and_audit_verify(ws, tmp_path, capsys):
    a = tmp_path / "cli.tar"
    assert main(["backup", str(ws.root), str(a), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["archive"] == str(a)
    assert main(["restore", str(a), "--check", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["ok"] is True
    assert main(["restore", str(a), str(tmp_path / "r"), "--json"]) == 0
    capsys.readouterr()
    assert main(["audit", "verify", str(tmp_path / "r"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["ok"] is True
    # tamper with one audit record: verify names it and exits 6
    import sqlite3
    n = len(open_workspace(tmp_path / "r").store().audit_entries())
    con = sqlite3.connect(tmp_path / "r" / "store.db")
    con.execute("UPDATE audit_log SET actor = 'mallory' WHERE seq = 2")
    con.commit()
    con.close()
    assert main(["audit", "verify", str(tmp_path / "r"), "--json"]) == 6
    assert json.loads(capsys.readouterr().out) == {"ok": False, "entries": n, "first_broken": 2}
    assert main(["restore", str(tmp_path / "missing.tar"), str(tmp_path / "x")]) == 2
    assert "no such archive" in capsys.readouterr().err
