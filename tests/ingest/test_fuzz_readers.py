"""Fuzzing the xlsx and Parquet readers through the real import (issue #11, item 5).

Every generated file goes through :func:`tierwise.app.importing.import_table` into a real
workspace. The only allowed outcomes are

* an import whose reconciliation balances: ``accepted + rejected == rows_read``, the rejected
  rows split by reason, the quarantine file listing each rejected row once with a row number
  inside the file, and the committed batch holding exactly the accepted rows; or
* a :class:`~tierwise.errors.TierwiseError` whose message names the file, after which the
  workspace's data are unchanged.

Any other exception fails the test. A hang cannot pass either: each example runs under
hypothesis's deadline and a ``faulthandler`` watchdog that ends the process with every
thread's traceback. The "valid-ish" tests also know the answer: each generated row is good,
or bad in one known way, so the exact accepted rows and each rejected row's reason and row
number are asserted.

Examples per test: ``TIERWISE_FUZZ_EXAMPLES`` (default 20; ``TIERWISE_FUZZ_TALLY=FILE`` writes the
outcomes). The long run (150 per test, 2026-11-24): 1,050 generated files — 150 valid-ish Parquet
and 150 valid-ish xlsx files all imported exactly as expected; of 150 Parquet files of random
schemas 72 imported and 78 refused cleanly; of 150 corrupted Parquet files 6 imported and 144
refused; 150 with non-UTF-8 column names all refused; of 150 workbooks of random cells 37 imported
and 113 refused; of 150 corrupted workbooks 53 imported and 97 refused — 0 crashes, 0 hangs (also
in SECURITY.md, "Fuzzing, fault injection and load").

Found and fixed while writing these (``ingest/sources.py`` unless said otherwise):

* a Parquet column of nested type (list, struct, map) raised ArrowNotImplementedError; such
  values are now read as JSON text;
* a binary Parquet column holding bytes that are not UTF-8 raised ArrowInvalid; now an error
  naming the column and row;
* an Excel header containing ``"`` raised a DuckDB ParserException;
* a rejected field longer than 128 KiB (from any reader) raised ``_csv.Error`` in the
  quarantine writer (``ingest/quarantine.py``);
* timestamps with a time zone, or in nanoseconds (Spark's INT96), were all rejected as
  unparseable;
* a sheet with blank rows above the table gave quarantine row numbers counted from its first
  used row instead of the sheet's own;
* a 5 KB workbook with one cell at XFD1048576, or with a huge sharedStrings count, made the
  Excel reader (calamine) ask for 512 GB / 96 GB and abort the whole process: workbooks are now
  read in a capped child process;
* Parquet column names that are not UTF-8 raised UnicodeDecodeError; an empty column name or one
  holding NUL broke the quarantine's SQL (DuckDB ParserException / BinderException).
"""

from __future__ import annotations

import csv
import faulthandler
import io
import itertools
import json
import os
import random
import re
import zipfile
from collections import Counter
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import xlsxwriter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tierwise.app.importing import import_table
from tierwise.errors import TierwiseError

EXAMPLES = int(os.environ.get("TIERWISE_FUZZ_EXAMPLES", "20"))
WATCHDOG_S = 300  # a hung example ends the process with a traceback: never a silent hang
FUZZ = settings(max_examples=EXAMPLES, deadline=timedelta(seconds=60),
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large, HealthCheck.large_base_example])
TODAY = date(2024, 6, 1)
CUSTOMERS = ["000123", "000124", "000125", "000126"]   # tests/ingest/conftest.py
#: cases tried and outcomes, per test (printed with -s; the long run's figures are in SECURITY.md)
TALLY: Counter = Counter()
LAST_ERROR = [""]
_ids = itertools.count()

csv.field_size_limit(1 << 30)


@pytest.fixture
def lenient(ws_with_customers):
    """The customers' workspace with no reject limit, so every readable file is committed."""
    ws = ws_with_customers
    ws.policy_path.write_text(ws.policy_path.read_text(encoding="utf-8").replace(
        "max_reject_rate: 0.05", "max_reject_rate: 1.0"), encoding="utf-8")
    return ws


@contextmanager
def watchdog():
    faulthandler.dump_traceback_later(WATCHDOG_S, exit=True)
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()


def manifest(ws) -> str:
    return (ws.root / "data" / "manifest.json").read_text(encoding="utf-8")


def import_outcome(ws, path: Path, table: str, test: str, *, rows: range | None = None, **kw) -> dict | None:
    """Import ``path``; check the outcome is one of the allowed ones; return the reconciliation.

    ``rows`` is the range of row numbers the file's records can have (for the quarantine check).
    """
    before = manifest(ws)
    TALLY[test, "cases"] += 1
    with watchdog():
        try:
            rec = import_table(ws, table, str(path), today=TODAY, **kw)
        except TierwiseError as exc:
            TALLY[test, type(exc).__name__] += 1
            LAST_ERROR[0] = str(exc)
            assert path.name in str(exc), f"the error does not name the file: {exc}"
            rec = getattr(exc, "reconciliation", None)
            assert manifest(ws) == before, "a failed import changed the workspace's data"
            if rec is None:
                return None
    if rec.get("status") == "committed":
        TALLY[test, "committed"] += 1
    check_reconciliation(ws, rec, rows)
    return rec


