"""Fit the policy's value models on the customers' statistics and add their predictions.

The transaction model fits on every buyer's ``(x, t_x, T)`` (one transaction per
customer-day, time in the policy's unit), compressed to distinct patterns; the spend
model on repeat buyers' mean repeat spend. Every customer gets ``p_alive``,
``expected_purchases`` (over the horizon), ``expected_spend`` and ``clv``; customers
without a purchase get NULL. A model that does not converge leaves the columns NULL
and the reason in the run record, so one bad month does not stop the tiers.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from tierwise.config.policy import ValuePolicy
from tierwise.errors import ConvergenceError
from tierwise.models.clv import BetaGeoModel, GammaGammaModel, ModifiedBetaGeoModel, ParetoNBDModel

MODELS = {"bgnbd": BetaGeoModel, "pareto_nbd": ParetoNBDModel, "mbgnbd": ModifiedBetaGeoModel}
COLUMNS = ("p_alive", "expected_purchases", "expected_spend", "clv")


def add_value_predictions(customers: pa.Table, vp: ValuePolicy) -> tuple[pa.Table, dict]:
    """``customers`` with the prediction columns; and a record of the fitted models (or the failure)."""
    days = 7.0 if vp.unit == "W" else 1.0
    buyers = np.asarray(customers["purchase_days"].fill_null(0).to_numpy(zero_copy_only=False)) > 0
    T_all = np.asarray(customers["T"].to_numpy(zero_copy_only=False), dtype="float64")
    ok = buyers & np.isfinite(T_all) & (T_all > 0)
    x = np.asarray(customers["x"].to_numpy(zero_copy_only=False), dtype="float64")[ok]
    t_x = np.asarray(customers["t_x"].to_numpy(zero_copy_only=False), dtype="float64")[ok] / days
    T = T_all[ok] / days
    mean_spend_all = np.asarray(customers["mean_repeat_spend"].to_numpy(zero_copy_only=False), dtype="float64")
    n = customers.num_rows
    cols = {c: np.full(n, np.nan) for c in COLUMNS}
    record: dict = {"model": vp.model, "spend": vp.spend, "unit": vp.unit, "customers_fitted": int(ok.sum())}
    try:
        if ok.sum() < 20 or (x > 0).sum() < 5:
            raise ConvergenceError(f"too few buyers to fit ({int(ok.sum())}, {int((x > 0).sum())} repeat)",
                                   hint="the value model needs at least 20 buyers, 5 of them repeat buyers")
        model = MODELS[vp.model](penalizer=vp.penalizer).fit(x, t_x, T, unit=vp.unit)
        horizon = float(vp.horizon[:-1]) * (7.0 if vp.horizon[-1] == "W" else 1.0) / days
        period = float(vp.period[:-1]) * (7.0 if vp.period[-1] == "W" else 1.0) / days
        cols["p_alive"][ok] = model.probability_alive(x, t_x, T)
        cols["expected_purchases"][ok] = model.expected_purchases(horizon, x, t_x, T)
        ms = mean_spend_all[ok]
        repeat = (x > 0) & np.isfinite(ms) & (ms > 0)
        if vp.spend == "gamma_gamma":
            gg = GammaGammaModel(penalizer=vp.penalizer).fit(x[repeat], ms[repeat])
            spend = gg.expected_spend(x, np.where(repeat, ms, 0.0))
            record["gamma_gamma"] = gg.to_dict()
        else:
            spend = np.where(repeat, ms, np.nanmean(ms[repeat]) if repeat.any() else 0.0)
        cols["expected_spend"][ok] = spend
        cols["clv"][ok] = model.clv(x, t_x, T, spend, horizon=horizon, discount_rate=vp.discount_rate, period=period)
        record["transactions"] = model.to_dict()
    except ConvergenceError as exc:
        record["error"] = str(exc)
    out = customers
    for c in COLUMNS:
        arr = pa.array(cols[c], pa.float64(), mask=~np.isfinite(cols[c]))
        out = out.append_column(c, arr) if c not in out.column_names else out.set_column(
            out.column_names.index(c), c, arr)
    return out, record
