"""The report's numbers on hand-built tables, checked against hand counts."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pyarrow as pa
import pytest

from tierwise.reports import tables


def test_tier_counts_follow_the_ladder_and_count_every_customer():
    t = pa.table({"tier": ["gold", "base", "gold", "vip", "base", "base"]})
    rows = tables.tier_counts(t, ["base", "gold", "vip", "private"])
    assert [(r["tier"], r["customers"]) for r in rows] == [("base", 3), ("gold", 2), ("vip", 1), ("private", 0)]
    assert rows[0]["share"] == pytest.approx(0.5)


def test_run_summary_compares_with_the_previous_run():
    prev = pa.table({"customer_id": ["a", "b", "c"], "revenue": pa.array([Decimal("1.00")] * 3, pa.decimal128(18, 2)),
                     "revenue_month": [1.0, 2.0, 3.0]})
    cur = pa.table({"customer_id": ["b", "c", "d", "e"],
                    "revenue": pa.array([Decimal("2.50"), None, Decimal("1.25"), Decimal("0.25")], pa.decimal128(18, 2)),
                    "revenue_month": [1.0, 1.0, 1.0, 1.0],
                    "tier_event": ["upgrade", None, "downgrade", "upgrade"],
                    "tier_status": ["normal", "watch", "normal", "normal"], "tier_metric": [1.0, 2.0, 3.0, 4.0]})
    s = tables.run_summary(cur, prev, value_column="revenue", metric_column="tier_metric")
    assert (s["customers"], s["previous_customers"], s["new_customers"], s["lost_customers"]) == (4, 3, 2, 1)
    assert (s["upgrades"], s["downgrades"], s["watch"]) == (2, 1, 1)
    assert s["value"] == pytest.approx(4.0) and s["value_previous"] == pytest.approx(3.0)
    assert s["revenue_month"] == 4.0 and s["revenue_month_previous"] == 6.0
    assert s["metric"] == 10.0 and s["metric_previous"] is None


def test_pareto_ranks_by_value_and_reports_the_top_fifth():
    # ten customers; values 50, 20, 10, 5, 5, 4, 3, 2, 1, 0 → top 2 (20 %) hold 70 of 100
    values = [5, 50, 0, 20, 10, 5, 4, 3, 2, 1]
    t = pa.table({"customer_id": [f"c{i}" for i in range(10)], "v": [float(v) for v in values],
                  "abc_class": ["B", "A", "C", "A", "B", "B", "C", "C", "C", "C"]})
    p = tables.pareto(t, "v", points=11)
    assert p["customers"] == 10 and p["total"] == 100.0
    assert p["top20_share"] == pytest.approx(0.70)
    # sampled at 0 %, 10 %, …, 100 % of customers
    assert p["y"] == pytest.approx([0, .5, .7, .8, .85, .9, .94, .97, .99, 1.0, 1.0])
    assert [(r["class"], r["customers"], r["value"]) for r in p["classes"]] == [
        ("A", 2, 70.0), ("B", 3, 20.0), ("C", 5, 10.0)]


def test_pareto_sorts_sub_grades_a_plus_first():
    assert sorted(["B", "A-", "C", "A+", "A"], key=tables._abc_key) == ["A+", "A", "A-", "B", "C"]


def test_rfm_grid_counts_cells_by_hand():
    t = pa.table({"r_score": [1, 1, 2, 3, 3, 3, None], "f_score": [1, 1, 3, 3, 3, 2, None],
                  "m": pa.array([Decimal("10"), Decimal("30"), Decimal("5"), Decimal("1"), Decimal("2"),
                                 Decimal("7"), Decimal("0")], pa.decimal128(18, 2))})
    g = tables.rfm_grid(t, "m", 3)
    assert g["scores"] == [1, 2, 3]
    assert g["counts"] == [[2, 0, 0], [0, 0, 1], [0, 1, 2]]
    assert g["mean_monetary"] == [[20.0, None, None], [None, None, 5.0], [None, 7.0, 1.5]]


def test_lifecycle_funnel_keeps_stage_order_and_zeros():
    t = pa.table({"lifecycle": ["loyal", "new", "loyal", "churned"]})
    rows = tables.lifecycle_funnel(t)
    assert [r["stage"] for r in rows] == ["prospect", "new", "growing", "loyal", "at_risk", "churned", "won_back"]
    assert [r["customers"] for r in rows] == [0, 1, 0, 2, 0, 1, 0]


def test_clv_distribution_counts_every_customer_once():
    rng = np.random.default_rng(1)
    clv = np.exp(rng.normal(8, 1.5, 500))
    values = list(clv) + [None] * 20 + [0.0] * 5
    tiers = ["a", "b"] * (len(values) // 2) + ["a"] * (len(values) % 2)
    t = pa.table({"clv": pa.array(values, pa.float64()), "tier": tiers})
    d = tables.clv_distribution(t, ["a", "b"], bins=10)
    assert (d["customers"], d["with_clv"], d["without_clv"], d["zero_or_less"]) == (525, 505, 20, 5)
    assert sum(d["histogram"]["counts"]) == 500
    assert d["percentiles"]["p50"] == pytest.approx(np.percentile(np.r_[clv, np.zeros(5)], 50))
    known = np.array([v if v is not None else np.nan for v in values])
    tier_a = np.array(tiers) == "a"
    assert d["by_tier"][0]["mean_clv"] == pytest.approx(np.nanmean(known[tier_a]))
    assert d["by_tier"][0]["customers"] + d["by_tier"][1]["customers"] == 525


def test_candidate_summary_counts_kinds_and_managers():
    t = pa.table({"customer_id": list("abcdef"), "manager_id": ["m1", "m2", "m1", None, "m2", "m1"],
                  "tier": ["base", "base", "gold", "base", "gold", "base"],
                  "candidate_kind": ["near", "potential", "near+potential", "near", "potential", "potential"],
                  "rank": [3, 1, 2, 6, 5, 4]})
    s = tables.candidate_summary(t, top=2)
    assert (s["candidates"], s["near"], s["potential"], s["managers"]) == (6, 3, 4, 3)
    assert s["by_manager"][0] == {"manager_id": "m1", "candidates": 3, "near": 2, "potential": 2}
    assert [r["customer_id"] for r in s["top"]] == ["b", "c"]
    assert s["by_tier"] == {"base": 4, "gold": 2}
