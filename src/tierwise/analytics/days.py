"""Day arithmetic that gives the same answer on every engine.

Differences of dates are computed from epoch seconds (``.delta()`` differs between
engines), as whole days since 1970-01-01.
"""

from __future__ import annotations

from datetime import date

import ibis
import ibis.expr.types as ir


def day_number(expr: ir.Value) -> ir.IntegerValue:
    """Whole days since 1970-01-01 of a date or timestamp expression (time of day dropped)."""
    return (expr.cast("timestamp").epoch_seconds() // 86400).cast("int64")


def day_of(d: date) -> int:
    """Days since 1970-01-01 of a Python date.

    >>> day_of(date(1970, 1, 2))
    1
    """
    return (d - date(1970, 1, 1)).days


def literal_day(d: date) -> ir.IntegerScalar:
    return ibis.literal(day_of(d), type="int64")
