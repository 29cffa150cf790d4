"""Customers for the API and the pages: search and list, customer 360, CSV export.

Every function takes the :class:`~tierwise.app.access.Principal` and restricts the rows to
the customers it may see (see :mod:`tierwise.app.access`); reads go to the per-process
DuckDB of :mod:`tierwise.app.query_engine`.
"""

from __future__ import annotations

import csv
import io
from datetime import date

import pyarrow as pa

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
    cur = rd.cursor()
    where, params = _where(ws, principal, cur, g, q=q, tier=tier, segment=segment, manager=manager, branch=branch)
    total = cur.execute(f"SELECT count(*) FROM {g.cur} c{where}", params).fetchone()[0]
    cols = [c for c in LIST_COLUMNS if c in g.columns]
    nulls = "NULLS LAST" if order == "desc" else "NULLS FIRST"
    rows = cur.execute(f"SELECT {', '.join('c.' + c for c in cols)} FROM {g.cur} c{where} "
                       f"ORDER BY c.{sort} {order} {nulls}, c.customer_id LIMIT {int(limit)} OFFSET {int(offset)}",
                       params).fetchall()
    items = [_jsonable(dict(zip(cols, r))) for r in rows]
    names = personal_view(ws, principal, [i["customer_id"] for i in items])
    for i in items:
        i["name"] = names.get(i["customer_id"], {}).get("name")
    return {"run_id": g.current.run_id, "as_of": g.current.as_of.isoformat(), "total": int(total),
            "limit": limit, "offset": offset, "sort": sort, "order": order, "items": items}


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
    rd = qe.reader(ws)
    g = rd.generation()
    if g.cur is None:
        raise no_run()
    cur = rd.cursor()
    res = cur.execute(f"SELECT * FROM {g.cur} WHERE customer_id = ?", [customer_id])
    cols = [d[0] for d in res.description]
    row = res.fetchone()
    if row is None:
        raise NotFoundError(f"no customer '{customer_id}'", hint="check the customer number")
    return _jsonable(dict(zip(cols, row)))


def tier_history(ws, customer_id: str) -> list[dict]:
    rd = qe.reader(ws)
    g = rd.generation()
    if g.hist is None:
        return []
    res = rd.cursor().execute(f"SELECT as_of, run_id, tier, tier_status, tier_event, tier_metric, watch_count, "
                              f"override_ids FROM {g.hist} WHERE customer_id = ? ORDER BY as_of", [customer_id])
    cols = [d[0] for d in res.description]
    return [_jsonable(dict(zip(cols, r))) for r in res.fetchall()]


def explain_row(ws, row: dict) -> dict:
    """Why the customer is in their tier in the current run, and the gap to the next tier.

    Equal to :func:`tierwise.app.history.explain` (a test checks every customer), computed from
    the row already read instead of reading the snapshot again.
    """
    from tierwise.app.history import explain_snapshot_row

    info = qe.reader(ws).generation().current
    return explain_snapshot_row(ws, info, row, qe.snapshot_policy(ws, info).tiers)


def _snapshot_rows(ws, name: str, customer_id: str, order: str) -> list[dict]:
    table = qe.snapshot_part(ws, name)
    if table is None:
        return []
    res = qe.reader(ws).cursor().execute(f"SELECT * FROM {table} WHERE customer_id = ? ORDER BY {order}",
                                         [customer_id])
    cols = [d[0] for d in res.description]
    return [_jsonable(dict(zip(cols, r))) for r in res.fetchall()]


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
