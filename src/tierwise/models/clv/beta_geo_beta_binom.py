"""BG/BB: the beta-geometric / beta-Bernoulli model for discrete transaction opportunities.

Assumptions (Fader, Hardie & Berger 2010)
-----------------------------------------
1. Transactions can happen only at discrete opportunities 1, 2, ..., ``n`` (an annual
   event, a weekly visit); while active, a customer transacts at each with probability
   ``p``, ``p`` ~ Beta(``alpha``, ``beta``) across customers.
2. At the start of each opportunity an active customer becomes inactive for good with
   probability ``theta``, ``theta`` ~ Beta(``gamma``, ``delta``) across customers.
3. ``p`` and ``theta`` are independent.

Data use the shared vocabulary with whole numbers: ``x`` transactions (first one not
counted), ``t_x`` the opportunity of the last one, ``T`` (the paper's ``n``) the number
of opportunities observed. The likelihood (FHB 2010, eq. 5) is

.. math:: L = \\frac{B(\\alpha+x, \\beta+n-x)}{B(\\alpha,\\beta)}\\frac{B(\\gamma,\\delta+n)}{B(\\gamma,\\delta)}
    + \\sum_{i=0}^{n-t_x-1} \\frac{B(\\alpha+x, \\beta+t_x-x+i)}{B(\\alpha,\\beta)}
      \\frac{B(\\gamma+1,\\delta+t_x+i)}{B(\\gamma,\\delta)},

summed in log space (``logsumexp``) with its analytic gradient.

References
----------
Fader, P. S., Hardie, B. G. S. & Berger, P. D. (2010). "Customer-Base Analysis in a
Discrete-Time Noncontractual Setting." *Marketing Science* 29(6), 1086-1108.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import betaln, digamma, gammaln, logsumexp

from tierwise.models.clv.counting import CountingModel

__all__ = ["BetaGeoBetaBinomModel"]


def _log_terms(theta, x, t_x, n, *, gradient: bool = True):
    """Log of the likelihood terms (rows x (1 + max gap)) and their gradients (4 x rows x terms)."""
    al, be, ga, de = theta
    gap = int(np.max(n - t_x)) if n.size else 0
    i = np.arange(gap)[None, :]
    valid = i < (n - t_x)[:, None]
    xs, txs, ns = x[:, None], t_x[:, None], n[:, None]
    base_ab, base_gd = betaln(al, be), betaln(ga, de)
    # column 0: alive through n; columns 1..: dropped out at opportunity t_x + i + 1
    b_second = np.concatenate([be + ns - xs, be + txs - xs + i], axis=1)
    tot = np.concatenate([ns, txs + i], axis=1)
    g_first = np.concatenate([np.full(ns.shape, ga), np.full(i.shape, ga + 1) + 0 * txs], axis=1)
    log = betaln(al + xs, b_second) - base_ab + betaln(g_first, de + tot) - base_gd
    log = np.where(np.concatenate([np.ones_like(ns, bool), valid], axis=1), log, -np.inf)
    if not gradient:
        return log, None
    d = np.empty((4,) + log.shape)
    d[0] = digamma(al + xs) - digamma(al + be + tot) - digamma(al) + digamma(al + be)
    d[1] = digamma(b_second) - digamma(al + be + tot) - digamma(be) + digamma(al + be)
    d[2] = digamma(g_first) - digamma(g_first + de + tot) - digamma(ga) + digamma(ga + de)
    d[3] = digamma(de + tot) - digamma(g_first + de + tot) - digamma(de) + digamma(ga + de)
    return log, d


class BetaGeoBetaBinomModel(CountingModel):
    """BG/BB model (parameters ``alpha, beta, gamma, delta``) for discrete opportunities.

    Examples
    --------
    The published donation estimates (FHB 2010, Table 2):

    >>> m = BetaGeoBetaBinomModel.from_dict(
    ...     {"params": {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783}})
    >>> m.expected_purchases_new_customer(6).round(3)
    np.float64(2.22)
    """

    _param_names = ("alpha", "beta", "gamma", "delta")
    _discrete = True

    def _start(self, data: pd.DataFrame) -> np.ndarray:
        return np.array([1.0, 1.0, 1.0, 1.0])

    def _loglik(self, theta, data):
        x, t_x, n = (data[c].to_numpy(dtype=float) for c in ("x", "t_x", "T"))
        log, d = _log_terms(theta, x, t_x, n)
        ll = logsumexp(log, axis=1)
        share = np.exp(log - ll[:, None])
        return ll, (d * share).sum(axis=2) * theta[:, None]

    def _ll(self, x, t_x, T):
        """Log-likelihood per row, computed once per distinct (whole-number) pattern."""
        x, t_x, T = (np.asarray(v, dtype=float).ravel() for v in (x, t_x, T))
        key = (x * (T.max() + 1) + t_x) * (T.max() + 1) + T  # exact for whole numbers
        inverse, uniq = pd.factorize(key)
        first = np.zeros(uniq.size, dtype=np.int64)
        first[inverse[::-1]] = np.arange(x.size)[::-1]
        log, _ = _log_terms(np.array(self._check_fitted()), x[first], t_x[first], T[first], gradient=False)
        return logsumexp(log, axis=1)[inverse]

    def probability_alive(self, x, t_x, T, *, at=0) -> np.ndarray:
        """P(active at opportunity ``T + at`` | x, t_x, T) (FHB 2010, eq. A10)."""
        al, be, ga, de = self._check_fitted()
        x, t_x, T, at = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (x, t_x, T, at)))
        log = betaln(al + x, be + T - x) - betaln(al, be) + betaln(ga, de + T + at) - betaln(ga, de)
        return np.exp(log - self._ll(x, t_x, T).reshape(x.shape))

    def expected_purchases(self, t, x, t_x, T) -> np.ndarray:
        """Expected transactions at opportunities ``T + 1 .. T + t`` (FHB 2010, eq. 13)."""
        al, be, ga, de = self._check_fitted()
        t, x, t_x, T = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (t, x, t_x, T)))
        log = betaln(al + x + 1, be + T - x) - betaln(al, be) - self._ll(x, t_x, T).reshape(x.shape)
        scale = de / (ga - 1) * np.exp(gammaln(ga + de) - gammaln(1 + de))
        gap = (np.exp(gammaln(1 + de + T) - gammaln(ga + de + T))
               - np.exp(gammaln(1 + de + T + t) - gammaln(ga + de + T + t)))
        return np.exp(log) * scale * gap

    def expected_purchases_new_customer(self, t) -> np.ndarray:
        """Expected transactions in the first ``t`` opportunities (FHB 2010, eq. 9)."""
        al, be, ga, de = self._check_fitted()
        t = np.asarray(t, dtype=float)
        ratio = np.exp(gammaln(ga + de) + gammaln(1 + de + t) - gammaln(ga + de + t) - gammaln(1 + de))
        return al / (al + be) * de / (ga - 1) * (1 - ratio)

    def probability_of_n_purchases(self, n, t) -> np.ndarray:
        """P(X(t) = n): ``n`` transactions in the first ``t`` opportunities (FHB 2010, eq. 7)."""
        al, be, ga, de = self._check_fitted()

        def one(k, m):
            if k > m:
                return 0.0
            lb = gammaln(m + 1) - gammaln(k + 1) - gammaln(m - k + 1)
            first = lb + betaln(al + k, be + m - k) - betaln(al, be) + betaln(ga, de + m) - betaln(ga, de)
            i = np.arange(k, m)
            lc = gammaln(i + 1) - gammaln(k + 1) - gammaln(i - k + 1)
            rest = lc + betaln(al + k, be + i - k) - betaln(al, be) + betaln(ga + 1, de + i) - betaln(ga, de)
            return float(np.exp(logsumexp(np.append(rest, first))))

        return np.vectorize(one, otypes=[float])(np.asarray(n, dtype=int), np.asarray(t, dtype=int))

    def simulate(self, n: int, seed, *, T=6) -> pd.DataFrame:
        """Draw ``n`` customers over ``T`` opportunities each (assumptions 1-3)."""
        al, be, ga, de = self._check_fitted()
        rng = np.random.default_rng(seed)
        T = np.broadcast_to(np.asarray(T, dtype=np.int64), (n,)).copy()
        p, theta = rng.beta(al, be, n), rng.beta(ga, de, n)
        alive_for = rng.geometric(theta) - 1  # opportunities survived before dropping out
        x, t_x = np.zeros(n, np.int64), np.zeros(n, np.int64)
        for j in range(1, int(T.max()) + 1):
            buy = (j <= alive_for) & (j <= T) & (rng.random(n) < p)
            x += buy
            t_x[buy] = j
        return pd.DataFrame({"x": x, "t_x": t_x, "T": T})
