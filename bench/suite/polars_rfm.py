"""The classification job in idiomatic Polars (lazy API), with tierwise's definitions.

One lazy query: scan the Parquet files, aggregate by (customer, day) and then by customer,
left-join onto the customers, rank per dimension with ``rank("ordinal")`` over the buyers
(the frame is sorted by customer id first, so ties go by id), cut the rank into five bins
(``floor(p·5/N) + 1``, tierwise's bins), a cumulative sum over the customers sorted by
revenue for ABC, and a ``when/then`` chain for the lifecycle stage. Money is integer cents
(the DECIMAL amount times 100), so sums are exact and equal revenues tie exactly.
"""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta

import polars as pl

BINS = 5
ABC_BOUNDS = (("A", 80), ("B", 95))
LIFECYCLE = dict(new_days=90, churn_days=365, k=2.0, min_at_risk_days=60, at_risk_days=180,
                 loyal_min_purchase_days=4, loyal_min_tenure_days=365)


def features(files: dict[str, list[str]], as_of: date) -> pl.LazyFrame:
    """One row per customer of the customers files: the features RFM, ABC and lifecycle read."""
    end = datetime.combine(as_of + timedelta(days=1), datetime.min.time())
    tx = (pl.scan_parquet(files["transactions"])
          .filter(pl.col("txn_time") < end)
          .select("customer_id", day=pl.col("txn_time").dt.date(),
                  cents=(pl.col("amount") * 100).cast(pl.Int64)))
    daily = tx.group_by("customer_id", "day").agg(pl.col("cents").sum(), buy=(pl.col("cents") > 0).any())
    buy_day = pl.col("day").filter(pl.col("buy"))
    per = daily.group_by("customer_id").agg(
        purchase_days=pl.col("buy").sum(),
        first_day=buy_day.min(),
        last_two=buy_day.top_k(2).sort(descending=True),   # top_k returns no particular order
        cents=pl.col("cents").sum(),
    ).with_columns(last_day=pl.col("last_two").list.get(0, null_on_oob=True),
                   prev_day=pl.col("last_two").list.get(1, null_on_oob=True)).drop("last_two")
    cust = pl.scan_parquet(files["customers"]).select("customer_id", "open_date")
    asof = pl.lit(as_of)
    return (cust.join(per, on="customer_id", how="left")
            .with_columns(pl.col("purchase_days").fill_null(0).cast(pl.Int64), pl.col("cents").fill_null(0))
            .with_columns(recency_days=(asof - pl.col("last_day")).dt.total_days(),
                          T=(asof - pl.col("first_day")).dt.total_days(),
                          t_x=(pl.col("last_day") - pl.col("first_day")).dt.total_days(),
                          x=(pl.col("purchase_days") - 1).clip(lower_bound=0),
                          tenure_days=(asof - pl.coalesce("open_date", "first_day")).dt.total_days(),
                          last_gap_days=(pl.col("last_day") - pl.col("prev_day")).dt.total_days()))


def _score(value: pl.Expr) -> pl.Expr:
    """1..5 from the ordinal rank among buyers (worst first); NULL without a purchase."""
    buyer = pl.col("purchase_days") > 0
    pos = value.rank("ordinal").over(buyer) - 1
    score = (pos * BINS // pl.len().over(buyer) + 1).cast(pl.Int64)
    return pl.when(buyer).then(score)


def classify(feats: pl.LazyFrame) -> pl.LazyFrame:
    c = LIFECYCLE
    positive = pl.col("cents").clip(lower_bound=0)
    cum, total = positive.cum_sum(), positive.sum()
    abc = pl.when((pl.col("cents") > 0) & (100 * cum <= ABC_BOUNDS[0][1] * total)).then(pl.lit(ABC_BOUNDS[0][0]))
    for label, pct in ABC_BOUNDS[1:]:
        abc = abc.when((pl.col("cents") > 0) & (100 * cum <= pct * total)).then(pl.lit(label))
    typical = pl.col("t_x") / pl.when(pl.col("x") > 0).then(pl.col("x"))
    own_limit = pl.max_horizontal(typical * c["k"], pl.lit(float(c["min_at_risk_days"])))
    at_risk = pl.when(pl.col("x") > 0).then(pl.col("recency_days") > own_limit).otherwise(
        pl.col("recency_days") > c["at_risk_days"])
    stage = (pl.when(pl.col("purchase_days") == 0).then(pl.lit("prospect"))
             .when(pl.col("T") <= c["new_days"]).then(pl.lit("new"))
             .when(pl.col("recency_days") > c["churn_days"]).then(pl.lit("churned"))
             .when(at_risk).then(pl.lit("at_risk"))
             .when(pl.col("last_gap_days").fill_null(0) > c["churn_days"]).then(pl.lit("won_back"))
             .when((pl.col("purchase_days") >= c["loyal_min_purchase_days"])
                   & (pl.col("tenure_days") >= c["loyal_min_tenure_days"])).then(pl.lit("loyal"))
             .otherwise(pl.lit("growing")))
    return (feats.sort("customer_id")
            .with_columns(r_score=_score(-pl.col("recency_days")), f_score=_score(pl.col("purchase_days")),
                          m_score=_score(pl.col("cents")))
            .sort(["cents", "customer_id"], descending=[True, False])
            .select("customer_id", "r_score", "f_score", "m_score", abc_class=abc.otherwise(pl.lit("C")),
                    lifecycle=stage))


def run(files: dict[str, list[str]], as_of: date, out: str, engine: str = "auto") -> dict:
    """Collect the whole query (``engine``: Polars' in-memory ``auto`` or ``streaming``) and write Parquet."""
    t = time.perf_counter()
    classify(features(files, as_of)).collect(engine=engine).write_parquet(out)
    return {"collect+write": time.perf_counter() - t}


if __name__ == "__main__":       # a quick look: python bench/suite/polars_rfm.py 1M
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "classify"))
    import generate as gen

    n = gen.parse_size(sys.argv[1] if len(sys.argv) > 1 else "1M")
    print(run(gen.files(n), gen.AS_OF, f"/tmp/polars-{gen.label(n)}.parquet"))
