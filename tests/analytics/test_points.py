"""Points on a hand-computed ledger: multipliers, the tier in force at purchase, qualifying window, FIFO expiry."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal as D

import pyarrow as pa

from tierwise.analytics.days import day_of
from tierwise.analytics.points import PointsSpec, points_features

from .conftest import load

AS_OF = date(2024, 6, 30)   # qualifying window starts after 2023-06-30, expiry cut 2022-06-30
DATA = {
    "customers": [{"customer_id": c} for c in "ABC"],
    "transactions": [
        {"customer_id": "A", "txn_time": datetime(2021, 12, 15), "amount": D("100.00")},            # 100, old
        {"customer_id": "A", "txn_time": datetime(2023, 3, 10), "amount": D("200.50"),
         "product_category": "electronics"},                                                        # 401
        {"customer_id": "A", "txn_time": datetime(2024, 2, 1), "amount": D("99.99")},               # gold: 149
        {"customer_id": "A", "txn_time": datetime(2024, 6, 30, 20), "amount": D("10.00"),
         "product_category": "electronics"},                                                        # 2 × 1.5: 30
        {"customer_id": "A", "txn_time": datetime(2024, 5, 1), "amount": D("-50.00")},              # return: 0
        {"customer_id": "A", "txn_time": datetime(2024, 7, 1), "amount": D("1000.00")},             # future
    ],
    "points": [
        {"customer_id": "A", "event_time": datetime(2022, 1, 1), "points": 20, "kind": "adjust"},   # old
        {"customer_id": "A", "event_time": datetime(2023, 1, 1), "points": -60, "kind": "redeem"},
        {"customer_id": "A", "event_time": datetime(2024, 7, 1), "points": -5, "kind": "redeem"},   # future
        {"customer_id": "B", "event_time": datetime(2024, 1, 1), "points": 10, "kind": "bonus"},
    ],
}
SPEC = PointsSpec(per_amount=1.0, category_multipliers={"electronics": 2.0}, tier_multipliers={"gold": 1.5},
                  qualifying_months=12, expiry_months=24)


def test_points_ledger():
    ib, tables = load(DATA)
    hist = ib.create_table("hist", pa.table({"customer_id": ["A"], "tier": ["gold"],
                                             "from_day": [day_of(date(2024, 1, 1))], "to_day": [10**7]}))
    got = ib.execute(points_features(tables["transactions"], tables["points"], hist, AS_OF, SPEC)).set_index(
        "customer_id").to_dict("index")
    assert got["A"] == {"points_earned": 680, "points_qualifying": 179, "points_adjusted": 20, "points_redeemed": 60,
                        "points_expired": 60, "points_balance": 580}
    assert got["B"] == {"points_earned": 0, "points_qualifying": 0, "points_adjusted": 10, "points_redeemed": 0,
                        "points_expired": 0, "points_balance": 10}
    assert "C" not in got


def test_without_tier_history_no_multiplier():
    ib, tables = load(DATA)
    got = ib.execute(points_features(tables["transactions"], tables["points"], None, AS_OF, SPEC)).set_index(
        "customer_id")
    assert got.loc["A", "points_earned"] == 100 + 401 + 99 + 20
