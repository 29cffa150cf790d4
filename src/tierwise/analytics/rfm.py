"""RFM scores: quantile bins or explicit thresholds, 1..n with n = best.

Quantile bins
-------------
Customers who bought (``purchase_days > 0``) are ordered by the dimension's value from
worst to best — recency descending (more days = worse), frequency and monetary
ascending — with ties broken by customer id, ascending. A customer at position ``p``
(0-based) of ``N`` gets the score ``floor(p · n / N) + 1``. The bins therefore differ in
size by at most one customer, every score is reproducible on every engine, and equal
values land in different bins only when a cut-off falls inside their tie group.

The computation never sorts all customers: it counts customers per distinct value,
takes a running sum over the distinct values (a small sort), and ranks by customer id
only inside the few tie groups that a cut-off splits. The cut-offs are returned as the
bin edges: for each score k ≥ 2, the lowest value that scores k.

Thresholds
----------
``thresholds`` gives n − 1 ascending edges per dimension. Frequency and monetary score
``1 + #{edges ≤ value}`` (a value equal to an edge belongs to the upper bin); recency
scores ``n − #{edges < days}`` (30 days with edges [30, 60, …] still scores n).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import ibis
import ibis.expr.types as ir

DIMENSIONS = ("R", "F", "M")


@dataclass(frozen=True)
class RFMSpec:
    """How to score (the policy's ``rfm:`` section)."""

    bins: int = 5
    method: Literal["quantile", "thresholds"] = "quantile"
    recency: str = "recency_days"
    frequency: str = "purchase_days"
    monetary: str = "revenue"
    thresholds: dict[str, tuple[float, ...]] | None = None


def _value_columns(spec: RFMSpec) -> dict[str, str]:
    return {"R": spec.recency, "F": spec.frequency, "M": spec.monetary}


def _oriented(dim: str, col: ir.Column) -> ir.Column:
    """A value where larger is better."""
    return -col if dim == "R" else col


def _quantile_scores(base: ir.Table, dim: str, value: str, n: int) -> tuple[ir.Table, ir.Table]:
    """(customer_id, score) for ``base``, and the edges table (score, value)."""
    t = base.select("customer_id", v=_oriented(dim, base[value]))
    total = t.count().as_scalar()
    groups = t.group_by("v").aggregate(cnt=ibis._.count())
    groups = groups.mutate(before=groups.cnt.cumsum(order_by=groups.v) - groups.cnt)
    groups = groups.mutate(
        s_lo=(groups.before * n) // total + 1,
        s_hi=((groups.before + groups.cnt - 1) * n) // total + 1,
    )
    j = t.join(groups, "v")
    whole = j.filter(j.s_lo == j.s_hi).select("customer_id", score=j.s_lo)
    split = j.filter(j.s_lo != j.s_hi)
    pos = split.before + ibis.row_number().over(group_by=split.v, order_by=split.customer_id)
    split_scores = split.select("customer_id", score=(pos * n) // total + 1)
    scores = whole.union(split_scores)
    # edge of score k: the lowest value that scores k
    edge_table = (scores.join(t, "customer_id").group_by("score").aggregate(v=ibis._.v.min())
                  .mutate(value=lambda s: (-s.v) if dim == "R" else s.v).drop("v"))
    return scores.rename(**{f"{dim.lower()}_score": "score"}), edge_table


def _threshold_scores(base: ir.Table, dim: str, value: str, n: int, edges: tuple[float, ...]) -> ir.Table:
    if len(edges) != n - 1 or list(edges) != sorted(edges):
        raise ValueError(f"rfm → thresholds → {dim}: give {n - 1} ascending edges (got {list(edges)})")
    col = base[value]
    if dim == "R":
        count = sum((ibis.ifelse(col > e, 1, 0) for e in edges), ibis.literal(0))
        score = n - count
    else:
        count = sum((ibis.ifelse(col >= e, 1, 0) for e in edges), ibis.literal(0))
        score = 1 + count
    return base.select("customer_id", **{f"{dim.lower()}_score": score.cast("int64")})


def rfm_scores(features: ir.Table, spec: RFMSpec | None = None) -> tuple[ir.Table, dict[str, ir.Table | list]]:
    """Score every buyer of ``features``.

    Returns ``(scores, edges)``: ``scores`` has ``customer_id``, ``r_score``, ``f_score``,
    ``m_score`` and the three values, one row per customer of ``features`` (non-buyers
    have NULL scores); ``edges[dim]`` is a table ``(score, value)`` for quantile bins or the
    given thresholds.
    """
    spec = spec or RFMSpec()
    cols = _value_columns(spec)
    buyers = features.filter(features.purchase_days > 0)
    out = features.select("customer_id", recency=features[cols["R"]], frequency=features[cols["F"]],
                          monetary=features[cols["M"]])
    edges: dict[str, ir.Table | list] = {}
    for dim in DIMENSIONS:
        if spec.method == "quantile":
            s, e = _quantile_scores(buyers, dim, cols[dim], spec.bins)
            edges[dim] = e
        else:
            th = (spec.thresholds or {}).get(dim)
            if th is None:
                raise ValueError(f"rfm → thresholds → {dim}: missing")
            s = _threshold_scores(buyers, dim, cols[dim], spec.bins, tuple(th))
            edges[dim] = list(th)
        out = out.left_join(s, "customer_id").drop("customer_id_right")
    return out, edges
