"""Workbooks read back with openpyxl (and fastexcel for the million-row sheet): values, formats,
frozen headers, filters, widths, and the split at the row limit."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import openpyxl
import pytest

from tierwise.reports.workbook import EXCEL_MAX_ROWS, Col, Sheet, Styled, part_name, write_workbook


def _book(sheets, **kw):
    buf = io.BytesIO()
    written = write_workbook(buf, sheets, **kw)
    buf.seek(0)
    return written, openpyxl.load_workbook(buf)


def test_values_formats_and_layout_read_back():
    cols = [Col("客户号"), Col("金额", "money"), Col("占比", "pct"), Col("次数", "int"), Col("日期", "date"),
            Col("note", width=33)]
    rows = [("001", Decimal("1234.50"), 0.125, 3, date(2024, 12, 31), "=HYPERLINK(\"http://x\")"),
            ("002", float("nan"), None, 0, None, "http://example.com")]
    written, wb = _book([Sheet("客户", cols, rows)])
    assert written == [{"sheet": "客户", "rows": 2}]
    ws = wb["客户"]
    assert [c.value for c in ws[1]] == ["客户号", "金额", "占比", "次数", "日期", "note"]
    assert ws[1][0].font.bold
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == "A1:F3"
    r2 = ws[2]
    assert r2[0].value == "001" and r2[0].data_type == "s"          # ids stay text
    assert r2[1].value == 1234.5 and r2[1].number_format == "#,##0.00"
    assert r2[2].value == 0.125 and r2[2].number_format == "0.0%"
    assert r2[3].value == 3 and r2[3].number_format == "#,##0"
    assert r2[4].value.date() == date(2024, 12, 31) and r2[4].number_format == "yyyy-mm-dd"
    assert r2[5].value == '=HYPERLINK("http://x")' and r2[5].data_type == "s"   # never a formula
    assert ws[3][1].value is None and ws[3][2].value is None           # NaN and NULL are empty
    assert ws[3][5].hyperlink is None                                  # never a link
    assert ws.column_dimensions["F"].width == pytest.approx(33, abs=1)
    assert ws.column_dimensions["B"].width >= 16


def test_rows_split_across_sheets_at_the_limit():
    rows = [(i, f"r{i}") for i in range(11)]
    written, wb = _book([Sheet("List", [Col("n", "int"), Col("name")], iter(rows))], max_rows=5)
    # 5 rows per sheet including the header: 4 data rows each
    assert written == [{"sheet": "List", "rows": 4}, {"sheet": "List (2)", "rows": 4}, {"sheet": "List (3)", "rows": 3}]
    assert wb.sheetnames == ["List", "List (2)", "List (3)"]
    back = []
    for ws in wb:
        assert [c.value for c in ws[1]] == ["n", "name"] and ws.freeze_panes == "A2"
        assert ws.auto_filter.ref == f"A1:B{ws.max_row}"
        back += [tuple(c.value for c in r) for r in ws.iter_rows(min_row=2)]
    assert back == rows


def test_exactly_full_sheet_does_not_open_an_empty_one():
    written, wb = _book([Sheet("L", [Col("n", "int")], [(i,) for i in range(4)])], max_rows=5)
    assert written == [{"sheet": "L", "rows": 4}] and wb.sheetnames == ["L"]


def test_styled_cells_mix_kinds_in_one_column_and_empty_sheets_keep_their_header():
    written, wb = _book([Sheet("S", [Col("k"), Col("v", "general")],
                               [("n", Styled(12345, "int")), ("m", Styled(0.5, "pct"))]),
                         Sheet("E", [Col("only")], [])])
    ws = wb["S"]
    assert ws["B2"].number_format == "#,##0" and ws["B3"].number_format == "0.0%"
    assert [c.value for c in wb["E"][1]] == ["only"] and written[-1] == {"sheet": "E", "rows": 0}


def test_sheet_names_fit_excel():
    assert part_name("a/b:c", 1) == "a_b_c"
    assert len(part_name("很长的工作表名称" * 5, 3)) == 31
    with pytest.raises(ValueError):
        _book([Sheet("x", [Col("a")]), Sheet("x", [Col("a")])])


@pytest.mark.slow
def test_a_million_row_sheet_is_streamed_and_split(tmp_path):
    """Excel's limit for real: 1,048,575 data rows fit on the first sheet, the rest go to the second."""
    import fastexcel

    n = EXCEL_MAX_ROWS + 10  # ten rows more than one sheet holds (with its header)
    path = tmp_path / "big.xlsx"
    with open(path, "wb") as fh:
        written = write_workbook(fh, [Sheet("Big", [Col("n", "int")], ((i,) for i in range(n)))],
                                 tmpdir=str(tmp_path))
    assert written == [{"sheet": "Big", "rows": EXCEL_MAX_ROWS - 1}, {"sheet": "Big (2)", "rows": 11}]
    reader = fastexcel.read_excel(path)
    first = reader.load_sheet(0).to_arrow()
    second = reader.load_sheet(1).to_arrow()
    assert first.num_rows == EXCEL_MAX_ROWS - 1 and second.num_rows == 11
    assert first.column(0)[0].as_py() == 0 and first.column(0)[-1].as_py() == EXCEL_MAX_ROWS - 2
    assert second.column(0).to_pylist() == list(range(EXCEL_MAX_ROWS - 1, n))
