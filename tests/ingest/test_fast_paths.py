"""The fast paths of the import are exact: they never give a value the general rules would not.

Validation parses each column with a cheap fast parser and runs the general parser
(``values.PARSERS``) only on what the fast one leaves; it skips ``trim`` for plain ASCII text
with no space at either end; row numbers come from a scan for blank lines. Each is checked
here against an independent definition: the general parser itself, ``nullif(trim(...), '')``
written out, and splitting the file into lines in Python.
"""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tierwise.engine import connect_duckdb
from tierwise.ingest import values as V
from tierwise.ingest.sources import _blank_lines

# characters real exports put in numbers and dates, and the ones that break them
NUMERIC = "0123456789" * 3 + ",.-+ ()¥$元%eE/:T年月日０１２３４５６７８９，．\u3000"
#: every character DuckDB's trim removes (the Unicode space separators), and some it does not
SPACES = " \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000\t\n\r\x0b"

TRICKY = [
    "", " ", "0", "-0", "+0", "00", "007", "1", "-1", "+1", "12.", ".5", "1.5", "1.50", "1.505", "-1.505",
    "1,234", "1,234.5", "1,234.50", "1,234.505", "-1,234.50", "+1,234.50", "12,34", "1,2345", ",123", "1,,234",
    "1,234,567.89", "999,999,999,999,999.99", "9,999,999,999,999,999.99", "99999999999999999.99",
    "9999999999999999.995", "999999999999999999", "9999999999999999999", "-999999999999999999",
    "123456789012345678", "1234567890123456789", "1e3", "1E-2", "4.5%", "(5)", "(1,234.50)", "5-", "¥1,234.50",
    "1,234.0049999", "-1,234.9949999", "1,234.995", "1.0049999", "1 234", "１２３", "2024-01-05", "2024-1-5", "2024/1/5", "2024/01/05", "20240105", "2024-01-05 13:04:05",
    "2024-01-05 24:00:00", "2024-02-30", "2023-02-29", "2024-02-29", "0000-01-01", "9999-12-31", "2024-13-01",
    "2024/13/1", "20241301", "20240230", "45296", "45296.5", "2024年1月5日", "2024.1.5", "2024-01-05T13:04:05",
]


@pytest.fixture(scope="module")
def con():
    c = connect_duckdb()
    yield c
    c.close()


def _compare(con, kind: str, values: list[str]) -> None:
    """fast(v) is NULL or the general value; fast-then-general equals general, for every value."""
    fast = V.FAST[kind]("v")
    general = V.PARSERS[kind]("v")
    layered = f"coalesce({fast}, {V.PARSERS[kind]('r')})"
    con.execute("CREATE OR REPLACE TEMP TABLE t AS SELECT unnest(?::VARCHAR[]) AS v", [values])
    bad = con.execute(f"""
        SELECT v, f, g, l FROM (
            SELECT v, f, g, {layered.replace('"r"', 'r')} AS l
            FROM (SELECT v, f, g, CASE WHEN f IS NULL THEN v END AS r FROM (SELECT v, {fast} AS f, {general} AS g FROM t)))
        WHERE (f IS NOT NULL AND f IS DISTINCT FROM g) OR l IS DISTINCT FROM g""").fetchall()
    assert bad == [], f"{kind}: fast path differs from the general parser: {bad[:5]}"


@pytest.mark.parametrize("kind", sorted(V.FAST))
def test_fast_parsers_agree_with_the_general_ones_on_edge_cases(con, kind):
    _compare(con, kind, TRICKY + [s.strip() for s in TRICKY])


@pytest.mark.parametrize("kind", sorted(V.FAST))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(st.text(alphabet=NUMERIC, max_size=24), min_size=1, max_size=300))
def test_fast_parsers_agree_with_the_general_ones_on_any_text(con, kind, values):
    _compare(con, kind, values)


#: numbers as exports write them: signs, thousands groups, decimals that round either way
SHAPED = st.builds(
    lambda sign, head, groups, point, frac: sign + head + "".join("," + g for g in groups) + point + frac,
    st.sampled_from(["", "-", "+"]), st.text(alphabet="0123456789", min_size=1, max_size=4),
    st.lists(st.text(alphabet="0123456789", min_size=2, max_size=4), max_size=6), st.sampled_from(["", ".", ","]),
    st.text(alphabet="0459", max_size=9))


@pytest.mark.parametrize("kind", ["money", "integer", "number"])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(SHAPED, min_size=1, max_size=300))
def test_fast_parsers_agree_with_the_general_ones_on_shaped_numbers(con, kind, values):
    _compare(con, kind, values)


def test_fast_paths_answer_for_the_common_shapes(con):
    # not only exact, also used: these shapes must not fall through to the general parser
    for kind, value in [("money", "1234.50"), ("money", "-1,234.50"), ("integer", "-42"), ("number", "3.25"),
                        ("timestamp", "2024-01-05 13:04:05"), ("timestamp", "2024/1/5"), ("date", "20240105")]:
        got = con.execute(f"SELECT {V.FAST[kind]('v')} FROM (SELECT ?::VARCHAR AS v)", [value]).fetchone()[0]
        assert got is not None, (kind, value)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(st.text(alphabet=SPACES + "ab1２，", max_size=6), min_size=1, max_size=200))
