"""Treated versus control: uplift with confidence intervals, or a clear "not enough data".

For a metric measured per member (a 0/1 outcome such as "upgraded", or a number such as
the revenue in the campaign period), the uplift is the difference of the group means,
treatment − control, with a normal-approximation interval from the two groups' own
variances (Welch): ``diff ± z · sqrt(s_t²/n_t + s_c²/n_c)``. With fewer than
``min_group`` members in either group, or no variation at all, the result says so instead
of giving a misleading interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.stats import norm


@dataclass(frozen=True)
class Uplift:
    metric: str
    n_treatment: int
    n_control: int
    mean_treatment: float | None
    mean_control: float | None
    uplift: float | None
    ci_low: float | None
    ci_high: float | None
    status: str                 # "ok" | "not_enough_data"
    note: str = ""

    def as_dict(self) -> dict:
        return self.__dict__.copy()


def uplift(metric: str, treated, control, *, confidence: float = 0.95, min_group: int = 30) -> Uplift:
    """Difference of means with a Welch normal interval (see module docstring)."""
    t = np.asarray([v for v in treated if v is not None and not (isinstance(v, float) and math.isnan(v))], float)
    c = np.asarray([v for v in control if v is not None and not (isinstance(v, float) and math.isnan(v))], float)
    nt, nc = len(t), len(c)
    mt = float(t.mean()) if nt else None
    mc = float(c.mean()) if nc else None
    if nt < min_group or nc < min_group:
        return Uplift(metric, nt, nc, mt, mc, None, None, None, "not_enough_data",
                      f"needs at least {min_group} members with data in each group (treatment {nt}, control {nc})")
    se = math.sqrt(t.var(ddof=1) / nt + c.var(ddof=1) / nc)
    diff = mt - mc
    if se == 0:
        return Uplift(metric, nt, nc, mt, mc, diff, None, None, "not_enough_data",
                      "no variation in either group: no interval can be given")
    z = float(norm.ppf(0.5 + confidence / 2))
    return Uplift(metric, nt, nc, mt, mc, diff, diff - z * se, diff + z * se, "ok")
