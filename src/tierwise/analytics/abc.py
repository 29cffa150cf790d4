"""ABC (Pareto) classes by revenue or profit.

Customers are ordered by value, largest first, ties by customer id ascending. A
customer's cumulative share is the value of everyone up to and including them over the
total of positive values. Each class has an upper bound on that share, checked in order
(default A ≤ 80 %, B ≤ 95 %, C the rest); a customer whose value is zero or negative is
always in the last class. Optional sub-grades are more classes (A+ ≤ 50 %, A ≤ 70 %,
A- ≤ 80 %, …). Ties are equal values (money: equal to the cent). Comparisons are exact
integers: sums are in whole cents and a bound of ``num/den`` (the percentage as a
reduced fraction) is checked as ``den · cumulative ≤ num · total``.

The classes are decided by comparison with cut-offs, never by a per-customer table:
:func:`abc_cutoffs` takes a running sum over the distinct values (largest first) and, for
each bound, finds the one value group whose running sum crosses it; only that group's
members are ranked by id, to find the last one still inside the bound. A customer is
inside bound i when their value is above that group's, or equal to it with an id up to
that last one (:func:`abc_class_column`).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

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

    def fractions(self) -> list[Fraction]:
        """Every bound but the last, as an exact fraction of the total (to 1/100 of a percent)."""
        return [Fraction(int(round(b * 100)), 10000) for _, b in self.classes[:-1]]


WITH_SUBGRADES = (("A+", 50.0), ("A", 70.0), ("A-", 80.0), ("B", 95.0), ("C", 100.0))


def abc_cutoffs(features: ir.Table, spec: ABCSpec | None = None) -> ir.Table:
    """One row: per bound i (all but the last class), ``av<i>`` and ``aid<i>``.

    ``av<i>`` is the value of the group whose running sum crosses bound i (NULL: no
    positive value at all), ``aid<i>`` the id of that group's last member still inside the
    bound (NULL: none of them).
    """
    spec = spec or ABCSpec()
    fr = spec.fractions()
    if not fr:
        raise ValueError("abc classes: one class has no cut-offs")
    value = features[spec.value]
    # customers per distinct positive value, and the values in whole cents: exact integer sums
    g = features.filter(value > 0).group_by(v=value).aggregate(cnt=ibis._.count())
    g = g.mutate(c=(g.v * 100).cast("int64"))
    g = g.mutate(total=(g.c * g.cnt).sum().over(),
                 before=(g.c * g.cnt).cumsum(order_by=ibis.desc(g.v)) - g.c * g.cnt)
    g = g.mutate(i=ibis.literal(list(range(len(fr))), type="array<int64>").unnest())
    num = ibis.cases(*[(g.i == i, f.numerator) for i, f in enumerate(fr)])
    den = ibis.cases(*[(g.i == i, f.denominator) for i, f in enumerate(fr)])
    g = g.mutate(num=num.cast("int64"), den=den.cast("int64"))
    # the group where the running sum first exceeds the bound
    cut = g.filter((g.den * g.before <= g.num * g.total) & (g.den * (g.before + g.c * g.cnt) > g.num * g.total))
    # its members ranked by id (a formulation apart from the counting, so nothing per customer is shared)
    t = features.select("customer_id", v=value)
    members = t.semi_join(cut, "v")
    members = members.mutate(rn=ibis.row_number().over(group_by=members.v, order_by=members.customer_id) + 1)
    j = members.join(cut, members.v == cut.v)
    inside = j.filter(j.den * (j.before + j.rn * j.c) <= j.num * j.total)
    ids = inside.group_by("i").aggregate(cut_id=inside.customer_id.max())
    c = cut.select("i", "v").left_join(ids, "i").drop("i_right")
    aggs = {}
    for i in range(len(fr)):
        aggs[f"av{i}"] = c.v.max(where=c.i == i)
        aggs[f"aid{i}"] = c.cut_id.max(where=c.i == i)
    return c.aggregate(**aggs)


def abc_class_column(t: ir.Table, spec: ABCSpec | None = None) -> ir.StringValue:
    """``abc_class`` as an expression on ``t``, which carries the :func:`abc_cutoffs` columns."""
    spec = spec or ABCSpec()
    if len(spec.classes) == 1:
        return ibis.literal(spec.classes[0][0])
    v = t[spec.value]
    cases = []
    for i, (label, _bound) in enumerate(spec.classes[:-1]):
        vi, idi = t[f"av{i}"], t[f"aid{i}"]
        cases.append(((v > 0) & ((v > vi) | ((v == vi) & (t.customer_id <= idi))), label))
    return ibis.cases(*cases, else_=spec.classes[-1][0])


def abc_classes(features: ir.Table, spec: ABCSpec | None = None) -> ir.Table:
    """``customer_id``, ``abc_value`` and ``abc_class`` for every customer of ``features``."""
    spec = spec or ABCSpec()
    t = features.cross_join(abc_cutoffs(features, spec)) if len(spec.classes) > 1 else features
    return t.select("customer_id", abc_value=t[spec.value].fill_null(0), abc_class=abc_class_column(t, spec))


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
