"""Property-based invariants (hypothesis) over the counting models.

P(alive) lies in [0, 1]; expected purchases are >= 0 and non-decreasing in t; and
every prediction is invariant to the time unit (days vs. weeks: ``alpha``, ``beta``,
``t``, ``t_x`` and ``T`` all scale by 7).
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tierwise.models.clv import BetaGeoModel, ModifiedBetaGeoModel, ParetoNBDModel

positive = st.floats(0.05, 20.0)
shape_ab = st.floats(0.2, 10.0).filter(lambda a: abs(a - 1) > 1e-3)  # a = 1 is a removable singularity


@st.composite
def model_and_history(draw):
    cls = draw(st.sampled_from([BetaGeoModel, ModifiedBetaGeoModel, ParetoNBDModel]))
    if cls is ParetoNBDModel:
        params = {"r": draw(positive), "alpha": draw(positive), "s": draw(positive), "beta": draw(positive)}
    else:
        params = {"r": draw(positive), "alpha": draw(positive), "a": draw(shape_ab), "b": draw(positive)}
    T = draw(st.floats(0.5, 100.0))
    x = draw(st.integers(0, 60))
    t_x = 0.0 if x == 0 else draw(st.floats(0.0, 1.0)) * T
    return cls.from_dict({"params": params}), x, t_x, T


@settings(max_examples=150, deadline=None)
@given(model_and_history(), st.floats(0.0, 200.0))
def test_probability_alive_is_a_probability(case, at):
    model, x, t_x, T = case
    p_now = model.probability_alive([x], [t_x], [T])[0]
    p_later = model.probability_alive([x], [t_x], [T], at=at)[0]
    assert 0.0 <= p_later <= p_now + 1e-12 <= 1.0 + 1e-12


@settings(max_examples=150, deadline=None)
@given(model_and_history(), st.lists(st.floats(0.0, 500.0), min_size=2, max_size=6))
def test_expected_purchases_nonnegative_and_monotone(case, times):
    model, x, t_x, T = case
    t = np.sort(np.asarray(times))
    e = model.expected_purchases(t, x, t_x, T)
    assert np.all(np.isfinite(e)) and np.all(e >= -1e-12)
    assert np.all(np.diff(e) >= -1e-9 * (1 + np.abs(e[1:])))
    new = model.expected_purchases_new_customer(t)
    assert np.all(new >= -1e-12) and np.all(np.diff(new) >= -1e-9 * (1 + np.abs(new[1:])))


@settings(max_examples=100, deadline=None)
@given(model_and_history(), st.floats(0.1, 100.0))
def test_predictions_invariant_to_time_unit(case, t):
    weeks, x, t_x, T = case
    params = {k: v * 7 if k in weeks._scaled_params else v for k, v in weeks.params_.items()}
    days = type(weeks).from_dict({"params": params})
    np.testing.assert_allclose(days.probability_alive([x], [7 * t_x], [7 * T], at=7 * t),
                               weeks.probability_alive([x], [t_x], [T], at=t), rtol=1e-9, atol=1e-300)
    np.testing.assert_allclose(days.expected_purchases(7 * t, x, 7 * t_x, 7 * T),
                               weeks.expected_purchases(t, x, t_x, T), rtol=1e-9, atol=1e-300)
    np.testing.assert_allclose(days.probability_of_n_purchases(min(x, 5), 7 * t),
                               weeks.probability_of_n_purchases(min(x, 5), t), rtol=1e-7, atol=1e-300)
