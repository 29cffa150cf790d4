"""Engine-specific fast paths, chosen by the engine an expression is bound to.

The analytics are written once in Ibis. Where DuckDB has a built-in aggregate that does in
one pass what portable SQL needs a join or an ordered aggregate for, the DuckDB form is used
on DuckDB and the portable form everywhere else:

==================  ===========================  ==========================================
what                DuckDB                       portable form (PostgreSQL, Spark, …)
==================  ===========================  ==========================================
two largest values  ``max(x, 2)`` (a list)       the maximum below the maximum (a join)
value at the least  ``arg_min(v, k)``            Ibis ``argmin`` (``FIRST(v ORDER BY k)`` on
key                                              DuckDB, ``min_by`` on Spark, an ordered
                                                 ``array_agg`` on PostgreSQL)
==================  ===========================  ==========================================

Both forms give identical results. The parity suite runs the DuckDB form (its reference)
against PostgreSQL and Spark (the portable form), and ``tests/analytics`` compare the two
forms on DuckDB itself (``dialect="portable"`` forces the portable form).

>>> import ibis
>>> use_fast(ibis.table({"a": "int64"}, name="t"), None)   # unbound: portable
False
>>> use_fast(ibis.table({"a": "int64"}, name="t"), "duckdb")
True
"""

from __future__ import annotations

from typing import Literal

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

Dialect = Literal["duckdb", "portable"]


def engine_of(expr: ir.Expr) -> str | None:
    """The name of the engine ``expr`` is bound to (``duckdb``, ``postgres``, ``pyspark``), or None."""
    try:
        return ibis.get_backend(expr).name
    except Exception:  # noqa: BLE001 - unbound tables have no engine
        return None


def use_fast(expr: ir.Expr, dialect: Dialect | None) -> bool:
    """Whether to emit the DuckDB forms: ``dialect`` if given, else the engine of ``expr``."""
    if dialect is not None:
        if dialect not in ("duckdb", "portable"):
            raise ValueError(f"dialect must be 'duckdb' or 'portable' (got {dialect!r})")
        return dialect == "duckdb"
    return engine_of(expr) == "duckdb"


def max_two(arg: ir.IntegerColumn, where: ir.BooleanValue | None = None) -> ir.ArrayValue:
    """DuckDB ``max(arg, 2)``: the two largest values, largest first (DuckDB only)."""

    def max(arg, n):  # noqa: A001 - the built-in's name
        ...

    fn = ibis.udf.agg.builtin(max, name="max", signature=((arg.type(), dt.int64), dt.Array(arg.type())))
    return fn(arg, 2, where=where)


def arg_min(value: ir.Column, key: ir.Column, where: ir.BooleanValue | None = None) -> ir.Value:
    """DuckDB ``arg_min(value, key)``: ``value`` of the row with the least ``key`` (DuckDB only)."""

    def arg_min(value, key):
        ...

    fn = ibis.udf.agg.builtin(arg_min, name="arg_min", signature=((value.type(), key.type()), value.type()))
    return fn(value, key, where=where)
