"""Write bank tables the way a Chinese core-banking system exports them.

The files exercise the real import path: GBK-encoded CSV with Chinese headers (plus
UTF-8-with-BOM copies of chosen tables), ``.xlsx`` workbooks with a title row such as
``XX银行客户资产明细 2024年`` above the header, dates in four styles (``2024-01-05``,
``2024/1/5``, ``20240105``, ``2024年1月5日``; real Excel date cells in xlsx), amounts
as ``1,234.50``, ``￥1,234.50``, a few full-width ``１２３４.５０`` and bracketed
negatives ``(1,234.50)``, customer numbers with leading zeros kept as text.

With ``n_bad`` it also injects bad rows, each a copy of a real row with one defect,
and returns an :class:`ExportManifest` saying which rows are bad and why, so import
tests can assert exact counts. Bad rows go into transactions (unparseable date,
unknown customer, duplicate transaction id, missing customer id, future date) and
balances (negative balance); every copy of a table (GBK, UTF-8, xlsx) holds the same
rows in the same order.

>>> import tempfile
>>> from tierwise.samples import generate_bank
>>> tables = generate_bank(300, seed=1, months=2, balance_freq="M")
>>> with tempfile.TemporaryDirectory() as d:
...     m = write_bank_export(tables, d, n_bad=6, seed=1)
...     sorted(m.counts().items())[:2], m.files["transactions"][0].name
([('duplicate_transaction_id', 1), ('future_date', 1)], '交易流水.csv')
"""

from __future__ import annotations

import io
import json
import os
import unicodedata
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from tierwise.errors import UserInputError

from .bank import bank_customer_numbers
from .formats import format_dates, format_money, format_times

__all__ = ["BAD_KINDS", "BadRow", "ExportManifest", "HEADERS", "TITLES", "VALUE_LABELS", "write_bank_export"]

#: Chinese header → canonical column, per table, in file order
HEADERS: dict[str, dict[str, str]] = {
    "customers": {"客户号": "customer_id", "客户姓名": "name", "证件号码": "id_number", "手机号": "phone",
                  "出生日期": "birthday", "性别": "gender", "开户日期": "open_date", "客户经理": "manager_id",
                  "网点": "branch_id", "城市": "city", "风险等级": "risk_level"},
    "transactions": {"交易流水号": "transaction_id", "客户号": "customer_id", "交易日期": "txn_time",
                     "交易金额": "amount", "产品代码": "product_id", "产品类别": "product_category", "渠道": "channel"},
    "balances": {"客户号": "customer_id", "余额日期": "balance_date", "产品代码": "product_id",
                 "产品类型": "product_type", "余额": "balance"},
    "holdings": {"客户号": "customer_id", "产品代码": "product_id", "产品类型": "product_type",
                 "产品名称": "product_name", "购买日期": "open_date", "到期日": "maturity_date", "持有金额": "amount"},
    "interactions": {"记录编号": "interaction_id", "客户号": "customer_id", "联系时间": "interaction_time",
                     "类型": "kind", "渠道": "channel", "客户经理": "manager_id", "满意度评分": "score"},
}
#: file and title name of each table
TITLES = {"customers": "客户信息", "transactions": "交易流水", "balances": "资产余额", "holdings": "客户资产明细",
          "interactions": "客户接触记录"}
_TYPES = {"deposit": "存款", "wealth": "理财", "fund": "基金", "insurance": "保险"}
#: canonical value → Chinese label, per canonical column
VALUE_LABELS: dict[str, dict[str, str]] = {
    "gender": {"M": "男", "F": "女"},
    "product_type": _TYPES,
    "product_category": _TYPES,
    "channel": {"phone": "电话", "wechat": "微信", "sms": "短信", "branch": "网点", "app": "手机银行",
                "mobile": "手机银行", "online": "网上银行", "payroll": "代发工资"},
    "kind": {"contact": "电话联系", "visit": "上门拜访", "complaint": "投诉", "survey": "满意度调查", "nps": "NPS调查"},
}
#: kinds of injected bad rows and the table each goes into
BAD_KINDS: dict[str, str] = {
    "unparseable_date": "transactions", "unknown_customer": "transactions", "duplicate_transaction_id": "transactions",
    "missing_customer_id": "transactions", "future_date": "transactions", "negative_balance": "balances",
}
_BAD_DATES = ["2024-13-45", "2024年2月30日", "20241301", "昨天", "N/A", "2024/02/30"]
_EPOCH_US = 86_400_000_000


