"""The one base class of the customer value models.

Every model follows the scikit-learn estimator contract: the constructor only stores
hyperparameters (``penalizer``, ``tol``, ``max_iter``); ``fit`` validates its input,
learns state in attributes ending with ``_`` and returns ``self``; using a model
before ``fit`` raises :class:`~tierwise.errors.NotFittedError`. Callers' arrays and
DataFrames are never written to.

Fitting is maximum likelihood over the log of the parameters, with the analytic
gradient each model supplies. Identical data rows are first collapsed into weights
(Fader & Hardie fit "the number of customers with each pattern"), so the cost grows
with the number of distinct patterns, not of customers. Standard errors come from the
inverse of a central-difference Hessian of that exact gradient (delta method back to
the natural scale). A saved model is parameters plus metadata in a JSON-able dict,
never a pickle.
"""

from __future__ import annotations

import inspect
import json
import math
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy.optimize import minimize

from tierwise.errors import ConvergenceError, NotFittedError, TierwiseWarning, UserInputError

__all__ = ["CLVModel", "CLVInputError", "CLVWarning", "compress_rows", "as_array"]

FORMAT_VERSION = 1


class CLVInputError(UserInputError):
    """Data or arguments given to a value model are invalid (also a ``ValueError``)."""


class CLVWarning(TierwiseWarning):
    """A value model produced a result that deserves a look (for example a boundary fit)."""


def as_array(name: str, values, *, dtype=float) -> np.ndarray:
    """Copy ``values`` into a fresh 1-D float array, naming ``name`` in errors."""
    arr = np.array(values, dtype=dtype, copy=True).reshape(-1) if np.ndim(values) else np.array(
        [values], dtype=dtype)
    if not np.all(np.isfinite(arr)):
        bad = int(np.flatnonzero(~np.isfinite(arr))[0])
        raise CLVInputError(f"{name} has a missing or infinite value at position {bad}",
                            hint=f"drop or fill the row before fitting ({name}[{bad}] = {arr[bad]!r})")
    return arr


def compress_rows(columns: dict[str, np.ndarray], weights: np.ndarray | None) -> pd.DataFrame:
    """Collapse identical rows into one row with the summed ``weight``.

    The rows come back sorted by the columns, so the result (and any fit on it) does not
    depend on the order of the input rows.

    >>> compress_rows({"x": np.array([1, 0, 1]), "T": np.array([5.0, 5.0, 5.0])}, None)
       x    T  weight
    0  0  5.0     1.0
    1  1  5.0     2.0
    """
    frame = pd.DataFrame(columns)
    frame["weight"] = 1.0 if weights is None else weights
    out = frame.groupby(list(columns), sort=True, as_index=False)["weight"].sum()
    return out


