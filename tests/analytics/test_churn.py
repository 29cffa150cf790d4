"""Early churn warnings on hand-made feature rows."""

from __future__ import annotations

import pyarrow as pa
import pytest

from tierwise.analytics.churn import ChurnSpec, churn_warnings
from tierwise.engine import connect_duckdb, ibis_duckdb

ROWS = pa.table({
    "customer_id": ["ok", "dead", "slower", "same", "poorer", "silent", "never", "new", "angry", "edge"],
    "p_alive": [0.9, 0.1, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.3],
    "purchase_days_90d": [4, 0, 2, 4, 4, 4, 4, 1, 4, 1],
    "purchase_days_prev_90d": [4, 0, 4, 4, 4, 4, 4, 0, 4, 2],
    "aum_avg_1m": [100.0, 100.0, 100.0, 100.0, 70.0, 100.0, 100.0, 100.0, 100.0, 71.0],
    "aum_avg_3m": [100.0, 100.0, 100.0, 100.0, 100.0, 100.0, 100.0, 100.0, 100.0, 100.0],
    "days_since_contact": pa.array([10, 10, 10, 10, 10, 181, None, None, 10, 180], pa.int64()),
    "tenure_days": [900, 900, 900, 900, 900, 900, 900, 30, 900, 900],
    "last_survey_score": [5.0, 5.0, 5.0, 5.0, 5.0, 5.0, 5.0, None, 2.0, 2.01],
})


@pytest.fixture(scope="module")
def warnings():
    ib = ibis_duckdb(connect_duckdb())
    t = ib.create_table("f", ROWS)
    df = ib.execute(churn_warnings(t, ChurnSpec())).set_index("customer_id")
    return df


@pytest.mark.parametrize("cid, codes", [
    ("ok", None), ("dead", "low_p_alive"), ("slower", "frequency_drop"), ("same", None),
    ("poorer", "balance_drop"),            # 70 ≤ 100 × (1 − 0.3): boundary included
    ("silent", "no_contact"), ("never", "no_contact"),
    ("new", None),                         # never contacted but only 30 days old; no previous window purchases
    ("angry", "negative_survey"),
    ("edge", "frequency_drop"),            # 1 ≤ 2 × 0.5; p_alive 0.3 is not < 0.3; 71 > 70; 180 is not > 180
])
def test_codes(warnings, cid, codes):
    got = warnings.loc[cid, "churn_warnings"]
    assert (None if got is None or got != got else got) == codes
    assert warnings.loc[cid, "churn_warning_count"] == (0 if codes is None else len(codes.split(",")))


def test_disabled_rules_do_not_fire():
    ib = ibis_duckdb(connect_duckdb())
    t = ib.create_table("f", ROWS)
    spec = ChurnSpec(p_alive_below=None, frequency_drop=None, balance_drop=None, no_contact_days=None,
                     survey_below=None)
    df = ib.execute(churn_warnings(t, spec))
    assert df["churn_warnings"].isna().all() and (df["churn_warning_count"] == 0).all()