def check_reconciliation(ws, rec: dict, rows: range | None) -> None:
    assert rec["rows_read"] == rec["accepted"] + rec["rejected"]
    assert rec["rejected"] == sum(rec["rejected_by_reason"].values())
    quarantined = read_quarantine(rec["quarantine"]) if rec["rejected"] else []
    assert len(quarantined) == rec["rejected"]
    numbers = [int(r["row"]) for r in quarantined]
    assert len(set(numbers)) == len(numbers), "a row is quarantined twice"
    if rows is not None:
        assert all(n in rows for n in numbers), (numbers, rows)
    assert Counter(r["reason"] for r in quarantined) == Counter(rec["rejected_by_reason"])
    if rec.get("status") == "committed":
        batch = ws.data.batch_dir(rec["table"], rec["import_id"]) / "part-0.parquet"
        assert pq.read_metadata(batch).num_rows == rec["accepted"]


def read_quarantine(path: str) -> list[dict]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def batch_rows(ws, rec: dict) -> list[dict]:
    batch = ws.data.batch_dir(rec["table"], rec["import_id"]) / "part-0.parquet"
    return pq.read_table(batch).to_pylist()


# =========================================================================== valid-ish, with known answers
#: how a generated row is bad (None: good), and the reason the import must give it
KINDS = {"good": None, "unknown_customer": "unknown_customer", "missing_customer": "missing_required",
         "missing_time": "missing_required", "missing_amount": "missing_required", "bad_time": "unparseable",
         "future_time": "future_date", "old_time": "implausible_date", "bad_amount": "unparseable",
         "duplicate": "duplicate_in_file"}
TEXT_ONLY = {"bad_time": "time", "bad_amount": "amount"}   # only expressible in a text column
BAD_TIMES = ["not a date", "2024-13-45", "2024-02-30", "昨天", "24/1/5x"]
BAD_AMOUNTS = ["abc", "1.2.3", "¥", "--5", "一百"]
HEADERS = {"canonical": ("transaction_id", "customer_id", "txn_time", "amount"),
           "chinese": ("交易流水号", "客户号", "交易日期", "交易金额")}


@st.composite
def txn_rows(draw, *, time_repr: str, amount_repr: str):
    """Rows as (kind, transaction id, customer, txn time, amount): the values, not their representation."""
    allowed = [k for k, col in [(k, TEXT_ONLY.get(k)) for k in KINDS]
               if col is None or (col == "time" and time_repr == "text") or (col == "amount" and amount_repr == "text")]
    if time_repr in ("serial", "date_cell"):   # Excel has no dates before 1900
        allowed.remove("old_time")
    kinds = draw(st.lists(st.sampled_from(allowed), max_size=10))
    prefix = f"F{next(_ids)}-"
    rows, good_ids = [], []
    for i, kind in enumerate(kinds):
        if kind == "duplicate" and not good_ids:
            kind = "good"
        tid = draw(st.sampled_from(good_ids)) if kind == "duplicate" else f"{prefix}{i}"
        cust = draw(st.sampled_from(CUSTOMERS))
        when = datetime.combine(draw(st.dates(date(2000, 1, 1), date(2024, 5, 31))),
                                time(draw(st.integers(0, 23)), draw(st.integers(0, 59)), draw(st.integers(0, 59))))
        cents = draw(st.integers(-10**9, 10**9)) if amount_repr != "int" else 100 * draw(st.integers(-10**6, 10**6))
        amount = Decimal(cents).scaleb(-2)
        if kind == "unknown_customer":
            cust = draw(st.sampled_from(["999999", "000127", "00123", "A000123"]))
        elif kind == "missing_customer":
            cust = draw(st.sampled_from([None, "", "   "]))
        elif kind == "missing_time":
            when = None
        elif kind == "missing_amount":
            amount = None
        elif kind == "future_time":
            when = datetime.combine(draw(st.dates(date(2024, 6, 2), date(2099, 12, 31))), time())
        elif kind == "old_time":
            when = datetime.combine(draw(st.dates(date(1700, 1, 1), date(1899, 12, 31))), time())
        elif kind == "bad_time":
            when = draw(st.sampled_from(BAD_TIMES))
        elif kind == "bad_amount":
            amount = draw(st.sampled_from(BAD_AMOUNTS))
        if kind == "good":
            good_ids.append(tid)
        rows.append((kind, tid, cust, when, amount))
    return rows


