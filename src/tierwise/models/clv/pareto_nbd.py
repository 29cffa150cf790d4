"""Pareto/NBD: the model of Schmittlein, Morrison & Colombo (1987).

Assumptions
-----------
1. While active, a customer buys according to a Poisson process with rate ``lambda``;
   ``lambda`` ~ Gamma(shape ``r``, rate ``alpha``) across customers.
2. A customer's unobserved lifetime is exponential with rate ``mu``; ``mu`` ~
   Gamma(shape ``s``, rate ``beta``) across customers (dropout can happen at any time,
   not only after a purchase as in BG/NBD).
3. ``lambda`` and ``mu`` are independent.

Likelihood in a stable form
---------------------------
Integrating ``lambda`` and ``mu`` out of the individual likelihood
``lambda^x e^{-(lambda+mu)T} + mu/(lambda+mu) lambda^x (e^{-(lambda+mu)t_x} - e^{-(lambda+mu)T})``
(Fader, Hardie & Shang 2005) gives

.. math:: L = \\frac{\\Gamma(r+x)\\alpha^r\\beta^s}{\\Gamma(r)}
    \\Big[(\\alpha+T)^{-(r+x)}(\\beta+T)^{-s} + s\\,(\\Phi(t_x) - \\Phi(T))\\Big],

where :math:`\\Phi(t) = -\\int_t^\\infty (\\alpha+u)^{-(r+x)}(\\beta+u)^{-(s+1)} du`, up to sign, is
FHS's ``A_0`` term. With Euler's transformation applied to their ``2F1(r+s+x, s+1;
r+s+x+1; .)`` (for ``alpha >= beta``; the roles swap otherwise) it becomes

.. math:: \\Phi(t) = \\frac{(\\alpha+t)^{-(r+x)}(\\beta+t)^{-s}}{r+s+x}\\,
    {}_2F_1\\Big(1, r+x; r+s+x+1; \\frac{\\alpha-\\beta}{\\alpha+t}\\Big),

a product of powers (summed in logs) and a series with positive, geometrically falling
terms (:func:`~tierwise.models.clv.special.hyp2f1_1pq`). Nothing overflows however large
``x`` is, and the parameter derivatives of the series are summed alongside it, so the
gradient is analytic. The bracket is a difference of positive terms; it is evaluated
relative to its largest term, so P(alive) is its first term over the bracket.

References
----------
Schmittlein, D. C., Morrison, D. G. & Colombo, R. (1987). "Counting Your Customers:
Who Are They and What Will They Do Next?" *Management Science* 33(1), 1-24.
Fader, P. S., Hardie, B. G. S. & Shang, J. (2005). "A Note on Deriving the Pareto/NBD
Model and Related Expressions." http://brucehardie.com/notes/009/
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.integrate import quad
from scipy.special import digamma, gammaln

from tierwise.models.clv.counting import CountingModel, rows_with_distinct_x
from tierwise.models.clv.special import hyp2f1_1pq

__all__ = ["ParetoNBDModel"]


def _log_phi(t, x, r, alpha, s, beta):
    """``log Phi(t)`` and its gradient w.r.t. ``(r, alpha, s, beta)`` (4 x n)."""
    m = r + s + x
    la, lb = np.log(alpha + t), np.log(beta + t)
    if alpha >= beta:
        z = (alpha - beta) / (alpha + t)
        F, Fp, Fq, Fz = hyp2f1_1pq(r + x, m + 1, z, derivatives=True)
        log_g = np.log(F) - np.log(m)
        g = [(Fp + Fq) / F - 1 / m, Fz / F * (beta + t) / (alpha + t) ** 2,
             Fq / F - 1 / m, -Fz / F / (alpha + t)]
    else:
        z = (beta - alpha) / (beta + t)
        F, Fp, Fq, Fz = hyp2f1_1pq(s + 1, m + 1, z, derivatives=True)
        log_g = la - lb + np.log(F) - np.log(m)
        g = [Fq / F - 1 / m, 1 / (alpha + t) - Fz / F / (beta + t),
             (Fp + Fq) / F - 1 / m, -1 / (beta + t) + Fz / F * (alpha + t) / (beta + t) ** 2]
    d_e = _d_log_power(t, x, r, alpha, s, beta)
    return -(r + x) * la - s * lb + log_g, d_e + np.vstack(g)


def _d_log_power(t, x, r, alpha, s, beta):
    """Gradient of ``-(r+x) log(alpha+t) - s log(beta+t)``."""
    return np.vstack([-np.log(alpha + t), -(r + x) / (alpha + t), -np.log(beta + t) + 0 * x,
                      -s / (beta + t) + 0 * x])


def _distinct_times(x, t_x, T):
    """Distinct ``(x, t)`` pairs among ``(x, t_x)`` and ``(x, T)``, and the map back to rows."""
    xt, t = np.concatenate([x, x]), np.concatenate([t_x, T])
    cx, ux = pd.factorize(xt)  # hashing, no sort: fast at 10 M rows
    ct, ut = pd.factorize(t)
    inverse, pairs = pd.factorize(cx.astype(np.int64) * len(ut) + ct)
    return {"xt": np.asarray(ux, float)[pairs // len(ut)], "t": np.asarray(ut, float)[pairs % len(ut)],
            "inverse": inverse}


def _one_minus_power(k, ratio):
    """``(1 - ratio**k) / k``, continuous at ``k = 0`` (where it is ``-log(ratio)``)."""
    log_ratio = np.log(ratio)
    if abs(k) < 1e-12:
        return -log_ratio
    return -np.expm1(k * log_ratio) / k


class ParetoNBDModel(CountingModel):
    """Pareto/NBD model of repeat purchasing (parameters ``r, alpha, s, beta``).

    See the module docstring for the assumptions and the stable likelihood.

    Examples
    --------
    >>> m = ParetoNBDModel.from_dict({"params": {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}})
    >>> m.probability_alive(x=[2, 0], t_x=[30.43, 0], T=[38.86, 38.86]).round(3)
    array([0.869, 0.295])
    >>> m.expected_purchases(39, x=[2], t_x=[30.43], T=[38.86]).round(3)
    array([1.455])
    """

    _param_names = ("r", "alpha", "s", "beta")
    _scaled_params = ("alpha", "beta")

    def _start(self, data: pd.DataFrame) -> np.ndarray:
        mean_x = np.average(data["x"], weights=data["weight"])
        return np.array([1.0, 1.0 / max(mean_x, 0.1), 1.0, 1.0])

    def _prepare(self, data):
        rows = rows_with_distinct_x(data)
        return {**rows, **_distinct_times(rows["x"], rows["t_x"], rows["T"])}

    def _terms(self, theta, rows, *, gradient: bool):
        """Normalised bracket terms ``n0, n1, n2`` (``B = n0 + n1 - n2``), shift, and gradients.

        ``Phi`` is computed once per distinct ``(x, t)`` among the ``t_x`` and ``T`` values:
        far fewer than the rows, as many customers share ``x`` and ``T``.
        """
        r, alpha, s, beta = theta
        x, T, inv = rows["x"], rows["T"], rows["inverse"]
        lphi, dphi = _log_phi(rows["t"], rows["xt"], r, alpha, s, beta)
        lphi, dphi = lphi[inv], dphi[:, inv]
        k = x.size
        l0 = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
        l1, l2 = np.log(s) + lphi[:k], np.log(s) + lphi[k:]
        shift = np.maximum(l0, l1)
        n0, n1, n2 = np.exp(l0 - shift), np.exp(l1 - shift), np.exp(l2 - shift)
        if not gradient:
            return n0, n1, n2, shift, None
        d0 = _d_log_power(T, x, r, alpha, s, beta)
        dB = n0 * d0 + n1 * dphi[:, :k] - n2 * dphi[:, k:]
        dB[2] += (n1 - n2) / s
        return n0, n1, n2, shift, dB

    def _loglik(self, theta, rows):
        r, alpha, s, beta = theta
        x = rows["x"]
        n0, n1, n2, shift, dB = self._terms(theta, rows, gradient=True)
        B = n0 + n1 - n2
        ux, ix = rows["ux"], rows["ix"]
        ll = (gammaln(r + ux) - gammaln(r))[ix] + r * np.log(alpha) + s * np.log(beta) + shift + np.log(B)
        grad = dB / B
        grad[0] += (digamma(r + ux) - digamma(r))[ix] + np.log(alpha)
        grad[1] += r / alpha
        grad[2] += np.log(beta)
        grad[3] += s / beta
        return ll, grad * theta[:, None]

    # --------------------------------------------------------------- predictions
    def probability_alive(self, x, t_x, T, *, at=0.0) -> np.ndarray:
        """P(the customer is still active at ``T + at`` | x, t_x, T).

        At ``T`` this is the first term of the likelihood bracket over the bracket (SMC 1987,
        eq. 11); given survival to ``T``, ``mu ~ Gamma(s, beta + T)``, so surviving a further
        ``at`` multiplies it by ``((beta + T) / (beta + T + at)) ** s``.
        """
        theta = np.array(self._check_fitted())
        x, t_x, T, at = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (x, t_x, T, at)))
        shape = x.shape
        x, t_x, T, at = (v.ravel() for v in (x, t_x, T, at))
        rows = {"x": x, "T": T, **_distinct_times(x, t_x, T)}
        n0, n1, n2, _, _ = self._terms(theta, rows, gradient=False)
        beta, s = theta[3], theta[2]
        # a probability: rounding in the series can land a hair above 1
        return np.clip(n0 / (n0 + n1 - n2) * ((beta + T) / (beta + T + at)) ** s, 0.0, 1.0).reshape(shape)

    def expected_purchases(self, t, x, t_x, T) -> np.ndarray:
        """Expected repeat purchases in ``(T, T + t]`` given the history (FHS 2005, eq. 22)."""
        r, alpha, s, beta = self._check_fitted()
        t, x, t_x, T = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (t, x, t_x, T)))
        alive = self.probability_alive(x, t_x, T)
        ratio = (beta + T) / (beta + T + t)
        return alive * (r + x) * (beta + T) / (alpha + T) * _one_minus_power(s - 1, ratio)

    def expected_purchases_new_customer(self, t) -> np.ndarray:
        """Expected repeat purchases in ``(0, t]`` of a new customer (SMC 1987, eq. 17)."""
        r, alpha, s, beta = self._check_fitted()
        t = np.asarray(t, dtype=float)
        return r * beta / alpha * _one_minus_power(s - 1, beta / (beta + t))

    def probability_of_n_purchases(self, n, t) -> np.ndarray:
        """P(X(t) = n) for a new customer over ``(0, t]`` (FHS 2005, eq. 18).

        Alive throughout ``(0, t]``: an NBD count times ``(beta / (beta + t)) ** s``; died at
        ``tau < t``: the NBD count over ``(0, tau]`` weighted by the Pareto density of
        ``tau``, integrated by adaptive quadrature (smooth, positive integrand).
        """
        r, alpha, s, beta = self._check_fitted()

        def nbd(k, u):
            return np.exp(gammaln(r + k) - gammaln(r) - gammaln(k + 1) + r * np.log(alpha / (alpha + u))
                          + (k * np.log(u / (alpha + u)) if k > 0 else 0.0))

        def one(k, u):
            if u == 0:
                return float(k == 0)
            died = quad(lambda v: s / beta * (beta / (beta + v)) ** (s + 1) * nbd(k, v),
                        0.0, u, epsabs=0.0, epsrel=1e-12, limit=200)[0]
            return float(nbd(k, u) * (beta / (beta + u)) ** s + died)

        return np.vectorize(one, otypes=[float])(np.asarray(n), np.asarray(t, dtype=float))

    def simulate(self, n: int, seed, *, T=1.0) -> pd.DataFrame:
        """Draw ``n`` customers' ``(x, t_x, T)`` from the model (assumptions 1-3)."""
        r, alpha, s, beta = self._check_fitted()
        rng = np.random.default_rng(seed)
        T = np.broadcast_to(np.asarray(T, dtype=float), (n,)).copy()
        lam = rng.gamma(r, 1.0 / alpha, n)
        mu = rng.gamma(s, 1.0 / beta, n)
        active = np.minimum(rng.exponential(1.0, n) / mu, T)
        x = rng.poisson(lam * active)
        t_x = np.zeros(n)
        pos = x > 0
        t_x[pos] = active[pos] * rng.beta(x[pos], 1.0)  # the last of x uniform arrivals
        return pd.DataFrame({"x": x.astype(np.int64), "t_x": t_x, "T": T})
