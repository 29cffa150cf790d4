"""The numbers behind each section of a run's report, computed from the snapshot's tables.

Every function takes Arrow tables (a snapshot's ``customers``, ``candidates``) and
returns plain JSON-able data, so the HTML report, the workbook and the tests share one
computation. Money arrives as exact decimals and is summed as floats here: these are
figures for people to read, not balances to reconcile.

>>> import pyarrow as pa
>>> t = pa.table({"customer_id": ["a", "b", "c", "d"], "v": [70.0, 20.0, 10.0, 0.0]})
>>> p = pareto(t, "v")
>>> p["top20_share"], p["customers"]
(0.7, 4)
"""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tierwise.analytics.lifecycle import STAGES


def floats(table: pa.Table, column: str) -> np.ndarray:
    """A numeric column (decimal, integer or float) as float64, NULL as NaN."""
    col = pc.cast(table[column], pa.float64())
    return np.asarray(col.to_numpy(zero_copy_only=False), dtype="float64")


def strings(table: pa.Table, column: str) -> list[str | None]:
    return table[column].to_pylist()


def value_counts(table: pa.Table, column: str) -> dict:
    """``{value: count}`` of a column (NULL under ``None``)."""
    return {d["values"]: d["counts"] for d in table[column].value_counts().to_pylist()}


# --------------------------------------------------------------------------- tiers
def tier_counts(customers: pa.Table, levels: list[str]) -> list[dict]:
    """Customers per tier from the lowest level to the highest, with shares.

    >>> t = pa.table({"tier": ["gold", "base", "gold", None]})
    >>> tier_counts(t, ["base", "gold"])
    [{'tier': 'base', 'customers': 1, 'share': 0.25}, {'tier': 'gold', 'customers': 2, 'share': 0.5}]
    """
    counts = value_counts(customers, "tier")
    n = customers.num_rows
    return [{"tier": lv, "customers": int(counts.get(lv, 0)), "share": (counts.get(lv, 0) / n) if n else 0.0}
            for lv in levels]


def run_summary(customers: pa.Table, previous: pa.Table | None, *, value_column: str | None,
                metric_column: str | None) -> dict:
    """Executive figures: customers, tier changes, value, compared with the previous run."""
    ids = set(strings(customers, "customer_id"))
    out: dict = {"customers": customers.num_rows, "previous_customers": None, "new_customers": None,
                 "lost_customers": None}
    if previous is not None:
        prev_ids = set(strings(previous, "customer_id"))
        out.update(previous_customers=previous.num_rows, new_customers=len(ids - prev_ids),
                   lost_customers=len(prev_ids - ids))
    events = value_counts(customers, "tier_event") if "tier_event" in customers.column_names else {}
    out["events"] = {k: int(v) for k, v in events.items() if k}
    out["upgrades"] = int(events.get("upgrade", 0))
    out["downgrades"] = int(events.get("downgrade", 0))
    out["watch"] = int(value_counts(customers, "tier_status").get("watch", 0)) \
        if "tier_status" in customers.column_names else 0

    def total(table: pa.Table | None, col: str | None) -> float | None:
        if table is None or not col or col not in table.column_names:
            return None
        return float(np.nansum(floats(table, col)))

    out["value_column"] = value_column
    out["value"] = total(customers, value_column)
    out["value_previous"] = total(previous, value_column)
    out["revenue_month"] = total(customers, "revenue_month")
    out["revenue_month_previous"] = total(previous, "revenue_month")
    out["metric_column"] = metric_column
    out["metric"] = total(customers, metric_column)
    out["metric_previous"] = total(previous, metric_column)
    return out


# --------------------------------------------------------------------------- Pareto / ABC
def pareto(customers: pa.Table, value_column: str, *, points: int = 201, class_column: str = "abc_class") -> dict:
    """The Pareto (Lorenz-style) curve: cumulative share of value against share of customers.

    Customers are ranked by value, largest first (ties by customer id). ``top20_share`` is
    the value share of the top ``ceil(20 %)`` of customers. The curve is sampled at
    ``points`` customer shares so the chart stays small for millions of customers.
    """
    v = np.nan_to_num(floats(customers, value_column), nan=0.0)
    ids = np.asarray(strings(customers, "customer_id"), dtype=object)
    order = np.lexsort((ids, -v)) if len(v) else np.array([], dtype=int)
    sv = v[order]
    n = len(sv)
    total = float(sv.sum())
    cum = np.cumsum(sv) / total if n and total else np.zeros(n)
    xs = np.linspace(0.0, 1.0, points)
    idx = np.ceil(np.round(xs * n, 6)).astype(int)  # 0.3 * 10 must be 3, not 3.0000000000000004
    ys = [0.0 if k == 0 else float(cum[k - 1]) for k in idx] if n else [0.0] * points
    top = math.ceil(0.2 * n)
    out = {"customers": n, "total": total, "x": [float(x) for x in xs], "y": ys,
           "top20_share": float(sv[:top].sum() / total) if n and total else 0.0}
    if class_column in customers.column_names:
        classes = np.asarray(strings(customers, class_column), dtype=object)
        rows = []
        for cls in sorted({c for c in classes if c is not None}, key=_abc_key):
            mask = classes == cls
            rows.append({"class": cls, "customers": int(mask.sum()), "value": float(v[mask].sum()),
                         "value_share": float(v[mask].sum() / total) if total else 0.0})
        out["classes"] = rows
    return out


