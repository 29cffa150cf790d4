"""Next best product: what the next tier holds clearly more often than the customer's tier, and they lack.

For each tier, the holding rate of each product (share of the tier's customers holding it).
For a customer below the top tier, a product is recommended when:

* the next tier's rate is at least ``min_support`` (e.g. 30 %);
* its lift over the customer's own tier — next-tier rate ÷ own-tier rate — is at least
  ``min_lift`` (a product nobody in the own tier holds qualifies; its lift is reported as
  NULL and counts as 10 for ranking);
* the customer does not hold it.

Recommendations are ordered by next-tier rate × lift (capped at 10) and come with the numbers
behind them ("62 % of 白金卡 customers hold a fund; you hold none"). The cross-sell ratio
is the products a customer holds over the median number held in their tier.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import ibis.expr.types as ir

LIFT_CAP = 10.0   # for ranking only: a product nobody in the own tier holds counts as lift 10


@dataclass(frozen=True)
class ProductSpec:
    by: str = "product_type"       # product_type or product_id
    min_support: float = 0.30
    min_lift: float = 1.5
    max_per_customer: int = 3


def holding_rates(held: ir.Table, tiers: ir.Table) -> ir.Table:
    """``tier_level``, ``product``, ``rate``, ``holders``, ``tier_customers``."""
    per_tier = tiers.group_by("tier_level").aggregate(tier_customers=tiers.count())
    j = held.join(tiers.select("customer_id", "tier_level"), "customer_id")
    h = j.group_by(["tier_level", "product"]).aggregate(holders=j.customer_id.nunique())
    h = h.join(per_tier, "tier_level")
    return h.mutate(rate=h.holders.cast("float64") / h.tier_customers.cast("float64"))


def next_best_products(held: ir.Table, tiers: ir.Table, n_levels: int, spec: ProductSpec | None = None) -> ir.Table:
    """Recommendations: ``customer_id``, ``product``, ``next_rate``, ``own_rate``, ``lift``, ``nbp_rank``.

    ``held`` has ``customer_id`` and ``product`` (distinct products held now); ``tiers`` has
    ``customer_id`` and ``tier_level``.
    """
    spec = spec or ProductSpec()
    rates = holding_rates(held, tiers)
    nxt = rates.select(own_level=rates.tier_level - 1, product=rates.product, next_rate=rates.rate)
    own = rates.select(own_level=rates.tier_level, product=rates.product, own_rate=rates.rate)
    pr = nxt.left_join(own, ["own_level", "product"]).drop("own_level_right", "product_right")
    pr = pr.mutate(own_rate=pr.own_rate.fill_null(0.0))
    # lift is undefined (NULL) when nobody in the own tier holds the product: the strongest signal
    pr = pr.mutate(lift=pr.next_rate / pr.own_rate.nullif(0))
    pr = pr.filter((pr.next_rate >= spec.min_support) & (pr.lift.isnull() | (pr.lift >= spec.min_lift)))
    cand = tiers.filter(tiers.tier_level < n_levels - 1).select("customer_id", own_level=tiers.tier_level)
    rec = cand.join(pr, "own_level")
    rec = rec.anti_join(held, ["customer_id", "product"])
    rec = rec.mutate(strength=rec.next_rate * ibis.least(rec.lift.fill_null(LIFT_CAP), LIFT_CAP))
    rank = ibis.row_number().over(group_by=rec.customer_id, order_by=[ibis.desc(rec.strength), rec.product]) + 1
    rec = rec.mutate(nbp_rank=rank)
    return rec.filter(rec.nbp_rank <= spec.max_per_customer).select(
        "customer_id", "product", "next_rate", "own_rate", "lift", "nbp_rank")


def cross_sell_ratio(held: ir.Table, tiers: ir.Table) -> ir.Table:
    """``customer_id``, ``products_held``, ``tier_median_products``, ``cross_sell_ratio``."""
    n = held.group_by("customer_id").aggregate(products_held=held.product.nunique())
    t = tiers.select("customer_id", "tier_level").left_join(n, "customer_id").drop("customer_id_right")
    t = t.mutate(products_held=t.products_held.fill_null(0))
    med = t.group_by("tier_level").aggregate(tier_median_products=t.products_held.median())
    t = t.join(med, "tier_level")
    return t.mutate(cross_sell_ratio=t.products_held.cast("float64") / t.tier_median_products.cast("float64").nullif(0))
