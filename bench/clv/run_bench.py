"""Benchmark of the value models: CDNOW master side by side with lifetimes, then 10 M simulated customers.

Run: ``.venv/bin/python bench/clv/run_bench.py [--repeats 3] [--n 10000000]``. Prints a
Markdown table (medians of ``--repeats`` runs) for ``bench/clv/README.md``. Not a test.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
import warnings

import numpy as np
import pandas as pd
import scipy

from tierwise.datasets import load_cdnow
from tierwise.models.clv import (
    BetaGeoBetaBinomModel, BetaGeoModel, GammaGammaModel, ModifiedBetaGeoModel, ParetoNBDModel, summarize,
)


def median_time(fn, repeats):
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def ll_of(model, params, frame):
    twin = type(model).from_dict({"params": params})
    data = frame.assign(weight=1.0)
    ll, _ = twin._loglik(np.array([params[n] for n in twin._param_names]), twin._prepare(data))
    return float(ll.sum())


def cdnow_master(repeats):
    import lifetimes  # test/bench-only oracle

    s = summarize(load_cdnow("master"), calibration_end="1997-09-30", unit="D")
    x, t_x, T = (s[c].to_numpy() for c in ("x", "t_x", "T"))
    frame = pd.DataFrame({"x": x, "t_x": t_x, "T": T})
    rows = []
    for ours_cls, theirs_cls in [(BetaGeoModel, lifetimes.BetaGeoFitter),
                                 (ParetoNBDModel, lifetimes.ParetoNBDFitter)]:
        t_ours, ours = median_time(lambda: ours_cls().fit(x, t_x, T, unit="D"), repeats)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t_theirs, theirs = median_time(lambda: theirs_cls().fit(x, t_x, T), repeats)
        p_ours, _ = median_time(lambda: (ours.expected_purchases(273, x, t_x, T),
                                         ours.probability_alive(x, t_x, T)), repeats)
        p_theirs, _ = median_time(lambda: (theirs.conditional_expected_number_of_purchases_up_to_time(
            273, x, t_x, T), theirs.conditional_probability_alive(x, t_x, T)), repeats)
        print(f"  {ours_cls.__name__}: fit {t_ours:.3f} s vs lifetimes {t_theirs:.3f} s", flush=True)
        rows.append({"data": "CDNOW master (23,570)", "model": ours_cls.__name__,
                     "tierwise fit s": t_ours, "lifetimes fit s": t_theirs, "speed-up": t_theirs / t_ours,
                     "tierwise LL": ours.log_likelihood_,
                     "lifetimes LL": ll_of(ours, theirs.params_.to_dict(), frame),
                     "tierwise predict s": p_ours, "lifetimes predict s": p_theirs})
    return rows


TRUE = {BetaGeoModel: {"r": 0.25, "alpha": 30.0, "a": 0.8, "b": 2.4},
        ModifiedBetaGeoModel: {"r": 0.25, "alpha": 30.0, "a": 0.8, "b": 2.4},
        ParetoNBDModel: {"r": 0.55, "alpha": 75.0, "s": 0.6, "beta": 80.0},
        BetaGeoBetaBinomModel: {"alpha": 1.2, "beta": 0.75, "gamma": 0.66, "delta": 2.8},
        GammaGammaModel: {"p": 6.25, "q": 3.74, "gamma": 15.44}}


def simulated(n, repeats, only=()):
    rng = np.random.default_rng(0)
    rows = []
    for cls, params in TRUE.items():
        if only and cls.__name__ not in only:
            continue
        truth = cls.from_dict({"params": params})
        if cls is GammaGammaModel:
            data = truth.simulate(n, 1, x=rng.poisson(1.5, n) + 1)
            data["mean_spend"] = np.round(data["mean_spend"], 2).clip(lower=0.01)  # cents
            args = (data["x"].to_numpy(), data["mean_spend"].to_numpy())
        elif cls is BetaGeoBetaBinomModel:
            data = truth.simulate(n, 1, T=rng.integers(4, 12, n))
            args = tuple(data[c].to_numpy() for c in ("x", "t_x", "T"))
        else:  # days since first purchase, whole days as a summary gives them
            data = truth.simulate(n, 1, T=rng.integers(90, 365, n).astype(float))
            data["t_x"] = np.floor(data["t_x"])
            args = tuple(data[c].to_numpy() for c in ("x", "t_x", "T"))
        t_fit, model = median_time(lambda: cls().fit(*args), repeats)
        if cls is GammaGammaModel:
            t_pred, _ = median_time(lambda: model.expected_spend(*args), repeats)
        else:
            t_pred, _ = median_time(lambda: (model.expected_purchases(30.0, *args),
                                             model.probability_alive(*args)), repeats)
        print(f"  {cls.__name__}: fit {t_fit:.2f} s, predict {t_pred:.2f} s", flush=True)
        rows.append({"data": f"simulated ({n:,})", "model": cls.__name__, "tierwise fit s": t_fit,
                     "tierwise predict s": t_pred, "patterns": getattr(model, "n_patterns_", None),
                     "recovered": {k: round(v, 3) for k, v in model.params_.items()}, "true": params})
        del data, args
    return rows


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--n", type=int, default=10_000_000)
    parser.add_argument("--skip-master", action="store_true")
    parser.add_argument("--only", nargs="*", default=(), help="simulated models to run (class names)")
    args = parser.parse_args()
    import lifetimes
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}, "
          f"pandas {pd.__version__}, lifetimes {lifetimes.__version__}")
    rows = [] if args.skip_master else cdnow_master(args.repeats)
    rows += simulated(args.n, args.repeats, args.only)
    with pd.option_context("display.width", 250, "display.max_columns", 20, "display.max_colwidth", 80):
        print(pd.DataFrame(rows).to_markdown(index=False, floatfmt=".4g")
              if _has_tabulate() else pd.DataFrame(rows).to_string(index=False))


def _has_tabulate():
    try:
        import tabulate  # noqa: F401
    except ImportError:
        return False
    return True


if __name__ == "__main__":
    main()
