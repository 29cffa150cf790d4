"""Tier ladder scenarios: monthly metric per customer → expected tier and status each month.

Ladder (levels 0..3): 普通 0 | 金卡 entry 100, maintain 80, deferral 3 | 白金 entry 500, maintain 400,
deferral 2 | 钻石 entry 1000, maintain 1000, deferral 1. Statuses: N normal, W watch, P pending upgrade.
"""

from __future__ import annotations

import ibis
import pyarrow as pa
import pytest

from tierwise.engine import connect_duckdb, ibis_duckdb
from tierwise.tiers.ladder import Ladder, Level, empty_state, evaluate_period

LEVELS = (Level("normal", 0), Level("gold", 100, 80, 3), Level("platinum", 500, 400, 2),
          Level("diamond", 1000, 1000, 1))
STATUS = {"N": "normal", "W": "watch", "P": "pending_upgrade"}


def run(ladder: Ladder, metrics: list[float | None], allowed: list[bool] | None = None) -> list[tuple[int, str]]:
    ib = ibis_duckdb(connect_duckdb())
    prev = ib.create_table("prev", schema=empty_state(ladder), temp=True)
    out = []
    for month, m in enumerate(metrics):
        cur = ibis.memtable(pa.table({"customer_id": ["c"], "metric": pa.array([m], pa.float64()),
                                      "downgrade_allowed": [True if allowed is None else allowed[month]]}))
        res = ib.to_pyarrow(evaluate_period(cur, prev, ladder, as_of_day=month))
        row = res.to_pylist()[0]
        out.append((row["tier_computed"], row["tier_status"]))
        prev = ib.create_table("prev", res, temp=True, overwrite=True)
    return out


def expect(spec: str) -> list[tuple[int, str]]:
    """'1N 1W 0N' → [(1, 'normal'), (1, 'watch'), (0, 'normal')]."""
    return [(int(tok[:-1]), STATUS[tok[-1]]) for tok in spec.split()]


ONE = Ladder(LEVELS)


@pytest.mark.parametrize("name, metrics, tiers", [
    ("first placement at the qualifying level", [600], "2N"),
    ("exact entry boundary qualifies", [100, 500, 1000], "1N 2N 3N"),
    ("just below entry does not", [99.99, 499.99], "0N 1N"),
    ("immediate upgrade across two levels", [50, 1200], "0N 3N"),
    ("maintain < entry: hysteresis holds gold at 80..99", [150, 90, 80, 85], "1N 1N 1N 1N"),
    ("deferral: three months below maintain, then down", [150, 70, 70, 70, 70], "1N 1W 1W 0N 0N"),
    ("recovery during watch resets the counter", [150, 70, 70, 85, 70, 70, 70], "1N 1W 1W 1N 1W 1W 0N"),
    ("watch needs consecutive periods", [150, 70, 90, 70, 90, 70], "1N 1W 1N 1W 1N 1W"),
    ("diamond: deferral 1 downgrades at the first period below", [1000, 999.99], "3N 2N"),
    ("maintain boundary is inclusive", [600, 400, 400], "2N 2N 2N"),
    ("one-step downgrade from platinum with metric at 0", [600, 0, 0, 0, 0, 0], "2N 2W 1N 1W 1W 0N"),
    ("missing metric counts as 0", [150, None, None, None], "1N 1W 1W 0N"),
])
def test_immediate_one_step(name, metrics, tiers):
    assert run(ONE, metrics) == expect(tiers), name


def test_qualifying_downgrade_goes_straight_to_the_supported_level():
    ladder = Ladder(LEVELS, downgrade_step="qualifying")
    assert run(ladder, [1000, 50]) == expect("3N 0N")
    assert run(ladder, [600, 120, 120]) == expect("2N 2W 1N")


def test_best_of_k_downgrade():
    ladder = Ladder(LEVELS, downgrade_step="best_of_k", best_of_k=3)
    # platinum; q history 2, 1, 0: at the 2nd period below the best of the last 3 q's (2, 1, 0) capped at base−1 → 1
    assert run(ladder, [600, 150, 0]) == expect("2N 2W 1N")
    # q history 2, 0, 0 → best 2 capped at 1
    assert run(ladder, [600, 0, 0]) == expect("2N 2W 1N")
    # diamond, then gold-level months: at the first month below, the best of the last three q's (1, 3, 3)
    # is capped at base − 1 → platinum; platinum's watch then ends with best of (0, 1, 1) → gold
    assert run(ladder, [1000, 1000, 150, 150, 10]) == expect("3N 3N 2N 2W 1N")


def test_next_period_upgrade():
    ladder = Ladder(LEVELS, upgrade="next_period")
    assert run(ladder, [50, 600, 600, 600]) == expect("0N 0P 2N 2N")
    # pending is applied next period even if the metric fell meanwhile (then the watch starts from there)
    assert run(ladder, [50, 600, 450, 300]) == expect("0N 0P 2N 2W")


def test_downgrades_held_outside_allowed_periods():
    allowed = [True, True, True, False, False, True]
    assert run(ONE, [150, 70, 70, 70, 70, 70], allowed) == expect("1N 1W 1W 1W 1W 0N")


@pytest.mark.parametrize("m", [0, 79.99, 80, 99.99, 100, 399.99, 400, 499.99, 500, 999.99, 1000, 10**7])
def test_without_deferral_tier_is_monotone_in_metric(m):
    ladder = Ladder(tuple(Level(lv.id, lv.entry) for lv in LEVELS))
    first = run(ladder, [m])[0][0]
    expected = sum(m >= lv.entry for lv in LEVELS[1:])
    assert first == expected


def test_ladder_validation():
    with pytest.raises(ValueError, match="strictly increase"):
        Ladder((Level("a", 0), Level("b", 10), Level("c", 10)))
    with pytest.raises(ValueError, match="maintain threshold must be ≤ entry"):
        Ladder((Level("a", 0), Level("b", 10, 20)))
