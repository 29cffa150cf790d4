"""One period of a tier ladder: from last period's state and this period's metric to this period's tiers.

Levels are numbered 0 (lowest) … L−1. Each level has an entry threshold and an optional
lower maintain threshold on the qualifying metric; boundaries are inclusive (a metric
equal to a threshold meets it).

For each customer, with ``base`` the tier held (last period's computed tier, raised by an
upgrade that was pending from last period):

1. ``q`` — the qualifying level: the highest level whose entry threshold the metric meets.
2. A customer seen for the first time is placed at ``q``.
3. ``q > base``: upgrade — now (``upgrade: immediate``), or at the next evaluation
   (``upgrade: next_period``: status ``pending_upgrade`` until then).
4. Otherwise, metric ≥ maintain(base): the tier holds; a watch ends (event ``recovered``).
5. Otherwise the customer is below maintain: the watch counter goes up by one; while it is
   below the tier's ``deferral`` the tier holds with status ``watch`` (关注); when it
   reaches it (and downgrades are allowed this period), the customer is downgraded:
   one level (``one``), to ``q`` (``qualifying``), or to the best qualifying level of the
   last K periods (``best_of_k``), never above base − 1 and never below ``q``.

The result is the *computed* tier; overrides (:mod:`tierwise.tiers.overrides`) apply on top,
and the computed state carries on underneath so that an expiring override hands back to
the ladder.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import ibis.expr.types as ir

STATE_COLUMNS = ("customer_id", "tier_computed", "watch_count", "pending_tier", "tier_since")


@dataclass(frozen=True)
class Level:
    id: str
    entry: float
    maintain: float | None = None
    deferral: int = 0

    @property
    def keep(self) -> float:
        return self.entry if self.maintain is None else self.maintain


@dataclass(frozen=True)
class Ladder:
    levels: tuple[Level, ...]
    upgrade: str = "immediate"            # immediate | next_period
    downgrade_step: str = "one"           # one | qualifying | best_of_k
    best_of_k: int = 3

    def __post_init__(self):
        entries = [lv.entry for lv in self.levels]
        if entries != sorted(entries) or len(set(entries)) != len(entries):
            raise ValueError("tier entry thresholds must strictly increase")
        for lv in self.levels:
            if lv.maintain is not None and lv.maintain > lv.entry:
                raise ValueError(f"tier {lv.id}: maintain threshold must be ≤ entry threshold")

    @property
    def lags(self) -> int:
        return self.best_of_k - 1 if self.downgrade_step == "best_of_k" else 0


def _by_level(tier: ir.IntegerValue, values: list, default) -> ir.Value:
    return ibis.cases(*[(tier == i, v) for i, v in enumerate(values)], else_=default)


def qualifying_level(metric: ir.NumericValue, ladder: Ladder) -> ir.IntegerValue:
    """Highest level whose entry threshold ``metric`` meets (≥); 0 for a missing metric."""
    m = metric.cast("float64")
    q = ibis.literal(0, "int64")
    for i, lv in enumerate(ladder.levels[1:], start=1):
        q = q + ibis.ifelse((m >= lv.entry).fill_null(False), 1, 0)
    return q


def evaluate_period(current: ir.Table, previous: ir.Table, ladder: Ladder, as_of_day: int) -> ir.Table:
    """Tiers for this period.

    Parameters
    ----------
    current : ``customer_id``, ``metric`` and optionally ``downgrade_allowed`` (boolean;
        false holds downgrades, e.g. outside an anniversary month)
    previous : last period's state (:data:`STATE_COLUMNS` plus ``q_lag_1 …``), possibly empty
    as_of_day : days since 1970-01-01 of this evaluation (for ``tier_since``)

    Returns
    -------
    ``customer_id``, ``metric``, ``q``, ``tier_computed``, ``watch_count``, ``pending_tier``,
    ``tier_since``, ``tier_status``, ``tier_event``, ``q_lag_1 …`` and ``tier_prev``.
    """
    L = ladder
    cur = current if "downgrade_allowed" in current.columns else current.mutate(downgrade_allowed=ibis.literal(True))
    lag_cols = [f"q_lag_{i}" for i in range(1, L.lags + 1)]
    prev_cols = ["customer_id", "tier_computed", "watch_count", "pending_tier", "tier_since", "q", *lag_cols[:-1]] \
        if L.lags else ["customer_id", "tier_computed", "watch_count", "pending_tier", "tier_since"]
    prev = previous.select(*[c for c in prev_cols if c in previous.columns])
    prev = prev.rename(**{f"p_{c}": c for c in prev.columns if c != "customer_id"})
    t = cur.left_join(prev, "customer_id").drop("customer_id_right")
    q = qualifying_level(t.metric, L)
    t = t.mutate(q=q)
    is_new = t.p_tier_computed.isnull()
    pending_prev = t.p_pending_tier
    base = ibis.greatest(t.p_tier_computed, pending_prev.fill_null(-1)) if L.upgrade == "next_period" \
        else t.p_tier_computed
    t = t.mutate(_base=base, _is_new=is_new)
    keep = _by_level(t._base, [lv.keep for lv in L.levels], 0.0)
    holds = (t.metric.cast("float64") >= keep).fill_null(False) | (t._base == 0)
    watch_next = t.p_watch_count.fill_null(0) + 1
    deferral = _by_level(t._base, [lv.deferral for lv in L.levels], 0)
    due = (watch_next >= deferral) & t.downgrade_allowed
    # downgrade target
    if L.downgrade_step == "one":
        target = t._base - 1
    elif L.downgrade_step == "qualifying":
        target = t.q
    else:
        lags = [t[f"p_{c}"] if f"p_{c}" in t.columns else None for c in ["q", *lag_cols[:-1]]]
        best = ibis.greatest(t.q, *[lag.fill_null(0) for lag in lags if lag is not None]) if any(
            lag is not None for lag in lags) else t.q
        target = ibis.least(t._base - 1, best)
    target = ibis.greatest(target, t.q)
    up = t.q > t._base
    tier = ibis.cases(
        (t._is_new, t.q),
        (up & (L.upgrade == "immediate"), t.q),
        (up, t._base),
        (holds, t._base),
        (due, target),
        else_=t._base,
    )
    watch = ibis.cases(
        (t._is_new | up | holds, 0),
        (due, 0),
        else_=watch_next,
    )
    pending = ibis.cases((~t._is_new & up & (L.upgrade == "next_period"), t.q), else_=ibis.null("int64"))
    t = t.mutate(tier_computed=tier.cast("int64"), watch_count=watch.cast("int64"), pending_tier=pending)
    prev_tier = t.p_tier_computed
    changed = t.tier_computed != prev_tier
    event = ibis.cases(
        (t._is_new, "new"),
        (changed & (t.tier_computed > prev_tier), "upgrade"),
        (changed & (t.tier_computed < prev_tier), "downgrade"),
        ((t.watch_count > 0) & (t.p_watch_count.fill_null(0) == 0), "watch"),
        ((t.watch_count == 0) & (t.p_watch_count.fill_null(0) > 0), "recovered"),
        else_=ibis.null("string"),
    )
    status = ibis.cases(
        (t.pending_tier.notnull(), "pending_upgrade"),
        (t.watch_count > 0, "watch"),
        else_="normal",
    )
    since = ibis.cases((t._is_new | changed, ibis.literal(as_of_day, "int64")), else_=t.p_tier_since)
    out = {
        "customer_id": t.customer_id, "metric": t.metric, "q": t.q, "tier_computed": t.tier_computed,
        "watch_count": t.watch_count, "pending_tier": t.pending_tier, "tier_since": since.cast("int64"),
        "tier_status": status, "tier_event": event, "tier_prev": prev_tier,
    }
    # qualifying levels of the last periods, for best_of_k
    if L.lags:
        out["q_lag_1"] = t.p_q if "p_q" in t.columns else ibis.null("int64")
        for i in range(2, L.lags + 1):
            src = f"p_q_lag_{i - 1}"
            out[f"q_lag_{i}"] = t[src] if src in t.columns else ibis.null("int64")
    return t.select(**out)


def empty_state(ladder: Ladder):
    """An empty previous state (schema only), for the first evaluation."""
    schema = {"customer_id": "string", "tier_computed": "int64", "watch_count": "int64", "pending_tier": "int64",
              "tier_since": "int64", "q": "int64"}
    schema |= {f"q_lag_{i}": "int64" for i in range(1, ladder.lags + 1)}
    return ibis.schema(schema)
