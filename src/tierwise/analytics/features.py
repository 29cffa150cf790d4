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
from datetime import date

import ibis
import ibis.expr.types as ir
from ibis import _

from tierwise.analytics.days import day_number, day_of


@dataclass(frozen=True)
class FeatureSpec:
    """Which windows to compute (from the policy's ``features:`` section)."""

    windows_days: tuple[int, ...] = (30, 90, 365)
    aum_windows_months: tuple[int, ...] = (1, 3)
    contact_kinds: tuple[str, ...] = ("contact", "visit", "call", "meeting", "联系", "拜访", "电话")
    profile_columns: tuple[str, ...] = ("gender", "manager_id", "branch_id", "city", "source", "occupation",
                                        "risk_level", "status")
    extra: dict = field(default_factory=dict)


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


def _transactions_features(txn: ir.Table, as_of: date, spec: FeatureSpec) -> ir.Table:
    asof = day_of(as_of)
    t = txn.mutate(day=day_number(txn.txn_time)).filter(_.day <= asof)
    is_buy = t.amount > 0
    month_start = day_of(as_of.replace(day=1))
    aggs = {
        "first_purchase_day": t.day.min(where=is_buy),
        "last_purchase_day": t.day.max(where=is_buy),
        "purchase_count": t.amount.count(where=is_buy),
        "purchase_days": t.day.nunique(where=is_buy),
        "return_count": t.amount.count(where=t.amount < 0),
        "revenue": t.amount.sum(),
        "gross_sales": t.amount.sum(where=is_buy),
        "profit": t.profit.sum(),
        "revenue_month": t.amount.sum(where=t.day >= month_start),
    }
    for w in spec.windows_days:
        inside = t.day > asof - w
        before = (t.day > asof - 2 * w) & (t.day <= asof - w)
        aggs[f"revenue_{w}d"] = t.amount.sum(where=inside)
        aggs[f"purchase_days_{w}d"] = t.day.nunique(where=inside & is_buy)
        aggs[f"purchase_days_prev_{w}d"] = t.day.nunique(where=before & is_buy)
    per_customer = t.group_by("customer_id").aggregate(**aggs)

    # one transaction per customer-day for the CLV statistics
    days = t.filter(is_buy).group_by(["customer_id", "day"]).aggregate(spend=_.amount.sum())
    first = days.group_by("customer_id").aggregate(first_day=_.day.min())
    repeat = (days.join(first, "customer_id").filter(_.day > _.first_day)
              .group_by("customer_id").aggregate(repeat_spend=_.spend.sum()))
    out = per_customer.left_join(repeat, "customer_id").drop("customer_id_right")
    return out


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


def customer_features(tables: dict[str, ir.Table], as_of: date, spec: FeatureSpec | None = None) -> ir.Table:
    """One row per customer of ``tables['customers']`` with the features above.

    Parameters
    ----------
    tables : canonical tables as Ibis tables (``customers`` required; absent others
        yield NULL features)
    as_of : evaluation date; rows dated after it are ignored
    spec : windows and kinds
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
    out = cust.select(
        "customer_id",
        open_date=cust.open_date,
        age=age.cast("int64"),
        **{c: cust[c] for c in spec.profile_columns if c in cust.columns},
    )
    parts = []
    if "transactions" in tables:
        parts.append(_transactions_features(tables["transactions"], as_of, spec))
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
            "mean_repeat_spend": (out.repeat_spend.cast("float64")
                                  / (out.purchase_days - 1).nullif(0).cast("float64")),
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
    drop = [c for c in ("first_purchase_day", "last_purchase_day", "repeat_spend", "last_contact_day") if c in out.columns]
    return out.drop(*drop)


def _day_to_date(day: ir.IntegerValue) -> ir.DateValue:
    return (ibis.date(1970, 1, 1) + day.as_interval("D")).cast("date")
