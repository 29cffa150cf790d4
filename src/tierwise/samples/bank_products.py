"""The bank's product shelf and what customers do with it: holdings, transactions, contacts.

Separate from :mod:`tierwise.samples.bank` (customers and asset balances) to keep each
module on one concept. Wealth-management products (理财) are issued on a date with a 3,
6 or 12-month term and a fixed maturity; about one in eight matures on a Chinese
public holiday and many on weekends, the cases that maturity reminders must handle.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from .arrays import categories, fixed_ids, money, timestamps
from .arrays import dates as date_array
from .blocks import segments
from .cncalendar import CN_HOLIDAYS, add_months

__all__ = ["Catalogue", "PRODUCT_TYPES", "catalogue", "holdings_and_purchases", "interactions"]

#: canonical product types, in the column order of the asset matrices
PRODUCT_TYPES = ["deposit", "wealth", "fund", "insurance"]
_DAY_US = 86_400_000_000
_SEC_US = 1_000_000


@dataclass(frozen=True)
class Catalogue:
    """All products; ``kind`` indexes :data:`PRODUCT_TYPES`; ``issue``/``maturity`` in days (-1 = none)."""

    ids: list[str]
    names: list[str]
    kind: np.ndarray
    term_months: np.ndarray  # 0 = open-ended
    issue: np.ndarray  # wealth only: issue date; -1 otherwise
    maturity: np.ndarray  # wealth only: fixed maturity; -1 otherwise
    rate: np.ndarray  # target return in percent, NaN when none

    def of_kind(self, k: int) -> np.ndarray:
        return np.flatnonzero(self.kind == k)


def catalogue(rng: np.random.Generator, first_day: int, as_of_day: int) -> Catalogue:
    """Term deposits, ~150 wealth products, 60 funds and 20 insurance policies."""
    ids, names, kind, term, issue, mat, rate = [], [], [], [], [], [], []

    def add(i, nm, k, t, iss=-1, m=-1, r=np.nan):
        ids.append(i), names.append(nm), kind.append(k), term.append(t), issue.append(iss), mat.append(m), rate.append(r)

    for t, r in [(3, 1.15), (6, 1.35), (12, 1.45), (24, 1.65), (36, 1.95)]:
        label = f"{t}个月" if t < 12 else f"{t // 12}年"
        add(f"TD{t:03d}", f"整存整取{label}定期存款", 0, t, r=r)
    n_w = 150
    terms = rng.choice([3, 6, 12], size=n_w, p=[0.3, 0.4, 0.3])
    iss = rng.integers(first_day - 365, as_of_day + 1, n_w)
    mats = add_months(iss, terms)
    on_holiday = rng.random(n_w) < 0.12
    hol = CN_HOLIDAYS[(CN_HOLIDAYS > first_day) & (CN_HOLIDAYS < as_of_day + 300)]
    if len(hol) and on_holiday.any():
        mats = np.where(on_holiday, rng.choice(hol, n_w), mats)
        iss = np.where(on_holiday, add_months(mats, -terms), iss)
    brands = ["稳盈", "安鑫", "季季红", "天天利", "增利", "恒益"]
    for j in range(n_w):  # the catalogue is small: a loop over products, not customers
        add(f"WM{j + 1:05d}", f"{brands[j % 6]}{terms[j]}个月定开理财第{j + 1}期", 1, int(terms[j]),
            int(iss[j]), int(mats[j]), round(float(rng.uniform(2.2, 4.2)), 2))
    styles = ["成长混合", "价值精选", "稳健债券", "沪深300指数", "科技创新", "消费升级"]
    for j in range(60):
        add(f"F{100001 + j * 17:06d}", f"{brands[j % 6]}{styles[j % 6]}{'AC'[j % 2]}", 2, 0)
    for j in range(20):
        t = [60, 120, 240, 0][j % 4]
        add(f"INS{j + 1:04d}", f"{brands[j % 6]}{'年金' if t else '终身寿'}保险", 3, t, r=round(float(rng.uniform(2.5, 3.5)), 2))
    return Catalogue(ids, names, np.array(kind), np.array(term), np.array(issue), np.array(mat), np.array(rate))


def _pick_wealth(cat: Catalogue, rng, owner, lo, hi):
    """Wealth product bought by each holding: the latest issued before a random day."""
    w = cat.of_kind(1)
    order = w[np.argsort(cat.issue[w])]
    target = lo + (rng.random(len(owner)) * np.maximum(hi - lo, 1)).astype(np.int64)
    pos = np.searchsorted(cat.issue[order], target, side="right") - 1
    ok = pos >= 0
    prod = order[np.maximum(pos, 0)]
    opened = cat.issue[prod] + rng.integers(0, 5, len(owner))
    ok &= (cat.issue[prod] >= lo) & (opened <= hi)
    return prod, opened, ok


def holdings_and_purchases(cat: Catalogue, rng, c: dict, as_of_day: int, first_day: int):
    """Holdings of a block of customers and the purchase transaction of each.

    ``c`` holds per-customer arrays: ``open`` (days), ``level`` (typical AUM, yuan),
    ``flags`` (n, 4) bool product-type ownership, ``share`` (n, 4).
    Returns (holding columns, purchase columns) keyed by customer position in block.
    """
    n = len(c["open"])
    flags, level = c["flags"], c["level"]
    counts = [
        rng.poisson(0.25 + 0.25 * (level > 2e5), n),  # term deposits
        flags[:, 1] * (1 + rng.poisson(1.2, n)),
        flags[:, 2] * (1 + rng.poisson(0.6, n)),
        flags[:, 3].astype(np.int64),
    ]
    lookback = [1096, 0, 730, 3650]  # how far back purchases of each type go (days)
    owners, prods, opens, oks = [], [], [], []
    for k in range(4):
        owner, rank = segments(counts[k])
        lo = np.maximum(c["open"][owner], first_day - (lookback[k] or 365))
        if k == 1:
            prod, opened, ok = _pick_wealth(cat, rng, owner, lo, np.full(len(owner), as_of_day))
        else:
            pool = cat.of_kind(k)
            prod = pool[(rng.integers(0, len(pool), n)[owner] + rank) % len(pool)]
            opened = lo + (rng.random(len(owner)) * np.maximum(as_of_day - lo, 1)).astype(np.int64)
            ok = np.ones(len(owner), dtype=bool)
        owners.append(owner[ok]), prods.append(prod[ok]), opens.append(np.minimum(opened[ok], as_of_day))
    owner, prod, opened = np.concatenate(owners), np.concatenate(prods), np.concatenate(opens)
    key = (owner * len(cat.ids) + prod) * 100_000 + (opened - first_day + 50_000)
    _, first = np.unique(key, return_index=True)  # sorted by customer, product, date; duplicates dropped
    owner, prod, opened = owner[first], prod[first], opened[first]
    k = cat.kind[prod]
    maturity = np.where(k == 1, cat.maturity[prod], add_months(opened, cat.term_months[prod]))
    has_maturity = (k != 2) & (cat.term_months[prod] > 0)
    base = level[owner] * c["share"][owner, k] * rng.uniform(0.2, 0.9, len(owner))
    step = np.where(k == 1, 1000.0, 100.0)
    yuan = np.maximum(np.round(base / step) * step, np.where(k == 1, 10_000.0, 100.0))
    cents = (yuan * 100).astype(np.int64)
    rate = cat.rate[prod]
    holding = {
        "owner": owner,
        "product_id": categories(prod, cat.ids),
        "product_type": categories(k, PRODUCT_TYPES),
        "product_name": categories(prod, cat.names),
        "open_date": date_array(opened),
        "maturity_date": date_array(np.where(has_maturity, maturity, 0), valid=has_maturity),
        "amount": money(cents),
        "target_return": pa.array(rate / 100, mask=np.isnan(rate)),
        "status": categories((has_maturity & (maturity <= as_of_day)).astype(np.int8), ["holding", "matured"]),
    }
    purchase = {
        "owner": owner,
        "time": opened * _DAY_US + rng.integers(9 * 3600, 17 * 3600, len(owner)) * _SEC_US,
        "cents": cents,
        "product": prod,
        "kind": k,
        "channel": rng.choice(3, len(owner), p=[0.4, 0.45, 0.15]),
    }
    return holding, purchase


_KINDS = ["contact", "visit", "complaint", "survey", "nps"]
_CHANNELS = ["phone", "wechat", "sms", "branch", "app"]
_OUTCOMES = ["reached", "no_answer", "completed", "resolved", "pending", "responded"]
_NOTES = [None, "客户咨询理财到期安排", "客户反映手机银行转账失败", "客户对排队时间不满意", "客户要求调整风险等级"]


def interactions(rng, c: dict, as_of_day: int, first_day: int, block_index: int) -> dict:
    """Manager contacts, branch visits, complaints, 1–5 surveys and 0–10 NPS scores.

    Wealthier customers (``c["tier"]`` 0–4) are contacted and visited more often.
    Returns canonical interaction columns plus ``owner`` (position in block).
    """
    n = len(c["open"])
    start = np.maximum(c["open"], first_day)
    active_months = np.maximum(as_of_day - start, 0) / 30.4
    rates = [0.04 + 0.12 * c["tier"], 0.01 + 0.05 * c["tier"], np.full(n, 0.004), np.full(n, 0.03), np.full(n, 0.02)]
    parts = [segments(rng.poisson(r * active_months))[0] for r in rates]
    owner = np.concatenate(parts)
    kind = np.repeat(np.arange(5), [len(p) for p in parts])
    m = len(owner)
    span = np.maximum(as_of_day - start[owner], 1)
    day = start[owner] + (rng.random(m) * span).astype(np.int64)
    time = day * _DAY_US + rng.integers(8 * 3600, 20 * 3600, m) * _SEC_US
    order = np.lexsort((time, owner))
    owner, kind, time = owner[order], kind[order], time[order]
    channel_by_kind = np.array([[0, 1, 2], [3, 3, 3], [0, 3, 4], [2, 4, 4], [2, 4, 1]])
    channel = channel_by_kind[kind, rng.integers(0, 3, m)]
    outcome = np.select(
        [kind == 0, kind == 1, kind == 2],
        [np.where(rng.random(m) < 0.75, 0, 1), np.full(m, 2), np.where(rng.random(m) < 0.8, 3, 4)],
        5,
    )
    survey = rng.choice(5, m, p=[0.03, 0.05, 0.12, 0.40, 0.40]) + 1
    nps = rng.choice(11, m, p=[0.02, 0.01, 0.02, 0.03, 0.03, 0.06, 0.07, 0.12, 0.2, 0.2, 0.24])
    score = np.where(kind == 3, survey, np.where(kind == 4, nps, -1)).astype(float)
    note = np.where(kind == 2, rng.integers(1, len(_NOTES), m), 0)
    manager_known = kind <= 1
    cols = {
        "interaction_id": fixed_ids("I", block_index * 10**9 + np.arange(m), 14),
        "interaction_time": timestamps(time),
        "kind": categories(kind, _KINDS),
        "channel": categories(channel, _CHANNELS),
        "manager_id": _masked_take(c["manager_ids"], owner, manager_known),
        "outcome": categories(outcome, _OUTCOMES),
        "score": pa.array(score, mask=score < 0),
        "note": categories(note, _NOTES),
    }
    return {"owner": owner, **cols}


def _masked_take(values: pa.Array, idx: np.ndarray, keep: np.ndarray) -> pa.Array:
    """``values[idx]`` with nulls where not ``keep``."""
    return values.take(pa.array(idx, mask=~keep))
