"""Backend-neutral analytics written once as Ibis expressions: features, RFM, ABC, lifecycle, rules.

Nothing here imports an engine: functions take Ibis tables and return Ibis expressions,
which :mod:`tierwise.engine` executes on DuckDB (default), Spark or PostgreSQL.
"""
