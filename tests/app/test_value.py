"""Value-model predictions join the evaluation and equal the models' own predictions."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from tierwise.app.value import add_value_predictions
from tierwise.config.policy import ValuePolicy
from tierwise.models.clv import BetaGeoModel, GammaGammaModel


def customers(n=3000, seed=3):
    """Customers drawn from BG/NBD (CDNOW-like parameters, days) with Gamma-distributed spend."""
    truth = BetaGeoModel.from_dict({"model": "BetaGeoModel",
                                    "params": {"r": 0.25, "alpha": 30.0, "a": 0.8, "b": 2.4}})
    rng = np.random.default_rng(seed)
    T = np.floor(rng.uniform(200, 700, n))
    sim = truth.simulate(n, seed, T=T)
    x, t_x = sim["x"].to_numpy().astype(float), np.floor(sim["t_x"].to_numpy())
    spend = np.where(x > 0, rng.gamma(6.0, 20.0, n), np.nan)
    purchase_days = np.where(rng.uniform(size=n) < 0.05, 0, x + 1)      # 5 % prospects
    return pa.table({
        "customer_id": [f"c{i}" for i in range(n)], "purchase_days": purchase_days.astype("int64"),
        "x": x.astype("int64"), "t_x": t_x.astype("int64"),
        "T": pa.array(np.where(purchase_days > 0, T, np.nan), pa.float64()),
        "mean_repeat_spend": pa.array(spend, pa.float64()),
    })


def test_predictions_match_the_models():
    c = customers()
    out, rec = add_value_predictions(c, ValuePolicy(enabled=True, unit="W", horizon="52W", period="4W"))
    assert "error" not in rec
    buyers = np.asarray(c["purchase_days"]) > 0
    x = np.asarray(c["x"], float)[buyers]
    t_x, T = np.asarray(c["t_x"], float)[buyers] / 7, np.asarray(c["T"])[buyers] / 7
    m = BetaGeoModel.from_dict(rec["transactions"])
    np.testing.assert_allclose(np.asarray(out["p_alive"])[buyers], m.probability_alive(x, t_x, T), rtol=1e-12)
    np.testing.assert_allclose(np.asarray(out["expected_purchases"])[buyers], m.expected_purchases(52, x, t_x, T),
                               rtol=1e-12)
    ms = np.asarray(c["mean_repeat_spend"])[buyers]
    gg = GammaGammaModel.from_dict(rec["gamma_gamma"])
    np.testing.assert_allclose(np.asarray(out["expected_spend"])[buyers],
                               gg.expected_spend(x, np.where(x > 0, ms, 0.0)), rtol=1e-12)
    assert out["clv"].null_count == int((~buyers).sum())          # prospects: no prediction
    assert np.all(np.asarray(out["clv"].fill_null(0)) >= 0)


def test_too_few_buyers_leaves_nulls_and_a_reason():
    c = customers(n=10)
    out, rec = add_value_predictions(c, ValuePolicy(enabled=True))
    assert "too few buyers" in rec["error"]
    assert out["p_alive"].null_count == 10
