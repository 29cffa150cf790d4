"""A distributor's retail stores (终端门店) as customers, with their orders and attributes.

Model
-----
Each store has a latent capability ``z ~ Normal(0, 1)`` that drives its observable
attributes (floor area, staff, checkouts, SKU count, foot traffic, freezer) with
noise, and its ordering: orders arrive Poisson with a monthly rate ``exp(0.9 + 0.35 z)``
and amounts lognormal with log-mean ``ln 1800 + 0.5 z``. The ground-truth grade
``capability_grade`` (``z`` cut at its 20 / 55 / 85 % quantiles: D 20 %, C 35 %, B 30 %,
A 15 %) is
included so a capability-grading model can be checked against it. The canonical
``customers`` table has no room for store attributes, so they come as an extra table
``store_attributes`` keyed by ``customer_id``. Salespeople (业务员) serve about 120
stores each; ``branch_id`` is the sales region.

>>> t = generate_distributor(1_000, seed=1)
>>> sorted(t)
['customers', 'store_attributes', 'transactions']
>>> a = t["store_attributes"].to_pandas()
>>> sorted(a["capability_grade"].unique())
['A', 'B', 'C', 'D']
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import date

import numpy as np
import pyarrow as pa

from .arrays import canonical_table, categories, dates, fixed_ids, money, timestamps
from .blocks import Block, block_rng, check_args, concat, map_blocks, segments, shared_rng
from .cncalendar import add_months, days_of
from .names import store_names
from .people import CITIES

__all__ = ["REGIONS", "STORE_ATTRIBUTES_SCHEMA", "generate_distributor", "iter_distributor"]

#: sales regions (branch_id ``R01`` ... in this order)
REGIONS = ["华东一区", "华东二区", "华南区", "华北区", "华中区", "西南区", "西北区", "东北区"]
_FORMATS = ["便利店", "超市", "夫妻店", "餐饮", "母婴店"]
_LOCATIONS = ["社区", "商圈", "学校", "交通枢纽", "乡镇"]
_CATEGORIES = ["饮料", "零食", "乳品", "酒水", "日化"]
_CHANNELS = ["sales_rep", "app", "phone"]
#: schema of the extra ``store_attributes`` table
STORE_ATTRIBUTES_SCHEMA = pa.schema([
    ("customer_id", pa.string()), ("region", pa.string()), ("store_format", pa.string()),
    ("location_type", pa.string()), ("area_m2", pa.float64()), ("staff", pa.int64()),
    ("checkout_count", pa.int64()), ("sku_count", pa.int64()), ("daily_foot_traffic", pa.int64()),
    ("has_freezer", pa.bool_()), ("years_open", pa.float64()), ("capability_score", pa.float64()),
    ("capability_grade", pa.string()),
])
_DAY_US = 86_400_000_000
_GRADE_CUTS = np.array([-0.8416, 0.1257, 1.0364])  # standard normal 20 %, 55 %, 85 % quantiles


def _block(b: Block, seed: int, as_of_day: int, first_day: int, n_reps: int, region_city) -> dict[str, pa.Table]:
    rng = block_rng(seed, "distributor", b.index)
    n = b.size
    z = rng.normal(0, 1, n)
    region = rng.integers(0, len(REGIONS), n)
    fmt = np.clip(np.digitize(z + rng.normal(0, 0.8, n), [-1.2, -0.3, 0.5, 1.2]), 0, 4)
    fmt = np.array([2, 3, 0, 4, 1])[fmt]  # 夫妻店 < 餐饮 < 便利店 < 母婴店 < 超市
    ids = fixed_ids("ST", b.positions() + 1, 7)
    opened = rng.integers(first_day - 5 * 365, as_of_day - 30, n)
    customers = canonical_table("customers", {
        "customer_id": ids, "name": store_names(rng, n), "open_date": dates(opened),
        "manager_id": fixed_ids("SR", rng.integers(0, n_reps, n) + 1, 4),
        "branch_id": fixed_ids("R", region + 1, 2),
        "city": categories(region_city[region, rng.integers(0, 3, n)], [c[0] for c in CITIES]),
        "source": categories(fmt, _FORMATS),
        "status": categories((rng.random(n) < 0.03).astype(np.int8), ["active", "closed"]),
    })
    grade = 3 - np.searchsorted(_GRADE_CUTS, z)
    attributes = pa.Table.from_arrays([
        ids, categories(region, REGIONS), categories(fmt, _FORMATS),
        categories(rng.integers(0, len(_LOCATIONS), n), _LOCATIONS),
        pa.array(np.round(np.exp(rng.normal(math.log(60) + 0.45 * z, 0.35)), 1)),
        pa.array(np.maximum(1, np.round(np.exp(rng.normal(0.9 + 0.4 * z, 0.3)))).astype(np.int64)),
        pa.array(np.maximum(1, np.round(np.exp(rng.normal(0.2 + 0.45 * z, 0.3)))).astype(np.int64)),
        pa.array(np.round(np.exp(rng.normal(math.log(600) + 0.5 * z, 0.3))).astype(np.int64)),
        pa.array(np.round(np.exp(rng.normal(math.log(300) + 0.5 * z, 0.4))).astype(np.int64)),
        pa.array(rng.random(n) < 1 / (1 + np.exp(-(0.3 + 1.2 * z)))),
        pa.array(np.round((as_of_day - opened) / 365.25 + rng.gamma(2.0, 2.0, n), 1)),
        pa.array(np.round(z, 4)),
        categories(grade, ["A", "B", "C", "D"]),
    ], schema=STORE_ATTRIBUTES_SCHEMA)
    start = np.maximum(opened, first_day)
    owner, _ = segments(rng.poisson(np.exp(0.9 + 0.35 * z) * (as_of_day - start) / 30.4))
    day = start[owner] + (rng.random(len(owner)) * (as_of_day - start[owner] + 1)).astype(np.int64)
    time = day * _DAY_US + rng.integers(7 * 3600, 20 * 3600, len(owner)) * 1_000_000
    order = np.lexsort((time, owner))
    owner, time = owner[order], time[order]
    m = len(owner)
    cents = np.round(np.exp(rng.normal(math.log(1800) + 0.5 * z[owner], 0.5)) * 100).astype(np.int64)
    cat = rng.integers(0, len(_CATEGORIES), m)
    transactions = canonical_table("transactions", {
        "transaction_id": fixed_ids("DO", b.index * 10**9 + np.arange(m), 13),
        "customer_id": ids.take(pa.array(owner)),
        "txn_time": timestamps(time),
        "amount": money(cents),
        "quantity": pa.array(np.maximum(1, cents // 6000)),
        "product_id": fixed_ids("P", cat * 100 + rng.integers(0, 60, m), 4),
        "product_category": categories(cat, _CATEGORIES),
        "channel": categories(rng.choice(3, m, p=[0.5, 0.35, 0.15]), _CHANNELS),
        "store_id": ids.take(pa.array(owner)),
        "profit": money(np.round(cents * 0.12).astype(np.int64)),
    })
    return {"customers": customers, "transactions": transactions, "store_attributes": attributes}


def iter_distributor(
    n_stores: int, *, seed: int = 0, as_of: date = date(2024, 12, 31), months: int = 12
) -> Iterator[dict[str, pa.Table]]:
    """Yield the distributor tables block by block; see :func:`generate_distributor`."""
    check_args(n_stores, seed, as_of, months, what="n_stores")
    as_of_day = days_of(as_of)
    first_day = int(add_months(np.array([as_of_day + 1]), -months)[0])
    region_city = shared_rng(seed, "distributor").integers(0, len(CITIES), (len(REGIONS), 3))
    n_reps = max(1, math.ceil(n_stores / 120))
    yield from map_blocks(lambda b: _block(b, seed, as_of_day, first_day, n_reps, region_city), n_stores)


def generate_distributor(
    n_stores: int = 2_000, *, seed: int = 0, as_of: date = date(2024, 12, 31), months: int = 12
) -> dict[str, pa.Table]:
    """Generate a distributor's stores, their orders and the attributes that grade them.

    Parameters
    ----------
    n_stores : number of stores
    seed : random seed; the same seed gives byte-identical tables
    as_of : last day of the data
    months : months of orders up to ``as_of``

    Returns
    -------
    dict with canonical ``customers`` (stores) and ``transactions`` (orders), and the
    extra ``store_attributes`` (see :data:`STORE_ATTRIBUTES_SCHEMA`)

    Examples
    --------
    >>> t = generate_distributor(2_000, seed=4)
    >>> orders = t["transactions"].group_by("customer_id").aggregate([("amount", "sum")]).to_pandas()
    >>> a = t["store_attributes"].to_pandas().merge(orders, on="customer_id")
    >>> s = a.groupby("capability_grade")["amount_sum"].median()
    >>> bool(s["A"] > s["B"] > s["C"] > s["D"])
    True
    """
    return concat(iter_distributor(n_stores, seed=seed, as_of=as_of, months=months))
