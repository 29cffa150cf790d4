"""Evaluate the tier ladder for one period on classified customers (used by runs and what-if)."""

from __future__ import annotations

from datetime import date

import ibis
import pyarrow as pa

from tierwise.analytics.days import day_of
from tierwise.analytics.rules import compile_value
from tierwise.config.policy import TiersPolicy
from tierwise.engine.compute import Compute, DuckDBCompute
from tierwise.tiers.ladder import Ladder, Level, empty_state, evaluate_period
from tierwise.tiers.overrides import apply_overrides, effective_overrides

STATE = ("tier_computed", "watch_count", "pending_tier", "tier_since", "q")


def ladder_of(tp: TiersPolicy) -> Ladder:
    return Ladder(tuple(Level(lv.id, lv.entry, lv.maintain, lv.deferral) for lv in tp.levels),
                  upgrade=tp.upgrade, downgrade_step=tp.downgrade_step, best_of_k=tp.best_of_k)


def evaluate_tiers(customers: pa.Table, previous: pa.Table | None, tp: TiersPolicy, as_of: date,
                   overrides: list[dict], scratch=None, *, compute: Compute | None = None) -> pa.Table:
    """``customers`` with the tier columns added: computed state, effective tier, status, event.

    The ladder runs on ``compute`` (the run's engine) when given, else on an embedded DuckDB.
    """
    if compute is None:
        with DuckDBCompute(scratch) as local:
            return _evaluate(local, customers, previous, tp, as_of, overrides)
    return _evaluate(compute, customers, previous, tp, as_of, overrides)


def _evaluate(engine: Compute, customers: pa.Table, previous: pa.Table | None, tp: TiersPolicy, as_of: date,
              overrides: list[dict]) -> pa.Table:
    ladder = ladder_of(tp)
    ids = [lv.id for lv in tp.levels]
    cust = engine.arrow("_cust", customers)
    metric = compile_value(tp.metric, cust, "tiers → metric")
    cust = cust.mutate(tier_metric=metric.cast("float64"))
    allowed = True
    if tp.calendar == "anniversary" and "open_date" in cust.columns:
        allowed = (cust.open_date.month() == as_of.month).fill_null(as_of.month == 12)
    cur = cust.select("customer_id", metric=cust.tier_metric, downgrade_allowed=allowed)
    lag_cols = [f"q_lag_{i}" for i in range(1, ladder.lags + 1)]
    if previous is not None and "tier_computed" in previous.column_names:
        keep = [c for c in ("customer_id", *STATE, *lag_cols, "tier_level") if c in previous.column_names]
        prev = engine.arrow("_prev", previous.select(keep))
    else:
        prev = engine.arrow("_prev_empty", empty_state(ladder).to_pyarrow().empty_table())
    res = evaluate_period(cur, prev, ladder, day_of(as_of))
    ovr = engine.arrow("_ovr", effective_overrides(overrides, as_of, {lv: i for i, lv in enumerate(ids)}))
    res = apply_overrides(res, ovr, len(ids))
    # the effective tier's own previous value and event (what a person sees)
    if "tier_level" in prev.columns:
        res = res.left_join(prev.select("customer_id", tier_level_prev="tier_level"), "customer_id").drop(
            "customer_id_right")
    else:
        res = res.mutate(tier_level_prev=ibis.null("int64"))
    event = ibis.cases(
        (res.tier_level_prev.isnull(), "new"),
        (res.tier_level > res.tier_level_prev, "upgrade"),
        (res.tier_level < res.tier_level_prev, "downgrade"),
        (res.tier_event.isin(["watch", "recovered"]), res.tier_event),
        else_=ibis.null("string"))
    tier_id = ibis.cases(*[(res.tier_level == i, lv) for i, lv in enumerate(ids)])
    res = res.mutate(tier=tier_id, tier_event=event).drop("metric")
    out = cust.left_join(res, "customer_id").drop("customer_id_right").order_by("customer_id")
    return engine.to_arrow(out)
