"""Customers for the API and the pages: search and list, customer 360, CSV export.

Every function takes the :class:`~tierwise.app.access.Principal` and restricts the rows to
the customers it may see (see :mod:`tierwise.app.access`); reads go to the per-process
read model of :mod:`tierwise.app.query_engine`: the customer 360 and the plain list (scope,
tier, manager and branch filters, any sort) to its Arrow tables, searches by name or segment
and exports to its DuckDB.
"""

from __future__ import annotations

import csv
import io
import threading
from collections import OrderedDict
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tierwise.app import query_engine as qe
from tierwise.app.access import Principal, personal_view, require, require_customer, visible_ids
from tierwise.errors import NotFoundError, UserInputError, did_you_mean

LIST_COLUMNS = ("customer_id", "manager_id", "branch_id", "tier", "tier_level", "tier_status", "tier_metric",
                "clv", "revenue", "rfm_segment", "abc_class", "lifecycle", "recency_days")
SORTS = ("customer_id", "tier_level", "tier_metric", "clv", "revenue", "recency_days", "manager_id")
#: snapshot columns a list may be filtered on with ``segment=COLUMN=VALUE``
SEGMENT_PREFIXES = ("rfm_segment", "abc_class", "lifecycle", "seg_", "cluster", "lead_grade", "tier_status",
                    "tier_event", "churn_warnings")
MAX_LIMIT = 500
#: the tier history fields of a customer 360 (and ``/history``), oldest first
HISTORY_FIELDS = ("as_of", "run_id", "tier", "tier_status", "tier_event", "tier_metric", "watch_count",
                  "override_ids")
#: list filters answered from the Arrow read model (text equality); the others go to DuckDB
FAST_FILTERS = {"tier": "tier", "manager": "manager_id", "branch": "branch_id"}
#: row numbers kept for list orders, per workspace state (8 bytes each)
ORDER_CACHE_ROWS = 4_000_000


def no_run() -> NotFoundError:
    return NotFoundError("no evaluation run has been published yet", hint="tierwise run WORKSPACE")


def scope_sql(cur, ws, principal: Principal, alias: str = "c") -> str:
    """A SQL condition restricting ``alias`` to the principal's customers ('' for everyone).

    Registers the principal's ids on the cursor as ``_scope``."""
    ids = visible_ids(ws, principal)
    if ids is None:
        return ""
    rd = qe.reader(ws)
    table = rd.cached(("scope", principal.scope_key, id(ids)),
                      lambda: pa.table({"customer_id": pa.array(sorted(ids), pa.string())}))
    cur.register("_scope", table)
    return f"{alias}.customer_id IN (SELECT customer_id FROM _scope)"


def _segment_filter(segment: str, columns: tuple[str, ...]) -> tuple[str, str]:
    if "=" not in segment:
        raise UserInputError(f"segment filter {segment!r}: write COLUMN=VALUE, e.g. rfm_segment=important_value")
    col, val = (x.strip() for x in segment.split("=", 1))
    allowed = [c for c in columns if c.startswith(SEGMENT_PREFIXES)]
    if col not in allowed:
        raise UserInputError(f"cannot filter on '{col}'", hint=did_you_mean(col, allowed) or f"use {', '.join(allowed)}")
    return col, val


def _where(ws, principal: Principal, cur, g, *, q=None, tier=None, segment=None, manager=None, branch=None
           ) -> tuple[str, list]:
    cond, params = [], []
    s = scope_sql(cur, ws, principal)
    if s:
        cond.append(s)
    if q:
        q = q.strip()
        if g.pers:
            cond.append(f"(starts_with(c.customer_id, ?) OR c.customer_id IN "
                        f"(SELECT customer_id FROM {g.pers} WHERE contains(name, ?)))")
            params += [q, q]
        else:
            cond.append("starts_with(c.customer_id, ?)")
            params.append(q)
    for col, val in (("tier", tier), ("manager_id", manager), ("branch_id", branch)):
        if val:
            cond.append(f"c.{col} = ?")
            params.append(val)
    if segment:
        col, val = _segment_filter(segment, g.columns)
        if col == "churn_warnings":
            cond.append("list_contains(string_split(c.churn_warnings, ','), ?)")
        else:
            cond.append(f'CAST(c."{col}" AS VARCHAR) = ?')
        params.append(val)
    return (" WHERE " + " AND ".join(cond)) if cond else "", params


