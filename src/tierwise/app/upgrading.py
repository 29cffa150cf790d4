"""Upgrade candidates and next best products for a run's customers (written into its snapshot)."""

from __future__ import annotations

from datetime import date

import pyarrow as pa

from tierwise.config.policy import Policy
from tierwise.engine import connect_duckdb, ibis_duckdb
from tierwise.snapshots.store import SnapshotStore
from tierwise.upgrade.candidates import BANDS, CandidateSpec, candidates, upgrade_rates
from tierwise.upgrade.products import ProductSpec, cross_sell_ratio, next_best_products

CANDIDATE_COLUMNS = ("customer_id", "manager_id", "branch_id", "tier", "tier_level", "next_level", "tier_metric",
                     "next_entry", "gap", "gap_share", "candidate_kind", "likelihood", "clv", "clv_pct", "score",
                     "rank", "rank_in_manager")


def _history_pairs(con, snaps: SnapshotStore, as_of: date, horizon: int, entries: list[float]) -> str | None:
    """SQL of (tier_level, gap_band, tier_level_later) over earlier snapshot pairs ``horizon`` runs apart."""
    runs = [s for s in snaps.in_force() if s.as_of < as_of]
    parts = []
    edges = ", ".join(str(e) for e in entries)
    for i in range(len(runs) - horizon):
        a = (snaps.path(runs[i].run_id) / "customers.parquet").as_posix()
        b = (snaps.path(runs[i + horizon].run_id) / "customers.parquet").as_posix()
        parts.append(
            f"SELECT a.tier_level, a.tier_metric, list_extract([{edges}], a.tier_level + 2) AS next_entry, "
            f"b.tier_level AS tier_level_later FROM read_parquet('{a}') a LEFT JOIN read_parquet('{b}') b USING (customer_id) "
            f"WHERE a.tier_level < {len(entries) - 1}")
    if not parts:
        return None
    band = " ".join(f"WHEN share <= {e} THEN {i}" for i, e in enumerate(BANDS))
    return (f"SELECT tier_level, CASE {band} ELSE {len(BANDS)} END AS gap_band, tier_level_later FROM ("
            f"SELECT *, greatest(next_entry - coalesce(tier_metric, 0), 0) / nullif(next_entry, 0) AS share FROM ("
            + " UNION ALL ".join(parts) + "))")


def upgrade_tables(customers: pa.Table, holdings_files: list[str], policy: Policy, as_of: date,
                   snaps: SnapshotStore, scratch=None) -> dict[str, pa.Table]:
    """``candidates``, ``next_best_products`` and ``cross_sell`` tables for this run."""
    up = policy.upgrade
    entries = [lv.entry for lv in policy.tiers.levels]
    con = connect_duckdb(scratch)
    try:
        ib = ibis_duckdb(con)
        con.register("_cust", customers)
        cust = ib.table("_cust")
        spec = CandidateSpec(up.near_share, up.potential_top, up.prior_weight)
        pairs_sql = _history_pairs(con, snaps, as_of, up.horizon_periods, entries)
        rates = None
        if pairs_sql:
            con.execute(f"CREATE OR REPLACE TEMP TABLE _pairs AS {pairs_sql}")
            rates = upgrade_rates(ib.table("_pairs"), spec)
        cand = candidates(cust, entries, rates, spec)
        cand = cand.select(*[c for c in CANDIDATE_COLUMNS if c in cand.columns]).order_by("rank")
        out = {"candidates": ib.to_pyarrow(cand)}
        if holdings_files:
            flist = ", ".join("'" + f.replace("'", "''") + "'" for f in holdings_files)
            con.execute(f"""CREATE OR REPLACE TEMP TABLE _held AS
                SELECT DISTINCT customer_id, CAST({up.products_by} AS VARCHAR) AS product FROM read_parquet([{flist}])
                WHERE {up.products_by} IS NOT NULL
                  AND (open_date IS NULL OR open_date <= DATE '{as_of.isoformat()}')
                  AND (maturity_date IS NULL OR maturity_date > DATE '{as_of.isoformat()}')
                  AND coalesce(status, '') NOT IN ('closed', 'redeemed', 'matured', '已赎回', '已到期', '销户')""")
            held = ib.table("_held")
            tiers = cust.select("customer_id", "tier_level")
            nbp = next_best_products(held, tiers, len(entries),
                                     ProductSpec(up.products_by, up.min_support, up.min_lift, up.max_products))
            out["next_best_products"] = ib.to_pyarrow(nbp.order_by(["customer_id", "nbp_rank"]))
            out["cross_sell"] = ib.to_pyarrow(cross_sell_ratio(held, tiers).order_by("customer_id"))
        return out
    finally:
        con.close()