@dataclass(frozen=True)
class BadRow:
    """One injected bad row: ``row`` is its 0-based position among the data rows of the file."""

    table: str
    row: int
    kind: str
    column: str
    value: str


@dataclass
class ExportManifest:
    """What :func:`write_bank_export` wrote: files per table, data rows per table, bad rows."""

    files: dict[str, list[Path]] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    bad: list[BadRow] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """Number of bad rows of each kind."""
        out: dict[str, int] = {}
        for b in self.bad:
            out[b.kind] = out.get(b.kind, 0) + 1
        return out

    def good_rows(self, table: str) -> int:
        """Rows of ``table`` that an importer should accept."""
        return self.rows[table] - sum(b.table == table for b in self.bad)

    def to_json(self) -> str:
        return json.dumps({"files": {k: [p.name for p in v] for k, v in self.files.items()}, "rows": self.rows,
                           "bad": [asdict(b) for b in self.bad]}, ensure_ascii=False, indent=1)


def _text_columns(table: pa.Table, name: str, rng: np.random.Generator, yen: str) -> dict[str, pa.Array]:
    """Every exported column as text, in mixed styles."""
    n = table.num_rows
    out = {}
    for header, col in HEADERS[name].items():
        arr = table.column(col).combine_chunks()
        valid = np.asarray(arr.is_valid())
        if pa.types.is_date32(arr.type):
            days = arr.fill_null(0).cast(pa.int32()).to_numpy()
            out[header] = format_dates(days, rng.choice(4, n, p=[0.55, 0.2, 0.15, 0.1]), valid=valid)
        elif pa.types.is_timestamp(arr.type):
            out[header] = format_times(arr.cast(pa.int64()).to_numpy(), rng.choice(4, n, p=[0.55, 0.2, 0.15, 0.1]))
        elif pa.types.is_decimal(arr.type):
            cents = pc.multiply(arr.fill_null(0), pa.scalar(100, pa.decimal128(18, 0))).cast(pa.int64()).to_numpy()
            style = rng.choice(4, n, p=[0.3, 0.5, 0.195, 0.005])
            out[header] = format_money(cents, style, yen=yen, valid=valid)
        elif pa.types.is_floating(arr.type):
            out[header] = pc.if_else(arr.is_valid(), pc.cast(arr.fill_null(0).cast(pa.int64()), pa.string()), "")
        else:
            labels = VALUE_LABELS.get(col)
            if labels:
                for en, zh in labels.items():
                    arr = pc.if_else(pc.equal(arr, en).fill_null(False), zh, arr)
            out[header] = arr.fill_null("")
    return out


