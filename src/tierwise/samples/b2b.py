"""B2B foreign-trade leads (外贸询盘) by source, with companies, countries and orders.

Model
-----
Lead quality depends on the source, as export sales teams grade them: a contact met at
an exhibition (展会) or a detailed inquiry naming specifications and quantities
(详细询盘) is warm; a price-only inquiry (询价) is cold; a lead found by search (搜索)
is in between. Latent interest ``q ~ Normal(source effect, 1)`` gives intent 高/中/低;
company size (employees, lognormal) gives ability; the budget is the expected annual
order value in US dollars. Stages: 新询盘 → 已回复 → 已报价 → 寄样 → 谈判 → 成交,
or 流失. Won leads (成交) become customers whose repeat orders are ``transactions``.

The canonical ``leads`` table has no column for country or industry, so these come in
an extra table ``lead_attributes`` (lead_id, company, country, industry, employees,
inquiry_words) joined on ``lead_id``.

>>> t = generate_b2b(2_000, seed=1)
>>> sorted(t)
['customers', 'lead_attributes', 'leads', 'transactions']
>>> set(t["leads"]["source"].to_pylist()) == set(B2B_SOURCES)
True
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .arrays import canonical_table, categories, dates, digit_matrix, fixed_ids, from_bytes, money, timestamps
from .blocks import Block, block_rng, check_args, concat, map_blocks, segments
from .cncalendar import add_months, days_of
from .names import COUNTRIES, company_names

__all__ = ["B2B_SOURCES", "B2B_STAGES", "LEAD_ATTRIBUTES_SCHEMA", "generate_b2b", "iter_b2b"]

#: lead sources and their share of leads
B2B_SOURCES = {"展会": 0.15, "详细询盘": 0.30, "询价": 0.35, "搜索": 0.20}
_SOURCE_Q = [0.9, 0.6, -0.5, -0.1]
#: pipeline stages in order, then the lost stage
B2B_STAGES = ["新询盘", "已回复", "已报价", "寄样", "谈判", "成交", "流失"]
_LEVELS = ["低", "中", "高"]
_INDUSTRIES = ["retail chain", "wholesale", "construction", "e-commerce", "manufacturing", "hospitality"]
_CATEGORIES = ["hardware", "furniture", "lighting", "textiles", "kitchenware"]
#: schema of the extra ``lead_attributes`` table
LEAD_ATTRIBUTES_SCHEMA = pa.schema([
    ("lead_id", pa.string()), ("company", pa.string()), ("country", pa.string()), ("industry", pa.string()),
    ("employees", pa.int64()), ("inquiry_words", pa.int64()),
])
_DAY_US = 86_400_000_000


def _phones(rng, country: np.ndarray) -> pa.Array:
    code = pa.array(["+" + c[1] for c in COUNTRIES]).take(pa.array(country))
    return pc.binary_join_element_wise(code, from_bytes(digit_matrix(rng.integers(10**8, 10**10, len(country)), 10)),
                                       " ")


def _block(b: Block, seed: int, as_of_day: int, first_day: int, n_sales: int) -> dict[str, pa.Table]:
    rng = block_rng(seed, "b2b", b.index)
    n = b.size
    created = rng.integers(first_day, as_of_day + 1, n)
    source = rng.choice(4, n, p=list(B2B_SOURCES.values()))
    q = rng.normal(np.array(_SOURCE_Q)[source], 1.0)
    w = np.array([c[2] for c in COUNTRIES])
    country = rng.choice(len(COUNTRIES), n, p=w / w.sum())
    employees = np.maximum(np.round(np.exp(rng.normal(math.log(40), 1.3, n))), 1).astype(np.int64)
    ability = np.digitize(employees, [20, 200])
    budget = np.round(np.exp(rng.normal(math.log(3e4), 0.8, n)) * (1 + ability), -2)
    contacts = rng.poisson(np.exp(0.2 + 0.5 * q))
    age = as_of_day - created
    score = q + 0.3 * ability + 0.2 * np.minimum(contacts, 5) + rng.normal(0, 0.5, n) + np.minimum(age, 180) / 180
    stage = np.digitize(score, [-0.2, 0.5, 1.1, 1.7, 2.3])
    lost = (stage <= 3) & (age > 45) & (rng.random(n) < 0.45)
    stage = np.where(lost, 6, stage)
    won = stage == 5
    pos = b.positions()
    lead_ids = fixed_ids("BL", pos + 1, 8)
    ids = fixed_ids("K", pos + 1, 8, valid=won)
    company, phone = company_names(rng, n), _phones(rng, country)
    sales = fixed_ids("S", rng.integers(0, n_sales, n) + 1, 3)
    last = created + (rng.random(n) * (age + 1)).astype(np.int64)
    leads = canonical_table("leads", {
        "lead_id": lead_ids, "customer_id": ids, "name": company, "phone": phone,
        "created_date": dates(created), "source": categories(source, list(B2B_SOURCES)),
        "intent": categories(np.digitize(q, [-0.3, 0.8]), _LEVELS), "ability": categories(ability, _LEVELS),
        "budget": money((budget * 100).astype(np.int64)), "visits": pa.array(contacts.astype(np.int64)),
        "last_visit_date": dates(last, valid=contacts > 0), "manager_id": sales,
        "stage": categories(stage, B2B_STAGES),
    })
    words = np.where(source == 1, rng.integers(60, 400, n), rng.integers(5, 40, n))
    attributes = pa.Table.from_arrays(
        [lead_ids, company, categories(country, [c[0] for c in COUNTRIES]),
         categories(rng.integers(0, len(_INDUSTRIES), n), _INDUSTRIES), pa.array(employees), pa.array(words)],
        schema=LEAD_ATTRIBUTES_SCHEMA)
    won_at = np.flatnonzero(won)
    sel = pa.array(won_at)
    customers = canonical_table("customers", {
        "customer_id": ids.take(sel), "name": company.take(sel), "phone": phone.take(sel),
        "open_date": dates(last[won_at]), "manager_id": sales.take(sel), "source": leads["source"].take(sel),
        "address": categories(country[won_at], [c[0] for c in COUNTRIES]),
        "status": categories(np.zeros(len(won_at), dtype=np.int8), ["active"]),
    })
    first = last[won_at]
    owner, rank = segments(1 + rng.poisson((as_of_day - first) / 90.0))
    day = np.where(rank == 0, first[owner], first[owner] + (rng.random(len(owner)) * (as_of_day - first[owner] + 1)))
    day = day.astype(np.int64)
    usd = np.round(budget[won_at][owner] / 4 * rng.lognormal(0, 0.5, len(owner)), -1)
    order = np.lexsort((day, owner))
    owner, day, usd = owner[order], day[order], usd[order]
    transactions = canonical_table("transactions", {
        "transaction_id": fixed_ids("PO", b.index * 10**9 + np.arange(len(owner)), 12),
        "customer_id": ids.take(sel).take(pa.array(owner)),
        "txn_time": timestamps(day * _DAY_US + rng.integers(0, 86_400, len(owner)) * 1_000_000),
        "amount": money((usd * 100).astype(np.int64)),
        "quantity": pa.array(rng.integers(1, 20, len(owner)) * 100),
        "product_category": categories(rng.integers(0, len(_CATEGORIES), len(owner)), _CATEGORIES),
        "channel": categories(np.zeros(len(owner), dtype=np.int8), ["export"]),
    })
    return {"leads": leads, "lead_attributes": attributes, "customers": customers, "transactions": transactions}


def iter_b2b(
    n_leads: int, *, seed: int = 0, as_of: date = date(2024, 12, 31), months: int = 12
) -> Iterator[dict[str, pa.Table]]:
    """Yield the B2B tables block by block; see :func:`generate_b2b`."""
    check_args(n_leads, seed, as_of, months, what="n_leads")
    as_of_day = days_of(as_of)
    first_day = int(add_months(np.array([as_of_day + 1]), -months)[0])
    n_sales = max(1, math.ceil(n_leads / 400))
    yield from map_blocks(lambda b: _block(b, seed, as_of_day, first_day, n_sales), n_leads)


def generate_b2b(
    n_leads: int = 5_000, *, seed: int = 0, as_of: date = date(2024, 12, 31), months: int = 12
) -> dict[str, pa.Table]:
    """Generate foreign-trade inquiries, the companies won and their orders.

    Parameters
    ----------
    n_leads : number of inquiries
    seed : random seed; the same seed gives byte-identical tables
    as_of : last day of the data
    months : inquiries arrive uniformly over this many months before ``as_of``

    Returns
    -------
    dict with canonical ``leads``, ``customers`` (won companies; ``address`` holds the
    country), ``transactions`` (orders, US dollars) and the extra ``lead_attributes``

    Examples
    --------
    >>> t = generate_b2b(4_000, seed=3)
    >>> won = t["leads"].to_pandas().assign(won=lambda d: d["stage"] == "成交")
    >>> rate = won.groupby("source")["won"].mean()
    >>> bool(rate["展会"] > rate["询价"])
    True
    """
    return concat(iter_b2b(n_leads, seed=seed, as_of=as_of, months=months))
