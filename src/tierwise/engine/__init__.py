"""The engine layer: the one place that imports DuckDB (and later PySpark and PostgreSQL drivers).

Everything else receives an open connection from here and runs SQL or Ibis
expressions on it.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

__all__ = ["connect_duckdb", "EngineError"]

EngineError = duckdb.Error


def connect_duckdb(scratch: Path | None = None, *, threads: int | None = None,
                   memory_limit: str | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection whose spill files go to ``scratch`` (never the current folder).

    >>> con = connect_duckdb()
    >>> con.execute("SELECT 42").fetchone()[0]
    42
    """
    config: dict[str, object] = {}
    if threads:
        config["threads"] = threads
    if memory_limit:
        config["memory_limit"] = memory_limit
    con = duckdb.connect(":memory:", config=config)
    if scratch is not None:
        scratch.mkdir(parents=True, exist_ok=True)
        con.execute("SET temp_directory = ?", [str(scratch / "duckdb-spill")])
    con.execute("SET preserve_insertion_order = true")
    con.execute("SET enable_progress_bar = false")  # tierwise draws its own progress
    return con


def ibis_duckdb(con: duckdb.DuckDBPyConnection):
    """An Ibis backend over an existing DuckDB connection (shares its settings and temp folder)."""
    import ibis

    return ibis.duckdb.from_connection(con)


def register_canonical(backend, files_by_table: dict[str, list[str]], tables) -> dict:
    """Ibis tables for the canonical tables: views over their Parquet files, or empty typed tables.

    ``tables`` is :data:`tierwise.canonical.TABLES`; passing it in keeps this module free of
    domain imports it does not need.
    """
    import ibis

    out = {}
    con = backend.con
    for name, table in tables.items():
        files = files_by_table.get(name) or []
        cols = ", ".join(f'"{c.name}" {c.sql_type}' for c in table.columns)
        if files:
            flist = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
            # columns no file holds (personal columns live in the sealed vault, not here) read as NULL
            present = {r[0] for r in con.execute(
                f"DESCRIBE SELECT * FROM read_parquet([{flist}], union_by_name=true)").fetchall()}
            source = {c.name: f'"{c.name}"' if c.name in present else "NULL" for c in table.columns}
            sel = ", ".join(f'CAST({source[c.name]} AS {c.sql_type}) AS "{c.name}"' for c in table.columns)
            con.execute(f'CREATE OR REPLACE VIEW "{name}" AS SELECT {sel} FROM read_parquet([{flist}], union_by_name=true)')
        else:
            con.execute(f'CREATE OR REPLACE TABLE "{name}" ({cols})')
        out[name] = backend.table(name)
    return out
