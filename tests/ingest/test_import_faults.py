"""A killed import leaves the workspace as it was; any bytes give rows or a clean error."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tierwise.app.importing import import_table
from tierwise.errors import TierwiseError


def visible_state(ws) -> tuple[str, int]:
    manifest = (ws.root / "data" / "manifest.json").read_text()
    rows = sum(pq.read_metadata(f).num_rows for f in ws.data.table_files("transactions"))
    return manifest, rows


def write_big_csv(path: Path, n: int) -> None:
    ids = ["000123", "000124", "000125", "000126"]
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("交易流水号,客户号,交易日期,交易金额\n")
        for i in range(n):
            fh.write(f"T{i},{ids[i % 4]},2024-0{1 + i % 5}-{1 + i % 28:02d},{(i % 997) * 1.25:.2f}\n")


@pytest.mark.slow
def test_sigkill_during_import_leaves_workspace_unchanged(ws_with_customers, tmp_path):
    ws = ws_with_customers
    src = tmp_path / "big.csv"
    write_big_csv(src, 400_000)
    cmd = [sys.executable, "-m", "tierwise", "import", str(ws.root), "transactions", str(src), "--today", "2024-06-01"]
    # how long an undisturbed import takes here, to spread the kills over its whole life
    probe = ws.root.parent / "probe"
    from tierwise.app.workspace import init_workspace
    pws = init_workspace(probe, "bank")
    import_table(pws, "customers", str(next(tmp_path.glob("customers_gbk.csv"))))
    t0 = time.perf_counter()
    subprocess.run([*cmd[:4], str(probe), *cmd[5:]], check=True, capture_output=True)
    full = time.perf_counter() - t0
    # kill points spread over the whole import (start-up, read, validate, write, commit), jittered
    rng = random.Random(20241123)
    delays = [full * (0.1 + 0.8 * k / 5) * rng.uniform(0.9, 1.0) for k in range(6)]
    killed = 0
    committed = False
    for attempt, delay in enumerate(delays):
        before = visible_state(ws)
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            killed += 1
        proc.wait()
        after = visible_state(ws)
        # either nothing changed, or the whole import is visible (killed after its commit point)
        assert after == before or after[1] == 400_000, f"attempt {attempt}: partial data visible"
        if after[1] == 400_000:
            committed = True
            break
    assert killed >= 1
    res = subprocess.run([*cmd, "--json"], capture_output=True, text=True)
    if committed:
        # the next import sees every row as already imported and is refused; nothing changes
        assert res.returncode == 3 and visible_state(ws)[1] == 400_000, res.stderr
        assert "imp-000002" in {r["import_id"] for r in ws.store().list_imports()}   # record recovered
    else:
        assert res.returncode == 0, res.stderr
        rec = json.loads(res.stdout)
        assert rec["accepted"] == 400_000 and rec["rows_read"] == 400_000
    assert not list((ws.root / "data" / "_staging").glob("*")) if (ws.root / "data" / "_staging").exists() else True
    committed_ids = set(ws.data.manifest().history)
    on_disk = {p.name for p in (ws.root / "data" / "transactions").iterdir()}
    assert on_disk <= committed_ids

@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=400))
def test_any_bytes_give_rows_or_a_clean_error(ws_with_customers, tmp_path, data):
    p = tmp_path / "fuzz.csv"
    p.write_bytes(b"\xe5\xae\xa2\xe6\x88\xb7\xe5\x8f\xb7,\xe5\xa7\x93\xe5\x90\x8d\n" + data)  # "客户号,姓名\n" + noise
    try:
        rec = import_table(ws_with_customers, "customers", str(p), mode="append")
    except TierwiseError:
        return
    assert rec["rows_read"] == rec["accepted"] + rec["rejected"]


row = st.lists(st.one_of(st.text(max_size=12), st.sampled_from(["", "000123", "2024/1/5", "¥1,2", "(3)", '"', "\n"])),
               max_size=6)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(row, max_size=8), st.sampled_from(["utf-8", "gb18030"]))
def test_malformed_rows_reconcile(ws_with_customers, tmp_path, rows, encoding):
    import csv
    import io

    buf = io.StringIO()
    buf.write("交易流水号,客户号,交易日期,交易金额\n")
    w = csv.writer(buf)
    for r in rows:
        w.writerow(r)
    p = tmp_path / "rows.csv"
    p.write_bytes(buf.getvalue().encode(encoding, errors="replace"))
    ws = ws_with_customers
    try:
        rec = import_table(ws, "transactions", str(p), today=__import__("datetime").date(2024, 6, 1))
    except TierwiseError as exc:
        rec = getattr(exc, "reconciliation", None)
        if rec is None:
            return
    assert rec["rows_read"] == rec["accepted"] + rec["rejected"]
    assert rec["rejected"] == sum(rec["rejected_by_reason"].values())
