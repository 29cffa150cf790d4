"""Time units of the value models, always explicit.

A model is fitted on ``(x, t_x, T)`` measured in one time unit (the ``unit`` given to
:func:`~tierwise.models.clv.summary.summarize`, recorded on the model as ``unit_``).
Durations passed to predictions are numbers in that unit, or strings with their own
unit such as ``"13W"`` or ``"90D"``, converted exactly. There is no "month": a month is
not a fixed number of days, so ask for ``"30D"`` or ``"4.345W"`` and say which.

>>> unit_days("W"), unit_days("D"), unit_days(14)
(7.0, 1.0, 14.0)
>>> to_model_time("26W", unit="D")
182.0
>>> to_model_time(3.0, unit="W")
3.0
"""

from __future__ import annotations

import re

from tierwise.errors import UserInputError

__all__ = ["unit_days", "to_model_time"]

_UNITS = {"D": 1.0, "W": 7.0}
_DURATION = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*([DW])\s*$")


def unit_days(unit: str | float | int) -> float:
    """Length of a time ``unit`` in days: ``"D"``, ``"W"`` or a positive number of days."""
    if isinstance(unit, str):
        if unit.upper() in _UNITS:
            return _UNITS[unit.upper()]
        raise UserInputError(f"unknown time unit {unit!r}",
                             hint="use 'D' (days), 'W' (weeks) or a number of days such as 30")
    if isinstance(unit, bool) or not isinstance(unit, int | float) or not unit > 0:
        raise UserInputError(f"time unit must be 'D', 'W' or a positive number of days, got {unit!r}")
    return float(unit)


def to_model_time(value: str | float, *, unit: str | float | None) -> float:
    """Express ``value`` (a number in the model's unit, or ``"<n>D"``/``"<n>W"``) in ``unit``."""
    if not isinstance(value, str):
        value = float(value)
        if not value >= 0:
            raise UserInputError(f"a duration must be >= 0, got {value!r}")
        return value
    match = _DURATION.match(value.upper())
    if match is None:
        raise UserInputError(f"cannot read duration {value!r}", hint="write e.g. '90D' or '13W'")
    if unit is None:
        raise UserInputError(f"duration {value!r} has a unit but the model's time unit is unknown",
                             hint="fit with unit='D' or 'W' (as summarised), or pass a plain number")
    days = float(match.group(1)) * _UNITS[match.group(2)]
    return days / unit_days(unit)
