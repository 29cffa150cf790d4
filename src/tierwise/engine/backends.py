"""Ibis backends besides the embedded DuckDB: PostgreSQL and Spark (PySpark), and loading data into them.

Together with :mod:`tierwise.engine` this is the only module that imports engine drivers
(``pyspark`` directly, ``psycopg`` through Ibis). They are imported inside the functions
that need them, so importing this module costs nothing.

:func:`load_canonical` puts canonical Arrow tables (see :mod:`tierwise.samples`) on any of
the three backends with the canonical column types — money ``DECIMAL(18,2)``, dates,
timestamps, strings — so the same analytics expressions see the same types everywhere.

>>> canonical_arrow_schema(TABLES["transactions"]).field("amount").type
Decimal128Type(decimal128(18, 2))
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pyarrow as pa

from tierwise.canonical import ARROW_TYPES, TABLES, Table

__all__ = ["ARROW_TYPES", "canonical_arrow_schema", "spark_session", "ibis_pyspark", "ibis_postgres",
           "load_arrow", "load_canonical"]

def canonical_arrow_schema(table: Table) -> pa.Schema:
    """The Arrow schema of a canonical table, columns in canonical order."""
    return table.arrow_schema()


def spark_session(*, master: str = "local[2]", shuffle_partitions: int = 4, driver_memory: str = "1g",
                  scratch: Path | None = None, app_name: str = "tierwise", java_options: str | None = None,
                  conf: Mapping[str, str] | None = None):
    """A local SparkSession for embedded use and tests: UTC session time zone, no UI, few shuffle partitions.

    ``scratch`` receives Spark's warehouse and local (spill) folders, so nothing is written to
    the current folder. ``conf`` adds or overrides any Spark setting (``spark.driver.memory``, …).
    ``java_options`` go to the driver JVM (it is started by the first
    call in a process, so later calls cannot change them). The session is created with
    ``getOrCreate``: within one process there is one session; call ``.stop()`` on it when done.
    """
    from pyspark.sql import SparkSession

    builder = (SparkSession.builder.master(master).appName(app_name)
               .config("spark.ui.enabled", "false")
               .config("spark.ui.showConsoleProgress", "false")
               .config("spark.sql.shuffle.partitions", str(shuffle_partitions))
               .config("spark.default.parallelism", str(shuffle_partitions))
               .config("spark.sql.session.timeZone", "UTC")
               .config("spark.driver.memory", driver_memory)
               .config("spark.sql.execution.arrow.pyspark.enabled", "true")
               .config("spark.sql.adaptive.enabled", "true"))
    if java_options:
        builder = builder.config("spark.driver.extraJavaOptions", java_options)
    if scratch is not None:
        scratch = Path(scratch)
        scratch.mkdir(parents=True, exist_ok=True)
        builder = (builder.config("spark.sql.warehouse.dir", str(scratch / "warehouse"))
                   .config("spark.local.dir", str(scratch / "local")))
    for key, value in (conf or {}).items():
        builder = builder.config(key, str(value))
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


def ibis_pyspark(session):
    """An Ibis backend over a SparkSession (see :func:`spark_session`)."""
    import ibis

    return ibis.pyspark.connect(session)


def ibis_postgres(*, host: str = "127.0.0.1", port: int = 5432, user: str = "postgres", database: str = "postgres",
                  password: str | None = None, **kwargs):
    """An Ibis backend on a PostgreSQL server (psycopg 3). The session time zone is UTC."""
    import ibis

    # Ibis sets the session time zone to UTC on connect
    return ibis.postgres.connect(host=host, port=port, user=user, database=database, password=password, **kwargs)


def _backend_name(backend) -> str:
    return getattr(backend, "name", type(backend).__module__.split(".")[-1])


def _conform(data: pa.Table | None, schema: pa.Schema, name: str) -> pa.Table:
    """``data`` with exactly ``schema``'s columns and types (absent columns NULL, unknown ones rejected)."""
    if data is None:
        return schema.empty_table()
    unknown = set(data.column_names) - set(schema.names)
    if unknown:
        raise ValueError(f"{name}: columns not in the canonical table: {sorted(unknown)}")
    cols = []
    for f in schema:
        if f.name in data.column_names:
            cols.append(data.column(f.name).cast(f.type))
        else:
            cols.append(pa.nulls(data.num_rows, f.type))
    return pa.Table.from_arrays(cols, schema=schema)


def load_arrow(backend, name: str, data: pa.Table):
    """Create (or replace) table ``name`` on ``backend`` holding ``data`` with its exact Arrow types.

    DuckDB and PostgreSQL get a real table; Spark gets a cached temporary view (nothing is
    written to a warehouse). Returns the Ibis table.
    """
    import ibis

    kind = _backend_name(backend)
    if kind == "pyspark":
        from ibis.backends.pyspark.datatypes import PySparkSchema

        session = backend._session
        spark_schema = PySparkSchema.from_ibis(ibis.schema(data.schema))
        # PySpark 4 reads Arrow tables directly; the explicit schema keeps DECIMAL(18,2) and empty tables typed
        df = session.createDataFrame(data, schema=spark_schema)
        df.cache().createOrReplaceTempView(name)
        return backend.table(name)
    schema = ibis.schema(data.schema)
    backend.create_table(name, schema=schema, overwrite=True)
    if data.num_rows:
        backend.insert(name, ibis.memtable(data, schema=schema))
    return backend.table(name)


def load_canonical(backend, arrow_tables: Mapping[str, pa.Table], tables: Mapping[str, Table] = TABLES) -> dict:
    """Every canonical table on ``backend``, filled from ``arrow_tables`` (empty where absent).

    Columns get the canonical types whatever the Arrow input holds (money DECIMAL(18,2),
    dates DATE, timestamps TIMESTAMP, ids and text strings); columns missing from the input
    are NULL. Returns ``{name: ibis table}``.
    """
    extra = set(arrow_tables) - set(tables)
    if extra:
        raise ValueError(f"not canonical tables: {sorted(extra)}")
    return {name: load_arrow(backend, name, _conform(arrow_tables.get(name), canonical_arrow_schema(t), name))
            for name, t in tables.items()}
