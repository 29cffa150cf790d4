"""ABC classes and lifecycle stages against hand-computed answers."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal as D

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tierwise.analytics.abc import WITH_SUBGRADES, ABCSpec, abc_classes, abc_summary
from tierwise.analytics.features import customer_features
from tierwise.analytics.lifecycle import STAGES, LifecycleSpec, last_gap, lifecycle_stage
from tierwise.engine import connect_duckdb, ibis_duckdb

from .conftest import load


@pytest.fixture(scope="module")
def ib():
    return ibis_duckdb(connect_duckdb())


SHARED_IB = ibis_duckdb(connect_duckdb())


def classes(ib, values: dict[str, str], spec=None) -> dict[str, str]:
    df = pd.DataFrame({"customer_id": list(values), "revenue": [D(v) for v in values.values()]})
    t = ib.create_table("abc_in", df, overwrite=True)
    return ib.execute(abc_classes(t, spec)).set_index("customer_id")["abc_class"].to_dict()


def test_abc_cumulative_share_bounds_are_inclusive(ib):
    # total 100: a 50, b 60, c 70, d 80 (= 80 % → A), e 85, f 90, g 95 (= 95 % → B), h 98, i 100 → C
    got = classes(ib, {"a": "50", "b": "10", "c": "10", "d": "10", "e": "5", "f": "5", "g": "5", "h": "3",
                       "i": "2", "j": "-1", "k": "0"})
    assert got == {"a": "A", "b": "A", "c": "A", "d": "A", "e": "B", "f": "B", "g": "B", "h": "C", "i": "C",
                   "j": "C", "k": "C"}


def test_abc_tie_group_split_by_customer_id(ib):
    # 40 | 20 20 20 | 0.10: cumulative 40, 60, 80, 100 (of 100.10): the 80 % bound (80.08) falls in the tie group
    got = classes(ib, {"z": "40", "y": "20", "x": "20", "w": "20", "v": "0.10"})
    assert got == {"z": "A", "w": "A", "x": "A", "y": "C", "v": "C"}   # w, x first by id; y crosses 95 %


def test_abc_subgrades(ib):
    got = classes(ib, {"a": "50", "b": "20", "c": "10", "d": "15", "e": "5"}, ABCSpec(classes=WITH_SUBGRADES))
    # sorted: a 50 (50 → A+), b 20 (70 → A), d 15 (85 → B), c 10 (95 → B), e 5 (100 → C)
    assert got == {"a": "A+", "b": "A", "d": "B", "c": "B", "e": "C"}


def test_abc_summary_shares(ib):
    df = pd.DataFrame({"customer_id": list("abcd"), "revenue": [D("60"), D("30"), D("10"), D("0")]})
    t = ib.create_table("abc_s", df, overwrite=True)
    s = ib.execute(abc_summary(abc_classes(t))).set_index("abc_class")
    assert s.loc["A", "customers"] == 1 and s.loc["A", "value_share"] == pytest.approx(0.6)
    assert s.loc["B", "value_share"] == pytest.approx(0.3)
    assert s.loc["C", "customers"] == 2 and s["customer_share"].sum() == pytest.approx(1.0)


def test_abc_bounds_validated():
    with pytest.raises(ValueError, match="end at 100"):
        ABCSpec(classes=(("A", 80.0), ("B", 95.0)))


AS_OF = date(2024, 6, 30)


def txn(cid, *days):
    return [{"customer_id": cid, "txn_time": datetime.combine(d, datetime.min.time()), "amount": D("10")}
            for d in days]


LIFE = {
    "customers": [{"customer_id": c, "open_date": date(2022, 1, 1)} for c in "PNGLRCWX"],
    "transactions": (
        txn("N", date(2024, 5, 1))                                           # T = 60 ≤ 90 → new
        + txn("G", date(2024, 1, 1), date(2024, 3, 1), date(2024, 6, 1))       # active, 3 days → growing
        + txn("L", *[date(2023, m, 1) for m in range(1, 13)], date(2024, 6, 1))  # 13 days, tenure ≥ 365 → loyal
        + txn("R", date(2023, 10, 1), date(2023, 11, 1), date(2024, 1, 1))     # gaps ~45 d, recency 181 > 2×46 → at risk
        + txn("C", date(2023, 1, 1), date(2023, 5, 1))                          # recency 426 > 365 → churned
        + txn("W", date(2022, 1, 1), date(2022, 2, 1), date(2024, 6, 1))       # gap 851 > 365, back → won back
        + txn("X", date(2024, 1, 15))                                            # one day, recency 167 ≤ 180, T 167 → growing
    ),
}


def test_lifecycle_stages_hand_computed():
    ib, tables = load(LIFE)
    feats = customer_features(tables, AS_OF)
    stages = ib.execute(lifecycle_stage(feats, last_gap(tables["transactions"], AS_OF))).set_index("customer_id")
    assert stages["lifecycle"].to_dict() == {"P": "prospect", "N": "new", "G": "growing", "L": "loyal",
                                             "R": "at_risk", "C": "churned", "W": "won_back", "X": "growing"}
    assert set(stages["lifecycle"]) <= set(STAGES)


def test_lifecycle_thresholds_move_customers():
    ib, tables = load(LIFE)
    feats = customer_features(tables, AS_OF)
    gaps = last_gap(tables["transactions"], AS_OF)
    strict = LifecycleSpec(at_risk_days=100, churn_days=200)
    got = ib.execute(lifecycle_stage(feats, gaps, strict)).set_index("customer_id")["lifecycle"]
    assert got["X"] == "at_risk" and got["R"] == "at_risk" and got["C"] == "churned"


# ---------------------------------------------------------------------------------------------
# ABC cut-offs against the definition; the lifecycle from the features' own last gap

def test_abc_tie_group_with_no_member_inside_a_bound(ib):
    # total 119: a 79 (66 %) → A; the 20-20 group starts above 80 % of the total (95.2): none of it is A;
    # b (99 ≤ 113.05) → B, c (119) → C
    assert classes(ib, {"a": "79", "c": "20", "b": "20"}) == {"a": "A", "b": "B", "c": "C"}


def abc_brute_force(values: dict[str, D], classes_: tuple) -> dict[str, str]:
    from fractions import Fraction

    order = sorted((c for c in values if values[c] > 0), key=lambda c: (-values[c], c))
    total = sum(values[c] for c in order)
    out, cum = {c: classes_[-1][0] for c in values}, D(0)
    for c in order:
        cum += values[c]
        share = Fraction(cum) / Fraction(total)
        out[c] = next((label for label, b in classes_ if share <= Fraction(int(round(b * 100)), 10000)),
                      classes_[-1][0])
    return out


@settings(max_examples=15, deadline=None)
@given(st.lists(st.integers(-300, 2000), min_size=1, max_size=40),
       st.sampled_from([ABCSpec().classes, WITH_SUBGRADES, (("A", 33.33), ("B", 66.67), ("C", 100.0))]))
def test_abc_classes_equal_the_definition(cents, bounds):
    # few distinct values, so tie groups straddle the bounds often
    values = {f"k{(i * 37) % 101:03d}": D(c - c % 100 if i % 2 else c) / 100 for i, c in enumerate(cents)}
    assert classes(SHARED_IB, {k: str(v) for k, v in values.items()}, ABCSpec(classes=bounds)) == \
        abc_brute_force(values, bounds)


def test_lifecycle_from_the_feature_column_without_last_gap():
    ib, tables = load(LIFE)
    feats = customer_features(tables, AS_OF)
    stages = ib.execute(lifecycle_stage(feats)).set_index("customer_id")["lifecycle"].to_dict()
    assert stages == {"P": "prospect", "N": "new", "G": "growing", "L": "loyal", "R": "at_risk", "C": "churned",
                      "W": "won_back", "X": "growing"}
    strict = ib.execute(lifecycle_stage(feats, spec=LifecycleSpec(at_risk_days=100, churn_days=200)))
    joined = ib.execute(lifecycle_stage(feats, last_gap(tables["transactions"], AS_OF),
                                        LifecycleSpec(at_risk_days=100, churn_days=200)))
    pd.testing.assert_frame_equal(strict.sort_values("customer_id").reset_index(drop=True),
                                  joined.sort_values("customer_id").reset_index(drop=True))


def test_classify_customers_on_the_lifecycle_fixture():
    from tierwise.analytics.classify import classify_customers, features_for
    from tierwise.config.policy import parse_policy

    ib, tables = load(LIFE)
    policy = parse_policy("preset: retail\nrfm: {map: en11}\n")
    ib.create_table("_f", features_for(tables, AS_OF, policy), temp=True, overwrite=True)
    out = ib.execute(classify_customers(ib.table("_f"), tables, AS_OF, policy).customers).set_index("customer_id")
    assert out["lifecycle"].to_dict() == {"P": "prospect", "N": "new", "G": "growing", "L": "loyal", "R": "at_risk",
                                          "C": "churned", "W": "won_back", "X": "growing"}
    # 7 buyers, 5 bins; F ascending, then id: N 1, X 1, C 2, G 3, R 3, W 3, L 13 → floor(p · 5 / 7) + 1
    assert out["f_score"].dropna().astype(int).to_dict() == {"N": 1, "X": 1, "C": 2, "G": 3, "R": 3, "W": 4,
                                                             "L": 5}
    # revenue 10 per purchase day, 260 in all: L 130 (50 %), G 30 (62 %), R 30 (73 %) → A; W 30 (85 %),
    # C 20 (92 %) → B; N 10 (96 %), X 10 and the prospect → C
    assert out["abc_class"].to_dict() == {"L": "A", "G": "A", "R": "A", "W": "B", "C": "B", "N": "C", "X": "C",
                                          "P": "C"}
    assert out.loc["P", "rfm_segment"] == "no_purchase" and out["rfm_segment"].notna().all()
