"""Features on a hand-computed fixture (see conftest.FIXTURE), with future rows planted in every table."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pandas as pd
import pytest

from tierwise.analytics.features import FeatureSpec, customer_features

from .conftest import AS_OF


@pytest.fixture(scope="module")
def feats(fixture_tables):
    ib, tables = fixture_tables
    df = ib.execute(customer_features(tables, AS_OF))
    return {r["customer_id"]: r for r in df.to_dict("records")}


def test_purchases_returns_and_revenue(feats):
    a = feats["A"]
    assert (a["purchase_count"], a["purchase_days"], a["return_count"]) == (4, 3, 1)
    assert a["revenue"] == Decimal("360.00")      # 100 + 50 + 200 + 30 − 20; the 999 after as-of ignored
    assert a["gross_sales"] == Decimal("380.00")
    assert a["profit"] == Decimal("10.00")
    assert a["aov"] == pytest.approx(95.0)
    assert (a["revenue_30d"], a["revenue_90d"], a["revenue_365d"], a["revenue_month"]) == (
        Decimal("10.00"), Decimal("10.00"), Decimal("360.00"), Decimal("10.00"))
    assert (a["purchase_days_30d"], a["purchase_days_90d"], a["purchase_days_365d"]) == (1, 1, 3)


def test_dates_recency_tenure(feats):
    a = feats["A"]
    assert a["first_purchase_date"].date() == date(2024, 1, 10) if hasattr(a["first_purchase_date"], "date") \
        else a["first_purchase_date"] == date(2024, 1, 10)
    assert (a["recency_days"], a["tenure_days"]) == (0, 546)
    assert (feats["B"]["recency_days"], feats["B"]["tenure_days"]) == (29, 29)  # no open date: first purchase
    assert feats["E"]["recency_days"] == 366                                     # across 29 Feb 2024
    assert feats["C"]["tenure_days"] == 29


def test_clv_statistics_one_transaction_per_day(feats):
    a = feats["A"]
    assert (a["x"], a["t_x"], a["T"]) == (2, 172, 172)
    assert a["mean_repeat_spend"] == pytest.approx(115.0)   # (200 + 30) / 2; the first day excluded
    b = feats["B"]
    assert (b["x"], b["t_x"], b["T"]) == (0, 0, 29)
    assert b["mean_repeat_spend"] is None or b["mean_repeat_spend"] != b["mean_repeat_spend"]


def test_prospect_and_returns_only_customer(feats):
    c, d = feats["C"], feats["D"]
    assert (c["purchase_count"], c["revenue"], c["x"]) == (0, Decimal("0"), 0)
    assert c["recency_days"] is None or c["recency_days"] != c["recency_days"]
    assert (d["purchase_count"], d["return_count"], d["revenue"], d["gross_sales"]) == (0, 1, Decimal("-15.00"), 0)


def test_average_daily_balance_windows(feats):
    a, b = feats["A"], feats["B"]
    assert a["aum_avg_1m"] == pytest.approx(3000.0)            # June only
    assert a["aum_avg_3m"] == pytest.approx((1000 + 3000 + 3000) / 3)   # Apr, May, Jun month ends
    assert (b["aum_avg_1m"], b["aum_avg_3m"]) == (pytest.approx(600.0), pytest.approx(200.0))
    assert (a["aum_latest"], b["aum_latest"]) == (Decimal("3000.00"), Decimal("600.00"))
    assert feats["C"]["aum_avg_3m"] == 0.0


def test_holdings_interactions_age(feats):
    a, b = feats["A"], feats["B"]
    assert (a["products_held"], b["products_held"], feats["C"]["products_held"]) == (1, 1, 0)
    assert a["days_since_contact"] == 29 and a["last_survey_score"] == pytest.approx(3.0)
    assert b["last_survey_score"] == pytest.approx(9.0)       # the later score lies after as-of
    assert (a["age"], b["age"]) == (44, 33)


def test_nothing_after_as_of_is_used(fixture_tables):
    """Moving the as-of date back must give the same features as deleting the later rows."""
    ib, tables = fixture_tables
    early = date(2024, 3, 1)
    got = ib.execute(customer_features(tables, early)).set_index("customer_id")
    a = got.loc["A"]
    assert (a["purchase_count"], a["revenue"], a["x"], a["T"]) == (3, Decimal("350.00"), 1, 51)
    assert got.loc["D", "return_count"] == 0


# ---------------------------------------------------------------------------------------------
# the gap before the last purchase day; the DuckDB and portable forms; keeping only some features

def test_last_gap_days_hand_computed():
    from .conftest import load
    from .test_abc_lifecycle import LIFE

    ib, tables = load(LIFE)
    got = ib.execute(customer_features(tables, AS_OF)).set_index("customer_id")["last_gap_days"]
    # G: 1 Mar → 1 Jun 2024; L: 1 Dec 2023 → 1 Jun 2024; R: 1 Nov 2023 → 1 Jan 2024; C: 1 Jan → 1 May 2023;
    # W: 1 Feb 2022 → 1 Jun 2024 (leap day inside); N, X: one purchase day; P: none
    assert {k: (None if v != v else int(v)) for k, v in got.items()} == {
        "G": 92, "L": 183, "R": 61, "C": 120, "W": 851, "N": None, "X": None, "P": None}


def test_last_gap_ignores_same_day_repeats_returns_and_future(fixture_tables):
    ib, tables = fixture_tables
    got = ib.execute(customer_features(tables, AS_OF)).set_index("customer_id")
    # A buys on 10 Jan (twice), 1 Mar, returns on 15 Jun, buys on 30 Jun; the 1 Jul purchase is after as-of
    assert got.loc["A", "last_gap_days"] == 121
    assert all(got.loc[c, "last_gap_days"] != got.loc[c, "last_gap_days"] for c in "BCDE")   # NULL (NaN)


@pytest.mark.parametrize("as_of", [AS_OF, date(2024, 3, 1), date(2024, 1, 10)])
def test_duckdb_and_portable_forms_agree_on_the_fixture(fixture_tables, as_of):
    ib, tables = fixture_tables
    fast = ib.execute(customer_features(tables, as_of, dialect="duckdb")).sort_values("customer_id")
    portable = ib.execute(customer_features(tables, as_of, dialect="portable")).sort_values("customer_id")
    pd.testing.assert_frame_equal(fast.reset_index(drop=True), portable.reset_index(drop=True))


def test_duckdb_and_portable_forms_agree_on_generated_data():
    from tierwise.samples import generate

    from .conftest import load_arrow

    for scenario, seed in (("retail", 11), ("bank", 12)):
        ib, tables = load_arrow(generate(scenario, 400, seed=seed))
        as_of = date(2024, 12, 31)
        fast = ib.execute(customer_features(tables, as_of, dialect="duckdb")).sort_values("customer_id")
        portable = ib.execute(customer_features(tables, as_of, dialect="portable")).sort_values("customer_id")
        assert fast["last_gap_days"].notna().sum() > 50
        pd.testing.assert_frame_equal(fast.reset_index(drop=True), portable.reset_index(drop=True))


def test_dialect_is_chosen_by_the_engine(fixture_tables):
    import ibis

    from tierwise.analytics.dialect import use_fast

    ib, tables = fixture_tables
    assert use_fast(tables["transactions"], None) is True
    assert use_fast(tables["transactions"], "portable") is False
    assert use_fast(ibis.table({"a": "int64"}, name="unbound"), None) is False
    sql = ib.compile(customer_features(tables, AS_OF))
    assert "ARG_MIN" in sql.upper() and "LIST_EXTRACT" in sql.upper()
    sql = ib.compile(customer_features(tables, AS_OF, dialect="portable"))
    assert "ARG_MIN" not in sql.upper() and "LIST_EXTRACT" not in sql.upper()
    with pytest.raises(ValueError, match="dialect"):
        customer_features(tables, AS_OF, dialect="spark")


def test_only_keeps_the_named_features_with_the_same_values(fixture_tables):
    ib, tables = fixture_tables
    keep = ("recency_days", "revenue", "last_gap_days", "mean_repeat_spend", "aum_avg_3m")
    some = ib.execute(customer_features(tables, AS_OF, FeatureSpec(only=keep))).sort_values("customer_id")
    assert list(some.columns) == ["customer_id", *keep]
    full = ib.execute(customer_features(tables, AS_OF)).sort_values("customer_id")[list(some.columns)]
    pd.testing.assert_frame_equal(some.reset_index(drop=True), full.reset_index(drop=True))
    with pytest.raises(ValueError, match="unknown feature"):
        customer_features(tables, AS_OF, FeatureSpec(only=("recency",)))
