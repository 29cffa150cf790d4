"""Features on a hand-computed fixture (see conftest.FIXTURE), with future rows planted in every table."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from tierwise.analytics.features import customer_features

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