def test_cleaning_skips_trim_only_when_trim_changes_nothing(con, values):
    con.execute("CREATE OR REPLACE TEMP TABLE t AS SELECT unnest(?::VARCHAR[]) AS v", [values + [None]])
    trimmed = "nullif(trim(v), '')"
    translated = (f"nullif(trim(CASE WHEN strlen(v) = length(v) THEN v "
                  f"ELSE translate(v, '{V.FULL_WIDTH}', '{V.HALF_WIDTH}') END), '')")
    bad = con.execute(f"SELECT v FROM t WHERE {V.text('v')} IS DISTINCT FROM {trimmed} "
                      f"OR {V.clean('v')} IS DISTINCT FROM {translated}").fetchall()
    assert bad == []


def _lines_oracle(data: bytes) -> list[int]:
    # a line is what ends in a line break; blank: nothing before the break but an optional CR
    return [i + 1 for i, line in enumerate(data.split(b"\n")[:-1]) if line in (b"", b"\r")]


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=80).map(lambda b: bytes(b"\n\r,a"[x % 4] for x in b)))
def test_blank_lines_are_found_where_splitting_finds_them(tmp_path_factory, data):
    p = tmp_path_factory.mktemp("blank") / "f.csv"
    p.write_bytes(data)
    assert list(_blank_lines(p)) == _lines_oracle(data)


def test_blank_lines_by_hand(tmp_path):
    p = tmp_path / "f.csv"
    p.write_bytes(b"\r\nh\n\n\na,b\r\n\r\nc\n\r")
    assert list(_blank_lines(p)) == [1, 3, 4, 6]  # the final "\r" has no line break: not a line
    p.write_bytes(b"")
    assert list(_blank_lines(p)) == []


# ----------------------------------------------------------------------------- Excel, parsed once
HEADER_CELLS = ["客户号", "交易金额", "a", "a_1", "a_2", "b", " c ", "__x", "", None, 7, 2.5, True,
                datetime(2024, 1, 5), "true", "#N/A", "2024-01-05", "__UNNAMED__1"]


def _write_sheet(path, rows) -> None:
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("s")
    datefmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    for i, row in enumerate(rows):
        for j, v in enumerate(row):
            if v is None:
                continue
            if isinstance(v, datetime):
                ws.write_datetime(i, j, v, datefmt)
            elif isinstance(v, bool):
                ws.write_boolean(i, j, v)
            elif isinstance(v, (int, float)):
                ws.write_number(i, j, v)
            else:
                ws.write_string(i, j, v)
    wb.close()


CELLS = st.one_of(st.none(), st.sampled_from(["x", "", "1,234.50", "2024/1/5", "客户号", "交易金额"]), st.integers(-5, 5))


@settings(max_examples=60, deadline=None)
@given(above=st.lists(st.lists(CELLS, max_size=6), max_size=3), indent=st.integers(0, 2),
       header=st.lists(st.sampled_from(HEADER_CELLS), min_size=1, max_size=6),
       body=st.lists(st.lists(CELLS, max_size=7), max_size=5))
def test_a_sheet_parsed_once_reads_as_the_reader_reads_it(tmp_path_factory, above, indent, header, body):
    # the import parses a sheet once and takes the header and the rows below it from that one
    # parse; it must get what the reader itself returns when told which row is the header
    import fastexcel

    from tierwise.ingest.sources import _load_excel

    path = tmp_path_factory.mktemp("xlsx") / "t.xlsx"
    _write_sheet(path, above + [[None] * indent + header] + [[None] * indent + row for row in body])
    try:
        got, _, header_idx = _load_excel(path, {"客户号", "交易金额"}, None)
    except Exception:  # an empty sheet and the like: the reader must fail on it too
        with pytest.raises(Exception):
            fastexcel.read_excel(str(path)).load_sheet(0, header_row=0, dtypes="string").to_arrow()
        return
    want = fastexcel.read_excel(str(path)).load_sheet(0, header_row=header_idx, dtypes="string").to_arrow()
    assert got.column_names == want.column_names
    assert got.to_pylist() == want.to_pylist()


def test_a_plain_sheet_is_parsed_once(tmp_path, monkeypatch):
    import fastexcel

    from tierwise.ingest.sources import _load_excel

    path = tmp_path / "t.xlsx"
    _write_sheet(path, [["XX银行交易明细 2024年"], ["客户号", "交易金额", "备注"], ["000123", 5, None]])
    loads = []
    original = fastexcel.ExcelReader.load_sheet
    monkeypatch.setattr(fastexcel.ExcelReader, "load_sheet", lambda self, *a, **kw: loads.append(kw) or original(self, *a, **kw))
    tbl, sheet, header_idx = _load_excel(path, {"客户号", "交易金额"}, None)
    assert (len(loads), sheet, header_idx) == (1, "s", 1)
    assert tbl.column_names == ["客户号", "交易金额", "备注"] and tbl.to_pylist() == [
        {"客户号": "000123", "交易金额": "5", "备注": None}]
