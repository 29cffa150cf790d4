"""A full disk and a read-only workspace: a clear error and exit code 8, never a traceback; what was
committed stays intact; once the disk has room again, the same command succeeds.

The conditions are real: each scenario runs in its own mount namespace (``unshare``) on a small
tmpfs (full disk) or a read-only bind mount, so nothing leaks onto the machine."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap

import pytest

from .test_runs import base  # noqa: F401  (module fixture: a bank workspace with two runs)

DRIVER = textwrap.dedent(r'''
    import json, os, shutil, subprocess, sys
    from pathlib import Path

    base, mnt, scenario = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    result = {}

    def sh(*args):
        subprocess.run(args, check=True)

    def tierwise(*args):
        p = subprocess.run([sys.executable, "-m", "tierwise", *args], capture_output=True, text=True,
                           env={**os.environ, "TIERWISE_LANG": "en"})
        return {"rc": p.returncode, "err": p.stderr, "out": p.stdout}

    def state(ws):
        sys.path.insert(0, "")
        from tierwise.snapshots.store import SnapshotStore, digest_of
        snaps = SnapshotStore(ws / "snapshots")
        return {"index": (ws / "snapshots" / "index.json").read_text(),
                "intact": all(digest_of(snaps.path(s.run_id)) == s.digest for s in snaps.index()),
                "manifest": (ws / "data" / "manifest.json").read_text()}

    mnt.mkdir(parents=True, exist_ok=True)
    size = sum(f.stat().st_size for f in base.rglob("*") if f.is_file())
    sh("mount", "-t", "tmpfs", "-o", f"size={size + 8 * 2**20}", "tmpfs", str(mnt))
    ws = mnt / "ws"
    shutil.copytree(base, ws)
    result["before"] = state(ws)
    src = base.parent / f"{base.name}-inbox" / "客户信息.csv"   # the demo's source files, beside the workspace
    if scenario == "full":
        filler = mnt / "filler"
        with open(filler, "wb", buffering=0) as fh:     # fill the disk to the last block
            for chunk in (1 << 20, 65536, 4096, 512, 1):
                try:
                    while True:
                        fh.write(b"\0" * chunk)
                except OSError:
                    pass
        result["run"] = tierwise("run", str(ws), "--as-of", "2024-11-30", "--json")
        result["import"] = tierwise("import", str(ws), "customers", str(src), "--mode", "replace", "--json")
        result["after"] = state(ws)
        filler.unlink()
        result["run_again"] = tierwise("run", str(ws), "--as-of", "2024-11-30", "--json")
        result["import_again"] = tierwise("import", str(ws), "customers", str(src), "--mode", "replace", "--json")
    else:
        sh("mount", "--bind", str(ws), str(ws))
        sh("mount", "-o", "remount,bind,ro", str(ws))
        result["run"] = tierwise("run", str(ws), "--as-of", "2024-11-30", "--json")
        result["import"] = tierwise("import", str(ws), "customers", str(src), "--mode", "replace", "--json")
        result["after"] = state(ws)
    print(json.dumps(result))
''')


def _namespace_available() -> bool:
    if not shutil.which("unshare"):
        return False
    p = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                        "mount -t tmpfs -o size=1m tmpfs /mnt && umount /mnt"], capture_output=True)
    return p.returncode == 0


pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not _namespace_available(), reason="needs root and mount namespaces (unshare)")]


def _scenario(base, tmp_path, name):  # noqa: F811
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER, encoding="utf-8")
    p = subprocess.run(["unshare", "--mount", "--propagation", "private", sys.executable, str(driver), str(base),
                        str(tmp_path / "mnt"), name], capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout.strip().splitlines()[-1])


def _clear_failure(res, words):
    assert res["rc"] == 8, res
    assert "Traceback" not in res["err"]
    assert words in res["err"].lower(), res["err"]


def test_disk_full_run_and_import(base, tmp_path):  # noqa: F811
    r = _scenario(base, tmp_path, "full")
    _clear_failure(r["run"], "disk is full")
    _clear_failure(r["import"], "disk is full")
    assert r["after"] == r["before"]            # nothing half-written: same index, manifest, intact snapshots
    assert r["after"]["intact"]
    assert r["run_again"]["rc"] == 0, r["run_again"]["err"]
    assert json.loads(r["run_again"]["out"])[0]["as_of"] == "2024-11-30"
    assert r["import_again"]["rc"] == 0, r["import_again"]["err"]


def test_read_only_workspace(base, tmp_path):  # noqa: F811
    r = _scenario(base, tmp_path, "ro")
    _clear_failure(r["run"], "read-only")
    _clear_failure(r["import"], "read-only")
    assert r["after"] == r["before"]
