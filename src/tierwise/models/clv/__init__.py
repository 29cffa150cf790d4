"""Customer value models: who will buy again, how often, for how much.

Pure NumPy/SciPy estimators with the scikit-learn contract and one prediction
vocabulary across models:

=================================  ==================================================
``expected_purchases(t, x, t_x, T)``  repeat purchases expected in ``(T, T + t]``
``probability_alive(x, t_x, T, at=)``  P(still active at ``T + at``; ``at=0``: now)
``probability_of_n_purchases(n, t)``   P(n repeat purchases in ``(0, t]``), new customer
``expected_purchases_new_customer(t)``  mean of that distribution
``expected_spend(x, mean_spend)``      value of a future transaction (Gamma-Gamma)
``clv(...)``                            discounted value over an explicit horizon
``simulate(n, seed, ...)``              draw customers from the fitted model
=================================  ==================================================
"""

from tierwise.models.clv.base import CLVInputError, CLVModel, CLVWarning
from tierwise.models.clv.beta_geo import BetaGeoModel
from tierwise.models.clv.beta_geo_beta_binom import BetaGeoBetaBinomModel
from tierwise.models.clv.gamma_gamma import GammaGammaModel
from tierwise.models.clv.modified_beta_geo import ModifiedBetaGeoModel
from tierwise.models.clv.pareto_nbd import ParetoNBDModel
from tierwise.models.clv.shifted_beta_geo import ShiftedBetaGeoModel, cohort_durations
from tierwise.models.clv.summary import daily_transactions, summarize
from tierwise.models.clv.units import to_model_time, unit_days

__all__ = [
    "BetaGeoBetaBinomModel", "BetaGeoModel", "CLVInputError", "CLVModel", "CLVWarning",
    "GammaGammaModel", "ModifiedBetaGeoModel", "ParetoNBDModel", "ShiftedBetaGeoModel",
    "cohort_durations", "daily_transactions", "summarize", "to_model_time", "unit_days",
]