def time_text(when: datetime, fmt: str) -> str:
    if fmt == "slash":
        return f"{when.year}/{when.month}/{when.day}"
    if fmt == "cn":
        return f"{when.year}年{when.month}月{when.day}日"
    return when.strftime({"iso": "%Y-%m-%d", "compact": "%Y%m%d", "iso_time": "%Y-%m-%d %H:%M:%S"}[fmt])


def amount_text(amount: Decimal, fmt: str) -> str:
    if fmt == "comma":
        return f"{amount:,.2f}"
    if fmt == "yuan":
        return f"¥{amount:,.2f}" if amount >= 0 else f"-¥{-amount:,.2f}"
    if fmt == "paren" and amount < 0:
        return f"({-amount:,.2f})"
    return f"{amount:.2f}"


def expected_time(when: datetime, repr_: str, fmt: str | None) -> datetime:
    """The timestamp the import must store for ``when`` written as ``repr_`` (date-only forms drop the time)."""
    keeps_time = repr_.startswith("timestamp") or (repr_ == "text" and fmt == "iso_time")
    return when if keeps_time else datetime.combine(when.date(), time())


def expectations(rows, time_repr, time_fmt):
    good = [(tid, cust, expected_time(when, time_repr, time_fmt), amount)
            for kind, tid, cust, when, amount in rows if kind == "good"]
    reasons = [(i, KINDS[kind]) for i, (kind, *_rest) in enumerate(rows) if kind != "good"]
    return good, reasons


def accepted_of(ws, rec) -> list[tuple]:
    return [(r["transaction_id"], r["customer_id"], r["txn_time"], r["amount"]) for r in batch_rows(ws, rec)]


TIME_REPRS = ["text", "date32", "date64", "timestamp_s", "timestamp_us", "timestamp_ns", "timestamp_tz"]
AMOUNT_REPRS = ["text", "decimal", "float", "int"]


def parquet_time_column(values, repr_: str, fmt: str) -> pa.Array:
    if repr_ == "text":
        return pa.array([v if not isinstance(v, datetime) else time_text(v, fmt) for v in values], pa.string())
    if repr_ == "date32":
        return pa.array([None if v is None else v.date() for v in values], pa.date32())
    if repr_ == "date64":
        return pa.array([None if v is None else v.date() for v in values], pa.date64())
    if repr_ == "timestamp_tz":   # stored as an instant; the import keeps the wall-clock time in Shanghai
        zone = ZoneInfo("Asia/Shanghai")
        return pa.array([None if v is None else v.replace(tzinfo=zone).astimezone(timezone.utc) for v in values],
                        pa.timestamp("us", tz="Asia/Shanghai"))
    return pa.array(values, pa.timestamp(repr_.split("_")[1]))


def parquet_amount_column(values, repr_: str, fmt: str) -> pa.Array:
    if repr_ == "text":
        return pa.array([v if not isinstance(v, Decimal) else amount_text(v, fmt) for v in values], pa.string())
    if repr_ == "decimal":
        return pa.array(values, pa.decimal128(18, 2))
    if repr_ == "float":
        return pa.array([None if v is None else float(v) for v in values], pa.float64())
    return pa.array([None if v is None else int(v) for v in values], pa.int64())


