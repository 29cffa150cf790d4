"""Per-customer sufficient statistics ``(x, t_x, T, mean_spend)`` from transactions.

Conventions (Fader & Hardie; the same as ``lifetimes`` and BTYD's ``elog2cbs``):

* several rows of one customer on one calendar day are ONE transaction, whose amount
  is the sum of the rows;
* a customer is "born" at their first transaction; ``x`` counts the *repeat*
  transaction days up to the end of the calibration period;
* ``t_x`` is the time from birth to the last repeat transaction (0 when ``x = 0``) and
  ``T`` the time from birth to the end of the period, in the explicit ``unit`` (exact
  days / 7 for weeks, no rounding);
* ``mean_spend`` is the mean amount of the repeat transactions (the first one is
  excluded, as in the gamma-gamma model), 0 when ``x = 0``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tierwise.errors import ColumnMappingError, UserInputError
from tierwise.models.clv.units import unit_days

__all__ = ["summarize", "daily_transactions"]


def daily_transactions(transactions: pd.DataFrame, *, customer: str = "customer_id",
                       date: str = "date", amount: str | None = "amount") -> pd.DataFrame:
    """One row per customer-day: ``customer``, ``date`` (midnight) and summed ``amount``.

    The input frame is not modified.

    >>> df = pd.DataFrame({"customer_id": ["a", "a", "a"], "amount": [1.0, 2.0, 4.0],
    ...     "date": pd.to_datetime(["2024-01-01 09:00", "2024-01-01 17:00", "2024-01-03 08:00"])})
    >>> daily_transactions(df)
      customer_id       date  amount
    0           a 2024-01-01     3.0
    1           a 2024-01-03     4.0
    """
    needed = [customer, date] + ([amount] if amount else [])
    missing = [c for c in needed if c not in transactions.columns]
    if missing:
        raise ColumnMappingError(f"transactions lack column(s) {missing}",
                                 hint=f"available: {list(transactions.columns)}; "
                                      "pass customer=, date=, amount= to name yours")
    frame = pd.DataFrame({customer: transactions[customer].to_numpy(),
                          date: pd.to_datetime(transactions[date]).dt.normalize().to_numpy()})
    if amount:
        frame[amount] = pd.to_numeric(transactions[amount]).to_numpy(dtype=float)
        return frame.groupby([customer, date], sort=True, as_index=False)[amount].sum()
    return frame.drop_duplicates().sort_values([customer, date], ignore_index=True)


def summarize(transactions: pd.DataFrame, *, calibration_end, unit: str | float = "D",
              customer: str = "customer_id", date: str = "date",
              amount: str | None = "amount") -> pd.DataFrame:
    """Summarise transactions up to ``calibration_end`` (inclusive) into ``x, t_x, T, mean_spend``.

    Parameters
    ----------
    transactions : DataFrame with one row per transaction line.
    calibration_end : date-like; the end of the calibration period (a customer's ``T``
        runs from their first transaction day to this day).
    unit : ``"D"``, ``"W"`` or a number of days; the unit of ``t_x`` and ``T``.
    customer, date, amount : column names; ``amount=None`` skips ``mean_spend``.

    Returns
    -------
    DataFrame indexed by customer with ``x`` (int), ``t_x``, ``T`` and ``mean_spend``;
    customers born after ``calibration_end`` are left out.

    Examples
    --------
    >>> df = pd.DataFrame({"customer_id": ["a", "a", "a", "b"],
    ...     "date": pd.to_datetime(["1997-01-01", "1997-01-08", "1997-01-15", "1997-01-08"]),
    ...     "amount": [10.0, 20.0, 40.0, 5.0]})
    >>> summarize(df, calibration_end="1997-01-29", unit="W").reset_index()
      customer_id  x  t_x    T  mean_spend
    0           a  2  2.0  4.0        30.0
    1           b  0  0.0  3.0         0.0
    """
    days = unit_days(unit)
    end = pd.Timestamp(calibration_end).normalize()
    daily = daily_transactions(transactions, customer=customer, date=date, amount=amount)
    daily = daily[daily[date] <= end]
    if daily.empty:
        raise UserInputError(f"no transactions on or before calibration_end {end.date()}",
                             hint="check the date column and the calibration_end")
    grouped = daily.groupby(customer, sort=True)
    first, last = grouped[date].min(), grouped[date].max()
    n_days = grouped.size()
    out = pd.DataFrame(index=first.index)
    out["x"] = (n_days - 1).astype(np.int64)
    out["t_x"] = (last - first).dt.total_seconds().to_numpy() / 86400.0 / days
    out["T"] = (end - first).dt.total_seconds().to_numpy() / 86400.0 / days
    if amount:
        total = grouped[amount].sum()
        first_amount = grouped[amount].first()  # days are sorted, so this is the birth day
        repeat = (total - first_amount).to_numpy()
        out["mean_spend"] = np.where(out["x"] > 0, repeat / np.maximum(out["x"], 1), 0.0)
    return out
