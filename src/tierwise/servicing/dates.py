"""Vectorised date arithmetic on ``int64`` days since 1970-01-01 (Arrow ``date32`` values).

>>> import numpy as np
>>> from datetime import date
>>> from tierwise.servicing.calendar import day_number, from_day_number
>>> d = np.array([day_number(date(2024, 1, 31)), day_number(date(2023, 11, 30))])
>>> [from_day_number(x) for x in add_months(d, 1)]
[datetime.date(2024, 2, 29), datetime.date(2023, 12, 30)]
>>> feb29 = np.array([day_number(date(1992, 2, 29))])
>>> [from_day_number(x) for x in birthday_in_year(feb29, np.array([2025]), "feb28")]
[datetime.date(2025, 2, 28)]
>>> [from_day_number(x) for x in birthday_in_year(feb29, np.array([2025]), "mar1")]
[datetime.date(2025, 3, 1)]
"""

from __future__ import annotations

from datetime import date, datetime, time

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

NULL_DAY = np.iinfo(np.int64).min


def days_of(arr: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """date32 (or timestamp) values as int64 days; NULL as :data:`NULL_DAY`."""
    if pa.types.is_timestamp(arr.type):
        arr = pc.cast(arr, pa.date32())
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    vals = pc.fill_null(arr.cast(pa.int32()), 0).to_numpy(zero_copy_only=False).astype(np.int64)
    if arr.null_count:
        vals[arr.is_null().to_numpy(zero_copy_only=False)] = NULL_DAY
    return vals


def ymd(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    d = np.asarray(days, dtype="int64").astype("datetime64[D]")
    y = d.astype("datetime64[Y]")
    m = d.astype("datetime64[M]")
    return (y.astype(np.int64) + 1970, (m - y.astype("datetime64[M]")).astype(np.int64) + 1,
            (d - m.astype("datetime64[D]")).astype(np.int64) + 1)


def month_length(year: np.ndarray, month: np.ndarray) -> np.ndarray:
    first = ((np.asarray(year) - 1970) * 12 + np.asarray(month) - 1).astype("datetime64[M]")
    return ((first + 1).astype("datetime64[D]") - first.astype("datetime64[D]")).astype(np.int64)


def from_ymd(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    first = ((np.asarray(year) - 1970) * 12 + np.asarray(month) - 1).astype("datetime64[M]").astype("datetime64[D]")
    return first.astype(np.int64) + np.asarray(day) - 1


def add_months(days: np.ndarray, months: np.ndarray | int) -> np.ndarray:
    """Same day of the month ``months`` later, clipped to the month's end (31 Jan + 1 → 29 Feb)."""
    y, m, d = ymd(days)
    total = (y - 1970) * 12 + (m - 1) + np.asarray(months, dtype=np.int64)
    ny, nm = total // 12 + 1970, total % 12 + 1
    return from_ymd(ny, nm, np.minimum(d, month_length(ny, nm)))


def months_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Whole months from ``a`` to ``b`` (``add_months(a, k) <= b`` for the result ``k``)."""
    ya, ma, da = ymd(a)
    yb, mb, db = ymd(b)
    k = (yb - ya) * 12 + (mb - ma)
    return k - (add_months(a, k) > b)


def birthday_in_year(birthday: np.ndarray, year: np.ndarray, feb29: str = "feb28") -> np.ndarray:
    """The birthday's date in ``year``; 29 February becomes 28 Feb or 1 Mar in other years."""
    _, m, d = ymd(birthday)
    year = np.asarray(year, dtype=np.int64)
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    offset = d - 1
    moved = (m == 2) & (d == 29) & ~leap
    offset = np.where(moved, 27 if feb29 == "feb28" else 28, offset)   # Feb + 28 days = 1 Mar in a common year
    return from_ymd(year, m, np.ones_like(m)) + offset


def iso(days: np.ndarray) -> pa.Array:
    """ISO text (YYYY-MM-DD) of days; NULL for :data:`NULL_DAY`."""
    days = np.asarray(days, dtype=np.int64)
    mask = days == NULL_DAY
    arr = pa.array(np.where(mask, 0, days).astype(np.int32), pa.int32(), mask=mask).cast(pa.date32())
    return pc.strftime(arr, "%Y-%m-%d")


def at_hour(days: np.ndarray, hour: int) -> np.ndarray:
    """datetime64[s] at ``hour`` o'clock of each day."""
    return np.asarray(days, dtype=np.int64).astype("datetime64[D]").astype("datetime64[s]") + np.timedelta64(hour * 3600, "s")


def to_datetime64(value: datetime) -> np.datetime64:
    return np.datetime64(value.replace(tzinfo=None), "s")


def combine(d: date, hour: int) -> datetime:
    return datetime.combine(d, time(hour))