#: columns a file may carry besides the mapped ones: ignored, whatever their type
EXTRA_COLUMNS = {
    "nested": lambda n: pa.array([[i, None] if i % 2 else None for i in range(n)], pa.list_(pa.int64())),
    "struct": lambda n: pa.array([{"a": i, "b": "x" * i} for i in range(n)]),
    "map": lambda n: pa.array([[("k", i)] for i in range(n)], pa.map_(pa.string(), pa.int64())),
    "binary": lambda n: pa.array([b"ok" for _ in range(n)], pa.binary()),
    "null": lambda n: pa.nulls(n),
    "huge": lambda n: pa.array(["长" * 200_000 if i == 0 else "x" for i in range(n)], pa.large_string()),
    "dictionary": lambda n: pa.array(["a", "b"] * (n // 2) + ["a"] * (n % 2)).dictionary_encode(),
    "duration": lambda n: pa.array(list(range(n)), pa.duration("ms")),
}


@st.composite
def txn_parquet(draw):
    time_repr = draw(st.sampled_from(TIME_REPRS))
    amount_repr = draw(st.sampled_from(AMOUNT_REPRS))
    time_fmt = draw(st.sampled_from(["iso", "slash", "compact", "cn", "iso_time"]))
    amount_fmt = draw(st.sampled_from(["plain", "comma", "yuan", "paren"]))
    rows = draw(txn_rows(time_repr=time_repr, amount_repr=amount_repr))
    headers = draw(st.sampled_from(sorted(HEADERS)))
    id_type = draw(st.sampled_from(["string", "large_string", "dictionary"]))
    extras = draw(st.lists(st.tuples(st.sampled_from(sorted(EXTRA_COLUMNS)), st.text(max_size=6)),
                           max_size=2, unique_by=lambda t: t[1]))
    order = draw(st.permutations(range(4 + len(extras))))
    return rows, time_repr, time_fmt, amount_repr, amount_fmt, headers, id_type, extras, order


@FUZZ
@given(txn_parquet())
def test_parquet_valid_ish_transactions_import_exactly(lenient, tmp_path, case):
    """Parquet files of known rows (every time, amount and id representation, extra columns of any
    type and name, zero rows): exactly the good rows are accepted, with their values, and every bad
    row is quarantined with its reason and its row number."""
    rows, time_repr, time_fmt, amount_repr, amount_fmt, headers, id_type, extras, order = case
    n = len(rows)
    ids = pa.array([r[1] for r in rows], pa.string())
    custs = pa.array([r[2] for r in rows], pa.string())
    if id_type == "large_string":
        ids, custs = ids.cast(pa.large_string()), custs.cast(pa.large_string())
    elif id_type == "dictionary":
        ids, custs = ids.dictionary_encode(), custs.dictionary_encode()
    cols = [ids, custs, parquet_time_column([r[3] for r in rows], time_repr, time_fmt),
            parquet_amount_column([r[4] for r in rows], amount_repr, amount_fmt)]
    names = list(HEADERS[headers])
    for kind, label in extras:
        cols.append(EXTRA_COLUMNS[kind](n))
        names.append(f"zz_extra_{label}")   # prefixed so that no policy header can match it
    path = tmp_path / "fuzz.parquet"
    pq.write_table(pa.table([cols[i] for i in order], names=[names[i] for i in order]), path)
    rec = import_outcome(lenient, path, "transactions", "parquet_valid_ish", rows=range(1, n + 1))
    assert rec is not None and rec["status"] == "committed"
    good, reasons = expectations(rows, time_repr, time_fmt)
    assert (rec["rows_read"], rec["accepted"]) == (n, len(good))
    q = read_quarantine(rec["quarantine"]) if reasons else []
    assert sorted((int(r["row"]), r["reason"]) for r in q) == [(i + 1, why) for i, why in reasons]
    got = accepted_of(lenient, rec)
    assert got == [(tid, cust, when, amount) for tid, cust, when, amount in good]


# --------------------------------------------------------------------------- xlsx, valid-ish
@st.composite
def txn_xlsx(draw):
    time_repr = draw(st.sampled_from(["text", "date_cell", "serial"]))
    amount_repr = draw(st.sampled_from(["text", "number"]))
    rows = draw(txn_rows(time_repr=time_repr, amount_repr=amount_repr))
    time_fmt = draw(st.sampled_from(["iso", "slash", "compact", "cn", "iso_time"]))
    amount_fmt = draw(st.sampled_from(["plain", "comma", "yuan", "paren"]))
    layout = {"blank_above": draw(st.integers(0, 3)), "title": draw(st.booleans()),
              "left": draw(st.integers(0, 2)), "gaps": draw(st.lists(st.integers(0, 2), min_size=len(rows),
                                                                     max_size=len(rows))),
              "other_sheet_first": draw(st.booleans()), "headers": draw(st.sampled_from(sorted(HEADERS)))}
    return rows, time_repr, time_fmt, amount_repr, amount_fmt, layout


def write_txn_xlsx(path: Path, rows, time_repr, time_fmt, amount_repr, amount_fmt, layout) -> list[int]:
    """Write the workbook; return each data row's Excel row number (1-based)."""
    wb = xlsxwriter.Workbook(str(path))
    if layout["other_sheet_first"]:
        wb.add_worksheet("说明").write(0, 0, "本文件由核心系统导出")
    sh = wb.add_worksheet("交易明细")
    datefmt = wb.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    r, c0 = layout["blank_above"], layout["left"]
    if layout["title"]:
        sh.write_string(r, c0, "XX银行交易明细 2024年")
        r += 1
    for j, h in enumerate(HEADERS[layout["headers"]]):
        sh.write_string(r, c0 + j, h)
    numbers = []
    for gap, (kind, tid, cust, when, amount) in zip(layout["gaps"], rows):
        r += 1 + gap   # blank rows between data rows are skipped, not counted
        numbers.append(r + 1)
        if tid is not None:
            sh.write_string(r, c0, tid)
        if cust:
            sh.write_string(r, c0 + 1, cust)
        elif cust is not None:
            sh.write_string(r, c0 + 1, cust)   # blanks-only id: a present cell holding spaces
        if isinstance(when, datetime):
            if time_repr == "date_cell":
                sh.write_datetime(r, c0 + 2, when, datefmt)
            elif time_repr == "serial":
                sh.write_number(r, c0 + 2, (when.date() - date(1899, 12, 30)).days)
            else:
                sh.write_string(r, c0 + 2, time_text(when, time_fmt))
        elif when is not None:
            sh.write_string(r, c0 + 2, when)
        if isinstance(amount, Decimal):
            if amount_repr == "number":
                sh.write_number(r, c0 + 3, float(amount))
            else:
                sh.write_string(r, c0 + 3, amount_text(amount, amount_fmt))
        elif amount is not None:
            sh.write_string(r, c0 + 3, amount)
    wb.close()
    return numbers


@FUZZ
@given(txn_xlsx())
def test_xlsx_valid_ish_transactions_import_exactly(lenient, tmp_path, case):
    """Workbooks of known rows (text, date cells and serial dates, numeric or text amounts; blank rows
    and columns above and left of the table, a title row, blank rows between records, another sheet
    first): exactly the good rows are accepted, and each bad row is quarantined with its reason and
    the row number Excel shows."""
    rows, time_repr, time_fmt, amount_repr, amount_fmt, layout = case
    path = tmp_path / "fuzz.xlsx"
    numbers = write_txn_xlsx(path, rows, time_repr, time_fmt, amount_repr, amount_fmt, layout)
    rec = import_outcome(lenient, path, "transactions", "xlsx_valid_ish", sheet="交易明细",
                         rows=range(1, 1_048_577))
    assert rec is not None and rec["status"] == "committed"
    time_as = "timestamp_us" if time_repr == "date_cell" else "date32" if time_repr == "serial" else "text"
    good, reasons = expectations(rows, time_as, time_fmt)
    assert (rec["rows_read"], rec["accepted"]) == (len(rows), len(good))
    q = read_quarantine(rec["quarantine"]) if reasons else []
    assert sorted((int(r["row"]), r["reason"]) for r in q) == [(numbers[i], why) for i, why in reasons]
    assert accepted_of(lenient, rec) == good


# =========================================================================== arbitrary files: clean outcomes
def _text(max_size=12):
    return st.text(st.characters(codec="utf-8"), max_size=max_size)


#: a column of n values of one Arrow type (every type family pyarrow writes to Parquet)
def arrow_column(n: int):
    def of(values, typ):
        return st.lists(values, min_size=n, max_size=n).map(lambda v: pa.array(v, typ))

    nullable = lambda s: st.one_of(st.none(), s)  # noqa: E731
    flat = [
        of(nullable(_text()), pa.string()),
        of(nullable(st.sampled_from(CUSTOMERS + ["2024-01-05", "1,234.50", "", " ", "0"])), pa.string()),
        of(nullable(_text(20) | st.just("长" * 300_000)), pa.large_string()),
        of(nullable(st.binary(max_size=8)), pa.binary()),
        of(nullable(st.integers(-2**63, 2**63 - 1)), pa.int64()),
        of(nullable(st.integers(0, 2**64 - 1)), pa.uint64()),
        of(nullable(st.integers(-128, 127)), pa.int8()),
        of(nullable(st.floats(allow_nan=True, allow_infinity=True)), pa.float64()),
        of(nullable(st.floats(width=32)), pa.float32()),
        of(nullable(st.decimals(places=2, min_value=-10**15, max_value=10**15, allow_nan=False)),
           pa.decimal128(18, 2)),
        of(nullable(st.decimals(places=0, min_value=-10**37, max_value=10**37, allow_nan=False)),
           pa.decimal256(40, 0)),
        of(nullable(st.booleans()), pa.bool_()),
        of(nullable(st.dates()), pa.date32()),
        # seconds within what Parquet can store (it keeps milliseconds at the coarsest)
        of(nullable(st.integers(-2**53, 2**53)), pa.timestamp("s")),
        of(nullable(st.integers(-2**62, 2**62)), pa.timestamp("ns")),
        of(nullable(st.integers(-2**40, 2**40)), pa.timestamp("ms", tz="Asia/Shanghai")),
        of(nullable(st.integers(-2**53, 2**53)), pa.timestamp("s", tz="UTC")),
        of(nullable(st.integers(0, 86_399)), pa.time32("s")),
        of(nullable(st.integers(-2**40, 2**40)), pa.duration("us")),
        of(st.none(), pa.null()),
        of(nullable(st.lists(nullable(st.integers(-5, 5)), max_size=3)), pa.list_(pa.int64())),
        of(nullable(st.lists(nullable(st.integers(-2**53, 2**53)), max_size=2)), pa.list_(pa.timestamp("s"))),
        of(nullable(st.fixed_dictionaries({"a": nullable(_text(4)), "b": nullable(st.integers(-2**63, 2**63 - 1))})),
           pa.struct([("a", pa.string()), ("b", pa.int64())])),
        of(nullable(st.lists(st.tuples(_text(3), nullable(st.integers(-9, 9))), max_size=2)),
           pa.map_(pa.string(), pa.int64())),
        of(nullable(st.lists(st.binary(max_size=3), min_size=2, max_size=2)), pa.list_(pa.binary(), 2)),
    ]
    return st.one_of(*flat) | st.one_of(*flat).map(
        lambda a: a.dictionary_encode() if pa.types.is_string(a.type) or pa.types.is_integer(a.type) else a)


KNOWN_NAMES = ["customer_id", "txn_time", "amount", "transaction_id", "客户号", "交易日期", "交易金额", "交易流水号",
               "客户姓名", "手机号", "出生日期", "证件号码", "客户经理", "网点", "开户日期", "email", "birthday"]


#: headers that map onto each table's required columns (so that most files reach validation)
REQUIRED = {"transactions": [["客户号", "customer_id"], ["交易日期", "txn_time"], ["交易金额", "amount"]],
            "customers": [["客户号", "customer_id"]]}


@st.composite
def column_names(draw, table: str, k: int):
    """``k`` names; usually the table's required headers among them, in random places."""
    names = draw(st.lists(st.sampled_from(KNOWN_NAMES) | _text(8) | st.sampled_from(['a"b', "_rec", "", " "]),
                          min_size=k, max_size=k))
    if draw(st.integers(0, 9)) > 0:
        required = [draw(st.sampled_from(aliases)) for aliases in REQUIRED[table]]
        names = draw(st.permutations(required + names))
    return names


@st.composite
def arbitrary_parquet(draw):
    n = draw(st.integers(0, 6))
    table = draw(st.sampled_from(["transactions", "customers"]))
    names = draw(column_names(table, draw(st.integers(0, 5))))
    cols = [draw(arrow_column(n)) for _ in names]
    options = draw(st.fixed_dictionaries({
        "compression": st.sampled_from(["none", "snappy", "zstd", "gzip"]),
        "use_dictionary": st.booleans(), "row_group_size": st.sampled_from([None, 1, 2]),
        "data_page_version": st.sampled_from(["1.0", "2.0"])}))
    return names, cols, n, table, options


def first_non_utf8(col: pa.Array) -> int | None:
    """Row (1-based) of the first binary value that is not UTF-8 text, for a flat binary column."""
    if not (pa.types.is_binary(col.type) or (pa.types.is_dictionary(col.type)
                                             and pa.types.is_binary(col.type.value_type))):
        return None
    for i, v in enumerate(col.to_pylist()):
        if v is not None:
            try:
                v.decode("utf-8")
            except UnicodeDecodeError:
                return i + 1
    return None


@FUZZ
@given(arbitrary_parquet())
def test_parquet_of_any_types_and_names_gives_rows_or_a_clean_error(lenient, tmp_path, case):
    """Parquet files of random schemas into customers or transactions: every Arrow type family
    (nested lists, structs and maps, binary with non-UTF-8 bytes, null columns, 300 KB strings,
    decimals, timestamps out of range, with and without zones, durations), any column names
    (empty, quotes, duplicates, ``_rec``, policy headers), zero rows, every compression and page
    version. A non-UTF-8 binary column that is read names its column and first bad row."""
    names, cols, n, table, options = case
    path = tmp_path / "any.parquet"
    pq.write_table(pa.table(cols, names=names) if cols else pa.table({}), path, **options)
    rec = import_outcome(lenient, path, table, "parquet_any", rows=range(1, n + 1))
    bad = [(name, row) for name, col in zip(names, cols) if (row := first_non_utf8(col)) is not None]
    if rec is None and "not UTF-8" in LAST_ERROR[0]:
        assert any(f"column '{name}', row {row}:" in LAST_ERROR[0] for name, row in bad), LAST_ERROR[0]


def valid_parquet_bytes(tmp_path: Path, seed: int) -> bytes:
    rng = random.Random(seed)
    n = 40
    t = pa.table({
        "transaction_id": [f"C{seed}-{i}" for i in range(n)],
        "customer_id": [rng.choice(CUSTOMERS) for _ in range(n)],
        "txn_time": pa.array([datetime(2024, 1, 1) + timedelta(hours=7 * i) for i in range(n)], pa.timestamp("us")),
        "amount": pa.array([Decimal(rng.randint(-9999, 99999)).scaleb(-2) for _ in range(n)], pa.decimal128(18, 2)),
        "channel": pa.array([rng.choice(["柜面", "手机银行", None]) for _ in range(n)]).dictionary_encode(),
    })
    p = tmp_path / f"seed{seed}.parquet"
    pq.write_table(t, p, row_group_size=rng.choice([7, 40]), compression=rng.choice(["none", "snappy", "zstd"]),
                   write_statistics=rng.random() < 0.5)
    return p.read_bytes()


mutation = st.one_of(
    st.tuples(st.just("truncate"), st.floats(0, 1)),
    st.tuples(st.just("flip"), st.lists(st.tuples(st.floats(0, 1), st.integers(1, 255)), min_size=1, max_size=8)),
    st.tuples(st.just("overwrite"), st.floats(0, 1), st.binary(min_size=1, max_size=64)),
    st.tuples(st.just("insert"), st.floats(0, 1), st.binary(min_size=1, max_size=64)),
    st.tuples(st.just("footer"), st.integers(0, 2**32 - 1)),
)


def mutate(data: bytes, m) -> bytes:
    kind = m[0]
    if kind == "truncate":
        return data[: int(len(data) * m[1])]
    if kind == "flip":
        if not data:
            return data
        b = bytearray(data)
        for where, mask in m[1]:
            i = min(int(len(b) * where), len(b) - 1)
            b[i] ^= mask
        return bytes(b)
    if kind in ("overwrite", "insert"):
        i = int(len(data) * m[1])
        return data[:i] + m[2] + data[i + (len(m[2]) if kind == "overwrite" else 0):]
    # the 4-byte footer length before the trailing magic: any value
    return data[:-8] + m[1].to_bytes(4, "little") + data[-4:]


@FUZZ
@given(st.integers(0, 3), st.lists(mutation, min_size=1, max_size=3))
def test_corrupted_parquet_bytes_give_rows_or_a_clean_error(lenient, tmp_path, seed, mutations):
    """A valid Parquet file truncated, bit-flipped, overwritten, with bytes inserted, or with a
    false footer length: a clean error or a balanced import, never a crash or a hang."""
    data = valid_parquet_bytes(tmp_path, seed)
    for m in mutations:
        data = mutate(data, m)
    path = tmp_path / "broken.parquet"
    path.write_bytes(data)
    import_outcome(lenient, path, "transactions", "parquet_corrupted", rows=range(1, 10**6))


@FUZZ
@given(st.binary(min_size=8, max_size=8), st.sampled_from(["customer_id", "extra"]))
def test_parquet_column_names_that_are_not_utf8(lenient, tmp_path, name_bytes, which):
    """Column names patched in the footer to arbitrary bytes (Parquet stores them unchecked):
    a clean error or a balanced import."""
    label = "QQQQQQQQ"
    t = pa.table({"transaction_id": ["N1", "N2"], "customer_id": ["000123", "000124"],
                  "txn_time": ["2024-01-05", "2024-01-06"], "amount": ["1", "2"], label: ["a", "b"]})
    if which == "customer_id":
        t = t.rename_columns(["transaction_id", label, "txn_time", "amount", "extra"])
    path = tmp_path / "names.parquet"
    pq.write_table(t, path, store_schema=False)   # no Arrow schema copy: the Thrift names are all there is
    data = path.read_bytes()
    assert label.encode() in data
    path.write_bytes(data.replace(label.encode(), name_bytes))
    import_outcome(lenient, path, "transactions", "parquet_names", rows=range(1, 3))


# --------------------------------------------------------------------------- xlsx, arbitrary
cell = st.one_of(
    st.none(), _text(20), st.sampled_from(CUSTOMERS + ["2024-01-05", "¥1,234.50", "(12)", "=1/0", "=A1", "#N/A"]),
    st.integers(-2**53, 2**53), st.floats(allow_nan=False, allow_infinity=False), st.booleans(),
    st.datetimes(datetime(1900, 3, 1), datetime(9999, 12, 31)), st.just("x" * 32_767),
)


@st.composite
def arbitrary_xlsx(draw):
    table = draw(st.sampled_from(["transactions", "customers"]))
    header = draw(column_names(table, draw(st.integers(0, 5))))
    header = [draw(st.sampled_from([h, h, h, None, 7, "__UNNAMED__0"])) for h in header]
    body = draw(st.lists(st.lists(cell, max_size=len(header) + 2), max_size=8))
    sheet = draw(st.sampled_from([None, None, None, "0", "1", "S", "nope"]))
    return header, body, draw(st.integers(0, 4)), table, sheet


def write_cells(sh, r: int, values, formats) -> None:
    for j, v in enumerate(values):
        if v is None:
            continue
        if isinstance(v, bool):
            sh.write_boolean(r, j, v)
        elif isinstance(v, datetime):
            sh.write_datetime(r, j, v, formats)
        elif isinstance(v, (int, float)):
            sh.write_number(r, j, v)
        elif isinstance(v, str) and v.startswith("="):
            sh.write_formula(r, j, v)
        else:
            sh.write_string(r, j, v)


@FUZZ
@given(arbitrary_xlsx())
def test_xlsx_of_any_cells_gives_rows_or_a_clean_error(lenient, tmp_path, case):
    """Workbooks of random cells (text with any Unicode, numbers, booleans, date cells up to 9999,
    formulas and error values, 32,767-character strings) under random headers (blank, numeric,
    duplicated, quotes, policy headers), with blank rows above, into customers or transactions,
    choosing a sheet that may not exist: a clean error or a balanced import."""
    header, body, blank_above, table, sheet = case
    path = tmp_path / "any.xlsx"
    wb = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False, "strings_to_formulas": False})
    sh = wb.add_worksheet("S")
    fmt = wb.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    write_cells(sh, blank_above, header, fmt)
    for i, row in enumerate(body):
        write_cells(sh, blank_above + 1 + i, row, fmt)
    wb.close()
    import_outcome(lenient, path, table, "xlsx_any", sheet=sheet, rows=range(1, blank_above + len(body) + 2))