def _bad_rows(name: str, cols: dict[str, pa.Array], kinds: list[str], rng, *, n_customers: int,
              known_ids: set[str]) -> tuple[dict[str, list[str]], list[tuple[str, str, str]], np.ndarray]:
    """Build the bad rows of one table: (columns, (kind, column, value) each, insertion slots)."""
    n = len(next(iter(cols.values())))
    src = rng.integers(0, n, len(kinds))
    rows = {h: cols[h].take(pa.array(src)).to_pylist() for h in cols}
    info = []
    slot = rng.integers(0, n + 1, len(kinds))
    # fresh keys, so each bad row has exactly one defect (not also a duplicate key)
    if "交易流水号" in rows:
        rows["交易流水号"] = [f"T99999{j:09d}" for j in range(len(kinds))]
    if name == "balances":
        rows["产品代码"] = ["DEP0009"] * len(kinds)
    extra = 0
    for j, kind in enumerate(kinds):
        if kind == "unparseable_date":
            header, value = "交易日期", _BAD_DATES[j % len(_BAD_DATES)]
        elif kind == "unknown_customer":
            header = "客户号"
            while True:
                value = bank_customer_numbers(np.array([n_customers + 1000 + extra])).to_pylist()[0]
                extra += 1
                if value not in known_ids:
                    break
        elif kind == "missing_customer_id":
            header, value = "客户号", ""
        elif kind == "future_date":
            header = "交易日期"
            value = f"{int(rows['交易日期'][j][:4]) + 100}{rows['交易日期'][j][4:]}"  # a wrong-century typo
        elif kind == "duplicate_transaction_id":
            header, value = "交易流水号", cols["交易流水号"][int(src[j])].as_py()
            slot[j] = rng.integers(src[j] + 1, n + 1)  # after the row it duplicates
        elif kind == "negative_balance":
            header = "余额"
            cents = -max(abs(int(round(float(_plain(rows[header][j])) * 100))), 1)
            value = format_money(np.array([cents]), np.array([rng.integers(0, 3)])).to_pylist()[0]
        else:  # pragma: no cover - BAD_KINDS is checked by the caller
            raise AssertionError(kind)
        rows[header][j] = value
        info.append((kind, header, value))
    return rows, info, slot


def _plain(text: str) -> str:
    return unicodedata.normalize("NFKC", text).replace(",", "").replace("￥", "").replace("¥", "").strip("()")


def _write_csv(path: Path, table: pa.Table, encoding: str) -> None:
    buf = io.BytesIO()
    pcsv.write_csv(table, buf, pcsv.WriteOptions(quoting_style="needed"))
    text = buf.getvalue().decode("utf-8")
    tmp = path.with_name("_" + path.name + ".tmp")
    tmp.write_bytes(text.encode("gbk") if encoding == "gbk" else b"\xef\xbb\xbf" + text.encode("utf-8"))
    os.replace(tmp, path)


def _write_xlsx(path: Path, table: pa.Table, name: str, title: str, source: np.ndarray, canonical: pa.Table,
                rng) -> None:
    import xlsxwriter  # only needed for this file type

    n = table.num_rows
    if n > 1_048_574:
        raise UserInputError(f"{name} has {n:,} rows, more than an .xlsx sheet holds",
                             hint=f"leave {name!r} out of xlsx=... or generate fewer customers")
    tmp = path.with_name("_" + path.name + ".tmp")
    book = xlsxwriter.Workbook(str(tmp), {"constant_memory": True, "strings_to_numbers": False})
    sheet = book.add_worksheet(TITLES[name])
    date_fmt, money_fmt = book.add_format({"num_format": "yyyy-mm-dd"}), book.add_format({"num_format": "#,##0.00"})
    sheet.write_string(0, 0, title, book.add_format({"bold": True, "font_size": 14}))
    headers = table.column_names
    for j, h in enumerate(headers):
        sheet.write_string(1, j, h)
    text = [table.column(h).to_pylist() for h in headers]
    native = []
    for h in headers:
        col = canonical.column(HEADERS[name][h])
        typ = col.type
        is_date = pa.types.is_date32(typ) or pa.types.is_timestamp(typ)
        kind = "date" if is_date else "money" if pa.types.is_decimal(typ) else None
        native.append((kind, col.to_pylist() if kind else None, rng.random(n) < (0.4 if is_date else 0.7)))
    for i in range(n):  # xlsx files are small (at most one sheet): a row loop is fine here
        for j in range(len(headers)):
            kind, values, use = native[j]
            k = source[i]
            if kind and k >= 0 and use[i] and values[k] is not None:
                if kind == "date":
                    v = values[k]
                    sheet.write_datetime(i + 2, j, v if isinstance(v, datetime) else datetime(v.year, v.month, v.day),
                                         date_fmt)
                else:
                    sheet.write_number(i + 2, j, float(values[k]), money_fmt)
            else:
                sheet.write_string(i + 2, j, text[j][i])
    book.close()
    os.replace(tmp, path)


