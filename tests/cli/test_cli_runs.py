"""run, explain, tiers, override and whatif through the real entry point."""

from __future__ import annotations

import json
import shutil

import pytest

from tierwise.app.demo import run_demo

from .test_cli import tw


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    root = tmp_path_factory.mktemp("cliruns") / "ws"
    run_demo(root, preset="bank", n_customers=200, seed=5)
    p = root / "policy.yaml"
    p.write_text(p.read_text(encoding="utf-8").replace("clusters:\n  enabled: true", "clusters:\n  enabled: false"),
                 encoding="utf-8")
    return root


def test_backfill_explain_tiers_override_whatif(ws, tmp_path):
    res = tw("run", str(ws), "--from", "2024-10-01", "--to", "2024-12-31", "--json")
    assert res.returncode == 0, res.stderr
    recs = json.loads(res.stdout)
    assert [r["as_of"] for r in recs] == ["2024-10-31", "2024-11-30", "2024-12-31"]

    dist = json.loads(tw("tiers", "distribution", str(ws), "--json").stdout)
    assert [sum(d["tiers"].values()) for d in dist] == [200, 200, 200]
    mm = json.loads(tw("tiers", "migration", str(ws), "--from", "2024-10-31", "--json").stdout)
    assert mm["to"]["as_of"] == "2024-12-31"

    import pyarrow.parquet as pq
    snap = pq.read_table(ws / "snapshots" / recs[-1]["run_id"] / "customers.parquet").to_pylist()
    cid = next(r["customer_id"] for r in snap if r["tier"] == "standard")
    e = json.loads(tw("explain", str(ws), cid, "--json", "--history").stdout)
    assert e["tier"] == "standard" and len(e["history"]) == 3 and e["next_tier"] == "gold"
    zh = tw("explain", str(ws), cid, env_lang="zh-CN").stdout
    assert "普通客户" in zh and "升至「金卡」" in zh

    o = json.loads(tw("override", "request", str(ws), cid, "--kind", "floor", "--tier", "gold", "--reason", "VIP",
                      "--expires", "2025-06-30", "--starts", "2024-12-01", "--by", "alice", "--json").stdout)
    same = tw("override", "approve", str(ws), str(o["override_id"]), "--by", "alice")
    assert same.returncode == 2 and "cannot approve" in same.stderr
    assert tw("override", "approve", str(ws), str(o["override_id"]), "--by", "bob").returncode == 0
    assert tw("run", str(ws), "--as-of", "2024-12-31").returncode == 0
    e = json.loads(tw("explain", str(ws), cid, "--json").stdout)
    assert e["tier"] == "gold" and e["overrides"][0]["kind"] == "floor"
    listed = json.loads(tw("override", "list", str(ws), "--json").stdout)
    assert listed[0]["status"] == "approved" and listed[0]["decided_by"] == "bob"

    proposed = tmp_path / "p.yaml"
    proposed.write_text((ws / "policy.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    w = json.loads(tw("whatif", str(ws), str(proposed), "--json").stdout)
    assert w["moved"] == 0                     # the same policy moves nobody


@pytest.mark.parametrize("args, text", [
    (("run", "{ws}", "--as-of", "2024-13-01"), "not a date"),
    (("run", "{ws}", "--from", "2024-01-01"), "needs both --from and --to"),
    (("explain", "{ws}", "nobody"), "no runs yet|not in run"),
    (("override", "request", "{ws}", "C1", "--kind", "pinn", "--tier", "gold", "--reason", "x",
      "--expires", "2025-01-01", "--by", "a"), "did you mean 'pin'?"),
    (("override", "request", "{ws}", "C1", "--kind", "pin", "--tier", "glod", "--reason", "x",
      "--expires", "2025-01-01", "--by", "a"), "did you mean 'gold'?"),
    (("tiers", "migration", "{ws}", "--to", "2030-01-01"), "no run"),
])
def test_errors(ws, tmp_path, args, text):
    import re
    fresh = tmp_path / "w"
    shutil.copytree(ws, fresh)
    res = tw(*[a.replace("{ws}", str(fresh)) for a in args])
    assert res.returncode == 2, (res.stdout, res.stderr)
    assert re.search(text, res.stderr) and "Traceback" not in res.stderr
