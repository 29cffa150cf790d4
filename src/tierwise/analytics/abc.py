"""ABC (Pareto) classes by revenue or profit.

Customers are ordered by value, largest first, ties by customer id ascending. A
customer's cumulative share is the value of everyone up to and including them over the
total of positive values. Each class has an upper bound on that share, checked in order
(default A ≤ 80 %, B ≤ 95 %, C the rest); a customer whose value is zero or negative is
always in the last class. Optional sub-grades are more classes (A+ ≤ 50 %, A ≤ 70 %,
A- ≤ 80 %, …). Comparisons are exact: values are whole cents and the bound is checked as
``100 · cumulative ≤ percent · total``.

Only the tie groups that a bound falls inside are ranked by customer id; everything
else is decided from a running sum over the distinct values.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import ibis
import ibis.expr.types as ir


@dataclass(frozen=True)
class ABCSpec:
    value: str = "revenue"
    #: (class, upper bound of the cumulative share in percent), in order; the last bound must be 100
    classes: tuple[tuple[str, float], ...] = (("A", 80.0), ("B", 95.0), ("C", 100.0))

    def __post_init__(self):
        bounds = [b for _, b in self.classes]
        if bounds != sorted(bounds) or bounds[-1] != 100.0:
            raise ValueError("abc classes: bounds must increase and end at 100")


WITH_SUBGRADES = (("A+", 50.0), ("A", 70.0), ("A-", 80.0), ("B", 95.0), ("C", 100.0))


def abc_classes(features: ir.Table, spec: ABCSpec | None = None) -> ir.Table:
    """``customer_id``, ``abc_value`` and ``abc_class`` for every customer of ``features``."""
    spec = spec or ABCSpec()
    cents = (features[spec.value].fill_null(0) * 100).cast("int64")
    t = features.select("customer_id", c=cents, v=features[spec.value].fill_null(0))
    pos = t.filter(t.c > 0)
    total = pos.c.sum().as_scalar()
    g = pos.group_by("c").aggregate(cnt=ibis._.count())
    # running sum over distinct values, largest first: value of everyone strictly above
    g = g.mutate(before=(g.c * g.cnt).cumsum(order_by=ibis.desc(g.c)) - g.c * g.cnt)
    j = pos.join(g, "c")
    # rank inside the tie group by customer id only where a bound splits the group
    last = len(spec.classes) - 1

    def klass(cum: ir.IntegerValue) -> ir.IntegerValue:
        return ibis.cases(*[(cum * 100 <= int(round(b * 100)) * total / 100, i)
                            for i, (_, b) in enumerate(spec.classes)], else_=last)

    first_cls = klass(j.before + j.c)
    last_cls = klass(j.before + j.c * j.cnt)
    j = j.mutate(k_first=first_cls, k_last=last_cls)
    whole = j.filter(j.k_first == j.k_last).select("customer_id", k=j.k_first)
    split = j.filter(j.k_first != j.k_last)
    rank = ibis.row_number().over(group_by=split.c, order_by=split.customer_id) + 1
    split_k = split.select("customer_id", k=klass(split.before + split.c * rank))
    ks = whole.union(split_k)
    out = t.left_join(ks, "customer_id").drop("customer_id_right")
    out = out.mutate(k=out.k.fill_null(last))
    name = ibis.cases(*[(out.k == i, label) for i, (label, _) in enumerate(spec.classes)])
    return out.select("customer_id", abc_value=out.v, abc_class=name)


def abc_summary(classes: ir.Table) -> ir.Table:
    """Per class: customers, value, share of customers and of the positive total value."""
    c = classes
    pos_total = c.abc_value.sum(where=c.abc_value > 0).as_scalar()
    n = c.count().as_scalar()
    return c.group_by("abc_class").aggregate(
        customers=c.count(), value=c.abc_value.sum(),
    ).mutate(customer_share=ibis._.customers.cast("float64") / n.cast("float64"),
             value_share=ibis._.value.cast("float64") / pos_total.cast("float64")
             ).order_by("abc_class")
