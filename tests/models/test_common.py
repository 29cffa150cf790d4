"""One shared check suite run over every estimator (scikit-learn's estimator_checks, in small)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tierwise.errors import NotFittedError
from tierwise.models.clv import (
    BetaGeoBetaBinomModel, BetaGeoModel, CLVInputError, GammaGammaModel, ModifiedBetaGeoModel,
    ParetoNBDModel, ShiftedBetaGeoModel,
)

TRUE = {
    BetaGeoModel: {"r": 0.5, "alpha": 5.0, "a": 0.8, "b": 2.5},
    ModifiedBetaGeoModel: {"r": 0.5, "alpha": 5.0, "a": 0.8, "b": 2.5},
    ParetoNBDModel: {"r": 0.6, "alpha": 10.0, "s": 0.6, "beta": 12.0},
    BetaGeoBetaBinomModel: {"alpha": 1.2, "beta": 0.75, "gamma": 0.66, "delta": 2.8},
    GammaGammaModel: {"p": 6.0, "q": 4.0, "gamma": 15.0},
    ShiftedBetaGeoModel: {"alpha": 0.7, "beta": 1.2},
}


def simulate(cls, n: int, seed: int) -> pd.DataFrame:
    """Data drawn from ``cls`` at TRUE parameters, in the layout its ``fit`` takes."""
    truth = cls.from_dict({"params": TRUE[cls]})
    rng = np.random.default_rng(seed + 1)
    if cls is GammaGammaModel:
        return truth.simulate(n, seed, x=rng.poisson(2.0, n) + 1)
    if cls is ShiftedBetaGeoModel:
        return truth.simulate(n, seed, T=8)
    if cls is BetaGeoBetaBinomModel:
        return truth.simulate(n, seed, T=rng.integers(4, 8, n))
    return truth.simulate(n, seed, T=np.round(rng.uniform(20, 40, n), 1))


def fit_args(cls, data: pd.DataFrame):
    if cls is GammaGammaModel:
        return data["x"], data["mean_spend"]
    if cls is ShiftedBetaGeoModel:
        return data["T"], data["churned"]
    return data["x"], data["t_x"], data["T"]


def predict(model, data: pd.DataFrame) -> np.ndarray:
    if isinstance(model, GammaGammaModel):
        return model.expected_spend(data["x"], data["mean_spend"])
    if isinstance(model, ShiftedBetaGeoModel):
        return model.probability_alive(data["T"], at=2)
    return np.concatenate([model.expected_purchases(5, data["x"], data["t_x"], data["T"]),
                           model.probability_alive(data["x"], data["t_x"], data["T"])])


MODELS = list(TRUE)
ids = [c.__name__ for c in MODELS]


@pytest.fixture(scope="module", params=MODELS, ids=ids)
def case(request):
    cls = request.param
    return cls, simulate(cls, 1500, seed=7)


def test_constructor_only_stores_hyperparameters(case):
    cls, _ = case
    model = cls(penalizer=0.01, tol=1e-8, max_iter=50)
    assert model.get_params() == {"penalizer": 0.01, "tol": 1e-8, "max_iter": 50}
    assert not [k for k in vars(model) if k.endswith("_")]
    assert model.set_params(penalizer=0.0) is model and model.penalizer == 0.0


def test_unfitted_raises_not_fitted(case):
    cls, data = case
    with pytest.raises(NotFittedError, match="not fitted"):
        predict(cls(), data)
    with pytest.raises(NotFittedError):
        cls().to_dict()


def test_fit_returns_self_and_refit_is_idempotent(case):
    cls, data = case
    model = cls()
    assert model.fit(*fit_args(cls, data)) is model
    first = dict(model.params_)
    assert model.fit(*fit_args(cls, data)).params_ == first
    assert np.isfinite(model.log_likelihood_) and all(np.isfinite(v) and v > 0 for v in model.se_.values())


def test_row_order_does_not_matter(case):
    cls, data = case
    shuffled = data.sample(frac=1.0, random_state=3).reset_index(drop=True)
    a, b = cls().fit(*fit_args(cls, data)), cls().fit(*fit_args(cls, shuffled))
    assert a.params_ == b.params_


def test_inputs_are_not_mutated(case):
    cls, data = case
    before = data.copy(deep=True)
    model = cls().fit(*fit_args(cls, data))
    predict(model, data)
    pd.testing.assert_frame_equal(data, before)


def test_save_load_round_trip(case, tmp_path):
    cls, data = case
    model = cls().fit(*fit_args(cls, data))
    model.save(tmp_path / "model.json")
    loaded = cls.load(tmp_path / "model.json")
    assert loaded.params_ == model.params_ and loaded.log_likelihood_ == model.log_likelihood_
    np.testing.assert_array_equal(predict(loaded, data), predict(model, data))
    assert "pickle" not in (tmp_path / "model.json").read_text()


def test_invalid_input_is_a_located_value_error(case):
    cls, data = case
    args = [np.asarray(a, dtype=float).copy() for a in fit_args(cls, data)]
    args[0][4] = -1.0
    with pytest.raises(CLVInputError, match="row 4") as info:
        cls().fit(*args)
    assert isinstance(info.value, ValueError)


def test_loading_another_model_is_refused():
    state = BetaGeoModel.from_dict({"params": TRUE[BetaGeoModel]}).to_dict()
    with pytest.raises(CLVInputError, match="BetaGeoModel"):
        ParetoNBDModel.from_dict(state)


@pytest.mark.parametrize("cls", MODELS, ids=ids)
def test_simulate_fit_recover(cls):
    """Simulate -> fit -> recover: every estimate within 4 standard errors and 25 % of the truth.

    The standard-error condition also checks that ``se_`` (from the Hessian) is of the
    right size.
    """
    data = simulate(cls, 80_000, seed=2024)
    model = cls().fit(*fit_args(cls, data))
    for name, true in TRUE[cls].items():
        est, se = model.params_[name], model.se_[name]
        assert abs(est - true) < 4 * se, (name, est, true, se)
        assert abs(est / true - 1) < 0.25, (name, est, true)
