"""What a workspace holds now."""

from __future__ import annotations

from pathlib import Path

from tierwise.app.workspace import open_workspace
from tierwise.canonical import TABLES
from tierwise.engine import connect_duckdb
from tierwise.ingest.validate import sql_str


def workspace_status(path: str | Path) -> dict:
    """Tables with their row counts and the imports that form them, plus policy facts."""
    ws = open_workspace(path)
    policy = ws.policy()
    area = ws.data
    manifest = area.manifest()
    con = connect_duckdb()
    tables = {}
    for name in TABLES:
        files = area.table_files(name, manifest)
        rows = 0
        if files:
            rows = con.execute("SELECT count(*) FROM read_parquet([" + ", ".join(sql_str(f) for f in files) + "])"
                               ).fetchone()[0]
        tables[name] = {"rows": rows, "imports": manifest.current.get(name, [])}
    con.close()
    from tierwise.snapshots.store import SnapshotStore
    snaps = SnapshotStore(ws.snapshots)
    cur = snaps.current()
    runs = [{"run_id": s.run_id, "as_of": s.as_of.isoformat(), "digest": s.digest[:12]} for s in snaps.in_force()]
    pending = ws.store().list_overrides(status="requested")
    return {"workspace": str(ws.root), "preset": policy.preset, "locale": policy.locale, "engine": ws.settings.engine,
            "data_version": manifest.version, "tables": tables,
            "current_run": runs[-1] if cur else None, "runs": len(runs),
            "pending_overrides": len(pending)}


def latest_data_date(ws) -> "date | None":
    """The latest transaction, balance or interaction date in the workspace (the natural as-of date)."""
    from datetime import date, datetime

    area = ws.data
    manifest = area.manifest()
    con = connect_duckdb()
    latest = None
    for table, col in (("transactions", "txn_time"), ("balances", "balance_date"),
                       ("interactions", "interaction_time")):
        files = area.table_files(table, manifest)
        if not files:
            continue
        v = con.execute(f"SELECT max({col}) FROM read_parquet([" + ", ".join(sql_str(f) for f in files) + "])"
                        ).fetchone()[0]
        if isinstance(v, datetime):
            v = v.date()
        if v is not None and (latest is None or v > latest):
            latest = v
    con.close()
    return latest if isinstance(latest, date) or latest is None else None