def valid_xlsx(tmp_path: Path) -> Path:
    p = tmp_path / "valid.xlsx"
    if not p.exists():
        wb = xlsxwriter.Workbook(str(p))
        sh = wb.add_worksheet("交易明细")
        sh.write_row(0, 0, ["XX银行交易明细 2024年"])
        sh.write_row(1, 0, ["交易流水号", "客户号", "交易日期", "交易金额"])
        for i in range(30):
            sh.write_row(2 + i, 0, [f"X{i}", CUSTOMERS[i % 4], f"2024-01-{1 + i % 28:02d}", f"{i * 3.5:.2f}"])
        wb.close()
    return p


MEMBERS = ["xl/worksheets/sheet1.xml", "xl/sharedStrings.xml", "xl/workbook.xml", "xl/styles.xml",
           "[Content_Types].xml", "xl/_rels/workbook.xml.rels", "_rels/.rels"]


@FUZZ
@given(st.sampled_from(MEMBERS + ["(whole file)"]),
       st.one_of(mutation, st.tuples(st.just("drop")), st.tuples(st.just("regex"), st.sampled_from([
           (rb'count="\d+" uniqueCount="\d+"', b'count="2000000000" uniqueCount="2000000000"'),
           (rb'<dimension ref="[^"]*"/>', b'<dimension ref="A1:XFD1048576"/>'),
           (rb'r="D31"', b'r="XFD1048576"'),
           (rb'<row r="32"', b'<row r="1048576"'),
           (rb'<si>', b'<si><t>&#xD800;</t></si><si>'),
           (rb'<v>', b'<v>1e999999</v><v>'),
           (rb'<sheetData>', b'<sheetData><row r="0"><c r="A0"><v>1</v></c></row>'),
           (rb'<\?xml[^>]*>\s*(<sst[^>]*>)<si>',   # entity expansion ("billion laughs", three levels)
            b'<?xml version="1.0"?><!DOCTYPE sst [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;'
            b'&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>\\1<si><t>&c;</t></si><si>'),
       ]))))
