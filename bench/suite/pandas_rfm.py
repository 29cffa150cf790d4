"""The classification job as a pandas script in the style of common RFM tutorials.

Tutorial shape: read the transactions into one DataFrame, ``groupby(...).agg(...)`` for
recency / frequency / monetary, a rank per dimension cut into five bins, a cumulative-sum
Pareto table for ABC, and ``np.select`` for the lifecycle stage. The definitions are
tierwise's (``tierwise.analytics.features``, ``rfm``, ``abc``, ``lifecycle``) so that the
per-customer output can be compared row by row. Three places where the usual tutorial
line would give different answers, and what is used instead:

* **bins**: the tutorial line ``pd.qcut(rank, 5)`` cuts at the interpolated quantiles
  ``1 + k·(N − 1)/5`` of the ranks; tierwise's score is ``floor(p·5/N) + 1`` for the
  0-based position ``p``, i.e. bins ``[k·N/5, (k+1)·N/5)``. The script keeps the tutorial's
  ``rank(method="first")`` (after sorting by customer id, so ties go by id) and cuts it with
  ``pd.cut`` at those edges. :func:`qcut_mismatches` counts the customers that
  ``pd.qcut`` would have put in another bin (reported, not timed);
* **money**: amounts are DECIMAL(18,2) in the files; ``pd.read_parquet`` gives Python
  ``Decimal`` objects, converted with ``astype(float)`` as a tutorial would, then to
  integer cents, so that sums are exact and equal revenues tie exactly (tierwise compares
  money to the cent). Summing floats instead changes the order of equal revenues;
* **days**: a purchase day is a calendar day with at least one positive amount;
  frequency is the number of such days (not of transactions), as in tierwise.
"""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd

BINS = 5
ABC_BOUNDS = (("A", 80), ("B", 95))          # percent of the positive total; the rest is C
LIFECYCLE = dict(new_days=90, churn_days=365, k=2.0, min_at_risk_days=60, at_risk_days=180,
                 loyal_min_purchase_days=4, loyal_min_tenure_days=365)


