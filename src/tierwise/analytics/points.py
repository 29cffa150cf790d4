"""Points (积分): earned from purchases, redeemed or adjusted, expiring; qualifying points kept apart.

Earning: each purchase earns ``floor(amount × per_amount × category multiplier × tier
multiplier)`` points, the tier being the one in force when the purchase happened (from
earlier runs; before the first run, multiplier 1). Returns earn nothing and take nothing
back (configure returns as adjustments in the points table if the programme claws back).

* ``points_qualifying`` — earned in the last ``qualifying_months`` (the tier metric of a
  points-based ladder); never reduced by redemptions.
* ``points_redeemed`` — the sum of negative movements in the points table (redemptions);
  ``points_adjusted`` the sum of positive ones.
* ``points_expired`` — points earned (or adjusted in) more than ``expiry_months`` ago that
  redemptions did not use; redemptions use the oldest points first, so this is
  ``max(0, old points − redeemed)``.
* ``points_balance`` — spendable: everything earned and adjusted in, minus redeemed and
  expired.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import ibis
import ibis.expr.types as ir
from ibis import _

from tierwise.analytics.days import day_number, day_of
from tierwise.analytics.features import months_back


@dataclass(frozen=True)
class PointsSpec:
    per_amount: float = 1.0
    category_multipliers: dict[str, float] = field(default_factory=dict)
    tier_multipliers: dict[str, float] = field(default_factory=dict)
    qualifying_months: int = 12
    expiry_months: int | None = 24


def points_features(transactions: ir.Table, movements: ir.Table, tier_history: ir.Table | None, as_of: date,
                    spec: PointsSpec) -> ir.Table:
    """Per customer with any points activity: the columns described in the module docstring.

    ``tier_history`` has ``customer_id``, ``from_day``, ``to_day`` (days since 1970, the
    tier applies to purchases on days ``from_day ≤ day < to_day``) and ``tier``.
    """
    asof = day_of(as_of)
    t = transactions.mutate(day=day_number(transactions.txn_time))
    t = t.filter((t.day <= asof) & (t.amount > 0))
    cat = ibis.cases(*[(t.product_category == k, v) for k, v in spec.category_multipliers.items()], else_=1.0) \
        if spec.category_multipliers else ibis.literal(1.0)
    t = t.mutate(base=t.amount.cast("float64") * spec.per_amount * cat)
    if tier_history is not None and spec.tier_multipliers:
        h = tier_history
        j = t.left_join(h, (t.customer_id == h.customer_id) & (t.day >= h.from_day) & (t.day < h.to_day))
        j = j.drop("customer_id_right")
        mult = ibis.cases(*[(j.tier == k, v) for k, v in spec.tier_multipliers.items()], else_=1.0)
        t = j.mutate(earned=(j.base * mult).floor().cast("int64"))
    else:
        t = t.mutate(earned=t.base.floor().cast("int64"))
    qual_start = day_of(months_back(as_of, spec.qualifying_months))
    exp_start = day_of(months_back(as_of, spec.expiry_months)) if spec.expiry_months else None
    earned = t.group_by("customer_id").aggregate(
        points_earned=t.earned.sum(),
        points_qualifying=t.earned.sum(where=t.day > qual_start),
        _old_earned=(t.earned.sum(where=t.day <= exp_start) if exp_start is not None else ibis.literal(0)),
    )
    m = movements.mutate(day=day_number(movements.event_time)).filter(_.day <= asof)
    moved = m.group_by("customer_id").aggregate(
        points_redeemed=(-m.points).sum(where=m.points < 0),
        points_adjusted=m.points.sum(where=m.points > 0),
        _old_adjusted=(m.points.sum(where=(m.points > 0) & (m.day <= exp_start)) if exp_start is not None
                       else ibis.literal(0)),
    )
    ids = earned.select("customer_id").union(moved.select("customer_id"), distinct=True)
    out = ids.left_join(earned, "customer_id").drop("customer_id_right")
    out = out.left_join(moved, "customer_id").drop("customer_id_right")
    z = lambda c: out[c].fill_null(0)  # noqa: E731
    old = z("_old_earned") + z("_old_adjusted")
    expired = ibis.greatest(old - z("points_redeemed"), 0)
    return out.select(
        "customer_id",
        points_earned=z("points_earned"), points_qualifying=z("points_qualifying"),
        points_adjusted=z("points_adjusted"), points_redeemed=z("points_redeemed"),
        points_expired=expired,
        points_balance=z("points_earned") + z("points_adjusted") - z("points_redeemed") - expired,
    )
