"""Cohort retention for the dashboard: of the customers whose first purchase fell in a month,
the share who purchased again k months later.

Computed in the per-process DuckDB (:mod:`tierwise.app.query_engine`) from the imported
transactions up to the current run's date (purchases only: positive amounts), restricted to the
caller's customers, and cached per workspace state and scope.
"""

from __future__ import annotations

from datetime import date

from tierwise.app import query_engine as qe
from tierwise.app.access import Principal, require
from tierwise.app.query_customers import no_run, scope_sql


def _month_start(d: date, back: int) -> date:
    m = d.year * 12 + d.month - 1 - back
    return date(m // 12, m % 12 + 1, 1)


def cohort_retention(ws, principal: Principal, months: int = 12) -> dict:
    """``cohorts``: the last ``months`` first-purchase months up to the run's date, each with ``size`` and
    ``retention[k]`` = share of the cohort with a purchase in month k after it (k = 0 is 1.0)."""
    require(principal, "customers.read")
    rd = qe.reader(ws)
    g = rd.generation()
    if g.current is None:
        raise no_run()
    files = ws.data.table_files("transactions")
    as_of = g.current.as_of
    first = _month_start(as_of, months - 1)

    def compute() -> dict:
        if not files:
            return {"as_of": as_of.isoformat(), "cohorts": []}
        cur = rd.cursor()
        scope = scope_sql(cur, ws, principal, "t")
        src = "read_parquet([" + ", ".join(qe._lit(f) for f in files) + "], union_by_name=true)"
        rows = cur.execute(f"""
            WITH t AS (SELECT DISTINCT t.customer_id, date_trunc('month', CAST(t.txn_time AS DATE)) AS m
                       FROM {src} t
                       WHERE t.amount > 0 AND CAST(t.txn_time AS DATE) <= ?{' AND ' + scope if scope else ''}),
                 f AS (SELECT customer_id, min(m) AS c FROM t GROUP BY customer_id)
            SELECT f.c, datediff('month', f.c, t.m) AS k, count(*) AS n
            FROM t JOIN f USING (customer_id) WHERE f.c >= ? GROUP BY ALL ORDER BY 1, 2""",
                           [as_of, first]).fetchall()
        by: dict[date, dict[int, int]] = {}
        for c, k, n in rows:
            by.setdefault(c.date() if hasattr(c, "date") else c, {})[int(k)] = int(n)
        cohorts = []
        for c in sorted(by):
            size = by[c].get(0, 0)
            span = (as_of.year - c.year) * 12 + as_of.month - c.month
            cohorts.append({"cohort": c.strftime("%Y-%m"), "size": size,
                            "retention": [by[c].get(k, 0) / size if size else None for k in range(span + 1)]})
        return {"as_of": as_of.isoformat(), "cohorts": cohorts}
    return rd.cached(("cohorts", months, principal.scope_key), compute)
