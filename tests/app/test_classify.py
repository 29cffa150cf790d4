"""Classification of a whole workspace: one answer per customer, reruns identical, summaries reconcile."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date

import pyarrow.compute as pc
import pytest

from tierwise.app.classify import classify_workspace
from tierwise.app.demo import run_demo
from tierwise.app.workspace import open_workspace
from tierwise.errors import PolicyError, UserInputError

AS_OF = date(2024, 12, 31)


@pytest.fixture(scope="module")
def bank(tmp_path_factory):
    root = tmp_path_factory.mktemp("bank") / "ws"
    run_demo(root, preset="bank", n_customers=400, seed=11)
    return open_workspace(root)


@pytest.fixture(scope="module")
def result(bank):
    return classify_workspace(bank, AS_OF)


def test_exactly_one_class_of_each_kind_per_customer(result):
    c = result.customers
    n = c.num_rows
    assert n == 400 and pc.count_distinct(c["customer_id"]).as_py() == n
    for col in ("rfm_segment", "abc_class", "lifecycle", "seg_pyramid"):
        assert c[col].null_count == 0, col
        assert sum(r["customers"] for r in result.summaries[col].to_pylist()) == n
    assert set(c["abc_class"].to_pylist()) <= {"A+", "A", "A-", "B", "C"}


def test_rule_segments_follow_their_rules(result):
    rows = result.customers.to_pylist()
    for r in rows:
        tags = set((r["seg_identity"] or "").split(",")) - {""}
        aum = r["aum_avg_3m"]
        assert ("private_prospect" in tags) == (3_000_000 <= aum < 6_000_000)
        assert ("retiree" in tags) == (r["age"] is not None and r["age"] >= 60)
        if r["purchase_days"] == 0:
            assert r["seg_pyramid"] == "potential" and r["rfm_segment"] == "no_purchase"
        elif r["f_score"] >= 4 and r["m_score"] >= 4 and r["r_score"] >= 3:
            assert r["seg_pyramid"] == "loyal"


def test_summary_shares_and_rfm_edges(result):
    s = result.summaries["abc_class"].to_pylist()
    assert sum(r["share"] for r in s) == pytest.approx(1.0)
    a_plus_to_a_minus = sum(r["revenue_share"] or 0 for r in s if r["segment"].startswith("A"))
    assert 0.70 <= a_plus_to_a_minus <= 0.81   # A-grades hold at most 80 % of gross sales (value is gross_sales)
    assert [e["score"] for e in result.rfm_edges["F"]] == [1, 2, 3, 4, 5]


def test_rerun_is_identical(bank, result):
    again = classify_workspace(bank, AS_OF)
    assert again.customers.equals(result.customers)


def test_bad_rule_in_policy_is_a_located_error(bank, tmp_path):
    import shutil
    root = tmp_path / "copy"
    shutil.copytree(bank.root, root)
    p = root / "policy.yaml"
    p.write_text(p.read_text(encoding="utf-8").replace('when: "age >= 60"', 'when: "agee >= 60"'), encoding="utf-8")
    with pytest.raises(PolicyError) as info:
        classify_workspace(open_workspace(root), AS_OF)
    assert "segments → identity → retiree: unknown column 'agee'; did you mean 'age'?" in str(info.value)


def test_empty_workspace(ws):
    with pytest.raises(UserInputError, match="no customers imported"):
        classify_workspace(ws, AS_OF)


def test_cli_segments_json(bank):
    res = subprocess.run([sys.executable, "-m", "tierwise", "segments", str(bank.root), "--json",
                          "--by", "lifecycle"], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["as_of"] == "2024-12-31"          # the latest data date by default
    assert sum(r["customers"] for r in out["summaries"]["lifecycle"]) == 400


def test_retail_aarrr_stages_follow_the_preset_rules(tmp_path):
    root = tmp_path / "rt"
    run_demo(root, preset="retail", n_customers=300, seed=4)
    res = classify_workspace(open_workspace(root), date(2024, 12, 31))
    for r in res.customers.to_pylist():
        src = (r["source"] or "").lower()
        if src in ("referral", "推荐", "老带新") and r["purchase_days"] >= 2:
            want = "referral"
        elif float(r["revenue_365d"]) >= 1000 and r["purchase_days"] >= 3:
            want = "revenue"
        elif r["purchase_days"] >= 2 and r["recency_days"] <= 180:
            want = "retention"
        elif r["purchase_days"] >= 1:
            want = "activation"
        else:
            want = "acquisition"
        assert r["seg_aarrr"] == want, r["customer_id"]
    assert sum(x["customers"] for x in res.summaries["seg_aarrr"].to_pylist()) == 300
