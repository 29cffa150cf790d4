"""Retail-bank customers with assets, for average-AUM tiering (财富管理客户分层).

Model
-----
Each customer has a typical asset level ``L`` (assets under management, AUM), drawn
lognormal with median 30,000 yuan and log-sd 2.0: a heavy tail, so the usual bank
ladder 普通 (< 50k) ≤ 金卡 (< 500k) ≤ 白金卡 (< 2M) ≤ 钻石卡 (< 6M) ≤ 私人银行 has
members in every tier at a few thousand customers (about 60 / 32 / 6 / 1.4 / 0.4 %).
Month-end AUM is ``L · exp(x_t + g · (t - T))`` where ``x_t`` is a stationary AR(1)
(ρ = 0.9, innovation sd 0.13), ``g`` a per-customer trend and rare outflow shocks
(1.5 % a month, 30–80 % withdrawn, recovering over months). Customers therefore move
between tiers month to month and sometimes dip just below a threshold. AUM is split
over the product types deposit / wealth / fund / insurance; richer customers are more
likely to hold wealth products, funds and insurance.

Tables: ``customers``, ``balances`` (month-end, or daily with ``balance_freq="D"``,
one row per customer, date and product type held), ``holdings`` (term deposits,
wealth products with fixed maturities, funds, insurance), ``transactions`` (payroll
and other deposits, product purchases, a few reversals with negative amounts) and
``interactions``. Relationship managers serve about 300 customers each; eight managers
make a branch.

Examples
--------
>>> from datetime import date
>>> t = generate_bank(200, seed=7, as_of=date(2024, 6, 30), months=3)
>>> sorted(t)
['balances', 'customers', 'holdings', 'interactions', 'transactions']
>>> t["customers"].num_rows, t["customers"]["customer_id"][0].as_py()
(200, '019260817')
>>> str(t["balances"]["balance_date"].type), str(t["balances"]["balance"].type)
('date32[day]', 'decimal128(18, 2)')
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import date
from typing import Literal

import numpy as np
import pyarrow as pa

from tierwise.errors import UserInputError

from .arrays import canonical_table, categories, dates, fixed_ids, money, timestamps
from .bank_products import PRODUCT_TYPES, Catalogue, catalogue, holdings_and_purchases, interactions
from .blocks import Block, block_rng, check_args, concat, map_blocks, segments, shared_rng
from .cncalendar import add_months, civil, days_from_civil, days_of, month_end
from .names import person_names
from .people import CITIES, birthdays, id_numbers, phones

__all__ = ["BANK_TIERS", "bank_customer_numbers", "generate_bank", "iter_bank"]

#: the default bank ladder: (tier, lower bound of average AUM in yuan)
BANK_TIERS: list[tuple[str, int]] = [("普通", 0), ("金卡", 50_000), ("白金卡", 500_000), ("钻石卡", 2_000_000),
                                     ("私人银行", 6_000_000)]
#: account code of the per-type balance rows
BALANCE_PRODUCTS = {"deposit": "DEP0001", "wealth": "WMP0001", "fund": "FND0001", "insurance": "INS0001"}
#: customers at or below which ``balance_freq="auto"`` gives daily balances
DAILY_AUTO_LIMIT = 5_000
_DAY_US = 86_400_000_000
_SOURCES = ["branch", "mobile", "payroll", "referral"]
_OCCUPATIONS = ["企业职员", "公务员", "教师", "医生", "个体工商户", "企业主", "自由职业", "退休"]
_RISK = ["C1", "C2", "C3", "C4", "C5"]
_MULT, _OFFSET = 738_913, 19_260_817  # a bijection of 0..10^9-1: ids look scattered, keep leading zeros


def bank_customer_numbers(positions: np.ndarray) -> pa.Array:
    """The 9-digit customer numbers (客户号, often with leading zeros) of customer positions.

    Positions at or beyond ``n_customers`` give numbers that no generated customer has,
    which is how the export injects unknown customer ids.

    >>> import numpy as np
    >>> bank_customer_numbers(np.array([0, 1])).to_pylist()
    ['019260817', '019999730']
    """
    return fixed_ids("", (np.asarray(positions, dtype=np.int64) * _MULT + _OFFSET) % 10**9, 9)


class _Setup:
    """Scenario-wide settings and draws shared by every block."""

    def __init__(self, n: int, seed: int, as_of: date, months: int, freq: str):
        self.n, self.seed, self.freq = n, seed, freq
        self.as_of_day = days_of(as_of)
        first_month = add_months(np.array([self.as_of_day]), -(months - 1))[0]
        y, m, _ = civil(np.array([first_month]))
        self.first_day = int(days_from_civil(y, m, np.array([1]))[0])
        self.month_ends = np.minimum(month_end(add_months(np.full(months, self.first_day), np.arange(months))),
                                     self.as_of_day)
        rng = shared_rng(seed, "bank")
        self.n_managers = max(1, math.ceil(n / 300))
        n_branches = max(1, math.ceil(self.n_managers / 8))
        w = np.array([c[2] for c in CITIES])
        self.branch_city = rng.choice(len(CITIES), n_branches, p=w / w.sum())
        self.manager_branch = np.arange(self.n_managers) % n_branches
        self.catalogue: Catalogue = catalogue(rng, self.first_day, self.as_of_day)


def _customers(b: Block, s: _Setup, rng) -> tuple[pa.Table, dict]:
    n = b.size
    level = np.exp(rng.normal(math.log(30_000), 2.0, n))
    tier = np.searchsorted([t[1] for t in BANK_TIERS], level, side="right") - 1
    manager = rng.integers(0, s.n_managers, n)
    branch = s.manager_branch[manager]
    city = s.branch_city[branch]
    male = rng.random(n) < 0.5
    birth = birthdays(rng, s.as_of_day, n, mean_age=45.0)
    adult = birth + 6575  # 18 years
    recent = rng.random(n) < 0.15
    opened = np.where(recent, rng.integers(s.first_day, s.as_of_day + 1, n),
                      rng.integers(s.first_day - 15 * 365, s.first_day, n))
    opened = np.maximum(opened, np.minimum(adult, s.as_of_day))
    source = rng.choice(4, n, p=[0.45, 0.25, 0.2, 0.1])
    risk = np.clip(rng.integers(0, 3, n) + (tier >= 2) + rng.integers(0, 2, n), 0, 4)
    manager_ids = fixed_ids("RM", manager + 1, 5)
    table = canonical_table("customers", {
        "customer_id": bank_customer_numbers(b.positions()),
        "name": person_names(rng, n),
        "id_number": id_numbers(np.array([c[1] for c in CITIES])[city], birth, male, rng),
        "phone": phones(rng, n),
        "birthday": dates(birth),
        "gender": categories(male.astype(np.int8), ["F", "M"]),
        "open_date": dates(opened),
        "manager_id": manager_ids,
        "branch_id": fixed_ids("BR", branch + 1, 3),
        "city": categories(city, [c[0] for c in CITIES]),
        "source": categories(source, _SOURCES),
        "occupation": categories(rng.integers(0, len(_OCCUPATIONS), n), _OCCUPATIONS),
        "risk_level": categories(risk, _RISK),
        "status": categories((rng.random(n) < 0.04).astype(np.int8), ["active", "dormant"]),
    })
    flags = np.ones((n, 4), dtype=bool)
    lg = np.log10(np.maximum(level, 1) / 1e4)
    for k, (a, slope, cap) in enumerate([(0.1, 0.15, 0.9), (0.05, 0.1, 0.6), (0.05, 0.08, 0.5)], start=1):
        flags[:, k] = rng.random(n) < np.clip(a + slope * lg, 0.02, cap)
    weight = rng.gamma(2.0, 1.0, (n, 4)) * flags
    weight[:, 0] += 0.5
    extra = {"open": opened, "level": level, "tier": tier, "flags": flags, "share": weight / weight.sum(1, keepdims=True),
             "manager_ids": manager_ids, "branch": branch, "source": source}
    return table, extra


def _month_end_assets(rng, n: int, months: int) -> np.ndarray:
    """Relative AUM path (n, months): AR(1) in logs, a trend, rare outflow shocks."""
    x = rng.normal(0.0, 0.3, n)
    trend = rng.normal(0.004, 0.015, n)
    path = np.empty((n, months))
    for t in range(months):  # a loop over months, vectorised over customers
        x = 0.9 * x + rng.normal(0.0, 0.13, n)
        shock = rng.random(n) < 0.015
        x = np.where(shock, x + np.log(rng.uniform(0.2, 0.7, n)), x)
        path[:, t] = x + trend * (t - months + 1)
    return np.exp(path)


def _balance_rows(ids: pa.Array, owner: np.ndarray, day: np.ndarray, kind: np.ndarray, cents: np.ndarray) -> pa.Table:
    codes = list(BALANCE_PRODUCTS.values())
    return canonical_table("balances", {
        "customer_id": ids.take(pa.array(owner)),
        "balance_date": dates(day),
        "product_id": categories(kind, codes),
        "product_type": categories(kind, PRODUCT_TYPES),
        "balance": money(cents),
    })


def _balances(rng, s: _Setup, ids: pa.Array, c: dict) -> pa.Table:
    n, months = len(ids), len(s.month_ends)
    rel = _month_end_assets(rng, n, months)
    noise = np.exp(rng.normal(0.0, 0.08, (n, months, 4)))
    value = c["level"][:, None, None] * rel[:, :, None] * c["share"][:, None, :] * noise  # yuan (n, M, 4)
    held = c["flags"][:, None, :]
    if s.freq == "M":
        alive = c["open"][:, None] <= s.month_ends[None, :]
        owner, t, k = np.nonzero(alive[:, :, None] & held)
        cents = np.round(value[owner, t, k] * 100).astype(np.int64)
        return _balance_rows(ids, owner, s.month_ends[t], k, cents)
    parts = []
    starts = np.concatenate([[s.first_day], s.month_ends[:-1] + 1])
    for t in range(months):  # daily rows, one month at a time to bound memory
        days = np.arange(starts[t], s.month_ends[t] + 1)
        prev = value[:, max(t - 1, 0), :]
        frac = (days - starts[t] + 1) / len(days)
        daily = prev[:, None, :] + (value[:, t, :] - prev)[:, None, :] * frac[None, :, None]
        daily[:, :, 0] *= np.exp(rng.normal(0.0, 0.02, (n, len(days))))  # deposits move day to day
        alive = c["open"][:, None] <= days[None, :]
        owner, d, k = np.nonzero(alive[:, :, None] & held)
        parts.append(_balance_rows(ids, owner, days[d], k, np.round(daily[owner, d, k] * 100).astype(np.int64)))
    return pa.concat_tables(parts)


def _deposits(rng, s: _Setup, c: dict) -> dict:
    """Monthly payroll credits and occasional other deposits, as raw transaction columns."""
    n = len(c["open"])
    payroll = (c["source"] == 2) | (rng.random(n) < 0.15)
    pay_days = days_from_civil(*[a for a in civil(s.month_ends)][:2], np.full(len(s.month_ends), 10))
    due = payroll[:, None] & (pay_days[None, :] >= c["open"][:, None]) & (pay_days[None, :] <= s.as_of_day)
    p_owner, p_month = np.nonzero(due)
    salary = np.exp(rng.normal(math.log(9_000), 0.5, n))
    p_cents = np.round(salary[p_owner] * np.exp(rng.normal(0, 0.05, len(p_owner))) * 100).astype(np.int64)
    p_time = pay_days[p_month] * _DAY_US + rng.integers(2 * 3600, 6 * 3600, len(p_owner)) * 1_000_000
    start = np.maximum(c["open"], s.first_day)
    o_owner, _ = segments(rng.poisson(0.4 * (s.as_of_day - start) / 30.4))
    span = np.maximum(s.as_of_day - start[o_owner], 1)
    o_day = start[o_owner] + (rng.random(len(o_owner)) * span).astype(np.int64)
    o_time = o_day * _DAY_US + rng.integers(8 * 3600, 21 * 3600, len(o_owner)) * 1_000_000
    o_yuan = np.maximum(c["level"][o_owner] * 0.05 * rng.lognormal(0, 1, len(o_owner)), 100)
    o_cents = (np.round(o_yuan) * 100).astype(np.int64)
    return {"owner": np.concatenate([p_owner, o_owner]), "time": np.concatenate([p_time, o_time]),
            "cents": np.concatenate([p_cents, o_cents]),
            "channel": np.concatenate([np.full(len(p_owner), 3), rng.choice(3, len(o_owner), p=[0.3, 0.6, 0.1])])}


_TXN_CHANNELS = ["branch", "mobile", "online", "payroll"]


def _transactions(rng, s: _Setup, b: Block, ids: pa.Array, c: dict, purchase: dict) -> pa.Table:
    dep = _deposits(rng, s, c)
    cat = s.catalogue
    owner = np.concatenate([dep["owner"], purchase["owner"]])
    time = np.concatenate([dep["time"], purchase["time"]])
    cents = np.concatenate([dep["cents"], purchase["cents"]])
    product = np.concatenate([np.full(len(dep["owner"]), len(cat.ids)), purchase["product"]])
    kind = np.concatenate([np.zeros(len(dep["owner"]), dtype=np.int64), purchase["kind"]])
    channel = np.concatenate([dep["channel"], purchase["channel"]])
    rev = np.flatnonzero(rng.random(len(owner)) < 0.003)  # reversals (冲正): negative amounts
    rev_time = np.minimum(time[rev] + rng.integers(60, 7200, len(rev)) * 1_000_000, (s.as_of_day + 1) * _DAY_US - 1)
    owner, time = np.concatenate([owner, owner[rev]]), np.concatenate([time, rev_time])
    cents, product = np.concatenate([cents, -cents[rev]]), np.concatenate([product, product[rev]])
    kind, channel = np.concatenate([kind, kind[rev]]), np.concatenate([channel, channel[rev]])
    order = np.lexsort((time, owner))
    owner, time, cents, product, kind, channel = (a[order] for a in (owner, time, cents, product, kind, channel))
    return canonical_table("transactions", {
        "transaction_id": fixed_ids("T", b.index * 10**9 + np.arange(len(owner)), 14),
        "customer_id": ids.take(pa.array(owner)),
        "txn_time": timestamps(time),
        "amount": money(cents),
        "product_id": categories(product, [*cat.ids, BALANCE_PRODUCTS["deposit"]]),
        "product_category": categories(kind, PRODUCT_TYPES),
        "channel": categories(channel, _TXN_CHANNELS),
        "store_id": fixed_ids("BR", c["branch"][owner] + 1, 3),
    })


def _block(b: Block, s: _Setup) -> dict[str, pa.Table]:
    rng = block_rng(s.seed, "bank", b.index)
    customers, c = _customers(b, s, rng)
    ids = customers["customer_id"].combine_chunks()
    balances = _balances(rng, s, ids, c)
    holding, purchase = holdings_and_purchases(s.catalogue, rng, c, s.as_of_day, s.first_day)
    holdings = canonical_table("holdings", {"customer_id": ids.take(pa.array(holding.pop("owner"))), **holding})
    transactions = _transactions(rng, s, b, ids, c, purchase)
    inter = interactions(rng, c, s.as_of_day, s.first_day, b.index)
    inter_t = canonical_table("interactions", {"customer_id": ids.take(pa.array(inter.pop("owner"))), **inter})
    return {"customers": customers, "transactions": transactions, "balances": balances, "holdings": holdings,
            "interactions": inter_t}


def _freq(n: int, balance_freq: str) -> str:
    if balance_freq == "auto":
        return "D" if n <= DAILY_AUTO_LIMIT else "M"
    if balance_freq not in ("D", "M"):
        raise UserInputError(f"balance_freq must be 'D', 'M' or 'auto', got {balance_freq!r}")
    return balance_freq


def iter_bank(
    n_customers: int, *, seed: int = 0, as_of: date = date(2024, 12, 31), months: int = 24,
    balance_freq: Literal["D", "M", "auto"] = "auto",
) -> Iterator[dict[str, pa.Table]]:
    """Yield the bank tables block by block (50,000 customers each); see :func:`generate_bank`.

    Each chunk holds the customers of one block and every row that refers to them, so
    chunks can be written out one at a time (see :func:`tierwise.samples.write_parquet`).
    """
    check_args(n_customers, seed, as_of, months)
    setup = _Setup(n_customers, seed, as_of, months, _freq(n_customers, balance_freq))
    yield from map_blocks(lambda b: _block(b, setup), n_customers)


def generate_bank(
    n_customers: int = 5_000, *, seed: int = 0, as_of: date = date(2024, 12, 31), months: int = 24,
    balance_freq: Literal["D", "M", "auto"] = "auto",
) -> dict[str, pa.Table]:
    """Generate a retail bank's customers, balances, holdings, transactions and contacts.

    Parameters
    ----------
    n_customers : number of customers
    seed : random seed; the same seed gives byte-identical tables
    as_of : last day of the data; nothing happens after it
    months : months of balances, transactions and contacts up to ``as_of``
    balance_freq : ``"M"`` month-end balances, ``"D"`` daily balances, ``"auto"``
        daily up to 5,000 customers and monthly beyond (daily rows for 24 months are
        about 1,100 per customer)

    Returns
    -------
    dict of canonical Arrow tables: customers, transactions, balances, holdings, interactions

    Examples
    --------
    >>> t = generate_bank(300, seed=1, months=2, balance_freq="M")
    >>> t["balances"]["balance_date"].unique().to_pylist()[-1]
    datetime.date(2024, 12, 31)
    >>> sorted(set(t["balances"]["product_type"].to_pylist()))
    ['deposit', 'fund', 'insurance', 'wealth']
    """
    return concat(iter_bank(n_customers, seed=seed, as_of=as_of, months=months, balance_freq=balance_freq))
