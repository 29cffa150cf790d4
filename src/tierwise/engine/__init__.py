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
    return con
