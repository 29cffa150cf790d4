"""Where an evaluation computes: the embedded DuckDB (default) or a Spark cluster, behind one small interface.

The analytics are Ibis expressions and run unchanged on either engine. What differs is how
data gets in (canonical tables from the workspace's Parquet batches, small Arrow tables from
the driver), how an intermediate result is kept so that several branches reuse it
(a DuckDB temporary table, a cached Spark DataFrame), and how a result comes back to the
driver as Arrow. :class:`Compute` is that difference and nothing more.

Results come back with the types the Ibis expression declares (not the engine's own: Spark
sums DECIMAL(18,2) into DECIMAL(28,2), DuckDB into DECIMAL(38,2)), so the same expression
gives the same Arrow schema on both engines, and a snapshot written from either is the same.

>>> with open_compute("duckdb") as c:
...     t = c.arrow("t", __import__("pyarrow").table({"x": [1, 2, 3]}))
...     c.to_arrow(t.aggregate(total=t.x.sum())).to_pylist()
[{'total': 6}]
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pyarrow as pa

__all__ = ["Compute", "DuckDBCompute", "SparkCompute", "open_compute", "ENGINES"]

ENGINES = ("duckdb", "spark")


class Compute:
    """One engine session for one evaluation. Use as a context manager; :meth:`close` releases it."""

    kind: str = ""

    def __init__(self, ib):
        self.ib = ib   # the Ibis backend

    def canonical(self, files_by_table: Mapping[str, list[str]], tables) -> dict:
        """Ibis tables for every canonical table over its Parquet files (empty, typed tables where none).

        Columns no file holds read as NULL; every column has its canonical type.
        """
        raise NotImplementedError

    def arrow(self, name: str, data: pa.Table):
        """A small Arrow table from the driver as Ibis table ``name``."""
        raise NotImplementedError

    def materialize(self, name: str, expr):
        """Compute ``expr`` once and keep it as table ``name`` for the expressions built on it."""
        raise NotImplementedError

    def to_arrow(self, expr) -> pa.Table:
        """The result of ``expr`` on the driver, with the types the expression declares."""
        raise NotImplementedError

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _declared(table: pa.Table, expr) -> pa.Table:
    from ibis.formats.pyarrow import PyArrowData

    return PyArrowData.convert_table(table, expr.as_table().schema())


class DuckDBCompute(Compute):
    """The embedded default: an in-memory DuckDB connection spilling to the workspace's scratch folder."""

    kind = "duckdb"

    def __init__(self, scratch: Path | None = None, *, threads: int | None = None, memory_limit: str | None = None):
        from tierwise.engine import connect_duckdb, ibis_duckdb

        self.con = connect_duckdb(scratch, threads=threads, memory_limit=memory_limit)
        super().__init__(ibis_duckdb(self.con))

    def canonical(self, files_by_table, tables) -> dict:
        from tierwise.engine import register_canonical

        return register_canonical(self.ib, dict(files_by_table), tables)

    def arrow(self, name: str, data: pa.Table):
        self.con.register(name, data)
        return self.ib.table(name)

    def materialize(self, name: str, expr):
        return self.ib.create_table(name, expr, temp=True, overwrite=True)

    def to_arrow(self, expr) -> pa.Table:
        return self.ib.to_pyarrow(expr)

    def close(self) -> None:
        self.con.close()


class SparkCompute(Compute):
    """A Spark session (local mode or a cluster). Input Parquet paths may be local or Hadoop-compatible URIs.

    Each evaluation gets its own Spark session (``newSession``) on the shared context, so its
    temporary views never meet another evaluation's; cached intermediates are released on close.
    """

    kind = "spark"

    def __init__(self, session, tables: Mapping[str, str] | None = None):
        from tierwise.engine.backends import ibis_pyspark

        self.session = session.newSession()
        self.external = dict(tables or {})   # canonical table → Spark table name or Parquet path/URI
        self._cached: list = []
        super().__init__(ibis_pyspark(self.session))

    def _read(self, name: str, files: list[str]):
        """The DataFrame behind canonical table ``name``: an external table or path, or the imported batches."""
        source = self.external.get(name)
        if source is None:
            # batches may differ in the columns they hold (append imports): merge by name
            return self.session.read.option("mergeSchema", "true").parquet(*files) if files else None
        if "/" in source or ":" in source:
            return self.session.read.option("mergeSchema", "true").parquet(source)
        return self.session.table(source)

    def _spark_schema(self, arrow_schema: pa.Schema):
        import ibis
        from ibis.backends.pyspark.datatypes import PySparkSchema

        return PySparkSchema.from_ibis(ibis.schema(arrow_schema))

    def canonical(self, files_by_table, tables) -> dict:
        from pyspark.sql import functions as F

        from tierwise.engine.backends import load_arrow

        out = {}
        for name, table in tables.items():
            schema = table.arrow_schema()
            df = self._read(name, list(files_by_table.get(name) or []))
            if df is None:
                out[name] = load_arrow(self.ib, name, schema.empty_table())
                continue
            present = set(df.columns)
            cols = []
            for field in self._spark_schema(schema).fields:
                src = F.col(f"`{field.name}`") if field.name in present else F.lit(None)
                cols.append(src.cast(field.dataType).alias(field.name))
            df.select(*cols).createOrReplaceTempView(name)
            out[name] = self.ib.table(name)
        return out

    def arrow(self, name: str, data: pa.Table):
        from tierwise.engine.backends import load_arrow

        return load_arrow(self.ib, name, data)

    def materialize(self, name: str, expr):
        # keep the declared types: Spark would store its own (a DECIMAL sum as DECIMAL(28, s), not (38, s))
        expr = expr.cast(expr.schema())
        self.ib.create_view(f"{name}__plan", expr, overwrite=True)
        df = self.session.table(f"{name}__plan").cache()
        df.count()   # compute it now, once
        self._cached.append(df)
        df.createOrReplaceTempView(name)
        return self.ib.table(name)

    def to_arrow(self, expr) -> pa.Table:
        self.ib._register_in_memory_tables(expr)
        df = self.session.sql(self.ib.compile(expr))
        return _declared(df.toArrow(), expr)

    def close(self) -> None:
        for df in self._cached:
            df.unpersist()
        self._cached.clear()


def open_compute(kind: str = "duckdb", *, scratch: Path | None = None, threads: int | None = None,
                 memory_limit: str | None = None, spark_master: str | None = None,
                 spark_conf: Mapping[str, str] | None = None, spark_tables: Mapping[str, str] | None = None) -> Compute:
    """The engine a workspace's settings name. For Spark, an existing session in this process is reused."""
    if kind == "duckdb":
        return DuckDBCompute(scratch, threads=threads, memory_limit=memory_limit)
    if kind == "spark":
        try:
            import pyspark  # noqa: F401
        except ImportError:
            from tierwise.errors import UserInputError

            raise UserInputError("engine: spark needs PySpark, which is not installed",
                                 hint="pip install 'tierwise[spark]' (and Java 17), or set engine: duckdb "
                                      "in workspace.yaml") from None
        from tierwise.engine.backends import spark_session

        extra = dict(spark_conf or {})
        session = spark_session(master=spark_master or "local[*]", scratch=scratch, conf=extra)
        return SparkCompute(session, spark_tables)
    raise ValueError(f"unknown engine {kind!r}; expected one of {', '.join(ENGINES)}")
