"""Aggregates for the API and the dashboard, over the principal's customers only.

Tier pyramid and KPIs of the current run against the previous one, tier distribution over
time, migration matrices, RFM heatmap, Pareto curve, CLV distribution, segment summaries,
upgrade candidates and overrides. Results are cached per workspace state and scope, so a
dashboard is computed once per run and role scope, then served from memory.
"""

from __future__ import annotations

from tierwise.app import query_engine as qe
from tierwise.app.access import Principal, require, visible_ids
from tierwise.app.history import migration_result
from tierwise.app.query_customers import _jsonable, no_run, scope_sql
from tierwise.errors import NotFoundError, UserInputError, did_you_mean
from tierwise.snapshots.store import SnapshotStore

NOT_SEGMENTS = ("tier_level", "tier_metric", "tier_level_prev", "tier_since")
SUMMARY_PREFIXES = ("rfm_segment", "abc_class", "lifecycle", "seg_", "cluster", "lead_grade", "tier")


def _gen(ws):
    g = qe.reader(ws).generation()
    if g.current is None:
        raise no_run()
    return g


def _levels(ws, info) -> list[str]:
    return [lv.id for lv in qe.snapshot_policy(ws, info).tiers.levels]


def _scoped(ws, principal, cur, source: str, alias: str = "c") -> str:
    s = scope_sql(cur, ws, principal, alias)
    return f"(SELECT {alias}.* FROM {source} {alias}" + (f" WHERE {s}" if s else "") + f") {alias}"


def _find(g, ref: str | None):
    if ref is None:
        return g.current
    for s in reversed(g.in_force):
        if s.run_id == ref or s.as_of.isoformat() == ref:
            return s
    raise NotFoundError(f"no run '{ref}'", hint=did_you_mean(ref, [s.run_id for s in g.in_force]
                                                            + [s.as_of.isoformat() for s in g.in_force]))


def runs(ws, principal: Principal) -> list[dict]:
    """Runs in force, newest last (metadata: dates, digests, counts of every customer)."""
    require(principal, "runs.read")
    snaps = SnapshotStore(ws.snapshots)
    out = []
    for s in snaps.in_force():
        meta = snaps.meta(s.run_id)
        out.append({"run_id": s.run_id, "as_of": s.as_of.isoformat(), "digest": s.digest,
                    "customers": meta.get("customers"), "finished_at": meta.get("finished_at"),
                    "timings": meta.get("timings"), "overrides_applied": meta.get("overrides_applied")})
    return out


def run_detail(ws, principal: Principal, run_id: str) -> dict:
    require(principal, "runs.read")
    snaps = SnapshotStore(ws.snapshots)
    if not any(s.run_id == run_id for s in snaps.index()):
        raise NotFoundError(f"no run '{run_id}'", hint=did_you_mean(run_id, [s.run_id for s in snaps.index()]))
    return snaps.meta(run_id)


def tier_counts(ws, principal: Principal, ref: str | None = None) -> dict:
    g = _gen(ws)
    info = _find(g, ref)
    rd = qe.reader(ws)

    def compute():
        cur = rd.cursor()
        rows = cur.execute(f"SELECT c.tier, count(*) FROM "
                           + _scoped(ws, principal, cur, f"read_parquet({qe._lit(g.files[info.run_id])})")
                           + " GROUP BY ALL").fetchall()
        return {t: n for t, n in rows if t is not None}
    return rd.cached(("tiers", info.run_id, principal.scope_key), compute)


def distribution(ws, principal: Principal) -> list[dict]:
    """Customers per tier in every run in force (the principal's customers)."""
    require(principal, "customers.read")
    g = _gen(ws)
    rd = qe.reader(ws)

    def compute():
        if g.hist is None:
            return []
        cur = rd.cursor()
        rows = cur.execute("SELECT c.as_of, c.run_id, c.tier, count(*) FROM " + _scoped(ws, principal, cur, g.hist)
                           + " GROUP BY ALL ORDER BY 1").fetchall()
        out: dict = {}
        for as_of, run_id, tier, n in rows:
            out.setdefault(run_id, {"as_of": as_of.isoformat(), "run_id": run_id, "tiers": {}})["tiers"][tier] = n
        return sorted(out.values(), key=lambda r: r["as_of"])
    return rd.cached(("distribution", principal.scope_key), compute)


def migration(ws, principal: Principal, from_ref: str | None = None, to_ref: str | None = None) -> dict:
    """Counts and row shares of the principal's customers moving between two runs (default: the last two)."""
    require(principal, "customers.read")
    g = _gen(ws)
    b = _find(g, to_ref)
    if from_ref:
        a = _find(g, from_ref)
    else:
        earlier = [s for s in g.in_force if s.as_of < b.as_of]
        if not earlier:
            raise UserInputError("a migration needs two runs", hint="run an earlier date too, or name from=")
        a = earlier[-1]
    levels = _levels(ws, b)
    rd = qe.reader(ws)

    def compute():
        cur = rd.cursor()
        s = scope_sql(cur, ws, principal, "j")
        rows = cur.execute(
            f"SELECT tier_from, tier_to, count(*) FROM (SELECT coalesce(x.customer_id, y.customer_id) AS customer_id, "
            f"x.tier AS tier_from, y.tier AS tier_to FROM read_parquet({qe._lit(g.files[a.run_id])}) x "
            f"FULL OUTER JOIN read_parquet({qe._lit(g.files[b.run_id])}) y USING (customer_id)) j"
            + (f" WHERE {s}" if s else "") + " GROUP BY ALL").fetchall()
        return migration_result(a, b, levels, rows)
    return rd.cached(("migration", a.run_id, b.run_id, principal.scope_key), compute)


