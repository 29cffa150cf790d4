"""Lifecycle stage: prospect → new → growing → loyal → at risk → churned → won back.

Every customer gets exactly one stage, the first that applies in this order:

==========  ==================================================================
prospect    no purchase yet (``purchase_days = 0``)
new         first purchase at most ``new_days`` ago (``T ≤ new_days``)
churned     no purchase for more than ``churn_days``
at_risk     recency beyond ``k`` × the customer's own typical gap between purchase
            days (``t_x / x``), but at least ``min_at_risk_days``; a customer with one
            purchase day: recency beyond ``at_risk_days``
won_back    came back after a break longer than ``churn_days``: the gap before their
            last purchase day exceeds ``churn_days``
loyal       at least ``loyal_min_purchase_days`` purchase days and ``loyal_min_tenure_days``
            of tenure
growing     every other buyer
==========  ==================================================================
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import ibis
import ibis.expr.types as ir

from tierwise.analytics.days import day_number, day_of

STAGES = ("prospect", "new", "growing", "loyal", "at_risk", "churned", "won_back")


@dataclass(frozen=True)
class LifecycleSpec:
    new_days: int = 90
    churn_days: int = 365
    k: float = 2.0
    min_at_risk_days: int = 60
    at_risk_days: int = 180
    loyal_min_purchase_days: int = 4
    loyal_min_tenure_days: int = 365


def last_gap(transactions: ir.Table, as_of: date) -> ir.Table:
    """``customer_id``, ``last_gap_days``: days between the last two purchase days (as of the date)."""
    t = transactions.mutate(day=day_number(transactions.txn_time))
    t = t.filter((t.day <= day_of(as_of)) & (t.amount > 0))
    last = t.group_by("customer_id").aggregate(last_day=t.day.max())
    j = t.join(last, "customer_id")
    prev = j.group_by("customer_id").aggregate(prev_day=j.day.max(where=j.day < j.last_day),
                                               last_day=j.last_day.max())
    return prev.select("customer_id", last_gap_days=prev.last_day - prev.prev_day)


def lifecycle_column(f: ir.Table, spec: LifecycleSpec | None = None) -> ir.StringValue:
    """The stage as an expression on a features table ``f`` that has ``last_gap_days``."""
    spec = spec or LifecycleSpec()
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


def lifecycle_stage(features: ir.Table, gaps: ir.Table | None = None, spec: LifecycleSpec | None = None) -> ir.Table:
    """``customer_id``, ``lifecycle`` for every customer of ``features``.

    The gap before the last purchase day is the feature ``last_gap_days``; ``gaps`` (from
    :func:`last_gap`) supplies it instead, for features computed without it.
    """
    f = features
    if gaps is not None:
        f = f.drop("last_gap_days") if "last_gap_days" in f.columns else f
        f = f.left_join(gaps, "customer_id").drop("customer_id_right")
    return f.select("customer_id", lifecycle=lifecycle_column(f, spec))
