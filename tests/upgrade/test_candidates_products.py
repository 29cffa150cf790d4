"""Upgrade candidates and next best products on hand-built fixtures with known answers."""

from __future__ import annotations

import pyarrow as pa
import pytest

from tierwise.engine import connect_duckdb, ibis_duckdb
from tierwise.upgrade.candidates import CandidateSpec, candidates, upgrade_rates
from tierwise.upgrade.products import ProductSpec, cross_sell_ratio, next_best_products

ENTRIES = [0, 100, 500, 1000]
CUST = pa.table({
    "customer_id": ["a", "b", "c", "d", "e", "f"],
    "tier_level": [0, 0, 1, 3, 1, 0],
    "tier_metric": [85.0, 50.0, 450.0, 2000.0, 100.0, 120.0],
    "clv": [10.0, 1000.0, 50.0, 5.0, 900.0, 5.0],
    "manager_id": ["m1", "m2", "m1", "m1", "m2", "m1"],
})


@pytest.fixture
def ib():
    return ibis_duckdb(connect_duckdb())


def test_candidates_without_history(ib):
    got = ib.execute(candidates(ib.create_table("c", CUST, overwrite=True), ENTRIES, None)).set_index("customer_id")
    assert sorted(got.index) == ["a", "b", "c", "e", "f"]            # d is at the top tier
    assert got.loc["a", "gap"] == 15 and got.loc["a", "gap_share"] == pytest.approx(0.15)
    assert got.loc["c", "gap"] == 50 and got.loc["c", "next_entry"] == 500
    assert got["candidate_kind"].to_dict() == {"a": "near", "b": "potential", "c": "near", "e": "potential",
                                               "f": "near"}
    # prior likelihood: max(0.5 − 0.45 × share / 0.2, 0.05)
    assert got.loc["a", "likelihood"] == pytest.approx(0.1625)
    assert got.loc["c", "likelihood"] == pytest.approx(0.275)
    assert got.loc["f", "likelihood"] == pytest.approx(0.5)        # gap already closed (e.g. pending upgrade)
    # score = likelihood × (1 + CLV percentile in tier): f .5, c .275, a .24375, b .1, e .1 (ties by id)
    assert got.sort_values("rank").index.tolist() == ["f", "c", "a", "b", "e"]
    assert got.loc["a", "rank_in_manager"] == 3 and got.loc["b", "rank_in_manager"] == 1


def test_likelihood_from_history(ib):
    # history: tier 0, gap band 2 (10–20 %): 3 customers, 2 reached a higher tier; tier 1 band 1: 1 of 1
    pairs = pa.table({"tier_level": [0, 0, 0, 1], "gap_band": [2, 2, 2, 1], "tier_level_later": [1, 1, 0, 2]})
    rates = ib.execute(upgrade_rates(ib.create_table("p", pairs, overwrite=True), CandidateSpec(prior_weight=4)))
    overall = 3 / 4
    r02 = rates.set_index(["tier_level", "gap_band"]).loc[(0, 2), "likelihood"]
    assert r02 == pytest.approx((2 + 4 * overall) / (3 + 4))
    got = ib.execute(candidates(ib.create_table("c", CUST, overwrite=True), ENTRIES,
                                upgrade_rates(ib.create_table("p", pairs, overwrite=True), CandidateSpec(prior_weight=4))))
    got = got.set_index("customer_id")
    assert got.loc["a", "likelihood"] == pytest.approx(r02)          # a: tier 0, share 0.15 → band 2
    assert got.loc["b", "likelihood"] == pytest.approx(0.05)         # no history for its band → prior


TIERS = pa.table({"customer_id": [f"c{i}" for i in range(1, 9)], "tier_level": [0, 0, 0, 0, 1, 1, 1, 2]})
HELD = pa.table({
    "customer_id": ["c5", "c6", "c7", "c1", "c2", "c5", "c6", "c7", "c3", "c8"],
    "product": ["fund", "fund", "insurance", "fund", "deposit", "deposit", "deposit", "deposit", "deposit", "wealth"],
})


def test_next_best_products(ib):
    held, tiers = ib.create_table("h", HELD), ib.create_table("t", TIERS)
    rec = ib.execute(next_best_products(held, tiers, 3, ProductSpec(min_support=0.3, min_lift=1.5)))
    by = {c: rec[rec.customer_id == c].sort_values("nbp_rank")["product"].tolist() for c in rec.customer_id.unique()}
    # tier 1 rates: fund 2/3, deposit 3/3, insurance 1/3 (nobody in tier 0: lift NULL → 10 for ranking);
    # tier 0 rates: fund 1/4, deposit 2/4. strength: insurance 3.33 > deposit 1 × 2 = 2 > fund 0.667 × 2.667
    assert by == {"c1": ["insurance", "deposit"], "c2": ["insurance", "fund"], "c3": ["insurance", "fund"],
                  "c4": ["insurance", "deposit", "fund"], "c5": ["wealth"], "c6": ["wealth"], "c7": ["wealth"]}
    row = rec[(rec.customer_id == "c4") & (rec["product"] == "fund")].iloc[0]
    assert row["next_rate"] == pytest.approx(2 / 3) and row["own_rate"] == pytest.approx(0.25)
    assert row["lift"] == pytest.approx((2 / 3) / 0.25)
    ins = rec[(rec.customer_id == "c4") & (rec["product"] == "insurance")].iloc[0]
    assert ins["own_rate"] == 0 and (ins["lift"] is None or ins["lift"] != ins["lift"])


def test_min_support_and_lift_filter(ib):
    held, tiers = ib.create_table("h", HELD), ib.create_table("t", TIERS)
    rec = ib.execute(next_best_products(held, tiers, 3, ProductSpec(min_support=0.5, min_lift=2.5)))
    # deposit: lift 2.0 < 2.5 → out; insurance: support 1/3 < 0.5 → out; fund: 0.667 ≥ .5, lift 2.67 ≥ 2.5 → in
    assert sorted(set(rec["product"])) == ["fund", "wealth"]


def test_cross_sell_ratio(ib):
    got = ib.execute(cross_sell_ratio(ib.create_table("h", HELD), ib.create_table("t", TIERS))).set_index(
        "customer_id")
    assert got.loc["c4", "cross_sell_ratio"] == 0 and got.loc["c1", "cross_sell_ratio"] == 1
    assert got.loc["c5", "products_held"] == 2 and got.loc["c5", "tier_median_products"] == 2
