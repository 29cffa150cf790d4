"""Formatted ``.xlsx`` workbooks, streamed row by row and split at Excel's row limit.

A :class:`Sheet` is a name, typed columns and an iterable of rows (tuples in column
order), so a million-row list is never held in memory: xlsxwriter's
``constant_memory`` mode writes each row to a temporary file as it comes. When a
sheet's rows exceed ``max_rows`` (Excel's 1,048,576 including the header), the rest
continue on ``Name (2)``, ``Name (3)``, … with the same header and formats.

Every sheet gets a bold header row that stays in view (frozen), an autofilter,
column widths, and number formats for money, shares, integers and dates. Strings
are written as text, never as formulas or links, so a cell such as ``=HYPERLINK(…)``
in imported data stays inert.

The caller passes the binary file object to write to (see ``tierwise.app.export``,
which makes the write atomic); nothing here opens files of its own.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import IO, Any, NamedTuple

import xlsxwriter

#: rows per worksheet in Excel (header included)
EXCEL_MAX_ROWS = 1_048_576
#: sheet names are at most 31 characters in Excel
MAX_NAME = 31

FORMATS = {
    "text": {},
    "int": {"num_format": "#,##0"},
    "money": {"num_format": "#,##0.00"},
    "pct": {"num_format": "0.0%"},
    "float": {"num_format": "0.000"},
    "date": {"num_format": "yyyy-mm-dd"},
    "datetime": {"num_format": "yyyy-mm-dd hh:mm"},
    "general": {"num_format": "#,##0.##"},
}
DEFAULT_WIDTH = {"text": 14, "int": 11, "money": 16, "pct": 10, "float": 11, "date": 12, "datetime": 17,
                 "general": 16}


@dataclass(frozen=True)
class Col:
    """A column: its header, the kind of its values (a key of ``FORMATS``) and an optional width."""

    header: str
    kind: str = "text"
    width: float | None = None


class Styled(NamedTuple):
    """A value with its own kind, for sheets whose rows mix kinds in one column (a summary)."""

    value: Any
    kind: str


@dataclass
class Sheet:
    name: str
    columns: list[Col]
    rows: Iterable[Sequence[Any]] = field(default_factory=list)


def text_width(text: str) -> float:
    """Display width in Excel character units: CJK characters count twice.

    >>> text_width("abc"), text_width("客户号")
    (3, 6)
    """
    return sum(2 if ord(ch) >= 0x2E80 else 1 for ch in text)


def part_name(name: str, part: int) -> str:
    """The name of the ``part``-th sheet of a list (1-based), within Excel's 31 characters.

    >>> part_name("Upgrade candidates", 1), part_name("Upgrade candidates", 2)
    ('Upgrade candidates', 'Upgrade candidates (2)')
    >>> len(part_name("x" * 40, 12))
    31
    """
    for ch in "[]:*?/\\":
        name = name.replace(ch, "_")
    suffix = "" if part == 1 else f" ({part})"
    return name[: MAX_NAME - len(suffix)] + suffix


def cell(value: Any) -> Any:
    """A value xlsxwriter writes natively (NaN and NULL become empty cells).

    >>> cell(Decimal("1.50")), cell(float("nan")), cell(3)
    (1.5, None, 3)
    """
    if value is None:
        return None
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (str, int, float, bool, date, datetime)):
        return value
    return str(value)


def write_workbook(target: IO[bytes], sheets: Iterable[Sheet], *, max_rows: int = EXCEL_MAX_ROWS,
                   tmpdir: str | None = None) -> list[dict]:
    """Write ``sheets`` to ``target`` (a binary file object); return each worksheet's name and data rows.

    ``max_rows`` counts the header row, as Excel does; tests inject a small limit.
    """
    if max_rows < 2:
        raise ValueError("max_rows must leave room for a header and one row")
    options = {"constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
               "strings_to_numbers": False, "default_date_format": "yyyy-mm-dd"}
    if tmpdir:
        options["tmpdir"] = tmpdir
    book = xlsxwriter.Workbook(target, options)
    header_fmt = book.add_format({"bold": True, "bg_color": "#DDE7F0", "bottom": 1, "text_wrap": True,
                                  "valign": "top"})
    formats = {kind: book.add_format(spec) for kind, spec in FORMATS.items()}
    written: list[dict] = []
    used: set[str] = set()
    try:
        for sheet in sheets:
            written += _write_sheet(book, sheet, formats, header_fmt, max_rows, used)
    finally:
        book.close()
    return written


def _new_part(book, sheet: Sheet, part: int, formats, header_fmt, used: set[str]):
    name = part_name(sheet.name, part)
    if name in used:
        raise ValueError(f"two sheets named {name!r}")
    used.add(name)
    ws = book.add_worksheet(name)
    for i, col in enumerate(sheet.columns):
        width = col.width or max(DEFAULT_WIDTH.get(col.kind, 14), min(text_width(col.header) + 2, 40))
        ws.set_column(i, i, width, formats[col.kind] if col.kind != "text" else None)
    ws.set_row(0, None, header_fmt)
    for i, col in enumerate(sheet.columns):
        ws.write_string(0, i, col.header, header_fmt)
    ws.freeze_panes(1, 0)
    return ws, name


def _write_sheet(book, sheet: Sheet, formats, header_fmt, max_rows: int, used: set[str]) -> list[dict]:
    ncols = len(sheet.columns)
    kinds = [c.kind for c in sheet.columns]
    part = 1
    ws, name = _new_part(book, sheet, part, formats, header_fmt, used)
    parts = []
    r = 0
    for row in sheet.rows:
        if r == max_rows - 1:
            ws.autofilter(0, 0, r, ncols - 1)
            parts.append({"sheet": name, "rows": r})
            part += 1
            ws, name = _new_part(book, sheet, part, formats, header_fmt, used)
            r = 0
        r += 1
        for c, value in enumerate(row):
            kind = kinds[c]
            if isinstance(value, Styled):
                value, kind = value
            value = cell(value)
            if value is None:
                continue
            fmt = formats[kind] if kind != "text" else None
            if isinstance(value, str):
                ws.write_string(r, c, value, fmt)
            elif isinstance(value, bool):
                ws.write_boolean(r, c, value, fmt)
            elif isinstance(value, (int, float)):
                ws.write_number(r, c, value, fmt)
            else:
                ws.write_datetime(r, c, value, fmt or formats["date"])
    ws.autofilter(0, 0, max(r, 1), ncols - 1)
    parts.append({"sheet": name, "rows": r})
    return parts
