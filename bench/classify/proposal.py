"""A sketch of the suggested changes to ``tierwise.analytics``, as plain Ibis (benchmark only, not src).

Same definitions as ``features.py`` / ``rfm.py`` / ``abc.py`` / ``lifecycle.py``; string customer ids
(no integer packing); engine-neutral Ibis except one DuckDB built-in (``max(x, 2)``, the two largest
values) for the last gap between purchase days, with the portable join as fallback.

What changes against the current code (see bench/results.md for the measured effect):

1. features: one (customer, day) pre-aggregation of the transactions, then one per-customer
   aggregation of it. ``purchase_days`` becomes a count of day rows (no ``COUNT(DISTINCT day)``,
   which DuckDB runs as a separate aggregate + join), ``repeat_spend`` = gross sales − the first day's
   spend (``arg_min``; no second (customer, day) aggregation + min + join), and the last gap between
   purchase days is a feature computed in the same aggregation (no second scan of the Parquet
   files in ``last_gap``).
2. RFM and ABC: only the cut-offs are computed — per score boundary the (value, customer id) of
   the first customer above it, a table of a few rows — and every customer's score/class is a
   comparison with them on the features table itself. No per-customer score table, no UNION,
   and none of the six LEFT JOINs on the VARCHAR ``customer_id`` that assemble the result.
3. lifecycle: a column of the features table (last gap already there): no join.
"""

from __future__ import annotations

from datetime import date

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
from ibis import _

from tierwise.analytics.abc import ABCSpec
from tierwise.analytics.days import day_number, day_of
from tierwise.analytics.lifecycle import LifecycleSpec
from tierwise.analytics.rfm import RFMSpec


@ibis.udf.agg.builtin(name="max")
def _max_n(arg: int, n: int) -> dt.Array(dt.int64):
    """DuckDB's ``max(arg, n)``: the n largest values, largest first."""


def features(tables: dict[str, ir.Table], as_of: date, *, top2: bool = True) -> ir.Table:
    asof = day_of(as_of)
    txn = tables["transactions"]
    t = txn.mutate(day=day_number(txn.txn_time)).filter(_.day <= asof)
    buy = t.amount > 0
    daily = t.group_by(["customer_id", "day"]).aggregate(
        spend=t.amount.sum(), buy_spend=t.amount.sum(where=buy), n_buy=buy.cast("int64").sum(),
        n_ret=(t.amount < 0).cast("int64").sum(), profit=t.profit.sum())
    is_day = daily.n_buy > 0
    aggs = dict(
        first_purchase_day=daily.day.min(where=is_day),
        last_purchase_day=daily.day.max(where=is_day),
        purchase_count=daily.n_buy.sum(),
        purchase_days=is_day.cast("int64").sum(),
        return_count=daily.n_ret.sum(),
        revenue=daily.spend.sum(),
        gross_sales=daily.buy_spend.sum(),
        profit=daily.profit.sum(),
        first_day_spend=daily.buy_spend.argmin(daily.day, where=is_day),
    )
    if top2:
        aggs["last_two"] = _max_n(daily.day, 2, where=is_day)
    per = daily.group_by("customer_id").aggregate(**aggs)
    if top2:
        per = per.mutate(prev_purchase_day=per.last_two[1]).drop("last_two")
    else:
        last = daily.filter(is_day).group_by("customer_id").aggregate(last_day=_.day.max())
        j = daily.filter(is_day).join(last, "customer_id")
        prev = j.group_by("customer_id").aggregate(prev_purchase_day=j.day.max(where=j.day < j.last_day))
        per = per.left_join(prev, "customer_id").drop("customer_id_right")
    cust = tables["customers"].select("customer_id", "open_date")
    f = cust.left_join(per, "customer_id").drop("customer_id_right")
    first_day, last_day = f.first_purchase_day, f.last_purchase_day
    return f.select(
        "customer_id", "open_date",
        purchase_count=f.purchase_count.fill_null(0),
        purchase_days=f.purchase_days.fill_null(0),
        return_count=f.return_count.fill_null(0),
        revenue=f.revenue.fill_null(0),
        gross_sales=f.gross_sales.fill_null(0),
        profit=f.profit,
        recency_days=asof - last_day,
        tenure_days=asof - ibis.coalesce(day_number(f.open_date), first_day),
        x=(f.purchase_days - 1).fill_null(0).clip(lower=0),
        t_x=last_day - first_day,
        T=asof - first_day,
        mean_repeat_spend=((f.gross_sales - f.first_day_spend).cast("float64")
                           / (f.purchase_days - 1).nullif(0).cast("float64")),
        last_gap_days=last_day - f.prev_purchase_day,
    )


# ---------------------------------------------------------------------------------------------
# RFM by cut-offs

