"""The value-model job: per-customer summary ``(x, t_x, T, mean repeat spend)``, BG/NBD and
Gamma-Gamma fits, predictions — tierwise against ``lifetimes``.

* **tierwise**: the summary is ``customer_features(..., only=("purchase_days", "x", "t_x", "T",
  "mean_repeat_spend"))`` on DuckDB (the statistics the application fits on, as
  ``tierwise.app.value`` does), brought to the driver as Arrow; then ``BetaGeoModel().fit(x, t_x,
  T, unit="D")`` and ``GammaGammaModel().fit(x, mean_spend)`` on the repeat buyers;
  predictions ``expected_purchases(30, …)``, ``probability_alive(…)`` and ``expected_spend(…)``.
* **lifetimes** (0.11.3): ``pd.read_parquet`` of the transactions (DECIMAL → ``float``),
  ``summary_data_from_transaction_data(…, monetary_value_col="amount",
  observation_period_end=as_of, freq="D")``, ``BetaGeoFitter().fit`` on the whole summary and
  ``GammaGammaFitter().fit`` on the repeat buyers (no compression into weights: the way its
  documentation uses them); predictions
  ``conditional_expected_number_of_purchases_up_to_time(30, …)``,
  ``conditional_probability_alive(…)``, ``conditional_expected_average_profit(…)``.

Both write ``customer_id, frequency, recency, T, monetary_value, expected_purchases_30,
p_alive, expected_spend`` (lifetimes' names; ``monetary_value`` is 0 when ``x = 0``, as
lifetimes gives it) and return the fitted parameters.
"""

from __future__ import annotations

import time
import warnings
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

HORIZON_DAYS = 30.0
SUMMARY = ("purchase_days", "x", "t_x", "T", "mean_repeat_spend")


def _predictions_frame(ids, x, t_x, T, m, e, p, s) -> pd.DataFrame:
    return pd.DataFrame({"customer_id": ids, "frequency": x, "recency": t_x, "T": T, "monetary_value": m,
                         "expected_purchases_30": e, "p_alive": p, "expected_spend": s})


def run_tierwise(files: dict[str, list[str]], as_of: date, out: str, scratch: Path,
                 memory_limit: str | None) -> dict:
    from tierwise.analytics.features import FeatureSpec, customer_features
    from tierwise.canonical import TABLES
    from tierwise.engine import connect_duckdb, ibis_duckdb, register_canonical
    from tierwise.models.clv import BetaGeoModel, GammaGammaModel

    steps: dict = {}
    t = time.perf_counter()
    be = ibis_duckdb(connect_duckdb(scratch, memory_limit=memory_limit))
    tables = register_canonical(be, files, TABLES)
    spec = FeatureSpec(windows_days=(), aum_windows_months=(), contact_kinds=(), profile_columns=(), only=SUMMARY)
    feats = customer_features({k: tables[k] for k in ("customers", "transactions")}, as_of, spec)
    arrow = be.to_pyarrow(feats.filter(feats.purchase_days > 0))
    ids = arrow["customer_id"]
    x = arrow["x"].to_numpy().astype("float64")
    t_x = arrow["t_x"].to_numpy().astype("float64")
    T = arrow["T"].to_numpy().astype("float64")
    ms = np.nan_to_num(arrow["mean_repeat_spend"].to_numpy(zero_copy_only=False).astype("float64"))
    steps["summary"] = time.perf_counter() - t
    ok = T > 0                       # as tierwise.app.value: a customer first seen on the as-of day has T = 0
    t = time.perf_counter()
    bg = BetaGeoModel().fit(x[ok], t_x[ok], T[ok], unit="D")
    steps["fit BG/NBD"] = time.perf_counter() - t
    t = time.perf_counter()
    rep = ok & (x > 0)
    gg = GammaGammaModel().fit(x[rep], ms[rep])
    steps["fit Gamma-Gamma"] = time.perf_counter() - t
    t = time.perf_counter()
    e, p, s = (np.full(len(x), np.nan) for _ in range(3))
    e[ok] = bg.expected_purchases(HORIZON_DAYS, x[ok], t_x[ok], T[ok])
    p[ok] = bg.probability_alive(x[ok], t_x[ok], T[ok])
    s[ok] = gg.expected_spend(x[ok], ms[ok])
    steps["predict"] = time.perf_counter() - t
    _predictions_frame(ids.to_pandas(), x, t_x, T, ms, e, p, s).to_parquet(out, index=False)
    steps["_params"] = {"bgnbd": bg.params_, "gamma_gamma": gg.params_, "customers": int(ok.sum()),
                        "repeat_buyers": int(rep.sum())}
    return steps


def run_lifetimes(files: dict[str, list[str]], as_of: date, out: str) -> dict:
    from lifetimes import BetaGeoFitter, GammaGammaFitter
    from lifetimes.utils import summary_data_from_transaction_data

    steps: dict = {}
    t = time.perf_counter()
    tx = pd.concat([pd.read_parquet(f, columns=["customer_id", "txn_time", "amount"])
                    for f in files["transactions"]], ignore_index=True)
    tx["amount"] = tx["amount"].astype("float64")
    steps["read"] = time.perf_counter() - t
    t = time.perf_counter()
    s = summary_data_from_transaction_data(tx, "customer_id", "txn_time", monetary_value_col="amount",
                                           observation_period_end=str(as_of), freq="D")
    del tx
    steps["summary"] = time.perf_counter() - t
    fit = s[s["T"] > 0]              # the same customers as tierwise fits on
    f, r, T, m = (fit[c].to_numpy() for c in ("frequency", "recency", "T", "monetary_value"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = time.perf_counter()
        bgf = BetaGeoFitter().fit(fit["frequency"], fit["recency"], fit["T"])
        steps["fit BG/NBD"] = time.perf_counter() - t
        t = time.perf_counter()
        rep = fit[fit["frequency"] > 0]
        ggf = GammaGammaFitter().fit(rep["frequency"], rep["monetary_value"])
        steps["fit Gamma-Gamma"] = time.perf_counter() - t
        t = time.perf_counter()
        e = bgf.conditional_expected_number_of_purchases_up_to_time(HORIZON_DAYS, f, r, T)
        p = bgf.conditional_probability_alive(f, r, T)
        sp = ggf.conditional_expected_average_profit(fit["frequency"], fit["monetary_value"]).to_numpy()
        steps["predict"] = time.perf_counter() - t
    pred = pd.DataFrame({"expected_purchases_30": np.asarray(e), "p_alive": np.asarray(p), "expected_spend": sp},
                        index=fit.index).reindex(s.index)
    _predictions_frame(s.index.to_numpy(), *(s[c].to_numpy() for c in ("frequency", "recency", "T", "monetary_value")),
                       *(pred[c].to_numpy() for c in pred.columns)).to_parquet(out, index=False)
    steps["_params"] = {"bgnbd": {k: float(v) for k, v in bgf.params_.items()},
                        "gamma_gamma": {k: float(v) for k, v in ggf.params_.items()},
                        "customers": int(len(fit)), "repeat_buyers": int(len(rep))}
    return steps