def list_customers(ws, principal: Principal, *, q: str | None = None, tier: str | None = None,
                   segment: str | None = None, manager: str | None = None, branch: str | None = None,
                   sort: str = "customer_id", order: str = "asc", limit: int = 50, offset: int = 0) -> dict:
    """A page of the principal's customers in the current run, with the total matching."""
    require(principal, "customers.read")
    if sort not in SORTS:
        raise UserInputError(f"cannot sort by '{sort}'", hint=did_you_mean(sort, SORTS) or f"use {', '.join(SORTS)}")
    if order not in ("asc", "desc"):
        raise UserInputError(f"order {order!r}: use asc or desc")
    if not 1 <= limit <= MAX_LIMIT or offset < 0:
        raise UserInputError(f"limit must be 1–{MAX_LIMIT} and offset ≥ 0 (got {limit}, {offset})")
    rd = qe.reader(ws)
    g = rd.generation()
    if g.cur is None:
        raise no_run()
    cols = [c for c in LIST_COLUMNS if c in g.columns]
    exact = {col: v for f, col in FAST_FILTERS.items() if (v := {"tier": tier, "manager": manager,
                                                                 "branch": branch}[f])}
    order_rows = None if (q or segment) else _ordered_rows(ws, principal, g, exact, sort, order)
    if order_rows is not None:
        total = len(order_rows)
        page = order_rows[offset:offset + limit]
        items = [_jsonable(r) for r in g.customers.batch.select(cols).take(pa.array(page, pa.int64())).to_pylist()]
    else:
        cur = rd.cursor()
        where, params = _where(ws, principal, cur, g, q=q, tier=tier, segment=segment, manager=manager,
                               branch=branch)
        total = cur.execute(f"SELECT count(*) FROM {g.cur} c{where}", params).fetchone()[0]
        nulls = "NULLS LAST" if order == "desc" else "NULLS FIRST"
        rows = cur.execute(f"SELECT {', '.join('c.' + c for c in cols)} FROM {g.cur} c{where} ORDER BY c.{sort} "
                           f"{order} {nulls}, c.customer_id LIMIT {int(limit)} OFFSET {int(offset)}",
                           params).fetchall()
        items = [_jsonable(dict(zip(cols, r))) for r in rows]
    names = personal_view(ws, principal, [i["customer_id"] for i in items])
    for i in items:
        i["name"] = names.get(i["customer_id"], {}).get("name")
    return {"run_id": g.current.run_id, "as_of": g.current.as_of.isoformat(), "total": int(total),
            "limit": limit, "offset": offset, "sort": sort, "order": order, "items": items}


def _scope_rows(ws, principal: Principal, g) -> np.ndarray:
    """Row numbers (ascending, so in customer order) of the principal's customers in the current run."""
    ids = visible_ids(ws, principal)
    key = ("scope", principal.scope_key)
    hit = g.memo.get(key)
    if hit is not None and hit[0] is ids:       # the ownership index is rebuilt only when owners change
        return hit[1]
    rows = np.arange(len(g.customers), dtype=np.int64) if ids is None else g.customers.positions(ids)
    g.memo[key] = (ids, rows)
    return rows


_orders_lock = threading.Lock()


def _ordered_rows(ws, principal: Principal, g, exact: dict[str, str], sort: str, order: str) -> np.ndarray | None:
    """Every row number of the principal's list with text filters ``exact`` (column → value), in the
    order of ``ORDER BY sort order NULLS FIRST|LAST, customer_id``; None when DuckDB must answer
    (a column missing or not text). Cached per workspace state and scope."""
    k = g.customers
    if sort not in k.columns or any(c not in k.columns or not pa.types.is_string(k.batch.schema.field(c).type)
                                    for c in exact):
        return None
    ids = visible_ids(ws, principal)
    key = (principal.scope_key, tuple(sorted(exact.items())), sort, order)
    with _orders_lock:
        cache = g.memo.setdefault("orders", OrderedDict())
        hit = cache.get(key)
        if hit is not None and hit[0] is ids:
            cache.move_to_end(key)
            return hit[1]
    rows = _scope_rows(ws, principal, g)
    for col, value in exact.items():
        values = _column(k, col, rows)
        rows = rows[pc.equal(values, value).fill_null(False).to_numpy(zero_copy_only=False)]
    if sort == "customer_id":
        rows = rows[::-1].copy() if order == "desc" else rows
    elif len(rows):
        t = pa.table({"v": _column(k, sort, rows), "i": pa.array(np.arange(len(rows)))})    # i: customer order
        idx = pc.sort_indices(t, sort_keys=[("v", "descending", "at_end") if order == "desc" else
                                            ("v", "ascending", "at_start"), ("i", "ascending", "at_end")])
        rows = rows[idx.to_numpy()]
    with _orders_lock:
        cache[key] = (ids, rows)
        while sum(len(v[1]) for v in cache.values()) > ORDER_CACHE_ROWS and len(cache) > 1:
            cache.popitem(last=False)
    return rows


