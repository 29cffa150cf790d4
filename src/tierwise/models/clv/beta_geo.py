"""BG/NBD: the beta-geometric / negative binomial distribution model.

Assumptions (Fader, Hardie & Lee 2005)
--------------------------------------
1. While active, a customer buys according to a Poisson process with rate ``lambda``.
2. ``lambda`` varies across customers as Gamma(shape ``r``, rate ``alpha``).
3. After any transaction a customer becomes inactive with probability ``p``, so the
   point of dropout is spread across transactions as a (shifted) geometric.
4. ``p`` varies across customers as Beta(``a``, ``b``).
5. ``lambda`` and ``p`` are independent across customers.

The likelihood of a customer with ``x`` repeat purchases, the last at ``t_x``, observed
for ``T`` is (FHL 2005, eq. 6)

.. math:: L = \\frac{B(a, b+x)}{B(a, b)} \\frac{\\Gamma(r+x)\\alpha^r}{\\Gamma(r)(\\alpha+T)^{r+x}}
    + \\delta_{x>0} \\frac{B(a+1, b+x-1)}{B(a, b)}
      \\frac{\\Gamma(r+x)\\alpha^r}{\\Gamma(r)(\\alpha+t_x)^{r+x}}.

References
----------
Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). "Counting Your Customers the Easy
Way: An Alternative to the Pareto/NBD Model." *Marketing Science* 24(2), 275-284.
Fader, Hardie & Lee (2008). "Computing P(alive) Using the BG/NBD Model."
http://brucehardie.com/notes/021/
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import betainc, betaln, digamma, expit, gammaln, hyp2f1

from tierwise.models.clv.counting import CountingModel, rows_with_distinct_x

__all__ = ["BetaGeoModel"]


class BetaGeoModel(CountingModel):
    """BG/NBD model of repeat purchasing (parameters ``r, alpha, a, b``).

    See the module docstring for the assumptions and likelihood.

    Examples
    --------
    The published CDNOW estimates (weeks), used as given:

    >>> m = BetaGeoModel.from_dict({"params": {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}})
    >>> m.expected_purchases(39, x=[2], t_x=[30.43], T=[38.86]).round(3)
    array([1.226])
    >>> m.probability_alive(x=[2], t_x=[30.43], T=[38.86]).round(3)
    array([0.727])
    """

    _param_names = ("r", "alpha", "a", "b")
    _scaled_params = ("alpha",)

    # --------------------------------------------------------------- likelihood
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
        A4 = np.where(x > 0, np.log(a) - np.log(b + np.maximum(x, 1) - 1) - rx * la_tx, -np.inf)
        mix = np.logaddexp(A3, A4)
        w3, w4 = np.exp(A3 - mix), np.exp(A4 - mix)
        # special functions of x, once per distinct x
        ll_x = (gammaln(r + ux) - gammaln(r) + r * np.log(alpha) + betaln(a, b + ux) - betaln(a, b))[ix]
        dr_x = (digamma(r + ux) - digamma(r) + np.log(alpha))[ix]
        da_x = (digamma(a + b) - digamma(a + b + ux))[ix]
        db_x = (digamma(b + ux) - digamma(a + b + ux) - digamma(b) + digamma(a + b))[ix]
        ll = ll_x + mix
        d_r = dr_x - w3 * la_T - w4 * la_tx
        d_alpha = r / alpha - rx * (w3 / (alpha + T) + w4 / (alpha + t_x))
        d_a = da_x + w4 / a
        d_b = db_x - w4 / (b + np.maximum(x, 1) - 1)
        return ll, np.vstack([d_r * r, d_alpha * alpha, d_a * a, d_b * b])

    # --------------------------------------------------------------- predictions
    def _log_odds_dead(self, x, t_x, T):
        r, alpha, a, b = self._check_fitted()
        with np.errstate(divide="ignore", invalid="ignore"):
            lo = np.log(a / (b + np.maximum(x, 1) - 1)) + (r + x) * np.log((alpha + T) / (alpha + t_x))
        return np.where(x > 0, lo, -np.inf)

    def probability_alive(self, x, t_x, T, *, at=0.0) -> np.ndarray:
        """P(the customer is still active at ``T + at`` | x, t_x, T) (FHL 2008 for ``at = 0``).

        For ``at > 0`` the customer may drop out after a purchase in ``(T, T + at]``; with
        ``lambda ~ Gamma(r + x, alpha + T)`` and ``p ~ Beta(a, b + x)`` given survival, this is
        ``P(alive) * (1 - z)^a * 2F1(a + b - r, a; a + b + x; z)``, ``z = at / (alpha + T + at)``.
        """
        r, alpha, a, b = self._check_fitted()
        x, t_x, T, at = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (x, t_x, T, at)))
        alive = expit(-self._log_odds_dead(x, t_x, T))
        z = at / (alpha + T + at)
        return alive * (1 - z) ** a * hyp2f1(a + b - r, a, a + b + x, z)

    def expected_purchases(self, t, x, t_x, T) -> np.ndarray:
        """Expected repeat purchases in ``(T, T + t]`` given the history (FHL 2005, eq. 10).

        Written with Euler's transformation, ``(1 - z)^{a-1} 2F1(a+b-1-r, a-1; a+b+x-1; z)``,
        which cannot overflow for frequent customers.
        """
        r, alpha, a, b = self._check_fitted()
        t, x, t_x, T = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (t, x, t_x, T)))
        z = t / (alpha + T + t)
        tail = (1 - z) ** (a - 1) * hyp2f1(a + b - 1 - r, a - 1, a + b + x - 1, z)
        return (a + b + x - 1) / (a - 1) * (1 - tail) * expit(-self._log_odds_dead(x, t_x, T))

    def expected_purchases_new_customer(self, t) -> np.ndarray:
        """Expected repeat purchases in ``(0, t]`` of a new customer (FHL 2005, eq. 9)."""
        r, alpha, a, b = self._check_fitted()
        t = np.asarray(t, dtype=float)
        z = t / (alpha + t)
        return (a + b - 1) / (a - 1) * (1 - (1 - z) ** (a - 1) * hyp2f1(a + b - 1 - r, a - 1, a + b - 1, z))

    def probability_of_n_purchases(self, n, t) -> np.ndarray:
        """P(X(t) = n) for a new customer over ``(0, t]`` (FHL 2005, eq. 8).

        The finite sum of FHL's eq. 8 is a negative-binomial CDF, evaluated as a regularised
        incomplete beta function rather than term by term.
        """
        r, alpha, a, b = self._check_fitted()
        n, t = np.broadcast_arrays(np.asarray(n, dtype=float), np.asarray(t, dtype=float))
        log_nbd = (gammaln(r + n) - gammaln(r) - gammaln(n + 1) + r * np.log(alpha / (alpha + t))
                   + n * np.log(t / (alpha + t)))
        first = np.exp(betaln(a, b + n) - betaln(a, b) + log_nbd)
        with np.errstate(invalid="ignore", divide="ignore"):
            second = np.exp(betaln(a + 1, b + n - 1) - betaln(a, b)) * betainc(n, r, t / (alpha + t))
        return first + np.where(n > 0, second, 0.0)

    def simulate(self, n: int, seed, *, T=1.0) -> pd.DataFrame:
        """Draw ``n`` customers' ``(x, t_x, T)`` from the model (assumptions 1-5).

        ``T`` (scalar or one value per customer) is each customer's observation length.
        """
        r, alpha, a, b = self._check_fitted()
        rng = np.random.default_rng(seed)
        T = np.broadcast_to(np.asarray(T, dtype=float), (n,)).copy()
        lam = rng.gamma(r, 1.0 / alpha, n)
        p = rng.beta(a, b, n)
        purchases = rng.poisson(lam * T)
        survived = rng.geometric(p)  # the purchase after which the customer drops out
        x = np.minimum(purchases, survived)
        # the x-th of `purchases` uniform arrival times on [0, T] is Beta(x, purchases - x + 1)
        t_x = np.zeros(n)
        pos = x > 0
        t_x[pos] = T[pos] * rng.beta(x[pos], purchases[pos] - x[pos] + 1)
        return pd.DataFrame({"x": x.astype(np.int64), "t_x": t_x, "T": T})