def write_bank_export(
    tables: dict[str, pa.Table], out_dir: str | os.PathLike, *, seed: int = 0, n_bad: int = 0,
    bad_kinds: tuple[str, ...] = tuple(BAD_KINDS), xlsx: tuple[str, ...] = ("customers", "holdings"),
    utf8_bom: tuple[str, ...] = ("interactions",), bank_name: str = "XX银行", year: int | None = None,
) -> ExportManifest:
    """Write ``generate_bank`` tables as a Chinese core-banking export.

    Parameters
    ----------
    tables : the output of :func:`tierwise.samples.generate_bank` (any subset of its tables)
    out_dir : folder, created if missing; files are named after :data:`TITLES`
        (``交易流水.csv``, ``客户资产明细.xlsx``, ``客户接触记录_UTF8.csv`` ...)
    seed : seed of the format mix and of the bad rows
    n_bad : number of bad rows to inject, spread evenly over ``bad_kinds``
    bad_kinds : kinds to inject, keys of :data:`BAD_KINDS`
    xlsx : tables also written as ``.xlsx`` with a title row
    utf8_bom : tables also written as UTF-8 with BOM (``<title>_UTF8.csv``)
    bank_name, year : the xlsx title, ``f"{bank_name}{title} {year}年"``; ``year``
        defaults to the year of the latest balance or transaction

    Returns
    -------
    ExportManifest with the files, data-row counts and the injected bad rows
    """
    unknown = [k for k in bad_kinds if k not in BAD_KINDS]
    if unknown:
        raise UserInputError(f"unknown bad-row kind(s) {unknown}; choose from {', '.join(BAD_KINDS)}")
    if n_bad < 0:
        raise UserInputError(f"n_bad must be >= 0, got {n_bad}")
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0xE4B0]))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    kinds = [bad_kinds[i % len(bad_kinds)] for i in range(n_bad)] if bad_kinds else []
    missing = {BAD_KINDS[k] for k in kinds} - set(tables)
    if missing:
        raise UserInputError(f"bad rows need table(s) {sorted(missing)}, which were not given")
    if year is None:
        latest = [pc.max(tables[t].column(c)).as_py() for t, c in (("balances", "balance_date"),
                                                                     ("transactions", "txn_time")) if t in tables]
        year = max((v.year for v in latest if v is not None), default=date.today().year)
    known = set(tables["customers"]["customer_id"].to_pylist()) if "customers" in tables else set()
    n_customers = tables["customers"].num_rows if "customers" in tables else 0
    manifest = ExportManifest()
    for name in HEADERS:
        if name not in tables:
            continue
        canonical = tables[name]
        cols = _text_columns(canonical, name, rng, "￥")
        n = canonical.num_rows
        mine = [k for k in kinds if BAD_KINDS[k] == name]
        keys = np.arange(n) * 2 + 1
        if mine:
            bad, info, slot = _bad_rows(name, cols, mine, rng, n_customers=n_customers, known_ids=known)
            cols = {h: pa.concat_arrays([cols[h], pa.array(bad[h], pa.string())]) for h in cols}
            keys = np.concatenate([keys, slot * 2])
        order = np.argsort(keys, kind="stable")
        source = np.where(order < n, order, -1)
        text = pa.table({h: c.take(pa.array(order)) for h, c in cols.items()})
        if mine:
            position = np.empty(len(order), dtype=np.int64)
            position[order] = np.arange(len(order))
            for j, (kind, header, value) in enumerate(info):
                manifest.bad.append(BadRow(name, int(position[n + j]), kind, header, value))
        manifest.rows[name] = text.num_rows
        files = [out / f"{TITLES[name]}.csv"]
        _write_csv(files[0], text, "gbk")
        if name in utf8_bom:
            files.append(out / f"{TITLES[name]}_UTF8.csv")
            _write_csv(files[-1], text, "utf-8-sig")
        if name in xlsx:
            files.append(out / f"{TITLES[name]}.xlsx")
            _write_xlsx(files[-1], text, name, f"{bank_name}{TITLES[name]} {year}年", source, canonical, rng)
        manifest.files[name] = files
    manifest.bad.sort(key=lambda b: (b.table, b.row))
    (out / "manifest.json").write_text(manifest.to_json(), encoding="utf-8")
    return manifest

