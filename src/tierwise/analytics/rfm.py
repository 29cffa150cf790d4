"""RFM scores: quantile bins or explicit thresholds, 1..n with n = best.

Quantile bins
-------------
Customers who bought (``purchase_days > 0``) are ordered by the dimension's value from
worst to best — recency descending (more days = worse), frequency and monetary
ascending — with ties broken by customer id, ascending. A customer at position ``p``
(0-based) of ``N`` gets the score ``floor(p · n / N) + 1``. The bins therefore differ in
size by at most one customer, every score is reproducible on every engine, and equal
values land in different bins only when a cut-off falls inside their tie group.

The computation never sorts all customers, and never joins a per-customer table back:

1. :func:`rfm_cutoffs` counts customers per distinct value and takes a running sum over
   the distinct values (a small sort). For each score k ≥ 2 the first customer scoring k
   is at position ``p_k = ceil((k − 1) · N / n)``; the value group holding ``p_k`` gives
   the cut-off value ``v_k``. Only when ``p_k`` falls inside a tie group (the group also
   holds customers scoring less) are that group's members ranked by id, to find ``id_k``,
   the id at ``p_k``. The result is one row.
2. :func:`rfm_score_columns` scores every customer by comparison with the cut-offs:
   ``1 + Σ_k [v > v_k or (v = v_k and id ≥ id_k)]`` (``id_k`` NULL: the whole group).

The bin edges returned are the cut-off values: for each score k that some customer has,
the lowest value scoring k (for recency, the most days that still score k).

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
SCORE_COLUMNS = {"R": "r_score", "F": "f_score", "M": "m_score"}


@dataclass(frozen=True)
class RFMSpec:
    """How to score (the policy's ``rfm:`` section)."""

    bins: int = 5
    method: Literal["quantile", "thresholds"] = "quantile"
    recency: str = "recency_days"
    frequency: str = "purchase_days"
    monetary: str = "revenue"
    thresholds: dict[str, tuple[float, ...]] | None = None

    def value_columns(self) -> dict[str, str]:
        return {"R": self.recency, "F": self.frequency, "M": self.monetary}

    def edges_for(self, dim: str) -> tuple[float, ...]:
        """The validated threshold edges of ``dim``."""
        th = (self.thresholds or {}).get(dim)
        if th is None:
            raise ValueError(f"rfm → thresholds → {dim}: missing")
        n = self.bins
        if len(th) != n - 1 or list(th) != sorted(th):
            raise ValueError(f"rfm → thresholds → {dim}: give {n - 1} ascending edges (got {list(th)})")
        return tuple(th)


def _oriented(dim: str, col: ir.Column) -> ir.Column:
    """A value where larger is better."""
    return -col if dim == "R" else col


def _is_buyer(t: ir.Table) -> ir.BooleanValue:
    return t.purchase_days > 0


def _cut_rows(features: ir.Table, dim: str, value: str, n: int) -> ir.Table:
    """``k, v, p, r, split, nonempty`` for each score k ≥ 2 that a position reaches.

    ``v`` is the value group holding position ``p = p_k``, ``r`` the rank of that position
    inside the group (1-based), ``split`` whether the group also holds lower positions.
    """
    # buyers per distinct value (a group of non-buyers only is dropped); each dimension counts on its
    # own, so that no engine materialises a shared per-customer table
    g = features.group_by(v=_oriented(dim, features[value])).aggregate(cnt=features.customer_id.count(where=_is_buyer(features)))
    g = g.filter(g.cnt > 0)
    g = g.mutate(total=g.cnt.sum().over(), before=g.cnt.cumsum(order_by=g.v) - g.cnt)
    g = g.mutate(k=ibis.literal(list(range(2, n + 1)), type="array<int64>").unnest())
    first = ((g.k - 1) * g.total + (n - 1)) // n           # p_k = ceil((k − 1) · N / n)
    after = (g.k * g.total + (n - 1)) // n                 # p_{k+1} (N for k = n)
    g = g.mutate(p=first.cast("int64"), p_next=after.cast("int64"))
    cut = g.filter((g.p >= g.before) & (g.p < g.before + g.cnt))
    return cut.select("k", "v", "p", split=cut.before < cut.p, r=cut.p - cut.before + 1,
                      nonempty=cut.p < cut.p_next)


def _cut_ids(features: ir.Table, dim: str, value: str, cut: ir.Table) -> ir.Table:
    """``k, cut_id``: the id at position ``p_k`` inside each split tie group (members ranked by id)."""
    split = cut.filter(cut.split)
    t = features.select("customer_id", v=_oriented(dim, features[value]), buyer=_is_buyer(features))
    members = t.filter(t.buyer).semi_join(split, "v")
    members = members.mutate(rn=ibis.row_number().over(group_by=members.v, order_by=members.customer_id) + 1)
    j = members.join(split, (members.v == split.v) & (members.rn == split.r))
    return j.select("k", cut_id=j.customer_id)


def rfm_cutoffs(features: ir.Table, spec: RFMSpec | None = None) -> ir.Table:
    """One row with the quantile cut-offs of every dimension: ``<D>v<k>`` and ``<D>id<k>``, k = 2..n.

    ``<D>v<k>`` is the oriented value (recency negated) of the first customer scoring k,
    ``<D>id<k>`` that customer's id when the cut-off splits a tie group, else NULL (the
    whole group scores at least k). Both are NULL when no position reaches score k.
    """
    spec = spec or RFMSpec()
    n = spec.bins
    row = None
    for dim, value in spec.value_columns().items():
        cut = _cut_rows(features, dim, value, n)
        ids = _cut_ids(features, dim, value, cut)
        c = cut.left_join(ids, "k").drop("k_right")
        aggs = {}
        for k in range(2, n + 1):
            aggs[f"{dim}v{k}"] = c.v.max(where=c.k == k)
            aggs[f"{dim}id{k}"] = c.cut_id.max(where=c.k == k)
        one = c.aggregate(**aggs)
        row = one if row is None else row.cross_join(one)
    return row


def rfm_score_columns(t: ir.Table, spec: RFMSpec | None = None) -> dict[str, ir.IntegerValue]:
    """``r_score``, ``f_score``, ``m_score`` as expressions on ``t``.

    For quantile bins ``t`` must carry the cut-off columns of :func:`rfm_cutoffs` (cross
    join the one row onto the features). Customers without a purchase score NULL, and so
    do buyers without a value for quantile bins.
    """
    spec = spec or RFMSpec()
    n = spec.bins
    out = {}
    for dim, value in spec.value_columns().items():
        col = t[value]
        if spec.method == "quantile":
            # the cut-offs increase with k: the first one from the top that a customer reaches is the score
            # (a CASE chain: most rows are decided by one or two value comparisons, ids compared only on ties)
            v = _oriented(dim, col)
            above = []
            for k in range(n, 1, -1):
                vk, idk = t[f"{dim}v{k}"], t[f"{dim}id{k}"]
                above.append(((v > vk) | ((v == vk) & (idk.isnull() | (t.customer_id >= idk))), k))
            score = ibis.cases(*above, else_=1)
        else:
            edges = spec.edges_for(dim)
            if dim == "R":
                score = n - sum((ibis.ifelse(col > e, 1, 0) for e in edges), ibis.literal(0))
            else:
                score = 1 + sum((ibis.ifelse(col >= e, 1, 0) for e in edges), ibis.literal(0))
        buyer = _is_buyer(t).fill_null(False)
        if spec.method == "quantile":
            buyer = buyer & col.notnull()       # no value, no position
        out[SCORE_COLUMNS[dim]] = ibis.ifelse(buyer, score.cast("int64"), ibis.null("int64"))
    return out


def rfm_edges(features: ir.Table, spec: RFMSpec | None = None) -> dict[str, ir.Table | list]:
    """The bin edges per dimension: a table ``(score, value)`` for quantile bins, else the thresholds."""
    spec = spec or RFMSpec()
    if spec.method != "quantile":
        return {dim: list(spec.edges_for(dim)) for dim in DIMENSIONS}
    return {dim: _edge_table(features, dim, col, spec.bins) for dim, col in spec.value_columns().items()}


def _edge_table(features: ir.Table, dim: str, value: str, n: int) -> ir.Table:
    """``score, value``: the lowest value scoring k, for every score some customer has."""
    buyers = features.filter(_is_buyer(features))
    cut = _cut_rows(features, dim, value, n)
    lowest = buyers.aggregate(v=_oriented(dim, buyers[value]).min())
    parts = lowest.select(score=ibis.literal(1, type="int64"), v=lowest.v).union(
        cut.filter(cut.nonempty).select(score=cut.k.cast("int64"), v=cut.v))
    parts = parts.filter(parts.v.notnull())
    return parts.select("score", value=(-parts.v) if dim == "R" else parts.v)


def rfm_scores(features: ir.Table, spec: RFMSpec | None = None) -> tuple[ir.Table, dict[str, ir.Table | list]]:
    """Score every buyer of ``features``.

    Returns ``(scores, edges)``: ``scores`` has ``customer_id``, the three values
    (``recency``, ``frequency``, ``monetary``) and ``r_score``, ``f_score``, ``m_score``,
    one row per customer of ``features`` (non-buyers have NULL scores); ``edges[dim]`` is a
    table ``(score, value)`` for quantile bins or the given thresholds.

    To add the scores to a features table without building a second one, cross join
    :func:`rfm_cutoffs` and use :func:`rfm_score_columns` (as ``classify_customers`` does).
    """
    spec = spec or RFMSpec()
    cols = spec.value_columns()
    edges = rfm_edges(features, spec)
    t = features.cross_join(rfm_cutoffs(features, spec)) if spec.method == "quantile" else features
    scores = t.select("customer_id", recency=t[cols["R"]], frequency=t[cols["F"]], monetary=t[cols["M"]],
                      **rfm_score_columns(t, spec))
    return scores, edges