def _rfm_cuts(buyers: ir.Table, dim: str, value: str, n: int) -> ir.Table:
    """One row: for k = 2..n, ``v<k>`` and ``id<k>``, the (oriented value, id) of the first customer
    scoring k (NULL when no customer does)."""
    t = buyers.select("customer_id", v=-buyers[value] if dim == "R" else buyers[value])
    total = t.count().as_scalar()
    g = t.group_by("v").aggregate(cnt=_.count())
    g = g.mutate(before=g.cnt.cumsum(order_by=g.v) - g.cnt)
    ks = ibis.memtable({"k": list(range(2, n + 1))})
    ks = ks.mutate(p=((ks.k - 1) * total + (n - 1)) // n)          # ceil((k-1)·N/n): first position of score k
    cut = ks.join(g, (ks.p >= g.before) & (ks.p < g.before + g.cnt)).select("k", "v", r=_.p - _.before + 1)
    members = t.semi_join(cut, "v")
    members = members.mutate(rn=ibis.row_number().over(group_by=members.v, order_by=members.customer_id) + 1)
    ids = members.join(cut, (members.v == cut.v) & (members.rn == cut.r)).select("k", v="v", customer_id="customer_id")
    aggs = {}
    for k in range(2, n + 1):
        aggs[f"{dim}v{k}"] = ids.v.max(where=ids.k == k)
        aggs[f"{dim}id{k}"] = ids.customer_id.max(where=ids.k == k)
    return ids.aggregate(**aggs)


def _score(f: ir.Table, dim: str, value: str, n: int) -> ir.IntegerValue:
    v = -f[value] if dim == "R" else f[value]
    s = ibis.literal(1)
    for k in range(2, n + 1):
        vk, idk = f[f"{dim}v{k}"], f[f"{dim}id{k}"]
        above = (v > vk) | ((v == vk) & (f.customer_id >= idk))
        s = s + above.fill_null(False).cast("int64")
    return ibis.ifelse(f.purchase_days > 0, s, ibis.null("int64"))


# ---------------------------------------------------------------------------------------------
# ABC by cut-offs

def _abc_cuts(feats: ir.Table, spec: ABCSpec) -> ir.Table:
    """One row: per bound i, ``ac<i>`` (the value of the group the bound falls in) and ``aid<i>``
    (the id of its last member inside the bound; NULL: none)."""
    t = feats.select("customer_id", c=(feats[spec.value].fill_null(0) * 100).cast("int64"))
    pos = t.filter(t.c > 0)
    total = pos.c.sum().as_scalar()
    g = pos.group_by("c").aggregate(cnt=_.count())
    g = g.mutate(before=(g.c * g.cnt).cumsum(order_by=ibis.desc(g.c)) - g.c * g.cnt)
    rows = []
    for i, (_label, b) in enumerate(spec.classes[:-1]):
        pct = int(round(b * 100))                 # bound in hundredths of a percent
        over = g.filter((g.before + g.c * g.cnt) * 10000 > total * pct)
        first = over.filter(over.c == over.c.max().as_scalar())
        rows.append(first.select(i=ibis.literal(i), c=first.c,
                                 m=(total * pct - first.before * 10000) // (first.c * 10000)))
    cut = rows[0].union(*rows[1:]) if len(rows) > 1 else rows[0]
    members = pos.semi_join(cut, "c")
    members = members.mutate(rn=ibis.row_number().over(group_by=members.c, order_by=members.customer_id) + 1)
    ids = cut.left_join(members, (cut.c == members.c) & (cut.m == members.rn)).select("i", c=cut.c,
                                                                                      customer_id="customer_id")
    aggs = {}
    for i in range(len(spec.classes) - 1):
        aggs[f"ac{i}"] = ids.c.max(where=ids.i == i)
        aggs[f"aid{i}"] = ids.customer_id.max(where=ids.i == i)
    return ids.aggregate(**aggs)


def _abc_class(f: ir.Table, spec: ABCSpec) -> ir.StringValue:
    c = (f[spec.value].fill_null(0) * 100).cast("int64")
    cases = []
    for i, (label, _b) in enumerate(spec.classes[:-1]):
        ci, idi = f[f"ac{i}"], f[f"aid{i}"]
        inside = (c > 0) & (ci.isnull() | (c > ci) | ((c == ci) & (f.customer_id <= idi)).fill_null(False))
        cases.append((inside, label))
    return ibis.cases(*cases, else_=spec.classes[-1][0])


def _lifecycle(f: ir.Table, spec: LifecycleSpec) -> ir.StringValue:
    typical = f.t_x.cast("float64") / f.x.nullif(0).cast("float64")
    own_limit = ibis.greatest(typical * spec.k, ibis.literal(float(spec.min_at_risk_days)))
    at_risk = ibis.ifelse(f.x > 0, f.recency_days > own_limit, f.recency_days > spec.at_risk_days)
    return ibis.cases(
        (f.purchase_days.fill_null(0) == 0, "prospect"),
        (f["T"] <= spec.new_days, "new"),
        (f.recency_days > spec.churn_days, "churned"),
        (at_risk, "at_risk"),
        (f.last_gap_days.fill_null(0) > spec.churn_days, "won_back"),
        ((f.purchase_days >= spec.loyal_min_purchase_days) & (f.tenure_days >= spec.loyal_min_tenure_days), "loyal"),
        else_="growing",
    )


def classify(feats: ir.Table, rfm: RFMSpec | None = None, abc: ABCSpec | None = None,
             life: LifecycleSpec | None = None) -> ir.Table:
    rfm, abc, life = rfm or RFMSpec(), abc or ABCSpec(), life or LifecycleSpec()
    cols = {"R": rfm.recency, "F": rfm.frequency, "M": rfm.monetary}
    buyers = feats.filter(feats.purchase_days > 0)
    f = feats
    for dim, col in cols.items():
        f = f.cross_join(_rfm_cuts(buyers, dim, col, rfm.bins))
    f = f.cross_join(_abc_cuts(feats, abc))
    return f.select("customer_id",
                    r_score=_score(f, "R", cols["R"], rfm.bins), f_score=_score(f, "F", cols["F"], rfm.bins),
                    m_score=_score(f, "M", cols["M"], rfm.bins), abc_class=_abc_class(f, abc),
                    lifecycle=_lifecycle(f, life))
