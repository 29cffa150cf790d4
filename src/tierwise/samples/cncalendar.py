"""Vectorised calendar arithmetic on days since 1970-01-01, and Chinese public holidays.

Dates are held as ``int`` days since the epoch (Arrow's ``date32``), so months can be
added to millions of dates at once with Howard Hinnant's civil-date algorithms.

``CN_HOLIDAYS`` lists the main mainland-China public holidays 2019–2027 (New Year,
Spring Festival, Qingming, Labour Day, Dragon Boat, Mid-Autumn, National Day). It is
approximate (make-up working days are ignored) and is meant for synthetic data only:
the bank generator uses it to make some product maturities fall on a holiday.

>>> import numpy as np
>>> from datetime import date
>>> d = days_of(date(2024, 1, 31))
>>> civil(add_months(np.array([d]), 1))  # clipped to the end of February
(array([2024]), array([2]), array([29]))
>>> bool(is_holiday(np.array([days_of(date(2024, 10, 3))]))[0])
True
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np

__all__ = ["CN_HOLIDAYS", "add_months", "civil", "day_of", "days_from_civil", "days_of", "is_holiday", "month_end"]

_EPOCH = date(1970, 1, 1)


def days_of(d: date) -> int:
    """Days since 1970-01-01 of one date."""
    return (d - _EPOCH).days


def day_of(days: int) -> date:
    """The date ``days`` after 1970-01-01."""
    return _EPOCH + timedelta(days=int(days))


def days_from_civil(y: np.ndarray, m: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 of (year, month, day) arrays."""
    y = np.asarray(y, dtype=np.int64) - (np.asarray(m) <= 2)
    m = np.asarray(m, dtype=np.int64)
    era = np.floor_divide(y, 400)
    yoe = y - era * 400
    doy = (153 * (m + np.where(m > 2, -3, 9)) + 2) // 5 + np.asarray(d, dtype=np.int64) - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def civil(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(year, month, day) arrays of days since 1970-01-01."""
    z = np.asarray(days, dtype=np.int64) + 719468
    era = np.floor_divide(z, 146097)
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = np.where(mp < 10, mp + 3, mp - 9)
    return yoe + era * 400 + (m <= 2), m, d


def _days_in_month(y: np.ndarray, m: np.ndarray) -> np.ndarray:
    nxt_y = np.where(m == 12, y + 1, y)
    nxt_m = np.where(m == 12, 1, m + 1)
    return days_from_civil(nxt_y, nxt_m, np.ones_like(m)) - days_from_civil(y, m, np.ones_like(m))


def add_months(days: np.ndarray, months: np.ndarray | int) -> np.ndarray:
    """Add calendar months, clipping the day to the end of the target month."""
    y, m, d = civil(days)
    total = y * 12 + (m - 1) + np.asarray(months, dtype=np.int64)
    ny, nm = np.floor_divide(total, 12), total % 12 + 1
    return days_from_civil(ny, nm, np.minimum(d, _days_in_month(ny, nm)))


def month_end(days: np.ndarray) -> np.ndarray:
    """The last day of the month of each date."""
    y, m, _ = civil(days)
    return days_from_civil(y, m, _days_in_month(y, m))


def _span(start: str, n: int) -> list[date]:
    first = date.fromisoformat(start)
    return [first + timedelta(days=i) for i in range(n)]


# (first day, length) of each holiday period; approximate official calendars
_PERIODS = [
    ("2019-01-01", 1), ("2019-02-04", 7), ("2019-04-05", 3), ("2019-05-01", 4), ("2019-06-07", 3),
    ("2019-09-13", 3), ("2019-10-01", 7),
    ("2020-01-01", 1), ("2020-01-24", 10), ("2020-04-04", 3), ("2020-05-01", 5), ("2020-06-25", 3),
    ("2020-10-01", 8),
    ("2021-01-01", 3), ("2021-02-11", 7), ("2021-04-03", 3), ("2021-05-01", 5), ("2021-06-12", 3),
    ("2021-09-19", 3), ("2021-10-01", 7),
    ("2022-01-01", 3), ("2022-01-31", 7), ("2022-04-03", 3), ("2022-04-30", 5), ("2022-06-03", 3),
    ("2022-09-10", 3), ("2022-10-01", 7),
    ("2023-01-01", 2), ("2023-01-21", 7), ("2023-04-05", 1), ("2023-04-29", 5), ("2023-06-22", 3),
    ("2023-09-29", 8),
    ("2024-01-01", 1), ("2024-02-10", 8), ("2024-04-04", 3), ("2024-05-01", 5), ("2024-06-10", 1),
    ("2024-09-15", 3), ("2024-10-01", 7),
    ("2025-01-01", 1), ("2025-01-28", 8), ("2025-04-04", 3), ("2025-05-01", 5), ("2025-05-31", 3),
    ("2025-10-01", 8),
    ("2026-01-01", 3), ("2026-02-15", 9), ("2026-04-04", 3), ("2026-05-01", 5), ("2026-06-19", 3),
    ("2026-09-25", 3), ("2026-10-01", 7),
    ("2027-01-01", 3), ("2027-02-05", 8), ("2027-04-03", 3), ("2027-05-01", 5), ("2027-06-09", 3),
    ("2027-09-15", 3), ("2027-10-01", 7),
]

#: sorted days since 1970-01-01 of the mainland-China public holidays 2019–2027
CN_HOLIDAYS: np.ndarray = np.unique(np.array([days_of(d) for s, n in _PERIODS for d in _span(s, n)], dtype=np.int64))


def is_holiday(days: np.ndarray) -> np.ndarray:
    """True where the date is in :data:`CN_HOLIDAYS`."""
    return np.isin(np.asarray(days, dtype=np.int64), CN_HOLIDAYS)
