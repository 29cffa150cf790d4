"""The Chinese core-banking export reads back to the generated values; bad rows are exact."""

from __future__ import annotations

import unicodedata
from datetime import date, datetime
from decimal import Decimal

import fastexcel
import pandas as pd
import pyarrow.csv as pcsv
import pytest

from tierwise.errors import UserInputError
from tierwise.samples import generate_bank, write_english_csv
from tierwise.samples.arrays import arrow_schema
from tierwise.samples.export import BAD_KINDS, HEADERS, VALUE_LABELS, write_bank_export

AS_OF = date(2024, 12, 31)


def parse_date(text: str) -> date:
    """A second, independent parser of the four date styles (the time part is dropped)."""
    text = text.strip().split(" ")[0]
    for fmt in ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y年%m月%d日"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(text)


def parse_amount(text: str) -> Decimal:
    text = unicodedata.normalize("NFKC", text).replace(",", "").replace("¥", "").strip()
    if text.startswith("(") and text.endswith(")"):
        return -Decimal(text[1:-1])
    return Decimal(text)


@pytest.fixture(scope="module")
def bank():
    return generate_bank(800, seed=4, months=6, balance_freq="M")


@pytest.fixture(scope="module")
def clean_export(bank, tmp_path_factory):
    out = tmp_path_factory.mktemp("export")
    return out, write_bank_export(bank, out, seed=2)


def _read(path, encoding="gbk") -> pd.DataFrame:
    return pd.read_csv(path, encoding=encoding, dtype=str, keep_default_na=False)


def _expected_text(canonical: pd.Series, column: str) -> pd.Series:
    return canonical.map(VALUE_LABELS.get(column, {})).fillna(canonical) if column in VALUE_LABELS else canonical


@pytest.mark.parametrize("table", list(HEADERS))
def test_gbk_export_reads_back_to_the_same_values(bank, clean_export, table):
    out, manifest = clean_export
    path = manifest.files[table][0]
    raw = path.read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")  # really GBK, not UTF-8
    df = _read(path)
    src = bank[table].to_pandas()
    assert list(df.columns) == list(HEADERS[table]) and len(df) == len(src)
    for header, column in HEADERS[table].items():
        kind = arrow_schema(table).field(column).type
        got, want = df[header], src[column]
        if str(kind).startswith("date") or str(kind).startswith("timestamp"):
            parsed = [parse_date(v) if v else None for v in got]
            expected = [None if pd.isna(v) else pd.Timestamp(v).date() for v in want]
            assert parsed == expected, header
        elif str(kind).startswith("decimal"):
            assert [parse_amount(v) for v in got] == [Decimal(v) for v in want], header
        elif column == "score":
            assert [float(v) if v else None for v in got] == [None if pd.isna(v) else v for v in want]
        else:
            assert got.tolist() == _expected_text(want, column).fillna("").tolist(), header


def test_export_mixes_the_messy_formats(clean_export):
    out, manifest = clean_export
    tx = _read(manifest.files["transactions"][0])
    dates, amounts = tx["交易日期"], tx["交易金额"]
    assert dates.str.match(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$").any()
    assert dates.str.match(r"^\d{4}/\d{1,2}/\d{1,2}$").any() and dates.str.match(r"^\d{8}$").any()
    assert dates.str.contains("年").any()
    assert amounts.str.contains(",").any() and amounts.str.startswith("￥").any()
    assert amounts.str.startswith("(").any()  # reversals in accounting brackets
    balances = _read(manifest.files["balances"][0])
    assert balances["余额"].str.contains("[０-９]").any()  # a few full-width digits
    customers = _read(manifest.files["customers"][0])
    assert customers["客户号"].str.startswith("0").any() and customers["客户号"].str.len().eq(9).all()


def test_utf8_bom_variant_has_bom_and_same_rows(clean_export):
    out, manifest = clean_export
    gbk, utf8 = manifest.files["interactions"][:2]
    assert utf8.read_bytes().startswith(b"\xef\xbb\xbf")
    pd.testing.assert_frame_equal(_read(gbk), _read(utf8, "utf-8-sig"))


def test_xlsx_has_title_row_header_and_real_date_cells(bank, clean_export):
    out, manifest = clean_export
    path = [p for p in manifest.files["holdings"] if p.suffix == ".xlsx"][0]
    reader = fastexcel.read_excel(path)
    raw = reader.load_sheet(0, header_row=None, dtypes="string").to_pandas()
    assert raw.iloc[0, 0] == "XX银行客户资产明细 2024年"
    assert raw.iloc[1].tolist() == list(HEADERS["holdings"])
    body = reader.load_sheet(0, header_row=1, dtypes="string").to_pandas()
    assert len(body) == bank["holdings"].num_rows
    assert body["客户号"].tolist() == bank["holdings"]["customer_id"].to_pylist()  # leading zeros kept
    opened = body["购买日期"]
    assert opened.str.endswith("00:00:00").any()  # real Excel date cells
    assert [parse_date(v) for v in opened] == bank["holdings"]["open_date"].to_pylist()


def test_bad_rows_manifest_is_exact(bank, tmp_path):
    n_bad = 18
    manifest = write_bank_export(bank, tmp_path, seed=9, n_bad=n_bad, xlsx=())
    assert sum(manifest.counts().values()) == n_bad
    assert manifest.counts() == {k: n_bad // len(BAD_KINDS) for k in BAD_KINDS}
    known = set(bank["customers"]["customer_id"].to_pylist())
    bad = {(b.table, b.row): b for b in manifest.bad}
    # every row is checked: the bad ones have exactly their defect, all others are clean
    tx = _read(manifest.files["transactions"][0])
    assert len(tx) == bank["transactions"].num_rows + manifest.counts().get("duplicate_transaction_id", 0) + sum(
        b.table == "transactions" and b.kind != "duplicate_transaction_id" for b in manifest.bad)
    seen: set[str] = set()
    for i, row in enumerate(tx.itertuples(index=False)):
        tid, cid, when = row[0], row[1], row[2]
        problems = []
        try:
            if parse_date(when) > AS_OF:
                problems.append("future_date")
        except ValueError:
            problems.append("unparseable_date")
        if cid == "":
            problems.append("missing_customer_id")
        elif cid not in known:
            problems.append("unknown_customer")
        if tid in seen:
            problems.append("duplicate_transaction_id")
        seen.add(tid)
        b = bad.get(("transactions", i))
        assert problems == ([b.kind] if b else []), (i, row, b)
    bal = _read(manifest.files["balances"][0])
    negative = [i for i, v in enumerate(bal["余额"]) if parse_amount(v) < 0]
    assert negative == sorted(b.row for b in manifest.bad if b.kind == "negative_balance")
    assert manifest.good_rows("balances") == bank["balances"].num_rows
    assert manifest.good_rows("transactions") == bank["transactions"].num_rows
    assert (tmp_path / "manifest.json").exists()


def test_bad_export_arguments(bank, tmp_path):
    with pytest.raises(UserInputError, match="unknown bad-row kind"):
        write_bank_export(bank, tmp_path, n_bad=1, bad_kinds=("typo",))
    with pytest.raises(UserInputError, match="need table"):
        write_bank_export({"customers": bank["customers"]}, tmp_path, n_bad=6)


def test_english_csv_round_trips_with_canonical_schema(bank, tmp_path):
    paths = write_english_csv(bank, tmp_path)
    for name, path in paths.items():
        schema = arrow_schema(name)
        back = pcsv.read_csv(path, convert_options=pcsv.ConvertOptions(column_types=schema, strings_can_be_null=True))
        assert back.equals(bank[name].cast(schema)), name
