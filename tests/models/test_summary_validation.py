"""Summaries, time units and the validation tools, against hand-computed and shipped figures."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from tierwise.datasets import load_cdnow_summary
from tierwise.errors import UserInputError
from tierwise.models.clv import BetaGeoModel, ParetoNBDModel, summarize
from tierwise.models.clv.validation import chart_data, frequency_buckets, report, tracking


def test_customer_day_aggregation_and_birth_dates():
    tx = pd.DataFrame({"customer_id": ["a", "a", "a", "b", "b"],
                       "date": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-01-15", "2024-01-10",
                                               "2024-01-10"]),
                       "amount": [5.0, 5.0, 30.0, 1.0, 2.0]})
    before = tx.copy()
    s = summarize(tx, calibration_end="2024-01-31", unit="D")
    pd.testing.assert_frame_equal(tx, before)
    assert s.loc["a"].to_dict() == {"x": 1, "t_x": 14.0, "T": 30.0, "mean_spend": 30.0}
    assert s.loc["b"].to_dict() == {"x": 0, "t_x": 0.0, "T": 21.0, "mean_spend": 0.0}


def test_cdnow_summary_matches_the_shipped_rounded_csv(cdnow_weeks, cdnow_transactions):
    ids = cdnow_transactions.drop_duplicates("customer_id").set_index("customer_id")["sample_id"]
    shipped = load_cdnow_summary().astype({"ID": int}).set_index("ID")
    shipped = shipped.loc[ids.reindex(cdnow_weeks.index).astype(int).to_numpy()]
    assert (cdnow_weeks["x"].to_numpy() == shipped["frequency"].to_numpy()).all()
    assert np.max(np.abs(cdnow_weeks["T"].to_numpy() - shipped["T"].to_numpy())) < 0.0043
    assert np.max(np.abs(cdnow_weeks["t_x"].to_numpy() - shipped["recency"].to_numpy())) < 0.0043


def test_unknown_unit_is_refused(cdnow_transactions):
    with pytest.raises(UserInputError, match="unknown time unit"):
        summarize(cdnow_transactions, calibration_end="1997-09-30", unit="M")


@pytest.mark.parametrize("cls", [BetaGeoModel, ParetoNBDModel])
def test_fit_in_days_equals_fit_in_weeks(cls, cdnow_transactions, rfm):
    weeks = cls().fit(*rfm(summarize(cdnow_transactions, calibration_end="1997-09-30", unit="W")))
    days = cls().fit(*rfm(summarize(cdnow_transactions, calibration_end="1997-09-30", unit="D")))
    for name, value in weeks.params_.items():
        factor = 7.0 if name in cls._scaled_params else 1.0
        assert days.params_[name] == pytest.approx(value * factor, rel=1e-6)


def test_clv_durations_with_explicit_units(cdnow_weeks, rfm):
    x, t_x, T = rfm(cdnow_weeks)
    m = BetaGeoModel().fit(x, t_x, T, unit="W")
    spend = np.full(x.size, 10.0)
    by_string = m.clv(x, t_x, T, spend, horizon="364D", period="28D", discount_rate=0.01)
    by_number = m.clv(x, t_x, T, spend, horizon=52, period=4, discount_rate=0.01)
    np.testing.assert_allclose(by_string, by_number, rtol=1e-12)
    undiscounted = m.clv(x, t_x, T, spend, horizon=52, period=4, discount_rate=0.0)
    np.testing.assert_allclose(undiscounted, 10 * m.expected_purchases(52, x, t_x, T), rtol=1e-10)
    with pytest.raises(UserInputError, match="whole number of periods"):
        m.clv(x, t_x, T, spend, horizon=50, period=4, discount_rate=0.01)


def test_pareto_probability_of_n_purchases_is_a_distribution_with_the_right_mean():
    m = ParetoNBDModel.from_dict({"params": {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}})
    n = np.arange(0, 120)
    p = m.probability_of_n_purchases(n, 39.0)
    assert p.sum() == pytest.approx(1.0, abs=1e-9)
    assert (p * n).sum() == pytest.approx(float(m.expected_purchases_new_customer(39.0)), rel=1e-8)


def test_frequency_buckets_and_tracking_on_cdnow(cdnow_split, cdnow_transactions, rfm):
    m = BetaGeoModel().fit(*rfm(cdnow_split))
    table = frequency_buckets(m, cdnow_split)
    assert table["customers"].sum() == 2357 and list(table["x"]) == list(range(8))
    assert (table["actual"] * table["customers"]).sum() == pytest.approx(1882)
    track = tracking(m, cdnow_transactions, calibration_end="1997-09-30", holdout_end="1998-06-30", unit="W")
    assert len(track) == 78 and track["holdout"].sum() == 39
    # cumulative repeat transactions: 2,457 in calibration, 2,457 + 1,882 by week 78
    assert track.loc[~track["holdout"], "actual_cumulative"].iloc[-1] == 2457
    assert track["actual_cumulative"].iloc[-1] == 2457 + 1882
    assert track["actual_incremental"].sum() == 4339
    assert np.all(np.diff(track["predicted_cumulative"]) > 0)
    json.dumps(chart_data(track))


def test_report_in_one_call(cdnow_transactions):
    out = report(ParetoNBDModel(), cdnow_transactions, calibration_end="1997-09-30",
                 holdout_end="1998-06-30", unit="W")
    assert out["holdout"]["actual"] == 1882 and out["customers"] == 2357
    assert out["holdout"]["predicted"] == pytest.approx(1665.5, abs=0.1)
    assert round(out["log_likelihood"], 1) == -9595.0