def segment_summary(ws, principal: Principal, column: str) -> dict:
    """Per segment of ``column``: customers, share, revenue, revenue share, average order, median recency, average CLV."""
    require(principal, "customers.read")
    g = _gen(ws)
    allowed = _classifiable(g)
    if column not in allowed:
        raise NotFoundError(f"no classification '{column}'", hint=did_you_mean(column, allowed) or
                            f"use {', '.join(allowed)}")
    rd = qe.reader(ws)
    has = set(g.columns)
    rev = "c.revenue" if "revenue" in has else "NULL"
    clv = "c.clv" if "clv" in has else "NULL"
    rec = "c.recency_days" if "recency_days" in has else "NULL"
    cnt = "c.purchase_count" if "purchase_count" in has else "NULL"
    gross = "c.gross_sales" if "gross_sales" in has else "NULL"

    def compute():
        cur = rd.cursor()
        rows = cur.execute(
            f"SELECT CAST(c.\"{column}\" AS VARCHAR) AS segment, count(*) AS customers, "
            f"CAST(coalesce(sum({rev}), 0) AS DOUBLE) AS revenue, "
            f"CAST(sum({gross}) AS DOUBLE) / nullif(sum({cnt}), 0) AS aov, median({rec}) AS median_recency_days, "
            f"avg({clv}) AS avg_clv FROM " + _scoped(ws, principal, cur, g.cur) + " GROUP BY ALL ORDER BY 2 DESC, 1"
        ).fetchall()
        n = sum(r[1] for r in rows) or 1
        total_rev = sum(r[2] for r in rows) or None
        labels = qe.snapshot_labels(ws, g.current).get(column, {})
        return {"run_id": g.current.run_id, "as_of": g.current.as_of.isoformat(), "column": column, "segments": [
            {"segment": s, "label": labels.get(s or "", {}), "customers": k, "share": k / n, "revenue": r,
             "revenue_share": (r / total_rev) if total_rev else None, "aov": aov,
             "median_recency_days": med, "avg_clv": ac}
            for s, k, r, aov, med, ac in rows]}
    return rd.cached(("summary", column, principal.scope_key), compute)


def dashboard(ws, principal: Principal) -> dict:
    """Everything the dashboard draws, for the principal's customers."""
    require(principal, "customers.read")
    g = _gen(ws)
    rd = qe.reader(ws)

    def compute():
        cur = rd.cursor()
        has = set(g.columns)
        src = _scoped(ws, principal, cur, g.cur)
        kpis = _kpis(cur, src, has)
        prev = None
        if g.previous is not None:
            pcols = {r[0] for r in cur.execute(
                f"DESCRIBE SELECT * FROM read_parquet({qe._lit(g.files[g.previous.run_id])})").fetchall()}
            prev = _kpis(cur, _scoped(ws, principal, cur, f"read_parquet({qe._lit(g.files[g.previous.run_id])})"),
                         pcols)
        levels = _levels(ws, g.current)
        tiers = tier_counts(ws, principal)
        out = {"run_id": g.current.run_id, "as_of": g.current.as_of.isoformat(),
               "previous": ({"run_id": g.previous.run_id, "as_of": g.previous.as_of.isoformat()}
                            if g.previous else None),
               "kpis": {k: {"value": v, "previous": (prev or {}).get(k),
                            "change": (v - prev[k]) if prev and prev.get(k) is not None and v is not None else None}
                        for k, v in kpis.items()},
               "levels": levels, "labels": qe.snapshot_labels(ws, g.current),
               "tier_labels": {lv.id: {"zh-CN": lv.label.zh_CN, "en": lv.label.en}
                               for lv in qe.snapshot_policy(ws, g.current).tiers.levels},
               "pyramid": [{"tier": lv, "customers": tiers.get(lv, 0)} for lv in levels],
               "distribution": distribution(ws, principal),
               "migration": migration(ws, principal) if g.previous else None}
        if {"r_score", "f_score"} <= has:
            rows = cur.execute(f"SELECT c.r_score, c.f_score, count(*) FROM {src} GROUP BY ALL").fetchall()
            out["rfm"] = [{"r": r, "f": f, "customers": n} for r, f, n in rows if r is not None and f is not None]
        if "revenue" in has:
            out["pareto"] = _pareto(cur, src)
        if "clv" in has:
            out["clv"] = _histogram(cur, src, "clv")
        return out
    return rd.cached(("dashboard", principal.scope_key), compute)


