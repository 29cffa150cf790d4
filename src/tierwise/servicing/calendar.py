"""Business days: weekends, public holidays and make-up working days (调休上班).

Dates are handled one at a time (:meth:`BusinessCalendar.roll`) or vectorised as ``int``
days since 1970-01-01 (Arrow's ``date32``) over a precomputed sorted array of business
days, so millions of due dates cost a binary search each.

>>> from datetime import date
>>> cal = china_calendar(2024)
>>> cal.is_business_day(date(2024, 10, 1)), cal.is_business_day(date(2024, 10, 12))   # National Day; 调休 Saturday
(False, True)
>>> cal.roll(date(2024, 10, 3), "previous"), cal.roll(date(2024, 10, 3), "next")
(datetime.date(2024, 9, 30), datetime.date(2024, 10, 8))
>>> cal.add_business_days(date(2024, 9, 27), 2)       # Fri → Sun 29 Sep is a make-up working day
datetime.date(2024, 9, 30)
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np

EPOCH = date(1970, 1, 1)


def day_number(d: date) -> int:
    return (d - EPOCH).days


def from_day_number(n: int) -> date:
    return EPOCH + timedelta(days=int(n))


@dataclass(frozen=True)
class BusinessCalendar:
    """Non-business days are the weekend days and ``holidays``; ``workdays`` are business days
    even when they fall on a weekend or a holiday. ``names`` maps a holiday to its name."""

    first: date
    last: date
    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()
    weekend: frozenset[int] = frozenset({5, 6})
    names: dict[date, str] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        days = np.arange(day_number(self.first), day_number(self.last) + 1, dtype=np.int64)
        weekday = (days + 3) % 7                      # 1970-01-01 was a Thursday (3)
        ok = ~np.isin(weekday, list(self.weekend))
        ok &= ~np.isin(days, [day_number(d) for d in self.holidays])
        ok |= np.isin(days, [day_number(d) for d in self.workdays])
        object.__setattr__(self, "_business", days[ok])

    # ---------------------------------------------------------------- one date
    def is_business_day(self, d: date) -> bool:
        if d in self.workdays:
            return True
        return d.weekday() not in self.weekend and d not in self.holidays

    def roll(self, d: date, how: str = "previous") -> date:
        """``d`` if it is a business day, else the previous (or next) business day."""
        return from_day_number(int(self.roll_days(np.array([day_number(d)]), how)[0]))

    def add_business_days(self, d: date, n: int) -> date:
        """The ``n``-th business day after ``d`` (``n`` ≥ 1), or before it for negative ``n``."""
        return from_day_number(int(self.add_business_days_array(np.array([day_number(d)]), n)[0]))

    # ---------------------------------------------------------------- vectorised
    def _check(self, days: np.ndarray) -> None:
        if days.size and (days.min() < day_number(self.first) + 40 or days.max() > day_number(self.last) - 40):
            lo, hi = from_day_number(int(days.min())), from_day_number(int(days.max()))
            raise ValueError(f"dates {lo} … {hi} are outside the calendar {self.first} … {self.last}")

    def roll_days(self, days: np.ndarray, how: str = "previous") -> np.ndarray:
        days = np.asarray(days, dtype=np.int64)
        self._check(days)
        b = self._business
        if how == "previous":
            return b[np.searchsorted(b, days, side="right") - 1]
        if how == "next":
            return b[np.searchsorted(b, days, side="left")]
        raise ValueError(f"roll must be 'previous' or 'next', not {how!r}")

    def add_business_days_array(self, days: np.ndarray, n: int | np.ndarray) -> np.ndarray:
        days = np.asarray(days, dtype=np.int64)
        self._check(days)
        b = self._business
        n = np.asarray(n, dtype=np.int64)
        after = np.searchsorted(b, days, side="right") + n - 1      # n-th business day after
        before = np.searchsorted(b, days, side="left") + n          # n < 0: |n|-th business day before
        return b[np.where(n >= 0, after, before)]

    def holidays_named(self, name: str) -> list[date]:
        """First day of each run of consecutive holidays carrying ``name``."""
        days = sorted(d for d, n in self.names.items() if name in n.split("; "))
        return [d for d in days if d - timedelta(days=1) not in days]


@functools.lru_cache(maxsize=32)
def calendar_from(country: str | None, first_year: int, last_year: int, *, subdivision: str | None = None,
                  weekend: tuple[int, ...] = (5, 6), extra_holidays: tuple[date, ...] = (),
                  extra_workdays: tuple[date, ...] = ()) -> BusinessCalendar:
    """A calendar for ``first_year`` … ``last_year`` from the ``holidays`` library (its public holidays
    and, for countries that have them, make-up working days on weekends) plus extra dates."""
    hols: dict[date, str] = {}
    work: set[date] = set()
    if country:
        import holidays as hl

        cal = hl.country_holidays(country, subdiv=subdivision, years=range(first_year - 1, last_year + 2))
        hols = {d: n for d, n in cal.items()}
        work = set(getattr(cal, "weekend_workdays", ()) or ())
    names = dict(hols)
    return BusinessCalendar(date(first_year - 1, 1, 1), date(last_year + 1, 12, 31),
                            frozenset(hols) | frozenset(extra_holidays), frozenset(work) | frozenset(extra_workdays),
                            frozenset(weekend), names)


def china_calendar(first_year: int, last_year: int | None = None) -> BusinessCalendar:
    """Mainland-China public holidays and make-up working days."""
    return calendar_from("CN", first_year, last_year or first_year)