def read(files: dict[str, list[str]], as_of: date) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(transactions up to the end of the as-of day, customers) as pandas frames."""
    tx = pd.concat([pd.read_parquet(f, columns=["customer_id", "txn_time", "amount"])
                    for f in files["transactions"]], ignore_index=True)
    tx = tx[tx["txn_time"] < pd.Timestamp(as_of + timedelta(days=1))]
    cust = pd.concat([pd.read_parquet(f, columns=["customer_id", "open_date"]) for f in files["customers"]],
                     ignore_index=True)
    return tx, cust


def features(tx: pd.DataFrame, cust: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """One row per customer of ``cust``: the features RFM, ABC and lifecycle read."""
    asof = pd.Timestamp(as_of)
    tx = tx.assign(cents=(tx["amount"].astype("float64") * 100).round().astype("int64"),
                   day=tx["txn_time"].dt.normalize())
    tx["buy"] = tx["cents"] > 0
    daily = tx.groupby(["customer_id", "day"], as_index=False).agg(cents=("cents", "sum"), buy=("buy", "any"))
    buys = daily[daily["buy"]].sort_values(["customer_id", "day"])
    buys["prev_day"] = buys.groupby("customer_id")["day"].shift()
    per = buys.groupby("customer_id").agg(first_day=("day", "min"), last_day=("day", "max"),
                                          purchase_days=("day", "size"), prev_day=("prev_day", "last"))
    revenue = daily.groupby("customer_id")["cents"].sum()   # returns included; also without a purchase day
    rfm = cust.merge(per, left_on="customer_id", right_index=True, how="left")
    rfm["cents"] = rfm["customer_id"].map(revenue).fillna(0).astype("int64")
    rfm["purchase_days"] = rfm["purchase_days"].fillna(0).astype("int64")
    rfm["recency_days"] = (asof - rfm["last_day"]).dt.days
    rfm["T"] = (asof - rfm["first_day"]).dt.days
    rfm["t_x"] = (rfm["last_day"] - rfm["first_day"]).dt.days
    rfm["x"] = (rfm["purchase_days"] - 1).clip(lower=0)
    start = pd.to_datetime(rfm["open_date"]).fillna(rfm["first_day"])
    rfm["tenure_days"] = (asof - start).dt.days
    rfm["last_gap_days"] = (rfm["last_day"] - rfm["prev_day"]).dt.days
    return rfm


def _position(rfm: pd.DataFrame, buyers: pd.Series, value: pd.Series) -> pd.Series:
    """0-based position among buyers, worst value first, ties by customer id (rank method 'first')."""
    order = rfm["customer_id"].sort_values().index
    v = value[buyers].reindex(order).dropna()
    return v.rank(method="first") - 1


def scores(rfm: pd.DataFrame) -> pd.DataFrame:
    """``r_score``, ``f_score``, ``m_score`` (1..5, 5 best; NULL without a purchase)."""
    buyers = rfm["purchase_days"] > 0
    n = int(buyers.sum())
    edges = [k * n / BINS for k in range(BINS + 1)]
    out = {}
    for name, value in (("r_score", -rfm["recency_days"]), ("f_score", rfm["purchase_days"]),
                        ("m_score", rfm["cents"])):
        pos = _position(rfm, buyers, value)
        binned = pd.cut(pos, bins=edges, right=False, labels=list(range(1, BINS + 1)))
        out[name] = binned.astype("Int64").reindex(rfm.index)
    return pd.DataFrame(out)


def qcut_mismatches(rfm: pd.DataFrame) -> dict[str, int]:
    """Customers whose bin the tutorial line ``pd.qcut(rank, 5)`` would change, per dimension."""
    buyers = rfm["purchase_days"] > 0
    n = int(buyers.sum())
    out = {}
    for name, value in (("r_score", -rfm["recency_days"]), ("f_score", rfm["purchase_days"]),
                        ("m_score", rfm["cents"])):
        pos = _position(rfm, buyers, value)
        q = pd.qcut(pos + 1, BINS, labels=False) + 1
        out[name] = int((q != (pos * BINS // n + 1)).sum())
    return out


def abc(rfm: pd.DataFrame) -> pd.Series:
    """ABC class by revenue: cumulative share of the positive total, largest first, ties by id."""
    s = rfm.sort_values(["cents", "customer_id"], ascending=[False, True])
    positive = s["cents"].clip(lower=0)
    cum, total = positive.cumsum(), int(positive.sum())
    klass = np.select([(s["cents"] > 0) & (100 * cum <= pct * total) for _, pct in ABC_BOUNDS],
                      [label for label, _ in ABC_BOUNDS], default="C")
    return pd.Series(klass, index=s.index).reindex(rfm.index)


def lifecycle(rfm: pd.DataFrame) -> pd.Series:
    """The first stage that applies, in tierwise's order."""
    c = LIFECYCLE
    typical = rfm["t_x"] / rfm["x"].where(rfm["x"] > 0)
    own_limit = np.maximum(typical * c["k"], float(c["min_at_risk_days"]))
    at_risk = np.where(rfm["x"] > 0, rfm["recency_days"] > own_limit, rfm["recency_days"] > c["at_risk_days"])
    conditions = [
        rfm["purchase_days"] == 0,
        rfm["T"] <= c["new_days"],
        rfm["recency_days"] > c["churn_days"],
        at_risk,
        rfm["last_gap_days"].fillna(0) > c["churn_days"],
        (rfm["purchase_days"] >= c["loyal_min_purchase_days"]) & (rfm["tenure_days"] >= c["loyal_min_tenure_days"]),
    ]
    stages = ["prospect", "new", "churned", "at_risk", "won_back", "loyal"]
    return pd.Series(np.select(conditions, stages, default="growing"), index=rfm.index)


def run(files: dict[str, list[str]], as_of: date, out: str) -> dict:
    """The whole job, timed by step; writes ``customer_id, r_score, f_score, m_score, abc_class, lifecycle``."""
    steps = {}
    t = time.perf_counter()
    tx, cust = read(files, as_of)
    steps["read"] = time.perf_counter() - t
    t = time.perf_counter()
    rfm = features(tx, cust, as_of)
    del tx
    steps["features"] = time.perf_counter() - t
    t = time.perf_counter()
    res = pd.concat([rfm[["customer_id"]], scores(rfm)], axis=1)
    res["abc_class"] = abc(rfm)
    res["lifecycle"] = lifecycle(rfm)
    steps["classify"] = time.perf_counter() - t
    t = time.perf_counter()
    res.to_parquet(out, index=False)
    steps["write"] = time.perf_counter() - t
    steps["_qcut_mismatches"] = qcut_mismatches(rfm)      # after the timed part
    return steps


if __name__ == "__main__":       # a quick look: python bench/suite/pandas_rfm.py 1M
    import sys

    sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[1] / "classify"))
    import generate as gen

    n = gen.parse_size(sys.argv[1] if len(sys.argv) > 1 else "1M")
    print(run(gen.files(n), gen.AS_OF, f"/tmp/pandas-{gen.label(n)}.parquet"), datetime.now())
