"""The messy value formats of Chinese system exports, written vectorised with Arrow.

Dates come as ``2024-01-05``, ``2024/1/5``, ``20240105`` or ``2024年1月5日``; amounts
as ``1234.50``, ``1,234.50``, ``￥1,234.50`` or, rarely, in full-width digits
``１２３４.５０``; negative amounts as ``-1234.50`` or in accounting brackets
``(1,234.50)``. Each function takes a per-row style code so a file can mix them.

>>> import numpy as np
>>> from tierwise.samples.cncalendar import days_of
>>> from datetime import date
>>> d = np.full(4, days_of(date(2024, 1, 5)))
>>> format_dates(d, np.arange(4)).to_pylist()
['2024-01-05', '2024/1/5', '20240105', '2024年1月5日']
>>> format_money(np.array([123450, 5, -123450, 99]), np.array([1, 0, 1, 3])).to_pylist()
['1,234.50', '0.05', '(1,234.50)', '０.９９']
>>> format_money(np.array([123456789]), np.array([2]), yen="¥").to_pylist()
['¥1,234,567.89']
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .cncalendar import civil

__all__ = ["DATE_STYLES", "MONEY_STYLES", "format_dates", "format_money", "format_times"]

#: date styles by code
DATE_STYLES = ["%Y-%m-%d", "%Y/%-m/%-d", "%Y%m%d", "%Y年%-m月%-d日"]
#: amount styles by code (negative amounts in styles 1–2 use brackets)
MONEY_STYLES = ["1234.50", "1,234.50", "￥1,234.50", "full-width １２３４.５０"]
_FULL_WIDTH = {str(i): chr(0xFF10 + i) for i in range(10)}


def _text(values: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(np.asarray(values, dtype=np.int64)), pa.string())


def _pad(values: np.ndarray, width: int) -> pa.Array:
    return pc.utf8_lpad(_text(values), width, "0")


def format_dates(days: np.ndarray, style: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """Dates (days since 1970) as text in the per-row ``style`` (index of :data:`DATE_STYLES`)."""
    y, m, d = civil(days)
    ys, ms, ds, m2, d2 = _text(y), _text(m), _text(d), _pad(m, 2), _pad(d, 2)
    options = [
        pc.binary_join_element_wise(ys, m2, d2, "-"),
        pc.binary_join_element_wise(ys, ms, ds, "/"),
        pc.binary_join_element_wise(ys, m2, d2, ""),
        pc.binary_join_element_wise(ys, "年", ms, "月", ds, "日", ""),
    ]
    out = pc.choose(pa.array(np.asarray(style, dtype=np.int8)), *options)
    return out if valid is None else pc.if_else(pa.array(valid), out, pa.scalar("", pa.string()))


def format_times(micros: np.ndarray, style: np.ndarray) -> pa.Array:
    """Timestamps: style 0 as ``2024-01-05 10:23:11``, other styles as the date alone."""
    days = np.floor_divide(micros, 86_400_000_000)
    seconds = (micros - days * 86_400_000_000) // 1_000_000
    clock = pc.binary_join_element_wise(_pad(seconds // 3600, 2), _pad(seconds // 60 % 60, 2), _pad(seconds % 60, 2), ":")
    date_text = format_dates(days, style)
    with_clock = pc.binary_join_element_wise(date_text, clock, " ")
    return pc.if_else(pa.array(np.asarray(style) == 0), with_clock, date_text)


def _grouped(units: np.ndarray) -> pa.Array:
    """Non-negative integers with thousands separators (up to 10^15)."""
    groups = [units // 10**k % 1000 for k in (12, 9, 6, 3, 0)]
    size = np.select([units >= 10**12, units >= 10**9, units >= 10**6, units >= 10**3], [0, 1, 2, 3], 4)
    options = []
    for first in range(5):  # the text when the leading group is groups[first]
        parts = [_text(groups[first])] + [_pad(g, 3) for g in groups[first + 1:]]
        options.append(parts[0] if len(parts) == 1 else pc.binary_join_element_wise(*parts, ","))
    return pc.choose(pa.array(size.astype(np.int8)), *options)


def format_money(cents: np.ndarray, style: np.ndarray, *, yen: str = "￥", valid: np.ndarray | None = None) -> pa.Array:
    """Amounts in integer cents as text in the per-row ``style`` (index of :data:`MONEY_STYLES`).

    ``yen`` is the currency sign of style 2: ``￥`` (full-width, the one GBK has) or ``¥``.
    """
    cents = np.asarray(cents, dtype=np.int64)
    style = np.asarray(style, dtype=np.int8)
    units, frac = np.abs(cents) // 100, _pad(np.abs(cents) % 100, 2)
    plain = pc.binary_join_element_wise(_text(units), frac, ".")
    grouped = pc.binary_join_element_wise(_grouped(units), frac, ".")
    body = pc.choose(pa.array(np.minimum(style, 3)), plain, grouped, grouped, plain)
    negative = cents < 0
    signed = pc.if_else(
        pa.array(negative & (style >= 1) & (style <= 2)),
        pc.binary_join_element_wise("(", body, ")", ""),
        pc.if_else(pa.array(negative), pc.binary_join_element_wise("-", body, ""), body),
    )
    out = pc.if_else(pa.array((style == 2) & ~negative), pc.binary_join_element_wise(yen, signed, ""), signed)
    full = np.flatnonzero(style == 3)
    if len(full):  # rare rows: Python per row is fine here
        values = out.to_pylist()
        for i in full:
            values[i] = "".join(_FULL_WIDTH.get(ch, ch) for ch in values[i])
        out = pa.array(values, pa.string())
    return out if valid is None else pc.if_else(pa.array(valid), out, pa.scalar("", pa.string()))
