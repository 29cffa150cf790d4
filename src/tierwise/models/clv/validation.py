"""Checking a fitted model against data it has not seen (Fader, Hardie & Lee 2005, section 4).

* :func:`calibration_holdout_split` summarises a calibration period and counts each
  customer's transaction days in the holdout period that follows;
* :func:`frequency_buckets` compares actual and predicted holdout purchases by
  calibration frequency (FHL 2005, Figure 4);
* :func:`tracking` compares cumulative and incremental repeat transactions over
  calendar time, actual vs. the model's prediction for a cohort joining on the
  observed first-purchase days (FHL 2005, Figures 2-3); :func:`chart_data` turns it
  into JSON-able series for a chart;
* :func:`report` does all of it in one call.

Multiple rows of one customer on one day count as one transaction (amounts summed).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tierwise.errors import UserInputError
from tierwise.models.clv.summary import daily_transactions, summarize
from tierwise.models.clv.units import unit_days

__all__ = ["calibration_holdout_split", "frequency_buckets", "tracking", "chart_data", "report"]


def calibration_holdout_split(transactions: pd.DataFrame, *, calibration_end, holdout_end,
                              unit: str | float = "D", customer: str = "customer_id",
                              date: str = "date", amount: str | None = "amount") -> pd.DataFrame:
    """Calibration summary plus holdout outcomes, one row per customer born by ``calibration_end``.

    Returns the columns of :func:`~tierwise.models.clv.summary.summarize` and
    ``x_holdout`` (transaction days in ``(calibration_end, holdout_end]``),
    ``spend_holdout`` (their total amount, if ``amount``) and ``duration_holdout``
    (the holdout length in ``unit``).

    >>> df = pd.DataFrame({"customer_id": ["a", "a", "a", "a"], "amount": [1.0, 2.0, 3.0, 4.0],
    ...     "date": pd.to_datetime(["1997-01-01", "1997-01-03", "1997-01-10", "1997-01-10"])})
    >>> split = calibration_holdout_split(df, calibration_end="1997-01-07", holdout_end="1997-01-14")
    >>> split[["x", "T", "x_holdout", "spend_holdout", "duration_holdout"]].to_dict("records")
    [{'x': 1, 'T': 6.0, 'x_holdout': 1, 'spend_holdout': 7.0, 'duration_holdout': 7.0}]
    """
    cal_end, hold_end = pd.Timestamp(calibration_end).normalize(), pd.Timestamp(holdout_end).normalize()
    if hold_end <= cal_end:
        raise UserInputError(f"holdout_end {hold_end.date()} must be after calibration_end {cal_end.date()}")
    out = summarize(transactions, calibration_end=cal_end, unit=unit, customer=customer, date=date,
                    amount=amount)
    daily = daily_transactions(transactions, customer=customer, date=date, amount=amount)
    hold = daily[(daily[date] > cal_end) & (daily[date] <= hold_end)]
    grouped = hold.groupby(customer)
    out["x_holdout"] = grouped.size().reindex(out.index, fill_value=0).astype(np.int64)
    if amount:
        out["spend_holdout"] = grouped[amount].sum().reindex(out.index, fill_value=0.0)
    out["duration_holdout"] = (hold_end - cal_end).days / unit_days(unit)
    return out


def frequency_buckets(model, split: pd.DataFrame, *, max_x: int = 7) -> pd.DataFrame:
    """Mean actual vs. predicted holdout purchases by calibration ``x`` (``max_x`` means ``max_x+``)."""
    predicted = model.expected_purchases(split["duration_holdout"], split["x"], split["t_x"], split["T"])
    frame = pd.DataFrame({"x": np.minimum(split["x"].to_numpy(), max_x),
                          "actual": split["x_holdout"].to_numpy(), "predicted": predicted})
    table = frame.groupby("x").agg(customers=("actual", "size"), actual=("actual", "mean"),
                                   predicted=("predicted", "mean"))
    return table.reset_index()


def tracking(model, transactions: pd.DataFrame, *, calibration_end, holdout_end, unit: str | float = "D",
             period: str | float = "W", customer: str = "customer_id", date: str = "date") -> pd.DataFrame:
    """Cumulative and incremental repeat transactions per ``period``, actual vs. predicted.

    Customers are those born by ``calibration_end``; a customer born on day ``b`` is
    predicted to have made ``expected_purchases_new_customer(tau - b)`` repeat purchases
    by ``tau`` (FHL 2005, eq. 9 summed over the cohort). Periods run from the first
    birth day to ``holdout_end``; ``period`` is ``"D"``, ``"W"`` or a number of days.
    """
    cal_end, hold_end = pd.Timestamp(calibration_end).normalize(), pd.Timestamp(holdout_end).normalize()
    days = daily_transactions(transactions, customer=customer, date=date, amount=None)
    birth = days.groupby(customer)[date].min()
    birth = birth[birth <= cal_end]
    days = days[days[customer].isin(birth.index) & (days[date] <= hold_end)]
    repeat = days[days[date] > days[customer].map(birth)]
    step = pd.Timedelta(days=unit_days(period))
    start = birth.min()
    ends = pd.date_range(start + step, hold_end + step, freq=step)
    ends = ends[ends - step < hold_end + pd.Timedelta(days=1)]
    # a period ending at `end` covers days < end; the last one is cut at holdout_end
    cutoffs = np.minimum(ends, hold_end + pd.Timedelta(days=1))
    actual = np.searchsorted(np.sort(repeat[date].to_numpy()), cutoffs.to_numpy(), side="left")
    cohorts = birth.value_counts()
    per_unit = unit_days(unit)
    age = ((cutoffs.to_numpy()[:, None] - cohorts.index.to_numpy()[None, :]) / pd.Timedelta(days=1) - 1)
    age = np.clip(age, 0, None) / per_unit  # the last counted day, measured from birth
    predicted = model.expected_purchases_new_customer(age) @ cohorts.to_numpy()
    table = pd.DataFrame({"period_end": cutoffs - pd.Timedelta(days=1), "actual_cumulative": actual,
                          "predicted_cumulative": predicted})
    table["actual_incremental"] = np.diff(actual, prepend=0)
    table["predicted_incremental"] = np.diff(predicted, prepend=0.0)
    table["holdout"] = table["period_end"] > cal_end
    return table


def chart_data(table: pd.DataFrame) -> dict:
    """JSON-able series of a :func:`tracking` table (dates as ISO strings)."""
    return {"x": [d.date().isoformat() for d in table["period_end"]],
            "calibration_end_index": int((~table["holdout"]).sum()) - 1,
            "series": {c: [float(v) for v in table[c]] for c in table.columns
                       if c not in ("period_end", "holdout")}}


def report(model, transactions: pd.DataFrame, *, calibration_end, holdout_end, unit: str | float = "D",
           customer: str = "customer_id", date: str = "date", amount: str | None = "amount",
           max_x: int = 7) -> dict:
    """Fit ``model`` on the calibration period and compare with the holdout, in one call.

    Returns a dict with ``params``, ``log_likelihood``, ``holdout`` totals (actual and
    predicted repeat transactions), the ``frequency`` table, the ``tracking`` table and
    its ``chart`` data. ``model`` is refitted (``fit`` returns it).
    """
    split = calibration_holdout_split(transactions, calibration_end=calibration_end, holdout_end=holdout_end,
                                      unit=unit, customer=customer, date=date, amount=amount)
    model.fit(split["x"], split["t_x"], split["T"], unit=unit)
    predicted = model.expected_purchases(split["duration_holdout"], split["x"], split["t_x"], split["T"])
    table = tracking(model, transactions, calibration_end=calibration_end, holdout_end=holdout_end, unit=unit,
                     customer=customer, date=date)
    return {"model": type(model).__name__, "params": dict(model.params_),
            "log_likelihood": model.log_likelihood_, "customers": len(split),
            "holdout": {"actual": int(split["x_holdout"].sum()), "predicted": float(np.sum(predicted))},
            "frequency": frequency_buckets(model, split, max_x=max_x), "tracking": table,
            "chart": chart_data(table)}
