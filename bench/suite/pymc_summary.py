"""pymc-marketing's ``rfm_summary`` on the benchmark transactions (a child of ``run.py``).

Runs in its own virtual environment (``bench/out/suite/pymc-venv``, made by ``run.py
--setup-pymc``) because pymc-marketing brings PyMC, PyTensor, ArviZ and numba, which the
project's ``.venv`` does not need. It imports nothing from tierwise.

Usage: ``pymc-venv/bin/python pymc_summary.py OUT AS_OF TXN.parquet [TXN.parquet …]``. Prints one
JSON line ``{"seconds": …, "steps": {…}}`` and writes ``customer_id, frequency, recency, T,
monetary_value`` to ``OUT``.
"""

from __future__ import annotations

import json
import sys
import time


def main() -> None:
    out, as_of, files = sys.argv[1], sys.argv[2], sys.argv[3:]
    import pandas as pd
    from pymc_marketing.clv.utils import rfm_summary

    steps = {}
    t0 = t = time.perf_counter()
    tx = pd.concat([pd.read_parquet(f, columns=["customer_id", "txn_time", "amount"]) for f in files],
                   ignore_index=True)
    tx["amount"] = tx["amount"].astype("float64")
    steps["read"] = time.perf_counter() - t
    t = time.perf_counter()
    s = rfm_summary(tx, "customer_id", "txn_time", monetary_value_col="amount", observation_period_end=as_of,
                    time_unit="D")
    steps["summary"] = time.perf_counter() - t
    s[["customer_id", "frequency", "recency", "T", "monetary_value"]].to_parquet(out, index=False)
    import pymc_marketing
    print(json.dumps({"seconds": time.perf_counter() - t0, "steps": steps,
                      "versions": {"pymc-marketing": pymc_marketing.__version__, "pandas": pd.__version__}}),
          flush=True)


if __name__ == "__main__":
    main()
