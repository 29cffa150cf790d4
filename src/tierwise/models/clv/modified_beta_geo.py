"""MBG/NBD: the modified beta-geometric / NBD model of Batislam, Denizel & Filiztekin (2007).

Assumptions
-----------
As BG/NBD (Poisson purchasing with Gamma(``r``, ``alpha``) rates; dropout probability
``p`` ~ Beta(``a``, ``b``); independence), except that a customer may also drop out
right after the *first* purchase, so customers with no repeat purchase are not certain
to be alive. The likelihood is

.. math:: L = \\frac{B(a, b+x+1)}{B(a, b)} \\frac{\\Gamma(r+x)\\alpha^r}{\\Gamma(r)(\\alpha+T)^{r+x}}
    + \\frac{B(a+1, b+x)}{B(a, b)} \\frac{\\Gamma(r+x)\\alpha^r}{\\Gamma(r)(\\alpha+t_x)^{r+x}}.

References
----------
Batislam, E. P., Denizel, M. & Filiztekin, A. (2007). "Empirical validation and
comparison of models for customer base analysis." *International Journal of Research
in Marketing* 24(3), 201-209.
Wagner, U. & Hoppe, D. (2008). "Erratum on the MBG/NBD Model." *International Journal
of Research in Marketing* 25(3), 225-226.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import betainc, betaln, digamma, expit, gammaln, hyp2f1

from tierwise.models.clv.counting import CountingModel, rows_with_distinct_x

__all__ = ["ModifiedBetaGeoModel"]


class ModifiedBetaGeoModel(CountingModel):
    """MBG/NBD model of repeat purchasing (parameters ``r, alpha, a, b``).

    Examples
    --------
    >>> m = ModifiedBetaGeoModel.from_dict({"params": {"r": 0.525, "alpha": 6.183, "a": 0.891, "b": 1.614}})
    >>> m.probability_alive(x=[0, 2], t_x=[0, 30.43], T=[38.86, 38.86]).round(3)
    array([0.39 , 0.706])
    """

    _param_names = ("r", "alpha", "a", "b")
    _scaled_params = ("alpha",)

    def _start(self, data: pd.DataFrame) -> np.ndarray:
        mean_x = np.average(data["x"], weights=data["weight"])
        return np.array([1.0, 1.0 / max(mean_x, 0.1), 1.0, 1.0])

    def _prepare(self, data):
        return rows_with_distinct_x(data)

    def _loglik(self, theta, rows):
        r, alpha, a, b = theta
        x, t_x, T, ux, ix = rows["x"], rows["t_x"], rows["T"], rows["ux"], rows["ix"]
        rx = r + x
        la_T, la_tx = np.log(alpha + T), np.log(alpha + t_x)
        A3 = -rx * la_T
        A4 = np.log(a) - np.log(b + x) - rx * la_tx
        mix = np.logaddexp(A3, A4)
        w3, w4 = np.exp(A3 - mix), np.exp(A4 - mix)
        # special functions of x, once per distinct x
        ll_x = (gammaln(r + ux) - gammaln(r) + r * np.log(alpha) + betaln(a, b + ux + 1) - betaln(a, b))[ix]
        dr_x = (digamma(r + ux) - digamma(r) + np.log(alpha))[ix]
        da_x = (digamma(a + b) - digamma(a + b + ux + 1))[ix]
        db_x = (digamma(b + ux + 1) - digamma(a + b + ux + 1) - digamma(b) + digamma(a + b))[ix]
        ll = ll_x + mix
        d_r = dr_x - w3 * la_T - w4 * la_tx
        d_alpha = r / alpha - rx * (w3 / (alpha + T) + w4 / (alpha + t_x))
        d_a = da_x + w4 / a
        d_b = db_x - w4 / (b + x)
        return ll, np.vstack([d_r * r, d_alpha * alpha, d_a * a, d_b * b])

    def _log_odds_dead(self, x, t_x, T):
        r, alpha, a, b = self._check_fitted()
        return np.log(a / (b + x)) + (r + x) * np.log((alpha + T) / (alpha + t_x))

    def probability_alive(self, x, t_x, T, *, at=0.0) -> np.ndarray:
        """P(active at ``T + at`` | x, t_x, T); for ``at > 0`` as :meth:`BetaGeoModel.probability_alive`."""
        r, alpha, a, b = self._check_fitted()
        x, t_x, T, at = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (x, t_x, T, at)))
        z = at / (alpha + T + at)
        # given survival, p ~ Beta(a, b + x + 1): each of the x + 1 purchases was survived
        later = (1 - z) ** a * hyp2f1(a + b + 1 - r, a, a + b + x + 1, z)
        return expit(-self._log_odds_dead(x, t_x, T)) * later

    def expected_purchases(self, t, x, t_x, T) -> np.ndarray:
        """Expected repeat purchases in ``(T, T + t]`` given the history (Batislam et al. 2007)."""
        r, alpha, a, b = self._check_fitted()
        t, x, t_x, T = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (t, x, t_x, T)))
        z = t / (alpha + T + t)
        tail = (1 - z) ** (a - 1) * hyp2f1(a + b - r, a - 1, a + b + x, z)  # Euler-transformed
        return (a + b + x) / (a - 1) * (1 - tail) * expit(-self._log_odds_dead(x, t_x, T))

    def expected_purchases_new_customer(self, t) -> np.ndarray:
        """Expected repeat purchases in ``(0, t]`` of a new customer."""
        r, alpha, a, b = self._check_fitted()
        t = np.asarray(t, dtype=float)
        z = t / (alpha + t)
        return b / (a - 1) * (1 - (1 - z) ** (a - 1) * hyp2f1(a + b - r, a - 1, a + b, z))

    def probability_of_n_purchases(self, n, t) -> np.ndarray:
        """P(X(t) = n) for a new customer over ``(0, t]``."""
        r, alpha, a, b = self._check_fitted()
        n, t = np.broadcast_arrays(np.asarray(n, dtype=float), np.asarray(t, dtype=float))
        log_nbd = (gammaln(r + n) - gammaln(r) - gammaln(n + 1) + r * np.log(alpha / (alpha + t))
                   + n * np.log(t / (alpha + t)))
        first = np.exp(betaln(a, b + n + 1) - betaln(a, b) + log_nbd)
        with np.errstate(invalid="ignore", divide="ignore"):
            cdf_tail = np.where(n > 0, betainc(np.maximum(n, 1), r, t / (alpha + t)), 1.0)
        return first + np.exp(betaln(a + 1, b + n) - betaln(a, b)) * cdf_tail

    def simulate(self, n: int, seed, *, T=1.0) -> pd.DataFrame:
        """Draw ``n`` customers' ``(x, t_x, T)``; dropout may follow the first purchase."""
        r, alpha, a, b = self._check_fitted()
        rng = np.random.default_rng(seed)
        T = np.broadcast_to(np.asarray(T, dtype=float), (n,)).copy()
        lam = rng.gamma(r, 1.0 / alpha, n)
        p = rng.beta(a, b, n)
        purchases = rng.poisson(lam * T)
        x = np.minimum(purchases, rng.geometric(p) - 1)  # repeat purchases survived
        t_x = np.zeros(n)
        pos = x > 0
        t_x[pos] = T[pos] * rng.beta(x[pos], purchases[pos] - x[pos] + 1)
        return pd.DataFrame({"x": x.astype(np.int64), "t_x": t_x, "T": T})
