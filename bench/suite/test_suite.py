"""The suite's engines on a hand-computed fixture: every engine gives the same answers, and they are right.

Run: ``.venv/bin/pytest bench/suite -x -q -p no:cacheprovider`` (not part of the project's test
suite: it checks benchmark code, not tierwise).

The fixture (as of 2025-12-31) has ties at bin edges and at an ABC cut-off, returns, a customer
with only a return, one without transactions, several rows on one day, a row after the as-of
date, a day whose purchase and return cancel out, and one customer of each lifecycle stage
that the rules can reach here. Expected values are worked out in the comments.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "classify"))
sys.path.insert(0, str(HERE))
import generate as gen  # noqa: E402
import pandas_rfm  # noqa: E402
import polars_rfm  # noqa: E402

AS_OF = gen.AS_OF     # 2025-12-31
CUSTOMERS = {          # id: open date
    1: "2025-12-31", 2: "2024-01-01", 3: "2025-03-01", 4: "2025-01-01", 5: "2025-09-01",
    6: "2025-01-01", 7: "2025-12-01", 8: "2024-06-01", 9: "2025-11-01",
}
TRANSACTIONS = [       # id, time, amount
    (1, "2025-12-31 23:59:59", "10.00"),                        # new (T = 0)
    (2, "2024-01-01 10:00:00", "50.00"), (2, "2025-06-01 10:00:00", "20.00"),   # gap 517 d > 365: won back
    (3, "2025-03-01 12:00:00", "-5.00"),                        # only a return: prospect, revenue −5
    # 4: no transactions: prospect
    (5, "2025-09-01 09:00:00", "25.00"), (5, "2025-12-01 09:00:00", "10.00"),
    (5, "2025-12-01 18:00:00", "15.00"),                        # two rows, one day: 2 days, 50.00, growing
    (6, "2025-01-01 08:00:00", "30.00"), (6, "2026-01-05 08:00:00", "1000.00"),  # future row ignored; at risk
    (7, "2025-12-01 11:00:00", "50.00"),                        # ties 5 on revenue (50.00) and recency (30 d)
    (8, "2024-06-01 10:00:00", "100.00"), (8, "2024-12-01 10:00:00", "100.00"),
    (8, "2025-06-01 10:00:00", "100.00"), (8, "2025-12-15 10:00:00", "100.00"),  # loyal
    (9, "2025-11-01 10:00:00", "40.00"), (9, "2025-11-01 15:00:00", "-40.00"),  # a purchase day, revenue 0
]
# buyers 1, 2, 5, 6, 7, 8, 9 (N = 7): position p → score floor(5p/7) + 1 = 1, 1, 2, 3, 3, 4, 5
# R (recency desc, id): 6 (364), 2 (213), 9 (60), 5 (30), 7 (30), 8 (16), 1 (0)
# F (days asc, id):     1, 6, 7, 9 (1 day), 2, 5 (2 days), 8 (4 days)
# M (revenue asc, id):  9 (0), 1 (10), 6 (30), 5 (50), 7 (50), 2 (70), 8 (400)
# ABC: positive total 610.00; cumulative 400 (65.6 %) A, 470 (77.0 %) A, 520 (85.2 %) B, 570 (93.4 %) B,
#      600 (98.4 %) C, 610 C; 9 (0), 3 (−5) and 4 (0) are C
EXPECTED = {   # id: (r, f, m, abc, lifecycle)
    1: (5, 1, 1, "C", "new"), 2: (1, 3, 4, "A", "won_back"), 3: (None, None, None, "C", "prospect"),
    4: (None, None, None, "C", "prospect"), 5: (3, 4, 3, "B", "growing"), 6: (1, 1, 2, "C", "at_risk"),
    7: (3, 2, 3, "B", "new"), 8: (4, 5, 5, "A", "loyal"), 9: (2, 3, 1, "C", "new"),
}


def cid(i: int) -> str:
    return f"{i:010d}"


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, list[str]]:
    d = tmp_path_factory.mktemp("suite")
    con = duckdb.connect()
    con.register("c", pd.DataFrame({"cid": [cid(i) for i in CUSTOMERS], "od": list(CUSTOMERS.values())}))
    con.register("t", pd.DataFrame(TRANSACTIONS, columns=["cid", "ts", "amt"]).assign(cid=lambda f: f.cid.map(cid)))
    tx = gen._select("transactions", {"customer_id": "cid", "txn_time": "ts::TIMESTAMP",
                                      "amount": "amt::DECIMAL(18,2)"})
    cu = gen._select("customers", {"customer_id": "cid", "open_date": "od::DATE"})
    con.execute(f"COPY (SELECT {tx} FROM t) TO '{d}/transactions-000.parquet' (FORMAT parquet)")
    con.execute(f"COPY (SELECT {cu} FROM c) TO '{d}/customers-000.parquet' (FORMAT parquet)")
    return {"customers": [f"{d}/customers-000.parquet"], "transactions": [f"{d}/transactions-000.parquet"]}


def classify_run(monkeypatch, files):
    spec = importlib.util.spec_from_file_location("classify_run", HERE.parent / "classify" / "run.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    monkeypatch.setattr(mod.gen, "files", lambda n: files)
    return mod


def result(path) -> dict:
    df = pd.read_parquet(path)
    return {int(r.customer_id): tuple(None if pd.isna(v) else v for v in
                                      (r.r_score, r.f_score, r.m_score, r.abc_class, r.lifecycle))
            for r in df.itertuples()}


@pytest.mark.parametrize("engine", ["pandas", "polars", "tierwise", "hand"])
def test_engine_matches_hand_computed(engine, files, tmp_path, monkeypatch):
    out = tmp_path / f"{engine}.parquet"
    if engine == "pandas":
        pandas_rfm.run(files, AS_OF, str(out))
    elif engine == "polars":
        polars_rfm.run(files, AS_OF, str(out))
    else:
        crun = classify_run(monkeypatch, files)
        crun.SCRATCH = tmp_path / "scratch"
        (crun.run_tierwise if engine == "tierwise" else crun.run_hand)(len(TRANSACTIONS), out)
    assert result(out) == EXPECTED


def test_qcut_differs_from_tierwise_bins():
    """Seven customers: ``pd.qcut(rank, 5)`` cuts ranks 1..7 at 1, 2.2, 3.4, 4.6, 5.8, 7 → bins
    1, 1, 2, 3, 4, 5, 5, where tierwise's floor(5p/7) + 1 gives 1, 1, 2, 3, 3, 4, 5: two differ."""
    rfm = pd.DataFrame({"customer_id": [cid(i) for i in range(1, 8)], "purchase_days": [1] * 7,
                        "recency_days": range(7), "cents": range(7)})
    assert pandas_rfm.qcut_mismatches(rfm) == {"r_score": 2, "f_score": 2, "m_score": 2}
