"""Special functions for the value models, evaluated in log space.

The Pareto/NBD likelihood needs Gauss hypergeometric terms that overflow in double
precision when evaluated naively (``(alpha + T) ** (r + x)`` for a frequent customer).
This module writes them in the form used by Fader, Hardie & Shang (2005) and then
applies Euler's transformation so that only the well-behaved series

.. math:: F(z) = {}_2F_1(1, p; q; z) = \\sum_{k \\ge 0} \\frac{(p)_k}{(q)_k} z^k,
          \\qquad 0 \\le z < 1,\\ 0 < p < q,

is ever summed. Its terms fall at least as fast as ``z ** k`` (no initial growth,
whatever the customer's frequency), and the partial derivatives with respect to
``p``, ``q`` and ``z`` are accumulated term by term, so the likelihood gradient is
exact (analytic), not a finite difference.

References
----------
Fader, P. S., Hardie, B. G. S. & Shang, J. (2005). "A Note on Deriving the Pareto/NBD
Model and Related Expressions." http://brucehardie.com/notes/009/
Abramowitz, M. & Stegun, I. (1964), 15.3.3 (Euler's transformation).
"""

from __future__ import annotations

import numpy as np

#: relative size of the last term kept in a series
SERIES_RTOL = 1e-17
#: hard cap on the number of series terms (reached only when z is within ~1e-5 of 1)
SERIES_MAX_TERMS = 200_000


def hyp2f1_1pq(p, q, z, *, derivatives: bool = False):
    """Gauss series :math:`{}_2F_1(1, p; q; z)` for ``0 <= z < 1`` and ``0 < p < q``.

    Parameters
    ----------
    p, q, z : array_like, broadcast together.
    derivatives : also return the partial derivatives ``dF/dp``, ``dF/dq``, ``dF/dz``.

    Returns
    -------
    F, or ``(F, F_p, F_q, F_z)`` when ``derivatives`` is true.

    Notes
    -----
    Terms are :math:`c_k = c_{k-1} z (p + k - 1)/(q + k - 1)`, so
    :math:`\\partial c_k/\\partial p = c_k H_k(p)` with :math:`H_k(p) = \\sum_{j<k} 1/(p+j)`,
    and likewise for ``q`` with the opposite sign. Summation stops row by row once a
    term (and its derivative terms) fall below ``SERIES_RTOL`` of the running sum.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.special import hyp2f1
    >>> F = hyp2f1_1pq(np.array([0.7, 3.2]), np.array([2.5, 9.0]), np.array([0.3, 0.95]))
    >>> bool(np.allclose(F, hyp2f1(1.0, [0.7, 3.2], [2.5, 9.0], [0.3, 0.95]), rtol=1e-13))
    True
    """
    p, q, z = (np.asarray(v, dtype=float) for v in np.broadcast_arrays(p, q, z))
    shape = p.shape
    p, q, z = p.ravel(), q.ravel(), z.ravel()
    if np.any((z < 0) | (z >= 1)):
        raise ValueError("hyp2f1_1pq needs 0 <= z < 1")
    out = np.zeros((4, z.size))
    idx = np.arange(z.size)
    # sums and state of the rows still summing: term c_k (c = d z), harmonic sums H_k
    acc = np.zeros((4, z.size))
    acc[0] = 1.0
    c, hp, hq = np.ones_like(z), np.zeros_like(z), np.zeros_like(z)
    pa, qa, za = p, q, z
    for k in range(SERIES_MAX_TERMS):
        d = c * ((pa + k) / (qa + k))  # c_{k+1} / z
        c = d * za
        acc[0] += c
        if derivatives:
            hp += 1.0 / (pa + k)
            hq += 1.0 / (qa + k)
            acc[1] += c * hp
            acc[2] -= c * hq
            acc[3] += (k + 1) * d
        if k % 4 == 3:  # test (and drop converged rows) every few terms: the test costs a pass
            size = c * (k + 2 + hp + hq) if derivatives else c
            done = size <= SERIES_RTOL * acc[0]
            if done.any():
                out[:, idx[done]] = acc[:, done]
                if done.all():
                    break
                keep = ~done
                idx, acc, c, hp, hq, pa, qa, za = (v[..., keep] for v in (idx, acc, c, hp, hq, pa, qa, za))
    else:  # pragma: no cover - only for z within ~1e-5 of 1
        raise FloatingPointError("2F1(1, p; q; z) series did not converge (z too close to 1)")
    if not derivatives:
        return out[0].reshape(shape)
    return tuple(v.reshape(shape) for v in out)