class CLVModel:
    """Common machinery of the value models (not used directly).

    Parameters
    ----------
    penalizer : float, default 0
        L2 penalty ``penalizer * sum(theta ** 2)`` added to the mean negative
        log-likelihood, with time-scale parameters expressed on data whose mean ``T``
        is 1 (so the penalty does not depend on the time unit). Try ``1e-3`` when a
        fit does not converge.
    tol : float, default 1e-9
        Tolerance on the gradient of the mean log-likelihood.
    max_iter : int, default 1000
        Maximum number of quasi-Newton iterations.
    """

    #: parameter names, in the paper's symbols and order
    _param_names: ClassVar[tuple[str, ...]] = ()
    #: parameters in the unit of the data (time or money), fitted on rescaled data
    _scaled_params: ClassVar[tuple[str, ...]] = ()

    def __init__(self, *, penalizer: float = 0.0, tol: float = 1e-9, max_iter: int = 1000) -> None:
        self.penalizer = penalizer
        self.tol = tol
        self.max_iter = max_iter

    # ----------------------------------------------------------------- sklearn plumbing
    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Hyperparameters, as scikit-learn's ``get_params``."""
        names = [p for p in inspect.signature(type(self).__init__).parameters if p != "self"]
        return {name: getattr(self, name) for name in names}

    def set_params(self, **params) -> CLVModel:
        """Set hyperparameters, as scikit-learn's ``set_params``."""
        valid = self.get_params()
        for key, value in params.items():
            if key not in valid:
                raise CLVInputError(f"unknown hyperparameter {key!r} for {type(self).__name__}",
                                    hint=f"valid: {sorted(valid)}")
            setattr(self, key, value)
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        fitted = ""
        if hasattr(self, "params_"):
            fitted = " [" + ", ".join(f"{k}={v:.4g}" for k, v in self.params_.items()) + "]"
        return f"{type(self).__name__}({args}){fitted}"

    def _check_hyperparameters(self) -> None:
        if not (isinstance(self.penalizer, int | float) and self.penalizer >= 0):
            raise CLVInputError(f"penalizer must be a number >= 0, got {self.penalizer!r}")
        if not (isinstance(self.tol, int | float) and self.tol > 0):
            raise CLVInputError(f"tol must be a number > 0, got {self.tol!r}")
        if not (isinstance(self.max_iter, int) and self.max_iter > 0):
            raise CLVInputError(f"max_iter must be a positive integer, got {self.max_iter!r}")

    def _check_fitted(self) -> tuple[float, ...]:
        if not hasattr(self, "params_"):
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet",
                                 hint="call fit(...) first, or load saved parameters with from_dict()")
        return tuple(self.params_[name] for name in self._param_names)

    # ------------------------------------------------------------------ maximum likelihood
    def _loglik(self, theta: np.ndarray, data: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Per-row log-likelihood and its gradient w.r.t. ``log theta`` (k x n)."""
        raise NotImplementedError

    def _prepare(self, data: pd.DataFrame):
        """Whatever ``_loglik`` needs from ``data``, computed once per fit (default: ``data``)."""
        return data

    def _maximize(self, data: pd.DataFrame, log_theta0: np.ndarray, scale: float) -> None:
        """Maximise the weighted likelihood of ``data`` (times divided by ``scale``)."""
        w = data["weight"].to_numpy()
        prepared = self._prepare(data)
        total = w.sum()
        pen = float(self.penalizer)

        def objective(log_theta):
            theta = np.exp(log_theta)
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                ll, grad = self._loglik(theta, prepared)
            value = -(w @ ll) / total + pen * np.sum(theta ** 2)
            g = -(grad @ w) / total + 2.0 * pen * theta ** 2
            if not np.isfinite(value) or not np.all(np.isfinite(g)):
                return np.inf, np.zeros_like(log_theta)
            return value, g

        res = minimize(objective, log_theta0, jac=True, method="BFGS",
                       options={"gtol": self.tol, "maxiter": self.max_iter})
        log_theta, value = res.x, res.fun
        hess = _hessian(lambda v: objective(v)[1], log_theta)
        # one Newton step polishes what BFGS leaves when it stops on precision loss
        try:
            step = np.linalg.solve(hess, objective(log_theta)[1])
            cand = log_theta - step
            if objective(cand)[0] < value:
                log_theta, value = cand, objective(cand)[0]
        except np.linalg.LinAlgError:
            pass
        gnorm = float(np.max(np.abs(objective(log_theta)[1])))
        if not np.isfinite(value) or gnorm > max(1e3 * self.tol, 1e-5):
            names = ", ".join(self._param_names)
            raise ConvergenceError(
                f"{type(self).__name__} did not converge after {res.nit} iterations "
                f"(|gradient| = {gnorm:.2g}, {res.message}); parameters ({names}) = "
                f"{np.round(np.exp(log_theta), 6).tolist()}",
                hint="try penalizer=1e-3, a larger max_iter, or check the data "
                     "(for example every customer with x = 0, or t_x > T)")
        theta = np.exp(log_theta)
        for i, name in enumerate(self._param_names):
            if name in self._scaled_params:
                theta[i] *= scale
        self.params_ = {n: float(v) for n, v in zip(self._param_names, theta)}
        try:
            cov = np.linalg.inv(hess * total)
            se = theta * np.sqrt(np.clip(np.diag(cov), 0, None))
        except np.linalg.LinAlgError:
            se = np.full_like(theta, np.nan)
        self.se_ = {n: float(v) for n, v in zip(self._param_names, se)}
        self.n_iter_ = int(res.nit)

    # ------------------------------------------------------------------ persistence
    def to_dict(self) -> dict[str, Any]:
        """Parameters and metadata as a JSON-able dict (the saved form of a model).

        >>> from tierwise.models.clv import BetaGeoModel
        >>> m = BetaGeoModel.from_dict({"model": "BetaGeoModel",
        ...     "params": {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}})
        >>> m.to_dict()["params"]["alpha"]
        4.414
        """
        self._check_fitted()
        meta = {k: getattr(self, k) for k in ("log_likelihood_", "n_customers_", "unit_", "se_")
                if hasattr(self, k)}
        return {"model": type(self).__name__, "format_version": FORMAT_VERSION,
                "hyperparameters": self.get_params(), "params": dict(self.params_),
                "metadata": {k.rstrip("_"): v for k, v in meta.items()}}

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> CLVModel:
        """Rebuild a fitted model from :meth:`to_dict` output (or bare ``params``)."""
        if state.get("model", cls.__name__) != cls.__name__:
            raise CLVInputError(f"saved model is a {state['model']}, not a {cls.__name__}",
                                hint=f"load it with {state['model']}.from_dict()")
        params = state.get("params", {})
        missing = [p for p in cls._param_names if p not in params]
        if missing:
            raise CLVInputError(f"saved {cls.__name__} lacks parameters {missing}")
        model = cls(**state.get("hyperparameters", {}))
        for name in cls._param_names:
            value = float(params[name])
            if not (math.isfinite(value) and value > 0):
                raise CLVInputError(f"parameter {name} must be a finite number > 0, got {value!r}")
        model.params_ = {name: float(params[name]) for name in cls._param_names}
        for key, value in state.get("metadata", {}).items():
            setattr(model, key + "_", value)
        return model

    def save(self, path: str | Path) -> None:
        """Write :meth:`to_dict` as JSON to ``path``."""
        Path(path).write_text(json.dumps(self.to_dict(), indent=2, sort_keys=True))

    @classmethod
    def load(cls, path: str | Path) -> CLVModel:
        """Read a model written by :meth:`save`."""
        return cls.from_dict(json.loads(Path(path).read_text()))


def _hessian(grad, v: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """Central-difference Jacobian of an exact gradient, symmetrised."""
    k = v.size
    H = np.empty((k, k))
    for i in range(k):
        e = np.zeros(k)
        e[i] = h
        H[i] = (grad(v + e) - grad(v - e)) / (2 * h)
    return (H + H.T) / 2
