"""Excel (title row, date cells, serial dates, sheets), Parquet and database-URL sources."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import xlsxwriter

from tierwise.app.importing import import_table
from tierwise.errors import UserInputError

from .test_import_csv import accepted_rows, read_quarantine


def make_xlsx(path, *, title=True):
    wb = xlsxwriter.Workbook(str(path))
    wb.add_worksheet("说明").write(0, 0, "本文件由核心系统导出")
    ws = wb.add_worksheet("交易明细")
    datefmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    r = 0
    if title:
        ws.write(0, 0, "XX银行交易明细 2024年")
        r = 1
    for j, h in enumerate(["交易流水号", "客户号", "交易日期", "交易金额"]):
        ws.write(r, j, h)
    rows = [
        ("T1", "000123", datetime(2024, 1, 5), 1234.5),      # real date cell, numeric amount
        ("T2", "000124", "2024年1月6日", "¥1,234.50"),
        ("T3", "000125", 45296, "(12.00)"),                  # serial date as a number
        ("T4", "000126", "20240108", "１２３"),
        ("T5", "000126", "not a date", "5"),                 # rejected: Excel row r+6
    ]
    for i, row in enumerate(rows, start=r + 1):
        for j, v in enumerate(row):
            if isinstance(v, datetime):
                ws.write_datetime(i, j, v, datefmt)
            elif isinstance(v, (int, float)):
                ws.write_number(i, j, v)
            else:
                ws.write_string(i, j, v)
    wb.close()


def test_xlsx_with_title_row_dates_and_serials(ws_with_customers, tmp_path, today):
    ws = ws_with_customers
    p = tmp_path / "t.xlsx"
    make_xlsx(p)
    ws.policy_path.write_text(ws.policy_path.read_text(encoding="utf-8").replace(
        "max_reject_rate: 0.05", "max_reject_rate: 0.5"), encoding="utf-8")
    rec = import_table(ws, "transactions", str(p), sheet="交易明细", today=today)
    assert rec["source"]["sheet"] == "交易明细" and rec["source"]["header_row"] == 2
    assert (rec["rows_read"], rec["accepted"], rec["rejected"]) == (5, 4, 1)
    q = read_quarantine(rec["quarantine"])
    assert [(int(r["row"]), r["reason"], r["value"]) for r in q] == [(7, "unparseable", "not a date")]
    got = {r["transaction_id"]: (str(r["txn_time"].date()), r["amount"]) for r in accepted_rows(ws, "transactions")}
    assert got == {"T1": ("2024-01-05", Decimal("1234.50")), "T2": ("2024-01-06", Decimal("1234.50")),
                   "T3": ("2024-01-05", Decimal("-12.00")), "T4": ("2024-01-08", Decimal("123.00"))}


def test_xlsx_sheet_by_index_and_unknown_sheet(ws_with_customers, tmp_path, today):
    p = tmp_path / "t.xlsx"
    make_xlsx(p, title=False)
    with pytest.raises(UserInputError, match="no sheet named '交易明'.*"):
        import_table(ws_with_customers, "transactions", str(p), sheet="交易明", today=today)
    ws = ws_with_customers
    ws.policy_path.write_text(ws.policy_path.read_text(encoding="utf-8").replace(
        "max_reject_rate: 0.05", "max_reject_rate: 0.5"), encoding="utf-8")
    rec = import_table(ws, "transactions", str(p), sheet="1", today=today)
    assert rec["source"]["header_row"] == 1 and rec["accepted"] == 4


def test_parquet_source(ws_with_customers, tmp_path, today):
    p = tmp_path / "t.parquet"
    pq.write_table(pa.table({
        "customer_id": ["000123", "000124", "nobody"],
        "txn_time": pa.array([datetime(2024, 1, 5, 10), datetime(2024, 2, 1), datetime(2024, 2, 2)]),
        "amount": pa.array([Decimal("10.50"), Decimal("3.00"), Decimal("1.00")], pa.decimal128(18, 2)),
    }), p)
    ws = ws_with_customers
    ws.policy_path.write_text(ws.policy_path.read_text(encoding="utf-8").replace(
        "max_reject_rate: 0.05", "max_reject_rate: 0.5"), encoding="utf-8")
    rec = import_table(ws, "transactions", str(p), today=today)
    assert (rec["accepted"], rec["rejected_by_reason"]) == (2, {"unknown_customer": 1})
    assert [int(r["row"]) for r in read_quarantine(rec["quarantine"])] == [3]
    amounts = sorted(r["amount"] for r in accepted_rows(ws, "transactions"))
    assert amounts == [Decimal("3.00"), Decimal("10.50")]


def test_database_url_source(ws_with_customers, tmp_path, today):
    db = tmp_path / "core.db"
    with sqlite3.connect(db) as c:
        c.execute("CREATE TABLE txn (客户号 TEXT, 交易日期 TEXT, 交易金额 REAL)")
        c.executemany("INSERT INTO txn VALUES (?,?,?)", [("000123", "2024-01-05", 1.5), ("000124", "20240106", 2)])
    rec = import_table(ws_with_customers, "transactions", f"sqlite:///{db}", source_table="txn", today=today)
    assert rec["source"]["kind"] == "database" and rec["accepted"] == 2
    with pytest.raises(UserInputError, match="--source-table"):
        import_table(ws_with_customers, "transactions", f"sqlite:///{db}", today=today)
