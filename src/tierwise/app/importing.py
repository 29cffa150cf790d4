"""Import a source file or table into a workspace: nothing lost, nothing silent, all or nothing."""

from __future__ import annotations

import hashlib
import json
import time
from datetime import date, datetime, timezone
from pathlib import Path

from tierwise.app.workspace import Workspace
from tierwise.canonical import TABLES
from tierwise.engine import connect_duckdb
from tierwise.errors import ImportRejectedError, UserInputError, did_you_mean
from tierwise.atomic import write_atomic
from tierwise.ingest.mapping import map_columns
from tierwise.ingest.quarantine import write_quarantine
from tierwise.ingest.sources import read_source
from tierwise.ingest.validate import build_checked, q, sql_str
from tierwise.protect.vault import BLOCKS_FILE, INDEX_FILE, seal_table
from tierwise.snapshots.store import write_table


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(8 << 20):
            h.update(block)
    return h.hexdigest()


def _parquet_list(files: list[str]) -> str:
    return "read_parquet([" + ", ".join(sql_str(f) for f in files) + "])"


def import_table(ws: Workspace, table_name: str, location: str, *, mode: str | None = None,
                 sheet: str | None = None, source_table: str | None = None, query: str | None = None,
                 today: date | None = None, actor: str = "cli", progress=None) -> dict:
    """Import ``location`` into canonical table ``table_name``; return the reconciliation.

    Every row read is accepted or rejected with a reason; rejected rows go to
    ``quarantine/``. If the rejected share exceeds the policy's ``import.max_reject_rate``
    the import is refused (:class:`ImportRejectedError`) and the data area is unchanged.
    The accepted rows become visible only when the whole import has been written.
    """
    if table_name not in TABLES:
        raise UserInputError(f"unknown table '{table_name}'",
                             hint=did_you_mean(table_name, TABLES) or f"tables: {', '.join(TABLES)}")
    table = TABLES[table_name]
    mode = mode or table.default_mode
    if mode not in ("append", "replace"):
        raise UserInputError(f"unknown import mode '{mode}'", hint="use append or replace")
    policy = ws.policy()
    today = today or date.today()
    step = progress or (lambda msg: None)
    started = time.perf_counter()
    started_at = datetime.now(timezone.utc)

    personal = [c.name for c in table.personal_columns()]
    ring = ws.keyring() if personal else None  # no key, no import of personal data: say so before reading

    with ws.lock(f"import {table_name}"):
        area = ws.data
        area.remove_orphans()
        recover_import_records(ws)
        import_id = area.next_import_id()
        con = connect_duckdb(ws.scratch, threads=ws.settings.threads, memory_limit=ws.settings.memory_limit)
        try:
            headers_for = policy.headers_for(table_name)
            known = {h for hs in headers_for.values() for h in hs}
            step("read")
            stage = "stage"
            source = read_source(con, location, stage, scratch=ws.scratch, known_headers=known,
                                 sheet=sheet, source_table=source_table, query=query)
            mapping = map_columns(table, source.headers, headers_for, source.path)
            manifest = area.manifest()
            existing = area.table_files(table_name, manifest) if mode == "append" else []
            customers = area.table_files("customers", manifest) if table.customer_ref else []
            if table.customer_ref and not customers:
                raise UserInputError(
                    f"cannot import {table_name} before customers: the workspace has no customers table yet",
                    hint=f"first run: tierwise import {ws.root} customers CUSTOMERS_FILE")
            step("validate")
            checked = build_checked(
                con, stage, table, mapping, returns=policy.import_.returns, today=today,
                future_tolerance_days=policy.import_.future_tolerance_days,
                min_year=policy.import_.min_year, max_year=policy.import_.max_year,
                existing_sql=f"SELECT * FROM {_parquet_list(existing)}" if existing else None,
                customers_sql=f"SELECT customer_id FROM {_parquet_list(customers)}" if customers else None)
            rec = _reconcile(con, checked, source, import_id, table_name, mode, mapping, location, started_at)
            step("quarantine")
            ws.quarantine.mkdir(exist_ok=True)
            refused = rec["rows_read"] > 0 and rec["reject_rate"] > policy.import_.max_reject_rate
            if rec["rejected"]:
                qname = f"{import_id}-{table_name}{'-refused' if refused else ''}.csv"
                qpath = ws.quarantine / qname
                write_quarantine(con, source, checked, table, qpath, mapping=mapping.columns)
                rec["quarantine"] = str(qpath)
            rec["seconds"] = round(time.perf_counter() - started, 3)
            rec["finished_at"] = datetime.now(timezone.utc).isoformat()
            store = ws.store()
            if refused:
                rec["status"] = "refused"
                store.audit(actor, "import.refused", f"{table_name}:{import_id}", _audit_detail(rec))
                raise ImportRejectedError(
                    f"{source.path}: import refused: {rec['rejected']:,} of {rec['rows_read']:,} rows rejected "
                    f"({rec['reject_rate']:.1%}, above the policy's limit of {policy.import_.max_reject_rate:.0%}); "
                    "nothing was changed",
                    reconciliation=rec,
                    hint=f"see the reasons in {rec.get('quarantine')}; fix the file or the column mapping in policy.yaml")
            step("write")
            staged = area.new_staging_dir(import_id)
            # personal columns never reach the analytic file: they are sealed into the batch's vault
            cols = ", ".join(q(c) for c in table.names if c not in personal)
            con.execute(f"""COPY (SELECT {cols} FROM {checked} WHERE _reason IS NULL ORDER BY _rec)
                            TO {sql_str(str(staged / 'part-0.parquet'))} (FORMAT parquet, COMPRESSION zstd)""")
            if personal:
                step("seal")
                write_vault(con, ring, checked, table, import_id, staged)
            rec["status"] = "committed"
            write_atomic(staged / "reconciliation.json", json.dumps(rec, ensure_ascii=False, indent=2, default=str))
            step("commit")
            area.commit(table_name, import_id, staged, mode)
        finally:
            con.close()
            for tmp in ws.scratch.glob("_stage*"):
                tmp.unlink(missing_ok=True)
        store.record_import(rec)
        store.audit(actor, "import.committed", f"{table_name}:{import_id}", _audit_detail(rec))
    return rec


