"""Retail / e-commerce members whose purchases follow the BG/NBD process.

Model (Fader, Hardie & Lee 2005, "Counting your customers the easy way")
--------------------------------------------------------------------------
Customer *i* is acquired with a first purchase at a time spread uniformly over the
``months`` before ``as_of`` (so ``T_i``, the days from first purchase to the end of
``as_of``, is uniform). While alive, repeat purchases arrive as a Poisson process
with rate ``λ_i ~ Gamma(shape=r, rate=alpha)`` per day. After each repeat purchase the
customer drops out with probability ``p_i ~ Beta(a, b)``. So the number of repeat
purchases is ``x_i = min(N_i, J_i)`` with ``N_i ~ Poisson(λ_i T_i)`` and
``J_i ~ Geometric(p_i)``; given ``N_i = n``, purchase times are the first ``x_i``
order statistics of ``n`` uniforms on ``(0, T_i]`` (drawn from exponential spacings,
without materialising the other ``n - x_i``). Hence the share of customers with no
repeat purchase is ``E[(alpha / (alpha + T))^r]`` and the mean number of repeat
purchases is the BG/NBD ``E[X(T)]``: the tests check both.

Amounts are lognormal around a customer-specific mean; a share ``return_rate`` of
purchases is followed by a return (negative amount) 1–30 days later if that is
before ``as_of``. Purchases have a category, SKU, quantity, channel, store and profit.

>>> from datetime import date
>>> t = generate_retail(500, seed=3, as_of=date(2024, 6, 30), months=12)
>>> sorted(t), t["customers"].num_rows
(['customers', 'transactions'], 500)
>>> bool(min(t["transactions"]["txn_time"].to_pylist()).date() >= date(2023, 7, 1))
True
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import date

import numpy as np
import pyarrow as pa

from tierwise.errors import UserInputError

from .arrays import canonical_table, categories, dates, fixed_ids, money, timestamps
from .blocks import Block, block_rng, check_args, concat, group_cumsum, map_blocks, segments, shared_rng
from .cncalendar import add_months, days_of
from .names import person_names
from .people import CITIES, birthdays, phones

__all__ = ["RETAIL_CATEGORIES", "generate_retail", "iter_retail"]

#: (category, share of purchases, price multiplier, gross margin)
RETAIL_CATEGORIES: list[tuple[str, float, float, float]] = [
    ("apparel", 0.22, 1.2, 0.45), ("beauty", 0.14, 1.0, 0.55), ("electronics", 0.08, 4.0, 0.12),
    ("grocery", 0.24, 0.35, 0.18), ("home", 0.12, 1.1, 0.35), ("sports", 0.08, 1.3, 0.38),
    ("books", 0.06, 0.4, 0.28), ("toys", 0.06, 0.8, 0.40),
]
_CHANNELS = ["store", "online", "app", "mini_program"]
_SOURCES = ["store", "online", "app", "mini_program", "referral"]
_DAY_US = 86_400_000_000


class _Setup:
    def __init__(self, n, seed, as_of, months, r, alpha, a, b, amount_mean, amount_sigma, return_rate):
        self.n, self.seed = n, seed
        self.as_of_day = days_of(as_of)
        self.first_day = int(add_months(np.array([self.as_of_day + 1]), -months)[0])
        self.r, self.alpha, self.a, self.b = r, alpha, a, b
        self.mu, self.sigma, self.return_rate = math.log(amount_mean), amount_sigma, return_rate
        rng = shared_rng(seed, "retail")
        self.n_stores = max(3, min(2_000, n // 2_000))
        w = np.array([c[2] for c in CITIES])
        self.store_city = rng.choice(len(CITIES), self.n_stores, p=w / w.sum())


def _purchases(rng, s: _Setup, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """First purchase times and repeat purchase times (µs) of ``n`` customers, BG/NBD."""
    end_us = (s.as_of_day + 1) * _DAY_US
    T = rng.random(n) * (s.as_of_day + 1 - s.first_day)  # days from first purchase to the end
    first_us = end_us - np.round(T * _DAY_US).astype(np.int64)
    lam = rng.gamma(s.r, 1.0 / s.alpha, n)
    p = rng.beta(s.a, s.b, n)
    n_arrivals = rng.poisson(lam * T)
    lifetime = rng.geometric(p)  # repeat purchases made before dropping out
    x = np.minimum(n_arrivals, lifetime)
    owner, rank = segments(x)
    # first x of n uniform order statistics on (0, T]: S_k / S_{n+1}, S = cumsum of Exp(1)
    spacing = rng.exponential(1.0, len(owner))
    cum = group_cumsum(spacing, owner, n)
    tail = rng.gamma(np.maximum(n_arrivals - x + 1, 1).astype(float), 1.0, n)
    total = np.zeros(n)
    last = np.cumsum(x) - 1
    has = x > 0
    total[has] = cum[last[has]]
    denominator = total + tail
    offset_us = np.round(cum / denominator[owner] * T[owner] * _DAY_US).astype(np.int64)
    repeat_us = np.minimum(first_us[owner] + np.maximum(offset_us, 1), end_us - 1)
    return first_us, owner, repeat_us, rank


def _block(b: Block, s: _Setup) -> dict[str, pa.Table]:
    rng = block_rng(s.seed, "retail", b.index)
    n = b.size
    first_us, owner, repeat_us, _ = _purchases(rng, s, n)
    who = np.concatenate([np.arange(n), owner])
    time = np.concatenate([first_us, repeat_us])
    store = rng.integers(0, s.n_stores, n)
    male = rng.random(n) < 0.42
    ids = fixed_ids("C", b.positions() + 1, 9)
    customers = canonical_table("customers", {
        "customer_id": ids,
        "name": person_names(rng, n),
        "phone": phones(rng, n),
        "birthday": dates(birthdays(rng, s.as_of_day, n, mean_age=36.0), valid=rng.random(n) < 0.7),
        "gender": categories(male.astype(np.int8), ["F", "M"]),
        "open_date": dates(first_us // _DAY_US),
        "branch_id": fixed_ids("S", store + 1, 4),
        "city": categories(s.store_city[store], [c[0] for c in CITIES]),
        "source": categories(rng.choice(5, n, p=[0.35, 0.25, 0.2, 0.15, 0.05]), _SOURCES),
        "status": categories(np.zeros(n, dtype=np.int8), ["active"]),
    })
    m = len(who)
    shares = np.array([c[1] for c in RETAIL_CATEGORIES])
    cat = rng.choice(len(RETAIL_CATEGORIES), m, p=shares / shares.sum())
    person_mu = rng.normal(s.mu, 0.4, n)
    price = np.array([c[2] for c in RETAIL_CATEGORIES])[cat]
    yuan = np.exp(rng.normal(person_mu[who], s.sigma)) * price
    cents = np.maximum(np.round(yuan * 100), 100).astype(np.int64)
    channel = rng.choice(4, m, p=[0.45, 0.3, 0.15, 0.1])
    sku = cat * 1000 + rng.integers(0, 250, m)
    # returns: a negative copy of some purchases, 1-30 days later, if before as_of
    ret = np.flatnonzero(rng.random(m) < s.return_rate)
    ret_time = time[ret] + rng.integers(1, 31, len(ret)) * _DAY_US
    keep = ret_time < (s.as_of_day + 1) * _DAY_US
    ret, ret_time = ret[keep], ret_time[keep]
    part = np.where(rng.random(len(ret)) < 0.8, 1.0, rng.uniform(0.2, 0.9, len(ret)))
    rows = np.concatenate([np.arange(m), ret])
    amount = np.concatenate([cents, -np.round(cents[ret] * part).astype(np.int64)])
    time = np.concatenate([time, ret_time])
    order = np.lexsort((time, who[rows]))
    rows, amount, time = rows[order], amount[order], time[order]
    margin = np.array([c[3] for c in RETAIL_CATEGORIES])[cat[rows]]
    at_store = channel[rows] == 0
    transactions = canonical_table("transactions", {
        "transaction_id": fixed_ids("O", b.index * 10**9 + np.arange(len(rows)), 14),
        "customer_id": ids.take(pa.array(who[rows])),
        "txn_time": timestamps(time),
        "amount": money(amount),
        "quantity": pa.array(np.where(amount < 0, 1, 1 + rng.poisson(0.4, len(rows)))),
        "product_id": fixed_ids("SKU", sku[rows], 5),
        "product_category": categories(cat[rows], [c[0] for c in RETAIL_CATEGORIES]),
        "channel": categories(channel[rows], _CHANNELS),
        "store_id": fixed_ids("S", store[who[rows]] + 1, 4, valid=at_store),
        "profit": money(np.round(amount * margin).astype(np.int64)),
    })
    return {"customers": customers, "transactions": transactions}


def iter_retail(
    n_customers: int, *, seed: int = 0, as_of: date = date(2024, 12, 31), months: int = 24,
    r: float = 0.75, alpha: float = 40.0, a: float = 0.8, b: float = 2.5,
    amount_mean: float = 120.0, amount_sigma: float = 0.6, return_rate: float = 0.04,
) -> Iterator[dict[str, pa.Table]]:
    """Yield the retail tables block by block; see :func:`generate_retail`."""
    check_args(n_customers, seed, as_of, months)
    for name, value in {"r": r, "alpha": alpha, "a": a, "b": b, "amount_mean": amount_mean}.items():
        if not value > 0:
            raise UserInputError(f"{name} must be positive, got {value!r}")
    if not 0 <= return_rate < 1:
        raise UserInputError(f"return_rate must be in [0, 1), got {return_rate!r}")
    setup = _Setup(n_customers, seed, as_of, months, r, alpha, a, b, amount_mean, amount_sigma, return_rate)
    yield from map_blocks(lambda blk: _block(blk, setup), n_customers)


def generate_retail(
    n_customers: int = 10_000, *, seed: int = 0, as_of: date = date(2024, 12, 31), months: int = 24,
    r: float = 0.75, alpha: float = 40.0, a: float = 0.8, b: float = 2.5,
    amount_mean: float = 120.0, amount_sigma: float = 0.6, return_rate: float = 0.04,
) -> dict[str, pa.Table]:
    """Generate retail members and their purchases (BG/NBD) and returns.

    Parameters
    ----------
    n_customers : number of members
    seed : random seed; the same seed gives byte-identical tables
    as_of : last day of the data
    months : acquisition window; first purchases are uniform over it
    r, alpha : Gamma shape and rate of the purchase rate λ (per day; mean r / alpha)
    a, b : Beta parameters of the dropout probability p after each repeat purchase
    amount_mean : typical purchase amount in yuan (median of a customer's mean)
    amount_sigma : log-sd of amounts around the customer's mean
    return_rate : share of purchases later returned (negative amounts)

    Returns
    -------
    dict with canonical ``customers`` and ``transactions`` tables

    Examples
    --------
    >>> t = generate_retail(1_000, seed=1)
    >>> tx = t["transactions"].to_pandas()
    >>> bool((tx["amount"] < 0).any()), tx["customer_id"].nunique()
    (True, 1000)
    """
    return concat(iter_retail(n_customers, seed=seed, as_of=as_of, months=months, r=r, alpha=alpha, a=a, b=b,
                              amount_mean=amount_mean, amount_sigma=amount_sigma, return_rate=return_rate))
