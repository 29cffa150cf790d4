"""Base class of the "counting your customers" models (BG/NBD, Pareto/NBD, MBG/NBD, BG/BB).

They share one data layout and one prediction vocabulary:

* data: ``x`` repeat transactions (the first purchase is not counted), ``t_x`` the time
  of the last one measured from the first purchase (0 when ``x = 0``), and ``T`` the
  time from the first purchase to the end of the calibration period, all in one unit;
* predictions: :meth:`expected_purchases` in ``(T, T + t]``, :meth:`probability_alive`
  at ``T`` (or ``at`` a later time), :meth:`probability_of_n_purchases` and
  :meth:`expected_purchases_new_customer` for a new customer over ``(0, t]``,
  :meth:`clv` (discounted value over a horizon) and :meth:`simulate`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tierwise.models.clv.base import CLVInputError, CLVModel, as_array, compress_rows
from tierwise.models.clv.units import to_model_time

__all__ = ["CountingModel", "check_rfm"]


def check_rfm(x, t_x, T, weights=None, *, discrete: bool = False):
    """Validated copies of ``(x, t_x, T, weights)``; errors name the first bad row."""
    x, t_x, T = as_array("x", x), as_array("t_x", t_x), as_array("T", T)
    if not (x.size == t_x.size == T.size):
        raise CLVInputError(f"x, t_x and T must have the same length, got {x.size}, {t_x.size}, {T.size}")
    if x.size == 0:
        raise CLVInputError("no customers to fit", hint="pass at least one (x, t_x, T) row")
    w = None if weights is None else as_array("weights", weights)
    checks = [
        (x < 0, "x must be >= 0"),
        (x != np.round(x), "x must be a whole number of repeat transactions"),
        (T <= 0, "T must be > 0"),
        ((t_x < 0) | (t_x > T), "t_x must lie in [0, T]"),
        ((x == 0) & (t_x != 0), "t_x must be 0 when x = 0"),
    ]
    if discrete:
        checks += [((t_x != np.round(t_x)) | (T != np.round(T)), "t_x and T must be whole periods"),
                   (t_x < x, "t_x must be >= x (one transaction per opportunity)")]
    if w is not None:
        checks += [(w.size != x.size, "weights must have one value per row"), (w < 0, "weights must be >= 0")]
    for bad, message in checks:
        bad = np.atleast_1d(bad)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise CLVInputError(f"{message}; row {i} has x={x[min(i, x.size - 1)]}, "
                                f"t_x={t_x[min(i, x.size - 1)]}, T={T[min(i, x.size - 1)]}",
                                hint="build the inputs with tierwise.models.clv.summarize()")
    return x, t_x, T, w


def rows_with_distinct_x(data) -> dict:
    """Columns of ``data`` as arrays, plus the distinct ``x`` values and the map back to rows.

    Special functions of ``x`` (``gammaln(r + x)``, ``digamma(b + x)``, ...) cost far more
    than arithmetic; evaluated once per distinct ``x`` (a few hundred values at most) and
    gathered, they no longer dominate a fit on millions of patterns.
    """
    out = {c: np.asarray(data[c], dtype=float) for c in ("x", "t_x", "T")}
    out["ux"], out["ix"] = np.unique(out["x"], return_inverse=True)
    return out


class CountingModel(CLVModel):
    """Shared ``fit`` and ``clv`` of the models of repeat-transaction counts."""

    #: discrete opportunities (BG/BB) rather than continuous time
    _discrete = False

    def fit(self, x, t_x, T, weights=None, *, unit: str | float | None = None):
        """Fit by maximum likelihood to customers' ``(x, t_x, T)``.

        Parameters
        ----------
        x, t_x, T : array_like
            Repeat transactions, time of the last one, and age, per customer (or per
            pattern, with ``weights``).
        weights : array_like, optional
            Number of customers sharing each row; identical rows are merged anyway.
        unit : ``"D"``, ``"W"`` or days per unit, optional
            The unit ``t_x`` and ``T`` are measured in; recorded as ``unit_`` so that
            durations such as ``"13W"`` can be converted later. It does not change the fit.

        Returns
        -------
        self
        """
        self._check_hyperparameters()
        x, t_x, T, w = check_rfm(x, t_x, T, weights, discrete=self._discrete)
        data = compress_rows({"x": x, "t_x": t_x, "T": T}, w)
        data = data[data["weight"] > 0].reset_index(drop=True)
        scale = 1.0 if self._discrete else float(np.average(data["T"], weights=data["weight"]))
        scaled = data.assign(t_x=data["t_x"] / scale, T=data["T"] / scale)
        self._maximize(scaled, np.log(self._start(scaled)), scale)
        theta = np.array([self.params_[n] for n in self._param_names])
        with np.errstate(over="ignore", divide="ignore"):
            ll, _ = self._loglik(theta, self._prepare(data))
        self.log_likelihood_ = float(data["weight"].to_numpy() @ ll)
        self.n_customers_ = float(data["weight"].sum())
        self.n_patterns_ = len(data)
        self.unit_ = unit
        return self

    def _start(self, data: pd.DataFrame) -> np.ndarray:
        raise NotImplementedError

    def clv(self, x, t_x, T, spend, *, horizon, discount_rate: float, period=1.0) -> np.ndarray:
        """Discounted expected value of the purchases in ``(T, T + horizon]``.

        The horizon is cut into ``horizon / period`` periods; the purchases expected in
        period ``i`` are valued at ``spend`` each and discounted by ``(1 + discount_rate) ** i``.

        Parameters
        ----------
        x, t_x, T : array_like
            Customers' history, in the unit the model was fitted in.
        spend : array_like
            Value of one future transaction per customer, e.g. from
            :meth:`GammaGammaModel.expected_spend`.
        horizon, period : float or str
            Numbers in the model's time unit, or strings with a unit (``"52W"``, ``"30D"``)
            when the model knows its unit (``unit_``). ``horizon`` must be a whole number
            of periods.
        discount_rate : float
            Discount rate per period (e.g. ``0.01`` a month when ``period="30D"``).

        Returns
        -------
        ndarray of discounted values, one per customer.
        """
        unit = getattr(self, "unit_", None)
        horizon, period = to_model_time(horizon, unit=unit), to_model_time(period, unit=unit)
        if period <= 0:
            raise CLVInputError(f"period must be > 0, got {period!r}")
        steps = horizon / period
        if abs(steps - round(steps)) > 1e-9 * max(1.0, steps):
            raise CLVInputError(f"horizon {horizon:g} is not a whole number of periods of {period:g}",
                                hint="choose horizon = k * period")
        if not discount_rate > -1:
            raise CLVInputError(f"discount_rate must be > -1, got {discount_rate!r}")
        spend = np.asarray(spend, dtype=float)
        value, previous = 0.0, 0.0
        for i in range(1, int(round(steps)) + 1):
            current = self.expected_purchases(i * period, x, t_x, T)
            value = value + spend * (current - previous) / (1.0 + discount_rate) ** i
            previous = current
        return np.asarray(value, dtype=float)
