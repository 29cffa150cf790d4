"""Synthetic personal attributes: birthdays, mobile numbers, ID numbers, cities.

All values are synthetic. Mobile numbers use real mainland prefixes (``138`` ...)
followed by random digits; 18-digit resident ID numbers have a real-looking area code,
the birthday, a sequence whose parity encodes gender (odd = male) and a valid ISO
7064 MOD 11-2 check digit, so validators accept them but they identify nobody.

>>> id_check_digit("11010519491231002")
'X'
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> ph = phones(rng, 2).to_pylist()
>>> [len(p) for p in ph], all(p[0] == "1" for p in ph)
([11, 11], True)
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from .arrays import digit_matrix, from_bytes
from .cncalendar import civil, days_from_civil

__all__ = ["CITIES", "birthdays", "id_check_digit", "id_numbers", "phones"]

#: (city, district area code used in ID numbers, weight)
CITIES: list[tuple[str, int, float]] = [
    ("上海", 310115, 12), ("北京", 110105, 12), ("深圳", 440305, 9), ("广州", 440106, 8), ("杭州", 330106, 7),
    ("南京", 320102, 6), ("成都", 510107, 7), ("武汉", 420106, 6), ("苏州", 320505, 6), ("西安", 610113, 5),
    ("重庆", 500103, 6), ("天津", 120101, 5), ("长沙", 430104, 4), ("郑州", 410105, 4), ("青岛", 370202, 4),
    ("宁波", 330203, 3),
]
_PREFIXES = [138, 139, 137, 136, 135, 150, 151, 158, 159, 186, 187, 188, 189, 133, 177, 182, 199]
_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
_CHECK = np.frombuffer(b"10X98765432", dtype=np.uint8)


def id_check_digit(first17: str) -> str:
    """Check character of an 18-digit Chinese resident ID (GB 11643, ISO 7064 MOD 11-2)."""
    total = sum(int(c) * int(w) for c, w in zip(first17, _WEIGHTS, strict=True))
    return chr(_CHECK[total % 11])


def phones(rng: np.random.Generator, n: int) -> pa.Array:
    """11-digit synthetic mobile numbers such as ``13812345678``."""
    prefix = np.array(_PREFIXES, dtype=np.int64)[rng.integers(0, len(_PREFIXES), n)]
    return from_bytes(digit_matrix(prefix * 10**8 + rng.integers(0, 10**8, n), 11))


def birthdays(
    rng: np.random.Generator, as_of_day: int, n: int, *, min_age: int = 18, mean_age: float = 44.0,
    leap_share: float = 0.003,
) -> np.ndarray:
    """Birthdays (days since 1970) for adults; about ``leap_share`` fall on 29 February.

    Ages are normal(mean_age, 14) clipped to [min_age, 88]. A fixed share (at least one
    when ``n >= 300``) is moved to 29 February of a leap year, the case that breaks
    naive birthday reminders.
    """
    age_years = np.clip(rng.normal(mean_age, 14.0, n), min_age + 0.01, 88.0)
    days = as_of_day - (age_years * 365.2425).astype(np.int64)
    leap = rng.random(n) < leap_share
    if n >= 300 and not leap.any():
        leap[rng.integers(0, n)] = True
    y, _, _ = civil(days)
    ly = y - y % 4 - 4  # a leap year (1904..2096) a few years earlier, so still an adult
    ly = np.where(ly % 100 == 0, ly - 4, ly)
    feb29 = days_from_civil(ly, np.full(n, 2), np.full(n, 29))
    return np.where(leap, feb29, days)


def id_numbers(area: np.ndarray, birth_days: np.ndarray, male: np.ndarray, rng: np.random.Generator) -> pa.Array:
    """18-digit ID numbers: area code, YYYYMMDD birthday, sequence (odd = male), check digit."""
    n = len(area)
    y, m, d = civil(birth_days)
    seq = rng.integers(0, 500, n) * 2 + np.asarray(male, dtype=np.int64)
    number = (np.asarray(area, dtype=np.int64) * 10**8 + y * 10**4 + m * 100 + d) * 1000 + seq
    digits = digit_matrix(number, 17)
    total = ((digits.astype(np.int64) - 48) * _WEIGHTS).sum(axis=1)
    return from_bytes(np.concatenate([digits, _CHECK[total % 11][:, None]], axis=1))
