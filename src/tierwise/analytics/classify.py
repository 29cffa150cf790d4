"""Every classification the policy switches on, for every customer, as one Ibis expression.

The result has one row per customer: the features, the RFM scores and segment, the ABC
class, the lifecycle stage and one column ``seg_<name>`` per rule segmentation (ordered:
one segment id; tags: the matching ids joined with commas, or NULL).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import ibis
import ibis.expr.types as ir

from tierwise.analytics.abc import ABCSpec, abc_class_column, abc_cutoffs
from tierwise.analytics.churn import ChurnSpec, churn_warnings
from tierwise.analytics.features import FeatureSpec, customer_features
from tierwise.analytics.lifecycle import LifecycleSpec, last_gap, lifecycle_column
from tierwise.analytics.points import PointsSpec, points_features
from tierwise.analytics.rfm import RFMSpec, rfm_cutoffs, rfm_edges, rfm_score_columns
from tierwise.analytics.rules import compile_rule
from tierwise.analytics.segment_map import SegmentMap, assign_segments, high_flags, load_segment_map
from tierwise.config.policy import Policy, RuleSegmentation


@dataclass
class Classification:
    """The per-customer expression, the RFM bin edges and the segment map in use."""

    customers: ir.Table
    rfm_edges: dict
    segment_map: SegmentMap | None


def features_for(tables: dict[str, ir.Table], as_of: date, policy: Policy,
                 tier_history: ir.Table | None = None) -> ir.Table:
    """The feature expression the policy asks for (materialise it before :func:`classify_customers`).

    ``tier_history`` (customer_id, from_day, to_day, tier) feeds the points' tier multipliers.
    """
    fp = policy.features
    feats = customer_features(tables, as_of, FeatureSpec(tuple(fp.windows_days), tuple(fp.aum_windows_months),
                                                          tuple(fp.contact_kinds)))
    if policy.points.enabled:
        pp = policy.points
        pts = points_features(tables["transactions"], tables["points"], tier_history, as_of,
                              PointsSpec(pp.per_amount, dict(pp.category_multipliers), dict(pp.tier_multipliers),
                                         pp.qualifying_months, pp.expiry_months))
        feats = feats.left_join(pts, "customer_id").drop("customer_id_right")
        feats = feats.mutate(**{c: feats[c].fill_null(0) for c in pts.columns if c != "customer_id"})
    return feats


def classify_customers(feats: ir.Table, tables: dict[str, ir.Table], as_of: date, policy: Policy,
                       base: Path | None = None) -> Classification:
    """Build the classification expression for ``as_of`` on computed features ``feats``.

    ``feats`` is used by several branches (RFM, ABC, lifecycle, rules): pass a
    materialised table, not the feature expression, so it is computed once.

    The RFM and ABC cut-offs are one-row tables crossed onto ``feats``; the scores, class
    and stage are then columns computed on each row, so no per-customer table is joined
    back (see :mod:`tierwise.analytics.rfm` and :mod:`tierwise.analytics.abc`).
    """
    out = feats
    edges: dict = {}
    smap = None
    cut_columns: list[str] = []
    rfm_spec = abc_spec = None
    if policy.rfm.enabled:
        r = policy.rfm
        rfm_spec = RFMSpec(bins=r.bins, method=r.method, recency=r.recency, frequency=r.frequency,
                           monetary=r.monetary,
                           thresholds={k: tuple(v) for k, v in (r.thresholds or {}).items()} or None)
        edges = rfm_edges(feats, rfm_spec)
        rfm_cuts = rfm_cutoffs(feats, rfm_spec) if rfm_spec.method == "quantile" else None
        if rfm_cuts is not None:
            out, cut_columns = out.cross_join(rfm_cuts), cut_columns + list(rfm_cuts.columns)
    if policy.abc.enabled:
        abc_spec = ABCSpec(value=policy.abc.value, classes=tuple(policy.abc.classes.items()))
        if len(abc_spec.classes) > 1:
            cuts = abc_cutoffs(feats, abc_spec)
            out, cut_columns = out.cross_join(cuts), cut_columns + list(cuts.columns)
    if rfm_spec is not None:
        out = out.mutate(**rfm_score_columns(out, rfm_spec))
        smap = load_segment_map(policy.rfm.map, base)
        out = _rfm_segment(out, feats, rfm_cuts, rfm_spec, smap, policy)
    if abc_spec is not None:
        out = out.mutate(abc_class=abc_class_column(out, abc_spec))
    out = out.drop(*cut_columns) if cut_columns else out
    if policy.lifecycle.enabled:
        lp = policy.lifecycle
        spec = LifecycleSpec(lp.new_days, lp.churn_days, lp.k, lp.min_at_risk_days, lp.at_risk_days,
                             lp.loyal_min_purchase_days, lp.loyal_min_tenure_days)
        f = out
        if "last_gap_days" not in f.columns:    # features computed without it
            f = f.left_join(last_gap(tables["transactions"], as_of), "customer_id").drop("customer_id_right")
        out = f.mutate(lifecycle=lifecycle_column(f, spec))
        out = out.drop("last_gap_days") if "last_gap_days" not in feats.columns else out
    if policy.churn.enabled:
        c = policy.churn
        out = churn_warnings(out, ChurnSpec(c.p_alive_below, c.frequency_drop, c.frequency_window_days,
                                            c.balance_drop, c.no_contact_days, c.survey_below))
    for segmentation in policy.segments:
        col = f"seg_{segmentation.name}"
        out = out.mutate(**{col: rule_segments(out, segmentation)})
        for name, values in segmentation.maps_to.items():
            out = out.mutate(**{f"{col}_{name}": ibis.cases(*[(out[col] == k, v) for k, v in values.items()])})
    return Classification(out, edges, smap)


def _rfm_segment(out: ir.Table, feats: ir.Table, cuts: ir.Table | None, spec: RFMSpec, smap: SegmentMap,
                 policy: Policy) -> ir.Table:
    """``out`` (the features with the scores) with ``rfm_segment``."""
    cols = spec.value_columns()
    high = policy.rfm.high
    if smap.high_low and high.method != "threshold":
        # "high" against the buyers' mean or median: a scalar over every customer. Computed on a narrow
        # copy of the scores whose segment is joined back: a scalar over ``out`` itself would make the
        # engine keep a second, materialised copy of the whole wide table.
        base = feats.select(*dict.fromkeys(["customer_id", "purchase_days", *cols.values()]))
        t = base.cross_join(cuts) if cuts is not None else base
        narrow = t.select("customer_id", recency=t[cols["R"]], frequency=t[cols["F"]], monetary=t[cols["M"]],
                          **rfm_score_columns(t, spec))
        flagged = high_flags(narrow, method=high.method, basis=high.basis, threshold=high.threshold)
        seg = assign_segments(flagged, smap).select("customer_id", rfm_segment="segment")
        return out.left_join(seg, "customer_id").drop("customer_id_right")
    extra = {"recency": out[cols["R"]], "frequency": out[cols["F"]], "monetary": out[cols["M"]]}
    clash = [c for c in extra if c in out.columns]
    if clash:
        raise ValueError(f"features may not be called {clash}: high_flags uses these names")
    s = out.mutate(**extra)
    if smap.high_low:
        s = high_flags(s, method=high.method, basis=high.basis, threshold=high.threshold)
    s = assign_segments(s, smap)
    helpers = [*extra, *(c for c in ("r_high", "f_high", "m_high") if c in s.columns)]
    return s.rename(rfm_segment="segment").drop(*helpers)


def rule_segments(t: ir.Table, s: RuleSegmentation) -> ir.StringValue:
    """The segment column of one rule segmentation (see module docstring)."""
    where = f"segments → {s.name}"
    conds = [(compile_rule(r.when, t, f"{where} → {r.id}"), r.id) for r in s.rules]
    if s.mode == "ordered":
        return ibis.cases(*conds, else_=s.default)
    parts = [ibis.ifelse(c, ibis.literal(rid + ","), ibis.literal("")) for c, rid in conds]
    joined = parts[0]
    for p in parts[1:]:
        joined = joined.concat(p)
    return joined.re_replace(",$", "").nullif("")


def segment_summary(customers: ir.Table, column: str) -> ir.Table:
    """Per segment of ``column``: customers, share, revenue, share of revenue, AOV, median recency, and the
    average CLV when the value model ran."""
    c = customers
    n = c.count().as_scalar()
    total = c.revenue.sum().as_scalar().cast("float64")
    g = c.group_by(segment=c[column]).aggregate(
        customers=c.count(),
        revenue=c.revenue.sum(),
        gross_sales=c.gross_sales.sum(),
        purchases=c.purchase_count.sum(),
        median_recency_days=c.recency_days.median(),
    )
    if "clv" in c.columns:
        g = g.join(c.group_by(segment=c[column]).aggregate(avg_clv=c.clv.mean()), "segment")
        g = g.drop("segment_right") if "segment_right" in g.columns else g
    return g.mutate(
        share=g.customers.cast("float64") / n.cast("float64"),
        revenue_share=g.revenue.cast("float64") / total.nullif(0),
        aov=g.gross_sales.cast("float64") / g.purchases.cast("float64").nullif(0),
    ).drop("gross_sales", "purchases").order_by(ibis.desc("customers"), "segment")
