"""A logical dump of the operational store: every table as JSON lines, and loading it back.

The dump is engine-neutral (a SQLite store can be restored into PostgreSQL and back) and
exact: values keep their Python types through a small tagged encoding, so that a restored
audit log still verifies its hash chain.

>>> from datetime import date, datetime, timezone
>>> row = {"a": 1, "at": datetime(2024, 2, 29, 8, 0, 1, 5, tzinfo=timezone.utc), "d": date(2024, 2, 29), "s": "张三"}
>>> decode_row(encode_row(row)) == row
True
"""

from __future__ import annotations

import base64
import json
import os
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import IO

import sqlalchemy as sa

from tierwise.store.meta import metadata


def _encode(v):
    if isinstance(v, datetime):
        return {"$dt": v.isoformat()}
    if isinstance(v, date):
        return {"$d": v.isoformat()}
    if isinstance(v, Decimal):
        return {"$dec": str(v)}
    if isinstance(v, (bytes, bytearray, memoryview)):
        return {"$b64": base64.b64encode(bytes(v)).decode("ascii")}
    return v


def _decode(v):
    if isinstance(v, dict) and len(v) == 1:
        (tag, s), = v.items()
        if tag == "$dt":
            return datetime.fromisoformat(s)
        if tag == "$d":
            return date.fromisoformat(s)
        if tag == "$dec":
            return Decimal(s)
        if tag == "$b64":
            return base64.b64decode(s)
    return v


def encode_row(row: dict) -> str:
    return json.dumps({k: _encode(v) for k, v in row.items()}, ensure_ascii=False, sort_keys=True)


def decode_row(line: str) -> dict:
    return {k: _decode(v) for k, v in json.loads(line).items()}


def _order(table: sa.Table) -> list:
    return list(table.primary_key.columns) or list(table.columns)


def dump_tables(conn: sa.Connection) -> Iterator[tuple[str, Iterator[str]]]:
    """(table name, JSON lines) for every table of the store, in dependency order, rows in key order.

    ``conn`` should be inside one transaction that sees a consistent state."""
    for table in metadata.sorted_tables:
        rows = conn.execute(sa.select(table).order_by(*_order(table))).mappings()
        yield table.name, (encode_row(dict(r)) for r in rows)


def row_counts(conn: sa.Connection) -> dict[str, int]:
    return {t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
            for t in metadata.sorted_tables}


def load_table(conn: sa.Connection, name: str, lines: IO[str], batch: int = 5000) -> int:
    """Insert the dumped rows of one table; returns the number of rows."""
    table = metadata.tables[name]
    n, buf = 0, []
    for line in lines:
        if not line.strip():
            continue
        buf.append(decode_row(line))
        if len(buf) >= batch:
            conn.execute(table.insert(), buf)
            n, buf = n + len(buf), []
    if buf:
        conn.execute(table.insert(), buf)
        n += len(buf)
    return n


def reset_sequences(conn: sa.Connection) -> None:
    """After a load with explicit keys, move PostgreSQL's serial sequences past the largest key."""
    if conn.dialect.name != "postgresql":
        return
    for table in metadata.sorted_tables:
        for col in table.primary_key.columns:
            if col.autoincrement is True or (col.autoincrement == "auto" and isinstance(col.type, sa.Integer)
                                            and len(table.primary_key.columns) == 1):
                seq = conn.execute(sa.text("SELECT pg_get_serial_sequence(:t, :c)"),
                                   {"t": table.name, "c": col.name}).scalar()
                if seq:
                    conn.execute(sa.text(f"SELECT setval('{seq}', COALESCE((SELECT MAX({col.name}) FROM "
                                         f"{table.name}), 0) + 1, false)"))


@contextmanager
def consistent_connection(engine: sa.Engine, scratch: Path) -> Iterator[sa.Connection]:
    """A connection that sees one consistent state of the store while others keep writing.

    SQLite: an online copy with SQLite's backup API (a point-in-time image, taken page by page
    under SQLite's own locking), opened read-only. Other databases: a REPEATABLE READ
    (snapshot) transaction."""
    if engine.dialect.name == "sqlite":
        source = engine.url.database
        scratch.mkdir(parents=True, exist_ok=True)
        fd, copy = tempfile.mkstemp(prefix="_store-copy-", suffix=".db", dir=scratch)
        os.close(fd)
        try:
            src, dst = sqlite3.connect(source), sqlite3.connect(copy)
            try:
                src.backup(dst)
            finally:
                src.close()
                dst.close()
            copy_engine = sa.create_engine(f"sqlite:///{copy}")
            try:
                with copy_engine.connect() as conn:
                    yield conn
            finally:
                copy_engine.dispose()
        finally:
            Path(copy).unlink(missing_ok=True)
    else:
        with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn, conn.begin():
            yield conn
