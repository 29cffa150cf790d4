"""Row-by-row equality of each engine's per-customer result with tierwise's.

* classification engines (``hand``, ``pandas``, ``polars``) against ``tierwise``:
  ``r_score``, ``f_score``, ``m_score``, ``abc_class``, ``lifecycle`` must be identical for
  every customer (a full outer join on ``customer_id``; a customer missing on one side is a
  mismatch in every column);
* summary engines (``lifetimes``, ``pymc``) against ``tierwise-clv``: ``frequency`` (x),
  ``recency`` (t_x) and ``T`` identical, ``monetary_value`` (mean repeat spend) within
  1e-6 currency units (float sums of two-decimal amounts against tierwise's exact DECIMAL
  sum; a cent is 1e-2). For lifetimes the fitted predictions are compared too (largest
  relative difference), since both fit the same model by maximum likelihood.
"""

from __future__ import annotations

import duckdb

from run import result_path

CLASS_COLUMNS = ("r_score", "f_score", "m_score", "abc_class", "lifecycle")
SUMMARY_EXACT = ("frequency", "recency", "T")
MONEY_TOLERANCE = 1e-6
PREDICTIONS = ("expected_purchases_30", "p_alive", "expected_spend")


def _mismatches(a: str, b: str, exprs: dict[str, str]) -> dict:
    con = duckdb.connect()
    cols = ", ".join(f"count(*) FILTER (WHERE a.customer_id IS NULL OR b.customer_id IS NULL OR ({e})) AS \"{k}\""
                     for k, e in exprs.items())
    cur = con.execute(f"""SELECT count(*) AS rows, count(a.customer_id) AS rows_reference,
                                 count(b.customer_id) AS rows_engine, {cols}
                          FROM read_parquet('{a}') a FULL JOIN read_parquet('{b}') b USING (customer_id)""")
    res = dict(zip([d[0] for d in cur.description], cur.fetchone()))
    res["mismatched_rows"] = con.execute(f"""SELECT count(*) FROM read_parquet('{a}') a
        FULL JOIN read_parquet('{b}') b USING (customer_id)
        WHERE a.customer_id IS NULL OR b.customer_id IS NULL OR {' OR '.join(f'({e})' for e in exprs.values())}
    """).fetchone()[0]
    res["equal"] = res["mismatched_rows"] == 0 and res["rows_reference"] == res["rows_engine"] == res["rows"]
    return res


def classification(n: int, engine: str) -> dict:
    return _mismatches(result_path("tierwise", n), result_path(engine, n),
                       {c: f"a.{c} IS DISTINCT FROM b.{c}" for c in CLASS_COLUMNS})


def summary(n: int, engine: str) -> dict:
    exprs = {c: f'a."{c}" IS DISTINCT FROM b."{c}"' for c in SUMMARY_EXACT}
    exprs["monetary_value"] = (f"a.monetary_value IS NULL OR b.monetary_value IS NULL "
                               f"OR abs(a.monetary_value - b.monetary_value) > {MONEY_TOLERANCE}")
    res = _mismatches(result_path("tierwise-clv", n), result_path(engine, n), exprs)
    if engine == "lifetimes":
        con = duckdb.connect()
        rel = ", ".join(f"max(abs(a.{c} - b.{c}) / greatest(abs(a.{c}), 1e-12)) AS {c}" for c in PREDICTIONS)
        cur = con.execute(f"""SELECT {rel} FROM read_parquet('{result_path("tierwise-clv", n)}') a
                              JOIN read_parquet('{result_path(engine, n)}') b USING (customer_id)
                              WHERE a."T" > 0""")
        res["prediction_max_rel_diff"] = dict(zip([d[0] for d in cur.description], cur.fetchone()))
    return res


def all_engines(n: int, engines: set[str]) -> dict:
    """Equality of every engine in ``engines`` whose reference result exists."""
    out = {}
    for e in sorted(engines):
        if e in ("hand", "pandas", "polars") and result_path("tierwise", n).exists():
            out[e] = classification(n, e)
        elif e in ("lifetimes", "pymc") and result_path("tierwise-clv", n).exists():
            out[e] = summary(n, e)
    return out
