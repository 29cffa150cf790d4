"""Synthetic canonical ``customers`` + ``transactions`` Parquet for the classification benchmark.

Run: ``.venv/bin/python bench/classify/generate.py --size 10M`` (1M, 10M, 100M or any integer).
Writes ``bench/out/classify/<size>/`` (git-ignored) once; a second call with the same size
reuses it (``--force`` regenerates). Not a test.

The process (the issue's description)
-------------------------------------
* Customers are acquired uniformly over the 78 weeks (1.5 years) before the as-of date
  2025-12-31 (end of day); the acquisition moment is the first purchase and ``open_date``.
* Repeat purchases follow BG/NBD: purchase rate λ ~ Gamma(r = 0.25, α = 4 weeks) (rate
  parameter α, so mean λ = r/α = 1/16 per week); after every repeat purchase the customer
  drops out with probability p ~ Beta(a = 0.8, b = 2.4). While alive, purchases are a
  Poisson process with rate λ. Exact simulation: N ~ Poisson(λ·T) arrivals in the
  window, D ~ Geometric(p) repeats before dropout, X = min(N, D); the X repeat times are
  the first X order statistics of N uniforms on (0, T), drawn from exponential spacings.
* Amounts are lognormal in cents: a per-customer level ln μ_i ~ N(3.3, 0.5) and a
  per-transaction ln amount ~ N(ln μ_i, 0.6) (median about $27, mean about $35), at
  least 1 cent. No returns (every amount > 0).
* Customers per transaction: E[1 + X] = 2.2176 under these parameters (a 2 M-customer
  pilot), so ``customers = round(transactions / 2.2176)``: 45.1 M customers at 100 M
  transactions. P(X = 0) = E[(α/(α+T))^r] = 0.590 for T ~ U(0, 78 weeks).

Columns: every canonical column (``register_canonical`` selects them all); the generated ones
are, in ``transactions``, ``customer_id`` (VARCHAR, zero-padded to 10 digits, so string order
= numeric order), ``txn_time`` (TIMESTAMP, time of day from the continuous process) and
``amount`` (DECIMAL(18,2)); in ``customers``, ``customer_id`` and ``open_date`` (DATE). The
other columns are all-NULL (a few bytes per row group in Parquet). Rows are generated in chunks of 2 M customers and
shuffled within a chunk (so a file is not sorted by customer or time); one Parquet file
per chunk and table.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import date, datetime
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from tierwise.canonical import TABLES

HERE = Path(__file__).resolve().parent
OUT = HERE.parent / "out" / "classify"
VERSION = 2
AS_OF = date(2025, 12, 31)
END_US = int((datetime(2026, 1, 1) - datetime(1970, 1, 1)).total_seconds()) * 1_000_000
WEEK_US = 7 * 86400 * 1_000_000
WINDOW_WEEKS = 78.0
R, ALPHA, A, B = 0.25, 4.0, 0.8, 2.4
TXN_PER_CUSTOMER = 2.2176
CHUNK = 2_000_000


def parse_size(s: str) -> int:
    s = s.strip().upper()
    mult = {"K": 1_000, "M": 1_000_000}.get(s[-1], 1)
    return int(float(s[:-1] if mult > 1 else s) * mult)


def label(n: int) -> str:
    return f"{n // 1_000_000}M" if n % 1_000_000 == 0 else str(n)


def data_dir(n_txn: int) -> Path:
    return OUT / label(n_txn)


def simulate_chunk(rng: np.random.Generator, first_id: int, n: int):
    """(customers arrow table, transactions arrow table, one-time buyers) for ids first_id .. first_id+n-1."""
    cid = np.arange(first_id, first_id + n, dtype=np.int64)
    lam = rng.gamma(R, 1.0 / ALPHA, n)            # purchases per week
    p = rng.beta(A, B, n)
    T = rng.uniform(0.0, WINDOW_WEEKS, n)          # weeks from acquisition to the end of the as-of day
    acq_us = END_US - (T * WEEK_US).astype(np.int64)
    T = (END_US - acq_us) / WEEK_US                # consistent with the rounded acquisition time
    N = rng.poisson(lam * T)
    D = rng.geometric(p)
    X = np.minimum(N, D)
    # repeat times: first X order statistics of N uniforms on (0, T) via exponential spacings
    tot = int(X.sum())
    owner = np.repeat(np.arange(n), X)
    E = rng.standard_exponential(tot)
    cs = np.cumsum(E)
    ends = np.cumsum(X)
    starts = ends - X
    base = np.where(starts > 0, cs[np.maximum(starts - 1, 0)], 0.0)
    s_k = cs - base[owner]                          # S_1..S_X within each customer
    s_x = np.where(X > 0, cs[np.maximum(ends - 1, 0)] - base, 0.0)
    g = np.zeros(n)
    rest = N - X + 1                                # shape >= 1
    has = X > 0
    g[has] = rng.standard_gamma(rest[has])
    frac = s_k / (s_x + g)[owner]
    rep_us = acq_us[owner] + (frac * T[owner] * WEEK_US).astype(np.int64)
    rep_us = np.minimum(rep_us, END_US - 1)
    # amounts in cents
    level = rng.normal(3.3, 0.5, n)
    t_owner = np.concatenate([np.arange(n), owner])
    t_time = np.concatenate([acq_us, rep_us])
    cents = np.maximum(1, np.rint(100 * np.exp(level[t_owner] + rng.normal(0, 0.6, len(t_owner))))).astype(np.int64)
    perm = rng.permutation(len(t_owner))
    txn = pa.table({"cid": cid[t_owner[perm]], "ts": t_time[perm], "cents": cents[perm]})
    cust = pa.table({"cid": cid, "ts": acq_us})
    return cust, txn, int((X == 0).sum())


def _select(table: str, given: dict[str, str]) -> str:
    """Every canonical column of ``table``: the generated ones, NULLs of the canonical type otherwise."""
    return ", ".join(f'{given[c.name]} AS "{c.name}"' if c.name in given else f'NULL::{c.sql_type} AS "{c.name}"'
                     for c in TABLES[table].columns)


def generate(n_txn: int, *, seed: int = 20251231, force: bool = False, quiet: bool = False) -> dict:
    """Generate (or reuse) the data for ``n_txn`` transactions; returns the metadata dict."""
    d = data_dir(n_txn)
    meta_path = d / "meta.json"
    if meta_path.exists() and not force:
        meta = json.loads(meta_path.read_text())
        if meta.get("version") == VERSION:
            return meta
    d.mkdir(parents=True, exist_ok=True)
    for f in d.glob("*.parquet"):
        f.unlink()
    n_cust = round(n_txn / TXN_PER_CUSTOMER)
    rng = np.random.default_rng(seed)
    con = duckdb.connect()
    start = time.perf_counter()
    totals = {"customers": 0, "transactions": 0, "one_time_buyers": 0}
    for i, first in enumerate(range(1, n_cust + 1, CHUNK)):
        n = min(CHUNK, n_cust + 1 - first)
        cust, txn, one = simulate_chunk(rng, first, n)
        con.register("txn_chunk", txn)
        con.register("cust_chunk", cust)
        txn_cols = {"customer_id": "lpad(cid::VARCHAR, 10, '0')", "txn_time": "make_timestamp(ts)",
                    "amount": "(cents * 0.01)::DECIMAL(18,2)"}
        cust_cols = {"customer_id": "lpad(cid::VARCHAR, 10, '0')", "open_date": "make_timestamp(ts)::DATE"}
        con.execute(f"COPY (SELECT {_select('transactions', txn_cols)} FROM txn_chunk) "
                    f"TO '{d}/transactions-{i:03d}.parquet' (FORMAT parquet)")
        con.execute(f"COPY (SELECT {_select('customers', cust_cols)} FROM cust_chunk) "
                    f"TO '{d}/customers-{i:03d}.parquet' (FORMAT parquet)")
        con.unregister("txn_chunk")
        con.unregister("cust_chunk")
        totals["customers"] += n
        totals["transactions"] += txn.num_rows
        totals["one_time_buyers"] += one
        if not quiet:
            print(f"  chunk {i}: {totals['customers']:,} customers, {totals['transactions']:,} transactions, "
                  f"{time.perf_counter() - start:.1f} s", flush=True)
    # one-time buyers counted as the benchmark's features see them: one distinct purchase day
    pd1 = con.execute(f"""SELECT count(*) FILTER (WHERE d = 1) / count(*) FROM (
        SELECT customer_id, count(DISTINCT txn_time::DATE) d FROM read_parquet('{d}/transactions-*.parquet')
        GROUP BY customer_id)""").fetchone()[0]
    meta = {"version": VERSION, "seed": seed, "as_of": AS_OF.isoformat(), "target_transactions": n_txn,
            **totals, "one_time_share": totals["one_time_buyers"] / totals["customers"],
            "one_purchase_day_share": float(pd1), "seconds": round(time.perf_counter() - start, 1)}
    meta_path.write_text(json.dumps(meta, indent=2))
    return meta


def files(n_txn: int) -> dict[str, list[str]]:
    d = data_dir(n_txn)
    return {t: sorted(str(f) for f in d.glob(f"{t}-*.parquet")) for t in ("customers", "transactions")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="1M", help="transactions: 1M, 10M, 100M or an integer")
    ap.add_argument("--seed", type=int, default=20251231)
    ap.add_argument("--force", action="store_true")
    a = ap.parse_args()
    meta = generate(parse_size(a.size), seed=a.seed, force=a.force)
    print(json.dumps(meta, indent=2))


if __name__ == "__main__":
    main()