def _abc_key(label: str) -> tuple:
    """A+ before A before A- before B …"""
    return (label[:1], {"+": 0, "": 1, "-": 2}.get(label[1:], 3), label)


# --------------------------------------------------------------------------- RFM
def rfm_grid(customers: pa.Table, monetary: str, bins: int) -> dict:
    """Customers and mean monetary value per (R score, F score) cell; scores 1 … ``bins``.

    Customers without scores (no purchase) are left out.

    >>> t = pa.table({"r_score": [1, 1, 2, None], "f_score": [2, 2, 1, None], "m": [1.0, 3.0, 5.0, 0.0]})
    >>> g = rfm_grid(t, "m", 2)
    >>> g["counts"], g["mean_monetary"]
    ([[0, 2], [1, 0]], [[None, 2.0], [5.0, None]])
    """
    r = customers["r_score"].to_pylist()
    f = customers["f_score"].to_pylist()
    m = floats(customers, monetary) if monetary in customers.column_names else np.zeros(customers.num_rows)
    counts = [[0] * bins for _ in range(bins)]
    sums = [[0.0] * bins for _ in range(bins)]
    for ri, fi, mi in zip(r, f, m):
        if ri is None or fi is None:
            continue
        counts[ri - 1][fi - 1] += 1
        sums[ri - 1][fi - 1] += 0.0 if math.isnan(mi) else float(mi)
    means = [[(sums[i][j] / counts[i][j]) if counts[i][j] else None for j in range(bins)] for i in range(bins)]
    return {"scores": list(range(1, bins + 1)), "counts": counts, "mean_monetary": means}


# --------------------------------------------------------------------------- lifecycle
def lifecycle_funnel(customers: pa.Table) -> list[dict]:
    """Customers per lifecycle stage, in the stages' natural order."""
    counts = value_counts(customers, "lifecycle")
    return [{"stage": s, "customers": int(counts.get(s, 0))} for s in STAGES]


# --------------------------------------------------------------------------- CLV
def clv_distribution(customers: pa.Table, levels: list[str] | None = None, *, bins: int = 24) -> dict:
    """Histogram of CLV on a log scale, its percentiles, and mean CLV per tier.

    Customers without a CLV (no purchase, or no fitted model) are counted apart; the
    histogram covers CLV > 0 with log-spaced bins (a zero-or-less CLV has its own count).
    """
    clv = floats(customers, "clv")
    known = clv[np.isfinite(clv)]
    pos = known[known > 0]
    out: dict = {"customers": customers.num_rows, "with_clv": int(known.size), "without_clv":
                 int(customers.num_rows - known.size), "zero_or_less": int((known <= 0).sum()),
                 "total": float(known.sum()) if known.size else 0.0,
                 "mean": float(known.mean()) if known.size else None}
    out["percentiles"] = {f"p{q}": float(np.percentile(known, q)) for q in (10, 25, 50, 75, 90, 99)} \
        if known.size else {}
    if pos.size:
        lo, hi = np.log10(pos.min()), np.log10(pos.max())
        if hi - lo < 1e-9:
            hi = lo + 1
        edges = np.logspace(lo, hi, bins + 1)
        edges[0], edges[-1] = pos.min(), max(pos.max(), edges[-1])  # round-off must not drop the extremes
        counts, _ = np.histogram(pos, bins=edges)
        out["histogram"] = {"edges": [float(e) for e in edges], "counts": [int(c) for c in counts]}
    else:
        out["histogram"] = {"edges": [], "counts": []}
    if levels and "tier" in customers.column_names:
        tiers = np.asarray(strings(customers, "tier"), dtype=object)
        out["by_tier"] = []
        for lv in levels:
            vals = clv[(tiers == lv) & np.isfinite(clv)]
            out["by_tier"].append({"tier": lv, "customers": int((tiers == lv).sum()),
                                   "mean_clv": float(vals.mean()) if vals.size else None,
                                   "total_clv": float(vals.sum()) if vals.size else 0.0})
    return out


# --------------------------------------------------------------------------- upgrade candidates
def candidate_summary(candidates: pa.Table, *, top: int = 10, managers: int = 15) -> dict:
    """Candidates by kind, by current tier and by manager (most candidates first), and the best ``top``."""
    kinds = value_counts(candidates, "candidate_kind")
    tiers = value_counts(candidates, "tier")
    by_manager: dict = {}
    for m, k in zip(strings(candidates, "manager_id"), strings(candidates, "candidate_kind")):
        row = by_manager.setdefault(m or "—", {"manager_id": m or "—", "candidates": 0, "near": 0, "potential": 0})
        row["candidates"] += 1
        for part in ("near", "potential"):
            if part in (k or "").split("+"):
                row[part] += 1
    mgr = sorted(by_manager.values(), key=lambda r: (-r["candidates"], r["manager_id"]))
    best = candidates.sort_by("rank").slice(0, top).to_pylist() if candidates.num_rows else []
    return {"candidates": candidates.num_rows,
            "near": sum(v for k, v in kinds.items() if k and "near" in k.split("+")),
            "potential": sum(v for k, v in kinds.items() if k and "potential" in k.split("+")),
            "by_kind": {k: int(v) for k, v in sorted(kinds.items(), key=lambda kv: str(kv[0]))},
            "by_tier": {k: int(v) for k, v in tiers.items()},
            "managers": len(by_manager), "by_manager": mgr[:managers], "top": best}
