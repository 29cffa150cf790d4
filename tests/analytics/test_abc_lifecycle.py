"""ABC classes and lifecycle stages against hand-computed answers."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal as D

import pandas as pd
import pytest

from tierwise.analytics.abc import WITH_SUBGRADES, ABCSpec, abc_classes, abc_summary
from tierwise.analytics.features import customer_features
from tierwise.analytics.lifecycle import STAGES, LifecycleSpec, last_gap, lifecycle_stage
from tierwise.engine import connect_duckdb, ibis_duckdb

from .conftest import load


@pytest.fixture(scope="module")
def ib():
    return ibis_duckdb(connect_duckdb())


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