def write_vault(con, ring, checked: str, table, import_id: str, staged: Path) -> None:
    """Seal the accepted rows' personal columns (with the table's key) into the staged batch's vault."""
    names = [*table.key, *(c.name for c in table.personal_columns())]
    data = con.sql(f"SELECT {', '.join(q(c) for c in names)} FROM {checked} WHERE _reason IS NULL "
                   "ORDER BY _rec").to_arrow_table()
    index, blocks = seal_table(ring, table.name, import_id, data, list(table.key))
    write_table(index, staged / INDEX_FILE)
    write_table(blocks, staged / BLOCKS_FILE)


def recover_import_records(ws: Workspace) -> list[str]:
    """Record committed imports the store lacks (a process killed between the commit and the record).

    The batch's own ``reconciliation.json`` is the record; the audit log notes the recovery.
    """
    store = ws.store()
    known = store.import_ids()
    recovered = []
    area = ws.data
    manifest = area.manifest()
    for table, ids in manifest.current.items():
        for iid in ids:
            path = area.batch_dir(table, iid) / "reconciliation.json"
            if iid in known or not path.exists():
                continue
            rec = json.loads(path.read_text(encoding="utf-8"))
            rec.setdefault("finished_at", datetime.now(timezone.utc).isoformat())
            store.record_import(rec)
            store.audit("system", "import.recovered", f"{table}:{iid}", _audit_detail(rec))
            recovered.append(iid)
    return recovered


def _audit_detail(rec: dict) -> dict:
    return {k: rec[k] for k in ("table", "mode", "rows_read", "accepted", "rejected", "status")} | {
        "source": rec["source"]["path"], "sha256": rec["source"].get("sha256")}


def _reconcile(con, checked: str, source, import_id: str, table: str, mode: str, mapping, location: str,
               started_at: datetime) -> dict:
    counts = con.execute(f"SELECT _reason, _column, count(*) FROM {checked} GROUP BY ALL ORDER BY ALL").fetchall()
    accepted = sum(n for r, _, n in counts if r is None)
    by_reason: dict[str, int] = {}
    by_column: dict[str, int] = {}
    for reason, column, n in counts:
        if reason is None:
            continue
        by_reason[reason] = by_reason.get(reason, 0) + n
        by_column[column] = by_column.get(column, 0) + n
    for s in source.structural:
        by_reason[s.reason] = by_reason.get(s.reason, 0) + 1
    rejected = sum(by_reason.values())
    rows_read = source.rows_read
    assert rows_read == accepted + rejected, "reconciliation must balance"
    src = {"path": source.path, "kind": source.kind, **source.details}
    p = Path(location)
    if "://" not in location and p.is_file():
        src |= {"sha256": _sha256(p), "bytes": p.stat().st_size}
    return {
        "import_id": import_id, "table": table, "mode": mode, "source": src,
        "mapping": mapping.columns, "ignored_columns": mapping.ignored,
        "rows_read": rows_read, "accepted": accepted, "rejected": rejected,
        "reject_rate": (rejected / rows_read) if rows_read else 0.0,
        "rejected_by_reason": dict(sorted(by_reason.items(), key=lambda kv: -kv[1])),
        "rejected_by_column": dict(sorted(by_column.items(), key=lambda kv: -kv[1])),
        "started_at": started_at.isoformat(),
    }
