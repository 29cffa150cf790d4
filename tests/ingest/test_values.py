"""Every value format of the issue, parsed by the SQL parsers, against hand-known answers."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from tierwise.engine import connect_duckdb
from tierwise.ingest import values as V


@pytest.fixture(scope="module")
def con():
    c = connect_duckdb()
    yield c
    c.close()


def parse(con, kind: str, raw: str | None):
    con.execute("CREATE OR REPLACE TABLE v(x VARCHAR)")
    con.execute("INSERT INTO v VALUES (?)", [raw])
    _, expr = V.parse(kind, "x")
    return con.execute(f"SELECT {expr} FROM v").fetchone()[0]


@pytest.mark.parametrize("raw, expected", [
    ("2024-01-05", date(2024, 1, 5)), ("2024/1/5", date(2024, 1, 5)), ("20240105", date(2024, 1, 5)),
    ("2024年1月5日", date(2024, 1, 5)), ("2024.1.5", date(2024, 1, 5)), ("２０２４-０１-０５", date(2024, 1, 5)),
    ("45296", date(2024, 1, 5)),            # Excel serial (1900 date system)
    ("2024-01-05 00:00:00", date(2024, 1, 5)),  # how an Excel date cell reads as text
    ("  2024-01-05 ", date(2024, 1, 5)),
    ("2024-02-29", date(2024, 2, 29)), ("2023-02-29", None), ("2024-13-01", None), ("2024-01-32", None),
    ("yesterday", None), ("", None), (None, None),
])
def test_dates(con, raw, expected):
    assert parse(con, "date", raw) == expected


@pytest.mark.parametrize("raw, expected", [
    ("2024-01-05 13:04", datetime(2024, 1, 5, 13, 4)), ("2024/1/5 13:04:05", datetime(2024, 1, 5, 13, 4, 5)),
    ("2024-01-05T13:04:05", datetime(2024, 1, 5, 13, 4, 5)), ("45296.5", datetime(2024, 1, 5, 12, 0)),
    ("20240105", datetime(2024, 1, 5)),
])
def test_timestamps(con, raw, expected):
    assert parse(con, "timestamp", raw) == expected


@pytest.mark.parametrize("raw, expected", [
    ("1234.5", Decimal("1234.50")), ("1,234.50", Decimal("1234.50")), ("¥1,234.50", Decimal("1234.50")),
    ("￥1234", Decimal("1234.00")), ("1234元", Decimal("1234.00")), ("(1,234.50)", Decimal("-1234.50")),
    ("-7", Decimal("-7.00")), ("7-", Decimal("-7.00")), ("１２３４", Decimal("1234.00")),
    ("１，２３４．５０", Decimal("1234.50")), ("0.105", Decimal("0.11")), (" 12 ", Decimal("12.00")),
    ("abc", None), ("1.2.3", None), ("--5", None), ("1e3", None), ("", None),
    ("12345678901234567.00", None),  # beyond DECIMAL(18,2)
])
def test_money(con, raw, expected):
    assert parse(con, "money", raw) == expected


@pytest.mark.parametrize("raw, expected", [("12", 12), ("1,200", 1200), ("12.0", 12), ("12.5", None), ("x", None)])
def test_integers(con, raw, expected):
    assert parse(con, "integer", raw) == expected


@pytest.mark.parametrize("raw, expected", [("4.5%", 0.045), ("3.5", 3.5), ("-2", -2.0), ("1e-2", 0.01), ("x", None)])
def test_numbers(con, raw, expected):
    assert parse(con, "number", raw) == pytest.approx(expected) if expected is not None else parse(con, "number", raw) is None


@pytest.mark.parametrize("raw, expected", [("是", True), ("否", False), ("Y", True), ("false", False), ("maybe", None)])
def test_booleans(con, raw, expected):
    assert parse(con, "boolean", raw) is expected


@pytest.mark.parametrize("raw", ["000123", " 000123 ", "00１"])
def test_ids_keep_leading_zeros_and_characters(con, raw):
    assert parse(con, "id", raw) == raw.strip()