def _column(k, name: str, rows: np.ndarray):
    col = k.batch.column(k.batch.schema.get_field_index(name))
    return col if len(rows) == len(k) else col.take(pa.array(rows))     # (rows ascend: all of them, in order)


def _jsonable(d: dict) -> dict:
    from decimal import Decimal

    out = {}
    for k, v in d.items():
        if isinstance(v, Decimal):
            v = float(v)
        elif isinstance(v, date):
            v = v.isoformat()
        out[k] = v
    return out


def customer_row(ws, principal: Principal, customer_id: str) -> dict:
    """The customer's row of the current run (404 outside the principal's scope)."""
    require(principal, "customers.read")
    require_customer(ws, principal, customer_id)
    g = qe.reader(ws).generation()
    if g.cur is None:
        raise no_run()
    rows = g.customers.rows(customer_id)
    if not rows:
        raise NotFoundError(f"no customer '{customer_id}'", hint="check the customer number")
    return _jsonable(rows[0])


def tier_history(ws, customer_id: str) -> list[dict]:
    """The customer's tier in every run in force, oldest first."""
    g = qe.reader(ws).generation()
    if g.history is None:
        return []
    return [_jsonable({k: r[k] for k in HISTORY_FIELDS}) for r in g.history.rows(customer_id)]


def explain_row(ws, row: dict) -> dict:
    """Why the customer is in their tier in the current run, and the gap to the next tier.

    Equal to :func:`tierwise.app.history.explain` (a test checks every customer), computed from
    the row already read instead of reading the snapshot again.
    """
    from tierwise.app.history import explain_snapshot_row

    info = qe.reader(ws).generation().current
    return explain_snapshot_row(ws, info, row, qe.snapshot_policy(ws, info).tiers)


def _snapshot_rows(ws, name: str, customer_id: str, order: str) -> list[dict]:
    part = qe.snapshot_part(ws, name, order=(order,))
    return [] if part is None else [_jsonable(r) for r in part.rows(customer_id)]


def customer_360(ws, principal: Principal, customer_id: str, *, unmask: bool = False, locale: str = "zh-CN",
                 origin: str | None = None) -> dict:
    """Everything about one customer the principal may see: profile (masked unless unmasked),
    the current run's row, tier history, the explanation and gap, next best products, upgrade
    candidacy and overrides."""
    from tierwise.app.history import explain_text

    row = customer_row(ws, principal, customer_id)
    personal = personal_view(ws, principal, [customer_id], unmask=unmask, origin=origin).get(customer_id, {})
    exp = explain_row(ws, row)
    labels = qe.snapshot_labels(ws, qe.reader(ws).generation().current)
    return {
        "customer_id": customer_id, "run_id": exp["run_id"], "as_of": exp["as_of"],
        "personal": personal, "masked": not unmask, "snapshot": row,
        "history": tier_history(ws, customer_id),
        "explanation": exp, "explanation_text": explain_text(exp, locale) if exp.get("tiers", True) else None,
        "next_best_products": _snapshot_rows(ws, "next_best_products", customer_id, "nbp_rank"),
        "candidate": (_snapshot_rows(ws, "candidates", customer_id, "rank") or [None])[0],
        "overrides": [_jsonable(o) for o in ws.store().list_overrides(customer_id)],
        "segment_labels": {col: labels[col].get(str(row.get(col)), {}) for col in labels if row.get(col) is not None},
    }


def export_csv(ws, principal: Principal, *, unmask: bool = False, origin: str | None = None, **filters) -> bytes:
    """The filtered customer list as UTF-8 CSV with a BOM (opens in Excel); audited."""
    require(principal, "customers.export")
    rd = qe.reader(ws)
    g = rd.generation()
    if g.cur is None:
        raise no_run()
    cur = rd.cursor()
    where, params = _where(ws, principal, cur, g, **filters)
    cols = [c for c in LIST_COLUMNS if c in g.columns]
    rows = cur.execute(f"SELECT {', '.join('c.' + c for c in cols)} FROM {g.cur} c{where} ORDER BY c.customer_id",
                       params).fetchall()
    ids = [r[0] for r in rows]
    people = personal_view(ws, principal, ids, unmask=unmask, origin=origin)
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow([*cols, "name", "phone"])
    for r in rows:
        p = people.get(r[0], {})
        w.writerow([*("" if v is None else v for v in r), p.get("name") or "", p.get("phone") or ""])
    ws.store().audit(principal.username, "customers.export", g.current.run_id,
                     {"rows": len(rows), "filters": {k: v for k, v in filters.items() if v}, "unmasked": unmask},
                     origin=origin)
    return ("\ufeff" + buf.getvalue()).encode("utf-8")
