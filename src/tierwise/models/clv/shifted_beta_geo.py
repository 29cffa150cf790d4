"""sBG: the shifted-beta-geometric model of contractual retention.

Assumptions (Fader & Hardie 2007)
---------------------------------
1. In a contractual setting (subscriptions, policies) churn is observed. At the end of
   each period an active customer cancels with probability ``theta``, so the lifetime
   in periods is (shifted) geometric: ``P(T = t | theta) = theta (1 - theta)^(t-1)``.
2. ``theta`` ~ Beta(``alpha``, ``beta``) across customers, so retention rates rise over
   time as the customers most likely to leave leave first.

Then ``P(T = t) = B(alpha + 1, beta + t - 1) / B(alpha, beta)`` and the survival
``S(t) = B(alpha, beta + t) / B(alpha, beta)``. Data are, per customer (or with
weights), ``T``, the number of periods observed, and ``churned``: True when the
customer cancelled at the end of period ``T``, False when still active after it.
:func:`cohort_durations` turns a cohort's "number still active" series into such rows.

References
----------
Fader, P. S. & Hardie, B. G. S. (2007). "How to Project Customer Retention."
*Journal of Interactive Marketing* 21(1), 76-90.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import betaln, digamma

from tierwise.models.clv.base import CLVInputError, CLVModel, as_array, compress_rows

__all__ = ["ShiftedBetaGeoModel", "cohort_durations"]


def cohort_durations(alive) -> pd.DataFrame:
    """Rows ``(T, churned, weight)`` from the number of customers active at periods 0, 1, ...

    >>> cohort_durations([1000, 631, 468])
       T  churned  weight
    0  1     True   369.0
    1  2     True   163.0
    2  2    False   468.0
    """
    alive = as_array("alive", alive)
    lost = -np.diff(alive)
    if alive.size < 2 or np.any(lost < 0):
        raise CLVInputError("alive counts must have >= 2 values and never increase",
                            hint="pass the number of the cohort still active at periods 0, 1, 2, ...")
    t = np.arange(1, alive.size)
    return pd.DataFrame({"T": np.append(t, t[-1]), "churned": np.append(np.ones(t.size, bool), False),
                         "weight": np.append(lost, alive[-1]).astype(float)})


class ShiftedBetaGeoModel(CLVModel):
    """sBG retention model (parameters ``alpha, beta``).

    Examples
    --------
    >>> d = cohort_durations([1000, 631, 468, 382, 326, 289, 262, 241])  # FH 2007, "regular"
    >>> m = ShiftedBetaGeoModel().fit(d["T"], d["churned"], d["weight"])
    >>> round(m.params_["alpha"], 3), round(m.params_["beta"], 3)
    (0.704, 1.182)
    >>> m.survival([8, 12]).round(3)
    array([0.22, 0.17])
    """

    _param_names = ("alpha", "beta")

    def fit(self, T, churned, weights=None):
        """Fit to periods observed ``T`` and ``churned`` flags (see the module docstring)."""
        self._check_hyperparameters()
        T = as_array("T", T)
        churned = np.asarray(churned, dtype=bool).reshape(-1).copy()
        w = None if weights is None else as_array("weights", weights)
        if T.size == 0 or churned.size != T.size or (w is not None and w.size != T.size):
            raise CLVInputError("T, churned and weights must be non-empty and of one length")
        bad = (T != np.round(T)) | (T < 0) | (churned & (T < 1))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise CLVInputError(f"row {i}: T={T[i]} churned={churned[i]}; T must be a whole number "
                                "of periods, >= 1 for a churned customer")
        data = compress_rows({"T": T, "churned": churned}, w)
        self._maximize(data, np.zeros(2), 1.0)
        ll, _ = self._loglik(np.array(self._check_fitted()), data)
        self.log_likelihood_ = float(data["weight"].to_numpy() @ ll)
        self.n_customers_ = float(data["weight"].sum())
        return self

    def _loglik(self, theta, data):
        al, be = theta
        t, churned = data["T"].to_numpy(), data["churned"].to_numpy()
        a = np.where(churned, al + 1, al)
        b = np.where(churned, be + t - 1, be + t)
        ll = betaln(a, b) - betaln(al, be)
        d_al = digamma(a) - digamma(a + b) - digamma(al) + digamma(al + be)
        d_be = digamma(b) - digamma(a + b) - digamma(be) + digamma(al + be)
        return ll, np.vstack([d_al * al, d_be * be])

    def survival(self, t) -> np.ndarray:
        """S(t): share of a new cohort still active after ``t`` periods."""
        al, be = self._check_fitted()
        return np.exp(betaln(al, be + np.asarray(t, dtype=float)) - betaln(al, be))

    def retention_rate(self, t) -> np.ndarray:
        """r(t) = S(t) / S(t - 1) = (beta + t - 1) / (alpha + beta + t - 1), for ``t >= 1``."""
        al, be = self._check_fitted()
        t = np.asarray(t, dtype=float)
        return (be + t - 1) / (al + be + t - 1)

    def probability_alive(self, T, *, at=1) -> np.ndarray:
        """P(a customer active after ``T`` periods is still active after ``T + at``) = S(T+at)/S(T)."""
        al, be = self._check_fitted()
        T, at = np.broadcast_arrays(np.asarray(T, dtype=float), np.asarray(at, dtype=float))
        return np.exp(betaln(al, be + T + at) - betaln(al, be + T))

    def clv(self, T, value, *, horizon: int, discount_rate: float) -> np.ndarray:
        """Discounted value of the next ``horizon`` renewals of customers active after ``T`` periods.

        The payment for period ``T + i`` (made if the customer is still active after
        ``T + i - 1`` periods, i.e. has renewed ``i - 1`` more times) is discounted by
        ``(1 + discount_rate) ** (i - 1)``; ``discount_rate`` is per period. With an
        infinite horizon this is Fader & Hardie's DERL times ``value``.
        """
        if not discount_rate > -1 or int(horizon) != horizon or horizon < 0:
            raise CLVInputError(f"need a whole horizon >= 0 and discount_rate > -1, got {horizon!r}, "
                                f"{discount_rate!r}")
        T = np.asarray(T, dtype=float)
        total = 0.0
        for i in range(1, int(horizon) + 1):
            total = total + self.probability_alive(T, at=i - 1) / (1 + discount_rate) ** (i - 1)
        return np.asarray(value, dtype=float) * total

    def simulate(self, n: int, seed, *, T=8) -> pd.DataFrame:
        """Draw ``n`` customers followed for ``T`` periods: ``T`` observed and ``churned``."""
        al, be = self._check_fitted()
        rng = np.random.default_rng(seed)
        horizon = np.broadcast_to(np.asarray(T, dtype=np.int64), (n,))
        lifetime = rng.geometric(rng.beta(al, be, n))
        return pd.DataFrame({"T": np.minimum(lifetime, horizon), "churned": lifetime <= horizon})