def list_candidates(ws, *, manager: str | None = None, kind: str | None = None, top: int | None = None,
                    run: str | None = None) -> tuple[str, list[dict]]:
    """Candidates of a run (default: current), optionally for one manager and of one kind, best first."""
    import pyarrow.compute as pc

    from tierwise.app.history import _snap
    from tierwise.errors import UserInputError

    info = _snap(ws, run)
    path = SnapshotStore(ws.snapshots).path(info.run_id) / "candidates.parquet"
    if not path.exists():
        raise UserInputError(f"run {info.run_id} has no upgrade candidates",
                             hint="enable upgrade: in policy.yaml and run again")
    import pyarrow.parquet as pq
    t = pq.read_table(path)
    if manager:
        t = t.filter(pc.equal(t["manager_id"], manager))
        t = t.sort_by("rank_in_manager")
    if kind:
        t = t.filter(pc.match_substring(t["candidate_kind"], kind))
    rows = t.to_pylist()
    return info.run_id, rows[:top] if top else rows


def products_for(ws, customer_id: str, run: str | None = None, locale: str = "zh-CN") -> dict:
    """A customer's next best products with the numbers behind them and a sentence each."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from tierwise.app.history import _snap
    from tierwise.config.policy import parse_policy

    info = _snap(ws, run)
    snaps = SnapshotStore(ws.snapshots)
    base = snaps.path(info.run_id)
    policy = parse_policy((base / "policy.yaml").read_text(encoding="utf-8"))
    labels = {i: (lv.label.zh_CN if locale == "zh-CN" else lv.label.en) for i, lv in enumerate(policy.tiers.levels)}
    cust = snaps.read(info.run_id)
    row = cust.filter(pc.equal(cust["customer_id"], customer_id)).to_pylist()
    if not row:
        from tierwise.errors import UserInputError
        raise UserInputError(f"customer '{customer_id}' is not in run {info.run_id}")
    level = row[0]["tier_level"]
    recs = []
    if (base / "next_best_products.parquet").exists():
        t = pq.read_table(base / "next_best_products.parquet")
        recs = t.filter(pc.equal(t["customer_id"], customer_id)).sort_by("nbp_rank").to_pylist()
    nxt = labels.get(level + 1)
    for r in recs:
        pct = f"{r['next_rate']:.0%}"
        own = f"{r['own_rate']:.0%}"
        if locale == "zh-CN":
            r["why"] = f"{pct} 的{nxt}客户持有{r['product']}（本级 {own}），该客户尚未持有"
        else:
            r["why"] = f"{pct} of {nxt} customers hold {r['product']} (your tier: {own}); this customer holds none"
    ratio = None
    if (base / "cross_sell.parquet").exists():
        cs = pq.read_table(base / "cross_sell.parquet")
        hit = cs.filter(pc.equal(cs["customer_id"], customer_id)).to_pylist()
        ratio = hit[0] if hit else None
    return {"customer_id": customer_id, "run_id": info.run_id, "tier": labels.get(level), "next_tier": nxt,
            "products": recs, "cross_sell": ratio}


def write_rows(path, rows: list[dict], columns: list[str]) -> int:
    """Write ``rows`` to a CSV (UTF-8 with BOM, for Excel) or ``.xlsx`` file atomically; returns the count.

    Text is written as text (never as a formula), whatever it starts with."""
    import csv
    import io
    import os
    from pathlib import Path

    from tierwise.atomic import write_atomic
    from tierwise.errors import UserInputError

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise UserInputError(f"{path}: write a .csv or an .xlsx file")
    if not path.parent.exists():
        raise UserInputError(f"{path.parent}: no such folder")
    if suffix == ".csv":
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(columns)
        w.writerows([["" if r.get(c) is None else r.get(c) for c in columns] for r in rows])
        write_atomic(path, "\ufeff" + buf.getvalue())
    else:
        import xlsxwriter

        tmp = path.with_name(f"_{path.name}.tmp")
        wb = xlsxwriter.Workbook(str(tmp), {"constant_memory": True, "strings_to_formulas": False,
                                            "strings_to_urls": False})
        sheet = wb.add_worksheet(path.stem[:31] or "sheet")
        sheet.write_row(0, 0, columns)
        for i, r in enumerate(rows, start=1):
            sheet.write_row(i, 0, [r.get(c) for c in columns])
        wb.close()
        os.replace(tmp, path)
    return len(rows)


NBP_COLUMNS = ["customer_id", "tier", "next_tier", "nbp_rank", "product", "next_rate", "own_rate", "why"]


def export_products(ws, path, *, run: str | None = None, locale: str = "zh-CN", actor: str = "cli") -> dict:
    """Every customer's next best products of a run (no personal fields) to CSV or xlsx; audited."""
    import pyarrow.parquet as pq

    from tierwise.app.history import _snap

    info = _snap(ws, run)
    base = SnapshotStore(ws.snapshots).path(info.run_id)
    ids = []
    if (base / "next_best_products.parquet").exists():
        ids = sorted(set(pq.read_table(base / "next_best_products.parquet", columns=["customer_id"])
                         ["customer_id"].to_pylist()))
    rows = []
    for cid in ids:
        r = products_for(ws, cid, info.run_id, locale)
        rows += [{**p, "tier": r["tier"], "next_tier": r["next_tier"]} for p in r["products"]]
    n = write_rows(path, rows, NBP_COLUMNS)
    ws.store().audit(actor, "export.written", str(path), {"kind": "next_best_products", "run_id": info.run_id,
                                                          "rows": n})
    return {"path": str(path), "rows": n, "run_id": info.run_id}
