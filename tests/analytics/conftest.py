"""Hand-made canonical tables in a real DuckDB, as Ibis tables."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from tierwise.canonical import TABLES
from tierwise.engine import connect_duckdb, ibis_duckdb, register_canonical


def load(rows: dict[str, list[dict]]):
    """An Ibis backend with the canonical tables, filled with ``rows`` (missing columns NULL)."""
    ib = ibis_duckdb(connect_duckdb())
    tables = register_canonical(ib, {}, TABLES)
    for name, recs in rows.items():
        cols = TABLES[name].names
        for r in recs:
            unknown = set(r) - set(cols)
            assert not unknown, unknown
            ib.con.execute(f'INSERT INTO "{name}" VALUES ({", ".join("?" for _ in cols)})', [r.get(c) for c in cols])
    return ib, tables


def load_arrow(tables):
    """An Ibis backend with the canonical tables filled from Arrow tables (e.g. ``tierwise.samples.generate``)."""
    ib = ibis_duckdb(connect_duckdb())
    canonical = register_canonical(ib, {}, TABLES)
    for name, data in tables.items():
        if name in TABLES:
            ib.con.register("_src", data)
            ib.con.execute(f'INSERT INTO "{name}" BY NAME SELECT * FROM _src')
            ib.con.unregister("_src")
    return ib, canonical


D = Decimal
AS_OF = date(2024, 6, 30)

FIXTURE = {
    "customers": [
        {"customer_id": "A", "open_date": date(2023, 1, 1), "birthday": date(1980, 2, 29), "manager_id": "M1"},
        {"customer_id": "B", "birthday": date(1990, 7, 1), "manager_id": "M1"},
        {"customer_id": "C", "open_date": date(2024, 6, 1), "manager_id": "M2"},   # prospect
        {"customer_id": "D", "open_date": date(2024, 1, 1)},                        # only a return
        {"customer_id": "E", "open_date": date(2023, 6, 1)},                        # one old purchase
    ],
    "transactions": [
        {"customer_id": "A", "txn_time": datetime(2024, 1, 10, 9), "amount": D("100.00"), "profit": D("10.00")},
        {"customer_id": "A", "txn_time": datetime(2024, 1, 10, 17), "amount": D("50.00")},
        {"customer_id": "A", "txn_time": datetime(2024, 3, 1), "amount": D("200.00")},
        {"customer_id": "A", "txn_time": datetime(2024, 6, 15), "amount": D("-20.00")},
        {"customer_id": "A", "txn_time": datetime(2024, 6, 30, 23, 59), "amount": D("30.00")},  # as-of day counts
        {"customer_id": "A", "txn_time": datetime(2024, 7, 1), "amount": D("999.00")},          # future: ignored
        {"customer_id": "B", "txn_time": datetime(2024, 6, 1), "amount": D("10.00")},
        {"customer_id": "D", "txn_time": datetime(2024, 5, 1), "amount": D("-15.00")},
        {"customer_id": "E", "txn_time": datetime(2023, 6, 30), "amount": D("500.00")},
        {"customer_id": "E", "txn_time": datetime(2025, 1, 1), "amount": D("1.00")},            # future
    ],
    "balances": [
        {"customer_id": "A", "balance_date": date(2024, 3, 31), "product_id": "P1", "balance": D("1000")},
        {"customer_id": "A", "balance_date": date(2024, 3, 31), "product_id": "P2", "balance": D("500")},
        {"customer_id": "A", "balance_date": date(2024, 4, 30), "product_id": "P1", "balance": D("1000")},
        {"customer_id": "A", "balance_date": date(2024, 5, 31), "product_id": "P1", "balance": D("2000")},
        {"customer_id": "A", "balance_date": date(2024, 5, 31), "product_id": "P2", "balance": D("1000")},
        {"customer_id": "A", "balance_date": date(2024, 6, 30), "product_id": "P1", "balance": D("3000")},
        {"customer_id": "A", "balance_date": date(2024, 7, 31), "product_id": "P1", "balance": D("99999")},
        {"customer_id": "B", "balance_date": date(2024, 6, 30), "product_id": "P1", "balance": D("600")},
    ],
    "holdings": [
        {"customer_id": "A", "product_id": "P1", "open_date": date(2024, 1, 1), "maturity_date": date(2024, 12, 31)},
        {"customer_id": "A", "product_id": "P2", "open_date": date(2024, 1, 1), "maturity_date": date(2024, 6, 30)},
        {"customer_id": "A", "product_id": "P3", "open_date": date(2024, 7, 15)},
        {"customer_id": "A", "product_id": "P4", "open_date": date(2024, 1, 1), "status": "closed"},
        {"customer_id": "B", "product_id": "P1"},
    ],
    "interactions": [
        {"customer_id": "A", "interaction_time": datetime(2024, 6, 1), "kind": "contact"},
        {"customer_id": "A", "interaction_time": datetime(2024, 6, 20), "kind": "survey", "score": 4.0},
        {"customer_id": "A", "interaction_time": datetime(2024, 6, 20, 15), "kind": "survey", "score": 2.0},
        {"customer_id": "A", "interaction_time": datetime(2024, 7, 1), "kind": "contact"},
        {"customer_id": "B", "interaction_time": datetime(2024, 5, 1), "kind": "complaint"},
        {"customer_id": "B", "interaction_time": datetime(2024, 5, 2), "kind": "survey", "score": 9.0},
        {"customer_id": "B", "interaction_time": datetime(2024, 8, 2), "kind": "survey", "score": 1.0},
    ],
}


@pytest.fixture(scope="module")
def fixture_tables():
    return load(FIXTURE)
