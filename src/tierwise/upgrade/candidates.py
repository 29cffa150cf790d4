"""Upgrade candidates: who is close to the next tier, or worth more than their tier.

For every customer below the top tier:

* ``gap`` — how much the tier metric must rise to reach the next tier's entry threshold,
  in the metric's own units; ``gap_share`` — the gap over that threshold.
* ``near`` candidates: ``gap_share ≤ near_share`` (default 20 %).
* ``potential`` candidates: predicted value (``clv``) in the top ``potential_top`` share
  of their current tier (default 20 %), however large the gap.
* ``likelihood`` — the chance the gap closes within the horizon: the share of customers
  who, in earlier runs, stood in the same tier with a gap share in the same band and
  reached a higher tier ``horizon`` runs later (smoothed towards the overall rate with a
  prior of ``prior_weight`` customers). Without history, a prior that falls linearly
  from 0.5 at no gap to 0.05 at the near band's edge and beyond.
* ``score`` = likelihood × (1 + CLV percentile in the tier); candidates are ranked by it,
  overall and per manager.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import ibis.expr.types as ir

BANDS = (0.05, 0.10, 0.20, 0.40, 1.0)   # upper edges of the gap-share bands


@dataclass(frozen=True)
class CandidateSpec:
    near_share: float = 0.20
    potential_top: float = 0.20
    prior_weight: float = 20.0


def gap_band(share: ir.NumericValue) -> ir.IntegerValue:
    """Band index 0 … len(BANDS) of a gap share (NULL → the last band)."""
    idx = ibis.literal(len(BANDS), "int64")
    for i, edge in reversed(list(enumerate(BANDS))):
        idx = ibis.ifelse(share <= edge, ibis.literal(i, "int64"), idx)
    return idx.fill_null(len(BANDS))


def with_gaps(customers: ir.Table, entries: list[float]) -> ir.Table:
    """Add ``next_level``, ``next_entry``, ``gap``, ``gap_share``, ``gap_band`` (top tier: NULL)."""
    c = customers
    top = len(entries) - 1
    nxt = ibis.cases(*[(c.tier_level == i, float(entries[i + 1])) for i in range(top)], else_=ibis.null("float64"))
    c = c.mutate(next_level=ibis.ifelse(c.tier_level < top, c.tier_level + 1, ibis.null("int64")), next_entry=nxt)
    gap = ibis.greatest(c.next_entry - c.tier_metric.fill_null(0), 0.0)
    c = c.mutate(gap=gap, gap_share=gap / c.next_entry.nullif(0))
    return c.mutate(gap_band=gap_band(c.gap_share))


def upgrade_rates(pairs: ir.Table, spec: CandidateSpec) -> ir.Table:
    """Empirical likelihood per (tier, gap band) from earlier runs.

    ``pairs`` has ``tier_level`` and ``gap_band`` at a run, and ``tier_level_later`` from the run
    ``horizon`` periods later.
    """
    p = pairs.filter(pairs.tier_level_later.notnull())
    up = (p.tier_level_later > p.tier_level).cast("float64")
    overall = up.mean().as_scalar()
    g = p.group_by(["tier_level", "gap_band"]).aggregate(n=p.count(), ups=up.sum())
    w = spec.prior_weight
    return g.mutate(likelihood=(g.ups + w * overall) / (g.n + w)).select("tier_level", "gap_band", "likelihood", "n")


def candidates(customers: ir.Table, entries: list[float], rates: ir.Table | None,
               spec: CandidateSpec | None = None) -> ir.Table:
    """Every upgrade candidate with its kind, gap, likelihood, score and ranks."""
    spec = spec or CandidateSpec()
    c = with_gaps(customers, entries).filter(ibis._.next_level.notnull())
    has_clv = "clv" in c.columns
    if has_clv:
        pct = ibis.percent_rank().over(group_by=c.tier_level, order_by=[c.clv.fill_null(0), c.customer_id])
        c = c.mutate(clv_pct=pct.cast("float64"))
    else:
        c = c.mutate(clv_pct=ibis.literal(0.0))
    near = c.gap_share <= spec.near_share
    potential = c.clv_pct >= 1 - spec.potential_top if has_clv else ibis.literal(False)
    c = c.filter(near | potential).mutate(
        candidate_kind=ibis.cases((near & potential, "near+potential"), (near, "near"), else_="potential"))
    prior = ibis.greatest(0.5 - 0.45 * (c.gap_share / spec.near_share), 0.05)
    if rates is not None:
        c = c.left_join(rates.select("tier_level", "gap_band", rate="likelihood"),
                        ["tier_level", "gap_band"]).drop("tier_level_right", "gap_band_right")
        c = c.mutate(likelihood=ibis.coalesce(c.rate, prior)).drop("rate")
    else:
        c = c.mutate(likelihood=prior)
    c = c.mutate(score=c.likelihood * (1 + c.clv_pct))
    order = [ibis.desc(c.score), c.customer_id]
    ranks = {"rank": ibis.row_number().over(order_by=order) + 1}
    if "manager_id" in c.columns:
        ranks["rank_in_manager"] = ibis.row_number().over(group_by=c.manager_id, order_by=order) + 1
    return c.mutate(**ranks)
