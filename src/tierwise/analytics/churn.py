"""Early churn warnings: rules over features and model outputs, each with its reason code.

=====================  ==============================================================
code                   fires when
=====================  ==============================================================
``low_p_alive``        P(alive) below ``p_alive_below`` (needs the value model)
``frequency_drop``     purchase days in the last window fell by at least
                       ``frequency_drop`` against the window before (which had any)
``balance_drop``       last month's average daily balance is at least ``balance_drop``
                       below the 3-month average
``no_contact``         no contact for more than ``no_contact_days`` (or never, with a
                       longer tenure)
``negative_survey``    the latest survey score is at or below ``survey_below``
=====================  ==============================================================

``churn_warnings`` lists the codes that fire, comma-separated, in this order (NULL if
none); ``churn_warning_count`` counts them.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import ibis.expr.types as ir

CODES = ("low_p_alive", "frequency_drop", "balance_drop", "no_contact", "negative_survey")


@dataclass(frozen=True)
class ChurnSpec:
    p_alive_below: float | None = 0.3
    frequency_drop: float | None = 0.5
    frequency_window_days: int = 90
    balance_drop: float | None = 0.3
    no_contact_days: int | None = 180
    survey_below: float | None = 2.0


def churn_warnings(t: ir.Table, spec: ChurnSpec) -> ir.Table:
    """Add ``churn_warnings`` and ``churn_warning_count`` to ``t``."""
    rules: list[tuple[str, ir.BooleanValue]] = []
    if spec.p_alive_below is not None and "p_alive" in t.columns:
        rules.append(("low_p_alive", t.p_alive < spec.p_alive_below))
    w = spec.frequency_window_days
    if spec.frequency_drop is not None and f"purchase_days_{w}d" in t.columns:
        now, before = t[f"purchase_days_{w}d"].cast("float64"), t[f"purchase_days_prev_{w}d"].cast("float64")
        rules.append(("frequency_drop", (before > 0) & (now <= before * (1 - spec.frequency_drop))))
    if spec.balance_drop is not None and {"aum_avg_1m", "aum_avg_3m"} <= set(t.columns):
        rules.append(("balance_drop", (t.aum_avg_3m > 0) & (t.aum_avg_1m <= t.aum_avg_3m * (1 - spec.balance_drop))))
    if spec.no_contact_days is not None and "days_since_contact" in t.columns:
        never = t.days_since_contact.isnull() & (t.tenure_days > spec.no_contact_days)
        rules.append(("no_contact", (t.days_since_contact > spec.no_contact_days) | never))
    if spec.survey_below is not None and "last_survey_score" in t.columns:
        rules.append(("negative_survey", t.last_survey_score <= spec.survey_below))
    if not rules:
        return t.mutate(churn_warnings=ibis.null("string"), churn_warning_count=ibis.literal(0, "int64"))
    parts = [ibis.ifelse(cond.fill_null(False), ibis.literal(code + ","), ibis.literal("")) for code, cond in rules]
    joined = parts[0]
    for p in parts[1:]:
        joined = joined.concat(p)
    count = sum((ibis.ifelse(cond.fill_null(False), 1, 0) for _, cond in rules), ibis.literal(0, "int64"))
    return t.mutate(churn_warnings=joined.re_replace(",$", "").nullif(""), churn_warning_count=count)
