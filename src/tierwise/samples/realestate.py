"""Real-estate sales leads (案场客户) with intent, ability, visits, advisers and stages.

Model
-----
Each lead has a latent interest ``q ~ Normal(source effect, 1)``: referrals (老带新)
and walk-ins (自然到访) are warmer than outdoor ads. Intent 高/中/低 is ``q`` cut at
0.8 and -0.3; the budget is lognormal (median 2.8 M yuan) and gives the ability
高 (≥ 4 M) / 中 (≥ 2 M) / 低. Visits are Poisson with a mean growing with ``q``.
The stage follows a score of interest, ability and visits: 新线索 → 已到访 → 意向 →
认筹 → 认购 → 签约, and cold old leads are 流失. Leads at 认购 or 签约 are customers
(``customer_id`` set) with a deposit and, once signed, a down payment in
``transactions``. Property advisers (置业顾问) own about 150 leads each.

>>> t = generate_realestate(2_000, seed=1)
>>> sorted(t)
['customers', 'leads', 'transactions']
>>> sorted(set(t["leads"]["intent"].to_pylist()))
['中', '低', '高']
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import date

import numpy as np
import pyarrow as pa

from .arrays import canonical_table, categories, dates, fixed_ids, money, timestamps
from .blocks import Block, block_rng, check_args, concat, map_blocks, shared_rng
from .cncalendar import add_months, days_of
from .names import person_names
from .people import CITIES, phones

__all__ = ["REALESTATE_STAGES", "generate_realestate", "iter_realestate"]

_SOURCES = ["自然到访", "网络推广", "老带新", "中介渠道", "电话来电", "户外广告", "展会活动"]
_SOURCE_P = [0.22, 0.25, 0.12, 0.18, 0.12, 0.06, 0.05]
_SOURCE_Q = [0.4, -0.2, 0.8, 0.2, -0.1, -0.6, 0.0]
#: pipeline stages in order, then the lost stage
REALESTATE_STAGES = ["新线索", "已到访", "意向", "认筹", "认购", "签约", "流失"]
_LEVELS = ["低", "中", "高"]
_DAY_US = 86_400_000_000


def _block(b: Block, seed: int, as_of_day: int, first_day: int, n_advisers: int, city: str) -> dict[str, pa.Table]:
    rng = block_rng(seed, "realestate", b.index)
    n = b.size
    created = rng.integers(first_day, as_of_day + 1, n)
    source = rng.choice(len(_SOURCES), n, p=_SOURCE_P)
    q = rng.normal(np.array(_SOURCE_Q)[source], 1.0)
    intent = np.digitize(q, [-0.3, 0.8])
    budget = np.round(np.exp(rng.normal(math.log(2.8e6), 0.45, n)), -4)
    ability = np.digitize(budget, [2e6, 4e6])
    visits = rng.poisson(np.exp(0.1 + 0.5 * q)) * (rng.random(n) > np.where(source == 4, 0.5, 0.1))
    age = as_of_day - created
    last_visit = created + (rng.random(n) * (age + 1)).astype(np.int64)
    score = q + 0.4 * ability + 0.25 * np.minimum(visits, 6) + rng.normal(0, 0.6, n)
    stage = np.where(visits == 0, 0, 1 + np.digitize(score, [1.0, 1.8, 2.4, 2.9]))
    lost = (stage <= 2) & (age > 60) & (rng.random(n) < 0.35 + 0.1 * (intent == 0))
    stage = np.where(lost, 6, stage)
    won = (stage == 4) | (stage == 5)
    customer_pos = b.positions()
    ids = fixed_ids("H", customer_pos + 1, 8, valid=won)
    names, phone = person_names(rng, n), phones(rng, n)
    adviser = fixed_ids("GW", rng.integers(0, n_advisers, n) + 1, 3)
    leads = canonical_table("leads", {
        "lead_id": fixed_ids("RL", customer_pos + 1, 8),
        "customer_id": ids,
        "name": names,
        "phone": phone,
        "created_date": dates(created),
        "source": categories(source, _SOURCES),
        "intent": categories(intent, _LEVELS),
        "ability": categories(ability, _LEVELS),
        "budget": money((budget * 100).astype(np.int64)),
        "visits": pa.array(visits.astype(np.int64)),
        "last_visit_date": dates(last_visit, valid=visits > 0),
        "manager_id": adviser,
        "stage": categories(stage, REALESTATE_STAGES),
    })
    w = np.flatnonzero(won)
    sel = pa.array(w)
    customers = canonical_table("customers", {
        "customer_id": ids.take(sel), "name": names.take(sel), "phone": phone.take(sel),
        "gender": categories(rng.integers(0, 2, len(w)), ["F", "M"]), "open_date": dates(last_visit[w]),
        "manager_id": adviser.take(sel), "source": leads["source"].take(sel), "city": pa.array([city] * len(w)),
        "status": categories(np.zeros(len(w), dtype=np.int8), ["active"]),
    })
    price = np.round(budget[w] * rng.uniform(0.85, 1.1, len(w)), -3)
    unit = rng.integers(1, 13, len(w)) * 10_000 + rng.integers(2, 34, len(w)) * 100 + rng.integers(1, 5, len(w))
    signed = stage[w] == 5
    pay_day = last_visit[w] + rng.integers(7, 31, len(w))
    pay = np.flatnonzero(signed & (pay_day <= as_of_day))
    owner = np.concatenate([np.arange(len(w)), pay])
    cents = np.concatenate([np.full(len(w), 5_000_000), (price[pay] * 30).astype(np.int64)])  # 5万 deposit, 30 %
    day = np.concatenate([last_visit[w], pay_day[pay]])
    kind = np.concatenate([np.zeros(len(w), dtype=np.int8), np.ones(len(pay), dtype=np.int8)])
    order = np.lexsort((day, owner))
    owner, cents, day, kind = owner[order], cents[order], day[order], kind[order]
    transactions = canonical_table("transactions", {
        "transaction_id": fixed_ids("RT", b.index * 10**9 + np.arange(len(owner)), 12),
        "customer_id": ids.take(sel).take(pa.array(owner)),
        "txn_time": timestamps(day * _DAY_US + rng.integers(9 * 3600, 18 * 3600, len(owner)) * 1_000_000),
        "amount": money(cents),
        "quantity": pa.array(np.ones(len(owner), dtype=np.int64)),
        "product_id": fixed_ids("U", unit[owner], 6),
        "product_category": categories(kind, ["认购定金", "首付款"]),
        "channel": categories(np.zeros(len(owner), dtype=np.int8), ["sales_office"]),
    })
    return {"leads": leads, "customers": customers, "transactions": transactions}


def iter_realestate(
    n_leads: int, *, seed: int = 0, as_of: date = date(2024, 12, 31), months: int = 12
) -> Iterator[dict[str, pa.Table]]:
    """Yield the real-estate tables block by block; see :func:`generate_realestate`."""
    check_args(n_leads, seed, as_of, months, what="n_leads")
    as_of_day = days_of(as_of)
    first_day = int(add_months(np.array([as_of_day + 1]), -months)[0])
    rng = shared_rng(seed, "realestate")
    city = CITIES[int(rng.integers(0, len(CITIES)))][0]
    n_advisers = max(1, math.ceil(n_leads / 150))
    yield from map_blocks(lambda b: _block(b, seed, as_of_day, first_day, n_advisers, city), n_leads)


def generate_realestate(
    n_leads: int = 5_000, *, seed: int = 0, as_of: date = date(2024, 12, 31), months: int = 12
) -> dict[str, pa.Table]:
    """Generate a housing project's sales leads, its buyers and their payments.

    Parameters
    ----------
    n_leads : number of leads
    seed : random seed; the same seed gives byte-identical tables
    as_of : last day of the data
    months : leads arrive uniformly over this many months before ``as_of``

    Returns
    -------
    dict of canonical tables: ``leads``, ``customers`` (buyers: leads at 认购 or 签约),
    ``transactions`` (认购定金 deposits and 首付款 down payments)

    Examples
    --------
    >>> t = generate_realestate(3_000, seed=2)
    >>> leads = t["leads"].to_pandas()
    >>> v = leads.groupby("intent")["visits"].mean()
    >>> bool(v["高"] > v["中"] > v["低"])
    True
    """
    return concat(iter_realestate(n_leads, seed=seed, as_of=as_of, months=months))
