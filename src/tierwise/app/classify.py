"""Classify a workspace's customers as of a date (without publishing: runs and snapshots do that)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import ibis
import pyarrow as pa

from tierwise.analytics.classify import classify_customers, features_for, segment_summary
from tierwise.analytics.leads import LeadSpec, grade_leads
from tierwise.app.personal import ages_as_of
from tierwise.app.value import add_value_predictions
from tierwise.app.workspace import Workspace
from tierwise.canonical import TABLES
from tierwise.models.clustering import CustomerClusters
from tierwise.errors import UserInputError


@dataclass
class ClassifyResult:
    as_of: date
    customers: pa.Table
    summaries: dict[str, pa.Table]
    rfm_edges: dict[str, list]
    labels: dict[str, dict[str, dict[str, str]]]   # column → segment id → {locale: label}
    leads: pa.Table | None = None                  # lead_id, intent_level, ability_level, lead_grade
    clusters: dict | None = None                   # the fitted cluster model (parameters), for the next run
    value_models: dict | None = None               # the fitted value models, or why they failed


def _labels(policy, smap) -> dict:
    labels: dict[str, dict[str, dict[str, str]]] = {}
    if smap is not None:
        labels["rfm_segment"] = {s.id: dict(s.label) for s in smap.segments}
        labels["rfm_segment"]["no_purchase"] = {"zh-CN": "无购买", "en": "No purchase"}
    for s in policy.segments:
        labels[f"seg_{s.name}"] = {r.id: {"zh-CN": r.label.zh_CN, "en": r.label.en} for r in s.rules}
        labels[f"seg_{s.name}"][s.default] = {"zh-CN": s.default_label.zh_CN, "en": s.default_label.en}
    from tierwise.analytics.lifecycle import STAGES
    zh = {"prospect": "潜在客户", "new": "新客户", "growing": "成长客户", "loyal": "忠诚客户", "at_risk": "流失风险",
          "churned": "已流失", "won_back": "挽回客户"}
    labels["lifecycle"] = {st: {"zh-CN": zh[st], "en": st.replace("_", " ")} for st in STAGES}
    return labels


def _clusters(customers: pa.Table, cp, previous: dict | None) -> tuple[pa.Table, dict]:
    """Fit clusters on a seeded sample, assign every customer, keep ids stable against ``previous``."""
    import numpy as np

    cols = list(dict.fromkeys([*cp.numeric, *cp.categorical]))
    missing = [c for c in cols if c not in customers.column_names]
    if missing:
        from tierwise.errors import PolicyError, did_you_mean
        hint = did_you_mean(missing[0], customers.column_names)
        raise PolicyError(f"clusters: unknown feature '{missing[0]}'" + (f"; {hint}" if hint else ""))
    X = customers.select(cols).to_pandas()
    for c in cp.numeric:
        X[c] = X[c].astype("float64")
    rng = np.random.default_rng(cp.seed)
    sample = X if len(X) <= cp.fit_sample else X.iloc[np.sort(rng.choice(len(X), cp.fit_sample, replace=False))]
    model = CustomerClusters(numeric=tuple(cp.numeric), categorical=tuple(cp.categorical), log=tuple(cp.log),
                             k=cp.k, k_range=tuple(cp.k_range), random_state=cp.seed).fit(sample)
    if previous:
        prev = CustomerClusters.from_dict(previous)
        model.align_to(prev.centroids_, prev.cluster_ids_)
    labels = model.predict(X)
    return customers.append_column("cluster", pa.array(labels.astype("int64"))), model.to_dict()


def _tier_history(ws: Workspace, as_of: date) -> pa.Table | None:
    """Intervals of the tier in force per customer from the snapshots before ``as_of``.

    A snapshot's tier applies from the day after its as-of date until the next snapshot's
    as-of date (inclusive); the last one until far in the future.
    """
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from tierwise.snapshots.store import SnapshotStore
    from tierwise.analytics.days import day_of

    store = SnapshotStore(ws.snapshots)
    snaps = [s for s in store.in_force() if s.as_of < as_of]
    if not snaps:
        return None
    parts = []
    for i, s in enumerate(snaps):
        t = pq.read_table(store.path(s.run_id) / "customers.parquet", columns=["customer_id", "tier"])
        t = t.filter(pc.is_valid(t["tier"]))
        nxt = day_of(snaps[i + 1].as_of) + 1 if i + 1 < len(snaps) else 10**7
        parts.append(pa.table({"customer_id": t["customer_id"].cast(pa.string()), "tier": t["tier"].cast(pa.string()),
                               "from_day": pa.array([day_of(s.as_of) + 1] * t.num_rows, pa.int64()),
                               "to_day": pa.array([nxt] * t.num_rows, pa.int64())}))
    return pa.concat_tables(parts)


def classify_workspace(ws: Workspace, as_of: date, *, summaries_for: list[str] | None = None,
                       previous_clusters: dict | None = None, policy=None) -> ClassifyResult:
    """Evaluate every classification the policy switches on, for every customer, as of ``as_of``."""
    policy = policy or ws.policy()
    area = ws.data
    manifest = area.manifest()
    if not area.table_files("customers", manifest) and "customers" not in ws.external_tables():
        raise UserInputError(f"{ws.root}: no customers imported yet",
                             hint=f"tierwise import {ws.root} customers FILE")
    with ws.compute() as engine:
        tables = engine.canonical({t: area.table_files(t, manifest) for t in TABLES}, TABLES)
        ages = ages_as_of(ws, as_of)
        if ages is not None:  # ages, not birthdays, reach the analytics
            cust = tables["customers"]
            tables["customers"] = cust.left_join(engine.arrow("_ages", ages), "customer_id").select(
                *cust.columns, "age")
        # features feed every classification: compute them once
        history = None
        if policy.points.enabled and policy.points.tier_multipliers:
            hist = _tier_history(ws, as_of)
            history = engine.arrow("_tier_history", hist) if hist is not None else None
        features = engine.materialize("_features", features_for(tables, as_of, policy, history))
        value_record = None
        if policy.value.enabled:
            # model outputs join the features, so rules, tiers and warnings can use them
            feats = engine.to_arrow(features.order_by("customer_id"))
            feats, value_record = add_value_predictions(feats, policy.value)
            features = engine.arrow("_features_valued", feats)
        result = classify_customers(features, tables, as_of, policy, base=ws.root)
        customers = engine.to_arrow(result.customers.order_by("customer_id"))
        classified = engine.arrow("_classified", customers)
        columns = summaries_for or [c for c in ("rfm_segment", "abc_class", "lifecycle") if c in customers.column_names] \
            + [f"seg_{s.name}" for s in policy.segments if s.mode == "ordered"]
        summaries = {c: engine.to_arrow(segment_summary(classified, c)) for c in columns}
        edges = {d: (e if isinstance(e, list) else engine.to_arrow(e.order_by("score")).to_pylist())
                 for d, e in result.rfm_edges.items()}
        clusters = None
        if policy.clusters.enabled:
            customers, clusters = _clusters(customers, policy.clusters, previous_clusters)
            summaries["cluster"] = engine.to_arrow(segment_summary(engine.arrow("_clustered", customers), "cluster"))
        leads = None
        if policy.leads.enabled and (area.table_files("leads", manifest) or "leads" in ws.external_tables()):
            lp = policy.leads
            spec = LeadSpec(method=lp.method, matrix=tuple(tuple(r) for r in lp.matrix), style=lp.style,
                            budget_thresholds=tuple(lp.budget_thresholds), sources=dict(lp.sources),
                            default_grade=lp.default_grade)
            graded = grade_leads(tables["leads"], spec)
            leads = engine.to_arrow(graded.order_by("lead_id"))
            g = graded.group_by(segment=graded.lead_grade).aggregate(customers=graded.count())
            total = graded.count().as_scalar().cast("float64")
            summaries["lead_grade"] = engine.to_arrow(g.mutate(
                share=g.customers.cast("float64") / total, revenue=ibis.null("float64"),
                revenue_share=ibis.null("float64"), aov=ibis.null("float64"),
                median_recency_days=ibis.null("float64")).order_by("segment"))
    return ClassifyResult(as_of, customers, summaries, edges, _labels(policy, result.segment_map), leads, clusters,
                          value_record)