def _kpis(cur, src: str, has: set[str]) -> dict:
    parts = {"customers": "count(*)"}
    if "tier_metric" in has:
        parts["tier_metric_total"] = "CAST(sum(c.tier_metric) AS DOUBLE)"
    if "revenue" in has:
        parts["revenue"] = "CAST(sum(c.revenue) AS DOUBLE)"
    if "clv" in has:
        parts["avg_clv"] = "avg(c.clv)"
    if "tier_event" in has:
        parts["upgrades"] = "count(*) FILTER (WHERE c.tier_event = 'upgrade')"
        parts["downgrades"] = "count(*) FILTER (WHERE c.tier_event = 'downgrade')"
        parts["watch"] = "count(*) FILTER (WHERE c.tier_status = 'watch')"
    if "churn_warning_count" in has:
        parts["churn_warned"] = "count(*) FILTER (WHERE c.churn_warning_count > 0)"
    row = cur.execute(f"SELECT {', '.join(parts.values())} FROM {src}").fetchone()
    return dict(zip(parts, row))


def _pareto(cur, src: str, points: int = 50) -> list[dict]:
    """Cumulative share of revenue against the share of customers, best customers first."""
    rows = cur.execute(
        f"WITH r AS (SELECT greatest(CAST(coalesce(c.revenue, 0) AS DOUBLE), 0) AS v FROM {src}), "
        "o AS (SELECT row_number() OVER (ORDER BY v DESC) AS i, sum(v) OVER (ORDER BY v DESC ROWS UNBOUNDED PRECEDING) "
        "AS cum, count(*) OVER () AS n, sum(v) OVER () AS tot FROM r) "
        f"SELECT i / n, cum / nullif(tot, 0) FROM o WHERE i % greatest(n // {points}, 1) = 0 OR i = n ORDER BY i"
    ).fetchall()
    return [{"customers_share": a, "revenue_share": b} for a, b in rows]


def _histogram(cur, src: str, col: str, bins: int = 30) -> dict:
    lo, hi = cur.execute(f"SELECT min(c.{col}), quantile_cont(c.{col}, 0.99) FROM {src}").fetchone()
    if lo is None or hi is None or hi <= lo:
        return {"edges": [], "counts": []}
    width = (hi - lo) / bins
    rows = cur.execute(f"SELECT least(CAST(floor((c.{col} - ?) / ?) AS BIGINT), {bins - 1}) AS b, count(*) "
                       f"FROM {src} WHERE c.{col} IS NOT NULL GROUP BY ALL", [lo, width]).fetchall()
    counts = [0] * bins
    for b, n in rows:
        counts[b] += n
    return {"edges": [lo + i * width for i in range(bins + 1)], "counts": counts, "top_clipped": True}


def candidates(ws, principal: Principal, *, kind: str | None = None, manager: str | None = None,
               limit: int = 50, offset: int = 0) -> dict:
    """Upgrade candidates of the current run among the principal's customers, best first."""
    require(principal, "customers.read")
    g = _gen(ws)
    path = SnapshotStore(ws.snapshots).path(g.current.run_id) / "candidates.parquet"
    if not path.exists():
        return {"run_id": g.current.run_id, "total": 0, "items": []}
    if not 1 <= limit <= 500 or offset < 0:
        raise UserInputError(f"limit must be 1–500 and offset ≥ 0 (got {limit}, {offset})")
    cur = qe.reader(ws).cursor()
    cond, params = [], []
    s = scope_sql(cur, ws, principal)
    if s:
        cond.append(s)
    if kind:
        cond.append("contains(c.candidate_kind, ?)")
        params.append(kind)
    if manager:
        cond.append("c.manager_id = ?")
        params.append(manager)
    where = (" WHERE " + " AND ".join(cond)) if cond else ""
    src = f"read_parquet({qe._lit(path.as_posix())}) c{where}"
    total = cur.execute(f"SELECT count(*) FROM {src}", params).fetchone()[0]
    res = cur.execute(f"SELECT * FROM {src} ORDER BY c.rank LIMIT {int(limit)} OFFSET {int(offset)}", params)
    cols = [d[0] for d in res.description]
    return {"run_id": g.current.run_id, "total": int(total), "limit": limit, "offset": offset,
            "items": [_jsonable(dict(zip(cols, r))) for r in res.fetchall()]}


def overrides(ws, principal: Principal, status: str | None = None) -> list[dict]:
    """Overrides of the principal's customers (all of them for analysts and admins)."""
    require(principal, "overrides.read")
    ids = visible_ids(ws, principal)
    rows = ws.store().list_overrides(status=status)
    return [_jsonable(o) for o in rows if ids is None or o["customer_id"] in ids]


def classifications(ws, principal: Principal) -> list[str]:
    """Classifications of the current run to explore: summarised by :func:`segment_summary` and drilled
    into with the customer list's ``tier`` or ``segment`` filter."""
    from tierwise.app.query_customers import SEGMENT_PREFIXES

    require(principal, "customers.read")
    return [c for c in _classifiable(_gen(ws)) if c == "tier" or c.startswith(SEGMENT_PREFIXES)]


def _classifiable(g) -> list[str]:
    return [c for c in g.columns if c.startswith(SUMMARY_PREFIXES) and c not in NOT_SEGMENTS]
