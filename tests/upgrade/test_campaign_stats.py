"""Control groups (reproducible, balanced) and uplift intervals (recover planted effects, ~95 % coverage)."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pyarrow as pa
import pytest

from tierwise.upgrade.campaigns import assign_arms
from tierwise.upgrade.uplift import uplift


def members(n=1000, seed=0):
    rng = np.random.default_rng(seed)
    return pa.table({"customer_id": [f"c{i:05d}" for i in range(n)],
                     "tier": rng.choice(["gold", "platinum", "standard"], n).tolist(),
                     "manager_id": rng.choice(["m1", "m2", "m3", "m4"], n).tolist()})


def test_control_group_is_reproducible_balanced_and_seed_dependent():
    m = members()
    a = assign_arms(m, control_share=0.2, seed=42, strata=("tier", "manager_id"))
    b = assign_arms(m, control_share=0.2, seed=42, strata=("tier", "manager_id"))
    assert a.equals(b)
    c = assign_arms(m, control_share=0.2, seed=43, strata=("tier", "manager_id"))
    assert a["arm"].to_pylist() != c["arm"].to_pylist()
    per = Counter(zip(a["stratum"].to_pylist(), a["arm"].to_pylist()))
    for stratum in set(a["stratum"].to_pylist()):
        n = per[(stratum, "control")] + per[(stratum, "treatment")]
        assert per[(stratum, "control")] == round(n * 0.2)          # exact share in every stratum
    # row order does not change anyone's arm
    shuffled = m.take(np.random.default_rng(1).permutation(m.num_rows))
    d = assign_arms(shuffled, control_share=0.2, seed=42, strata=("tier", "manager_id"))
    assert dict(zip(d["customer_id"].to_pylist(), d["arm"].to_pylist())) == dict(
        zip(a["customer_id"].to_pylist(), a["arm"].to_pylist()))


def test_planted_uplift_is_recovered():
    rng = np.random.default_rng(7)
    treated = rng.normal(112.0, 30.0, 4000)
    control = rng.normal(100.0, 30.0, 1000)
    u = uplift("revenue", treated, control)
    assert u.status == "ok" and u.ci_low < 12.0 < u.ci_high
    assert u.ci_low > 0                               # a real effect of this size is detected
    rate = uplift("upgraded", rng.uniform(size=3000) < 0.15, rng.uniform(size=3000) < 0.10)
    assert rate.ci_low < 0.05 < rate.ci_high


def test_zero_uplift_interval_covers_zero_about_95_percent():
    covered = 0
    seeds = 400
    for s in range(seeds):
        rng = np.random.default_rng(1000 + s)
        u = uplift("revenue", rng.lognormal(4, 1, 300), rng.lognormal(4, 1, 200))
        covered += u.ci_low <= 0 <= u.ci_high
    assert 0.92 <= covered / seeds <= 0.98


@pytest.mark.parametrize("t, c, note", [
    ([1.0] * 10, [1.0] * 100, "at least 30"),
    ([1.0] * 50, [1.0] * 50, "no variation"),
])
def test_not_enough_data(t, c, note):
    u = uplift("x", t, c)
    assert u.status == "not_enough_data" and note in u.note and u.ci_low is None
