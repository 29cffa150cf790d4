"""Gamma-Gamma model of the monetary value of transactions.

Assumptions (Fader & Hardie 2013; Colombo & Jiang 1999)
-------------------------------------------------------
1. The value ``z_i`` of each of a customer's transactions is Gamma(shape ``p``, rate ``nu``),
   so the mean of ``x`` transactions, ``mean_spend``, is Gamma(``p x``, ``nu x``).
2. ``nu`` varies across customers as Gamma(shape ``q``, rate ``gamma``).
3. Spend is independent of the transaction process (check: the correlation between
   frequency and mean spend should be near 0).

Integrating ``nu`` out, the density of a customer's mean spend ``m`` given ``x`` is

.. math:: f(m \\mid x) = \\frac{\\Gamma(px+q)}{\\Gamma(px)\\Gamma(q)}
    \\frac{\\gamma^q\\, m^{px-1} x^{px}}{(\\gamma + m x)^{px+q}}.

Only customers with at least one repeat transaction (``x >= 1``) and a positive mean
spend carry information; fit on those.

References
----------
Fader, P. S. & Hardie, B. G. S. (2013). "The Gamma-Gamma Model of Monetary Value."
http://brucehardie.com/notes/025/
Colombo, R. & Jiang, W. (1999). "A stochastic RFM model." *Journal of Interactive
Marketing* 13(3), 2-12.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import digamma, gammaln

from tierwise.models.clv.base import CLVInputError, CLVModel, as_array, compress_rows

__all__ = ["GammaGammaModel"]


class GammaGammaModel(CLVModel):
    """Gamma-Gamma spend model (parameters ``p, q, gamma``).

    Examples
    --------
    >>> gg = GammaGammaModel.from_dict({"params": {"p": 6.25, "q": 3.74, "gamma": 15.44}})
    >>> gg.expected_spend([1, 10], [20.0, 20.0]).round(2)
    array([24.64, 20.64])
    """

    _param_names = ("p", "q", "gamma")
    _scaled_params = ("gamma",)

    def fit(self, x, mean_spend, weights=None):
        """Fit to repeat customers' number of repeat transactions ``x`` and their ``mean_spend``.

        Returns
        -------
        self
        """
        self._check_hyperparameters()
        x, m = as_array("x", x), as_array("mean_spend", mean_spend)
        if x.size != m.size or x.size == 0:
            raise CLVInputError(f"x and mean_spend must be non-empty and of one length, got {x.size}, {m.size}")
        for bad, message in [(x < 1, "x must be >= 1 (repeat customers only)"),
                             (x != np.round(x), "x must be a whole number"),
                             (m <= 0, "mean_spend must be > 0")]:
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise CLVInputError(f"{message}; row {i} has x={x[i]}, mean_spend={m[i]}",
                                    hint="fit on customers with x > 0 and mean_spend > 0")
        w = None if weights is None else as_array("weights", weights)
        data = compress_rows({"x": x, "mean_spend": m}, w)
        scale = float(np.average(data["mean_spend"], weights=data["weight"]))
        scaled = data.assign(mean_spend=data["mean_spend"] / scale)
        self._maximize(scaled, np.log([1.0, 2.0, 1.0]), scale)
        ll, _ = self._loglik(np.array(list(self.params_.values())), data)
        self.log_likelihood_ = float(data["weight"].to_numpy() @ ll)
        self.n_customers_ = float(data["weight"].sum())
        return self

    def _loglik(self, theta, data):
        p, q, gamma = theta
        x, m = data["x"].to_numpy(), data["mean_spend"].to_numpy()
        px = p * x
        log_den = np.log(gamma + m * x)
        ll = (gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(gamma)
              + (px - 1) * np.log(m) + px * np.log(x) - (px + q) * log_den)
        d_p = x * (digamma(px + q) - digamma(px) + np.log(m * x) - log_den)
        d_q = digamma(px + q) - digamma(q) + np.log(gamma) - log_den
        d_gamma = q / gamma - (px + q) / (gamma + m * x)
        return ll, np.vstack([d_p * p, d_q * q, d_gamma * gamma])

    def expected_spend(self, x, mean_spend) -> np.ndarray:
        """E[value of a future transaction | x, mean_spend] (Fader & Hardie 2013, eq. 5).

        A weighted average of the population mean ``p gamma / (q - 1)`` and the customer's
        own ``mean_spend``, the weight on the latter growing with ``x``; for ``x = 0`` it is
        the population mean.
        """
        p, q, gamma = self._check_fitted()
        x, m = np.broadcast_arrays(np.asarray(x, dtype=float), np.asarray(mean_spend, dtype=float))
        m = np.where(x > 0, m, 0.0)
        return p * (gamma + x * m) / (p * x + q - 1)

    def simulate(self, n: int, seed, *, x=1) -> pd.DataFrame:
        """Draw ``n`` customers' mean spend over ``x`` transactions each (assumptions 1-2)."""
        p, q, gamma = self._check_fitted()
        rng = np.random.default_rng(seed)
        x = np.broadcast_to(np.asarray(x, dtype=np.int64), (n,)).copy()
        nu = rng.gamma(q, 1.0 / gamma, n)
        return pd.DataFrame({"x": x, "mean_spend": rng.gamma(p * x, 1.0 / (nu * x))})