def test_corrupted_xlsx_gives_a_clean_error_or_rows(lenient, tmp_path, member, m):
    """A valid workbook with one part (sheet, shared strings, workbook, styles, content types,
    relations) or the whole zip truncated, bit-flipped, overwritten, dropped, or edited into a
    known bomb (a cell at XFD1048576, a 2-billion sharedStrings count, a huge dimension, entity
    expansion, a surrogate, row 0): a clean error or a balanced import — never an aborted process."""
    src = valid_xlsx(tmp_path)
    path = tmp_path / "broken.xlsx"
    if member == "(whole file)":
        if m[0] in ("drop", "regex"):
            m = ("truncate", 0.5)
        path.write_bytes(mutate(src.read_bytes(), m))
    else:
        buf = io.BytesIO()
        with zipfile.ZipFile(src) as zin, zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zout:
            for item in zin.infolist():
                data = zin.read(item)
                if item.filename == member:
                    if m[0] == "drop":
                        continue
                    data = re.sub(m[1][0], m[1][1], data, count=1) if m[0] == "regex" else mutate(data, m)
                zout.writestr(item, data)
        path.write_bytes(buf.getvalue())
    import_outcome(lenient, path, "transactions", "xlsx_corrupted", rows=range(1, 1_048_577))


def test_workbooks_that_ask_for_hundreds_of_gigabytes_are_refused_cleanly(lenient, tmp_path):
    """The two bombs found by the fuzzing above, as fixed examples: each used to abort the process."""
    src = valid_xlsx(tmp_path)
    for member, (pattern, repl) in [("xl/worksheets/sheet1.xml", (rb'r="D31"', b'r="XFD1048576"')),
                                    ("xl/sharedStrings.xml", (rb'count="\d+" uniqueCount="\d+"',
                                                              b'count="4000000000" uniqueCount="4000000000"'))]:
        path = tmp_path / f"bomb-{member.split('/')[-1]}.xlsx"
        with zipfile.ZipFile(src) as zin, zipfile.ZipFile(path, "w") as zout:
            for item in zin.infolist():
                data = zin.read(item)
                zout.writestr(item, re.sub(pattern, repl, data, count=1) if item.filename == member else data)
        before = manifest(lenient)
        with pytest.raises(TierwiseError, match=re.escape(str(path)) + ".*Excel reader failed"):
            import_table(lenient, "transactions", str(path), today=TODAY)
        assert manifest(lenient) == before
    # and the untouched workbook still imports: 30 rows, all accepted
    rec = import_table(lenient, "transactions", str(src), today=TODAY)
    assert (rec["rows_read"], rec["accepted"], rec["source"]["header_row"]) == (30, 30, 2)


def teardown_module(module) -> None:
    if TALLY:
        print("\nfuzz tally:", dict(sorted(TALLY.items())))
        out = os.environ.get("TIERWISE_FUZZ_TALLY")
        if out:
            Path(out).write_text(json.dumps({f"{t}:{k}": n for (t, k), n in sorted(TALLY.items())}, indent=1))
