"""Customer features as of a date, from the canonical tables.

Every feature uses only rows dated on or before the as-of date (a transaction on the
as-of day counts; one the day after never does). Days are whole days; money stays
exact (DECIMAL) until a ratio is taken.

==========================  ==========================================================
feature                     meaning
==========================  ==========================================================
first_purchase_date         first day with a purchase (amount > 0)
last_purchase_date          last such day
recency_days                as-of day − last purchase day
tenure_days                 as-of day − (open date, else first purchase day)
purchase_count              purchases (transactions with amount > 0)
purchase_days               distinct purchase days
return_count                transactions with amount < 0
revenue                     sum of all amounts (purchases net of returns)
gross_sales                 sum of positive amounts
profit                      sum of profit (NULL where the data have none)
revenue_<w>d                revenue in the last w days (as-of day included), per window
purchase_days_<w>d          purchase days in the last w days
purchase_days_prev_<w>d     purchase days in the w days before those
revenue_month               revenue from the 1st of the as-of month to the as-of day
aov                         gross_sales / purchase_count
x, t_x, T                   repeat purchase days, days first → last purchase, days first
                            purchase → as-of (one transaction per customer-day)
mean_repeat_spend           mean spend of the repeat purchase days (first day excluded)
last_gap_days               days between the last two purchase days (NULL with fewer than two)
aum_avg_<m>m                average daily balance over the last m months: the mean over the
                            balance dates present in the window of the customer's total
                            (a date without a row for the customer counts as 0)
aum_latest                  total balance on the last balance date ≤ as-of
products_held               distinct products held as of the date (opened, not matured)
last_contact_date           last interaction of a contact kind
days_since_contact          as-of day − that date
last_survey_score           score of the latest scored interaction
age                         whole years at the as-of date (from the birthday)
==========================  ==========================================================
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import ibis
import ibis.expr.types as ir
from ibis import _

from tierwise.analytics.days import day_number, day_of
from tierwise.analytics.dialect import Dialect, arg_min, max_two, use_fast


@dataclass(frozen=True)
class FeatureSpec:
    """Which windows to compute (from the policy's ``features:`` section)."""

    windows_days: tuple[int, ...] = (30, 90, 365)
    aum_windows_months: tuple[int, ...] = (1, 3)
    contact_kinds: tuple[str, ...] = ("contact", "visit", "call", "meeting", "联系", "拜访", "电话")
    profile_columns: tuple[str, ...] = ("gender", "manager_id", "branch_id", "city", "source", "occupation",
                                        "risk_level", "status")
    extra: dict = field(default_factory=dict)
    #: keep only these features (besides ``customer_id``); None keeps them all. Aggregates that no
    #: kept feature reads are then never computed, which matters at scale: each aggregate state is
    #: held for every (customer, day) group.
    only: tuple[str, ...] | None = None


def months_back(d: date, months: int) -> date:
    """Start (exclusive) of an m-month window ending on ``d``.

    The same day ``months`` earlier, clamped to that month's length; when ``d`` is a
    month's last day, the last day of the month ``months`` earlier, so that a window
    ending on a month end covers exactly the last ``months`` calendar months.

    >>> months_back(date(2024, 6, 30), 1), months_back(date(2024, 6, 30), 3)
    (datetime.date(2024, 5, 31), datetime.date(2024, 3, 31))
    >>> months_back(date(2024, 5, 30), 3)
    datetime.date(2024, 2, 29)
    """
    y, m = divmod(d.year * 12 + d.month - 1 - months, 12)
    m += 1
    last = calendar.monthrange(y, m)[1]
    if d.day == calendar.monthrange(d.year, d.month)[1]:
        return date(y, m, last)
    return date(y, m, min(d.day, last))


def _transactions_features(txn: ir.Table, as_of: date, spec: FeatureSpec, fast: bool,
                           customers: ir.Table) -> ir.Table:
    """Per-customer transaction aggregates, in two steps: by (customer, day), then by customer.

    The (customer, day) step makes purchase days a count of rows (no ``COUNT(DISTINCT)``,
    which engines run as a separate aggregation joined back) and gives the spend of the
    first purchase day and the last two purchase days in the same pass. Aggregates that no
    selected feature reads are pruned by the engine's optimizer.

    The rows of ``customers`` (``customer_id`` and other columns) join the second step as
    rows of their own, so the result has exactly one row per customer, with those columns,
    and no join: a join would hold a hash table of every customer while the aggregation
    runs, and under memory pressure DuckDB may build it on the customers side (measured:
    up to four times the CPU when the aggregation spills).
    """
    asof = day_of(as_of)
    # rows up to the end of the as-of day: compared as a timestamp, before any per-row arithmetic
    end = datetime.combine(as_of + timedelta(days=1), time())
    t = txn.filter(txn.txn_time < ibis.literal(end, type="timestamp")).mutate(day=day_number(txn.txn_time))
    is_buy = t.amount > 0
    daily = t.group_by(["customer_id", "day"]).aggregate(
        spend=t.amount.sum(),
        buy_spend=t.amount.sum(where=is_buy),
        n_buy=t.amount.count(where=is_buy),
        n_ret=t.amount.count(where=t.amount < 0),
        profit=t.profit.sum(),
    )
    # one more row per customer, with the customer's columns (and NULL measures)
    measures, listed = daily.columns[1:], customers.columns[1:]
    daily = daily.mutate(**{c: ibis.null(customers[c].type()) for c in listed}, listed=ibis.null("int64"))
    rows = customers.select("customer_id", **{c: ibis.null(daily[c].type()) for c in measures},
                            **{c: customers[c] for c in listed}, listed=ibis.literal(1, type="int64"))
    daily = daily.union(rows)
    day = daily.day
    is_day = daily.n_buy > 0
    month_start = day_of(as_of.replace(day=1))
    aggs = {
        **{c: daily[c].max() for c in listed},
        "listed": daily.listed.max(),
        "first_purchase_day": day.min(where=is_day),
        "last_purchase_day": day.max(where=is_day),
        "purchase_count": daily.n_buy.sum(),
        "purchase_days": day.count(where=is_day),
        "return_count": daily.n_ret.sum(),
        "revenue": daily.spend.sum(),
        "gross_sales": daily.buy_spend.sum(),
        "profit": daily.profit.sum(),
        "revenue_month": daily.spend.sum(where=day >= month_start),
        # spend of the first purchase day: the repeat spend is gross sales minus it
        "first_day_spend": (arg_min(daily.buy_spend, day, where=is_day) if fast
                            else daily.buy_spend.argmin(day, where=is_day)),
    }
    for w in spec.windows_days:
        inside = day > asof - w
        before = (day > asof - 2 * w) & (day <= asof - w)
        aggs[f"revenue_{w}d"] = daily.spend.sum(where=inside)
        aggs[f"purchase_days_{w}d"] = day.count(where=inside & is_day)
        aggs[f"purchase_days_prev_{w}d"] = day.count(where=before & is_day)
    if fast:
        # the last two purchase days in one aggregate state (it also gives the last day)
        del aggs["last_purchase_day"]
        aggs["last_two"] = max_two(day, where=is_day)
        per_customer = daily.group_by("customer_id").aggregate(**aggs)
        per_customer = per_customer.mutate(last_purchase_day=per_customer.last_two[0],
                                           prev_purchase_day=per_customer.last_two[1]).drop("last_two")
    else:
        per_customer = daily.group_by("customer_id").aggregate(**aggs)
        # the latest purchase day before the last one: a join of the purchase days back
        days = daily.filter(is_day).select("customer_id", "day")
        last = days.group_by("customer_id").aggregate(last_day=_.day.max())
        j = days.join(last, "customer_id")
        prev = j.group_by("customer_id").aggregate(prev_purchase_day=j.day.max(where=j.day < j.last_day))
        per_customer = per_customer.left_join(prev, "customer_id").drop("customer_id_right")
    return per_customer.filter(per_customer.listed == 1).drop("listed")


def _balance_features(bal: ir.Table, as_of: date, spec: FeatureSpec) -> ir.Table | None:
    if not spec.aum_windows_months:
        return None
    asof = day_of(as_of)
    b = bal.mutate(day=day_number(bal.balance_date)).filter(_.day <= asof)
    daily = b.group_by(["customer_id", "day"]).aggregate(total=_.balance.sum())
    latest_day = b.day.max()
    aggs = {"aum_latest": daily.total.sum(where=daily.day == latest_day.as_scalar())}
    for m in spec.aum_windows_months:
        start = day_of(months_back(as_of, m))
        n_dates = b.filter(b.day > start).day.nunique().as_scalar()
        aggs[f"aum_avg_{m}m"] = (daily.total.sum(where=daily.day > start).cast("float64")
                                 / n_dates.cast("float64"))
    return daily.group_by("customer_id").aggregate(**aggs)


def _holdings_features(hold: ir.Table, as_of: date) -> ir.Table:
    asof = day_of(as_of)
    opened = hold.open_date.isnull() | (day_number(hold.open_date) <= asof)
    live = hold.maturity_date.isnull() | (day_number(hold.maturity_date) > asof)
    closed = hold.status.isin(["closed", "redeemed", "matured", "已赎回", "已到期", "销户"]).fill_null(False)
    h = hold.filter(opened & live & ~closed)
    return h.group_by("customer_id").aggregate(products_held=_.product_id.nunique(),
                                               product_types_held=_.product_type.nunique())


def _interaction_features(inter: ir.Table, as_of: date, spec: FeatureSpec) -> ir.Table:
    asof = day_of(as_of)
    i = inter.mutate(day=day_number(inter.interaction_time)).filter(_.day <= asof)
    contact = i.kind.lower().isin([k.lower() for k in spec.contact_kinds])
    last = i.group_by("customer_id").aggregate(
        last_contact_day=i.day.max(where=contact),
        last_score_day=i.day.max(where=i.score.notnull()),
    )
    scored = i.filter(i.score.notnull())
    # latest score; several on the same day: their mean (deterministic on every engine)
    score = (scored.join(last, "customer_id").filter(_.day == _.last_score_day)
             .group_by("customer_id").aggregate(last_survey_score=_.score.mean()))
    return last.left_join(score, "customer_id").drop("customer_id_right", "last_score_day")


def customer_features(tables: dict[str, ir.Table], as_of: date, spec: FeatureSpec | None = None, *,
                      dialect: Dialect | None = None) -> ir.Table:
    """One row per customer of ``tables['customers']`` with the features above.

    Parameters
    ----------
    tables : canonical tables as Ibis tables (``customers`` required; absent others
        yield NULL features)
    as_of : evaluation date; rows dated after it are ignored
    spec : windows and kinds, and the features to keep (``spec.only``)
    dialect : ``"duckdb"`` or ``"portable"`` forms of the aggregates (see
        :mod:`tierwise.analytics.dialect`); by default the engine of the tables decides
    """
    spec = spec or FeatureSpec()
    asof = day_of(as_of)
    cust = tables["customers"]
    if "age" in cust.columns:
        # the application supplies ages as of the date (birthdays are sealed personal data)
        age = cust.age
    else:
        # ages from birthdays: whole years, computed from y/m/d so leap days are exact
        not_yet = (cust.birthday.month() * 100 + cust.birthday.day()) > (as_of.month * 100 + as_of.day)
        age = ibis.literal(as_of.year) - cust.birthday.year() - ibis.ifelse(not_yet, 1, 0)
    profile = [c for c in spec.profile_columns if c in cust.columns]
    out = cust.select("customer_id", open_date=cust.open_date, age=age.cast("int64"), **{c: cust[c] for c in profile})
    head = out.columns
    parts = []
    if "transactions" in tables:
        txn = tables["transactions"]
        out = _transactions_features(txn, as_of, spec, use_fast(txn, dialect), out.drop(*profile))
        if profile:
            out = out.left_join(cust.select("customer_id", *profile), "customer_id").drop("customer_id_right")
        out = out.select(*head, *[c for c in out.columns if c not in head])
    if "balances" in tables:
        bf = _balance_features(tables["balances"], as_of, spec)
        if bf is not None:
            parts.append(bf)
    if "holdings" in tables:
        parts.append(_holdings_features(tables["holdings"], as_of))
    if "interactions" in tables:
        parts.append(_interaction_features(tables["interactions"], as_of, spec))
    for p in parts:
        out = out.left_join(p, "customer_id").drop("customer_id_right")
    cols = out.columns
    derived = {}
    if "first_purchase_day" in cols:
        first_day, last_day = out.first_purchase_day, out.last_purchase_day
        derived |= {
            "first_purchase_date": _day_to_date(first_day),
            "last_purchase_date": _day_to_date(last_day),
            "recency_days": asof - last_day,
            "tenure_days": asof - ibis.coalesce(day_number(out.open_date), first_day),
            "purchase_count": out.purchase_count.fill_null(0),
            "purchase_days": out.purchase_days.fill_null(0),
            "return_count": out.return_count.fill_null(0),
            "revenue": out.revenue.fill_null(0),
            "gross_sales": out.gross_sales.fill_null(0),
            "revenue_month": out.revenue_month.fill_null(0),
            "aov": (out.gross_sales.cast("float64") / out.purchase_count.nullif(0).cast("float64")),
            "x": (out.purchase_days - 1).fill_null(0).clip(lower=0),
            "t_x": (last_day - first_day),
            "T": asof - first_day,
            "mean_repeat_spend": ((out.gross_sales - out.first_day_spend).cast("float64")
                                  / (out.purchase_days - 1).nullif(0).cast("float64")),
            "last_gap_days": last_day - out.prev_purchase_day,
        }
        for w in spec.windows_days:
            derived[f"purchase_days_{w}d"] = out[f"purchase_days_{w}d"].fill_null(0)
            derived[f"revenue_{w}d"] = out[f"revenue_{w}d"].fill_null(0)
            derived[f"purchase_days_prev_{w}d"] = out[f"purchase_days_prev_{w}d"].fill_null(0)
    else:
        derived["tenure_days"] = asof - day_number(out.open_date)
    if "last_contact_day" in cols:
        derived |= {"last_contact_date": _day_to_date(out.last_contact_day),
                    "days_since_contact": asof - out.last_contact_day}
    if "products_held" in cols:
        derived |= {"products_held": out.products_held.fill_null(0),
                    "product_types_held": out.product_types_held.fill_null(0)}
    for m in spec.aum_windows_months:
        if f"aum_avg_{m}m" in cols:
            derived[f"aum_avg_{m}m"] = out[f"aum_avg_{m}m"].fill_null(0.0)
    if "aum_latest" in cols:
        derived["aum_latest"] = out.aum_latest.fill_null(0)
    out = out.mutate(**derived)
    drop = [c for c in ("first_purchase_day", "last_purchase_day", "first_day_spend", "prev_purchase_day",
                        "last_contact_day") if c in out.columns]
    out = out.drop(*drop)
    if spec.only is not None:
        unknown = [c for c in spec.only if c not in out.columns]
        if unknown:
            raise ValueError(f"features: unknown feature(s) {unknown}; known: {', '.join(out.columns[1:])}")
        out = out.select("customer_id", *[c for c in spec.only if c != "customer_id"])
    return out


def _day_to_date(day: ir.IntegerValue) -> ir.DateValue:
    return (ibis.date(1970, 1, 1) + day.as_interval("D")).cast("date")
