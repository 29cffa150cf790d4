"""Lead grading: a grade matrix of purchase intent × purchase ability, or grades by lead source.

Matrix grading
--------------
``intent`` and ``ability`` are normalised to levels 1 (high) … 3 (low) from the words
real exports use (高/中/低, high/medium/low, strong/…, A/B/C, 1/2/3). Where ``ability``
is missing it can be derived from ``budget`` with ascending thresholds (below the first
= low). The grade is looked up in the policy's matrix (rows = intent high→low, columns
= ability high→low); ``style="cell"`` instead names the cell: intent letter + ability
digit, ``A1`` (high intent, high ability) … ``C3``.

Source grading
--------------
A mapping from lead source to grade (展会 → A, 详细询盘 → B, 询价 → C …); sources not
listed get the default grade.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import ibis
import ibis.expr.types as ir

LEVEL_WORDS = {
    1: ("高", "high", "h", "strong", "强", "a", "1", "大"),
    2: ("中", "medium", "mid", "m", "average", "一般", "b", "2"),
    3: ("低", "low", "l", "weak", "弱", "c", "3", "小"),
}
DEFAULT_MATRIX = (("A", "A", "B"), ("A", "B", "C"), ("B", "C", "C"))


@dataclass(frozen=True)
class LeadSpec:
    method: str = "matrix"                       # "matrix" or "source"
    matrix: tuple[tuple[str, ...], ...] = DEFAULT_MATRIX
    style: str = "grade"                         # "grade" (matrix letters) or "cell" (A1 … C3)
    budget_thresholds: tuple[float, ...] = ()    # two ascending edges: < first low, < second medium, else high
    sources: dict[str, str] = field(default_factory=dict)
    default_grade: str = "C"


def level(expr: ir.StringValue) -> ir.IntegerValue:
    """1 (high), 2 (medium), 3 (low) or NULL from a text level."""
    v = expr.strip().lower()
    return ibis.cases(*[(v.isin(list(words)), lvl) for lvl, words in LEVEL_WORDS.items()], else_=ibis.null("int64"))


def grade_leads(leads: ir.Table, spec: LeadSpec | None = None) -> ir.Table:
    """``lead_id``, ``intent_level``, ``ability_level``, ``lead_grade`` for every lead."""
    spec = spec or LeadSpec()
    if spec.method == "source":
        src = leads.source.strip()
        grade = ibis.cases(*[(src == k, g) for k, g in spec.sources.items()], else_=spec.default_grade) \
            if spec.sources else ibis.literal(spec.default_grade)
        return leads.select("lead_id", intent_level=level(leads.intent), ability_level=level(leads.ability),
                            lead_grade=grade)
    ability = level(leads.ability)
    if spec.budget_thresholds:
        lo, hi = spec.budget_thresholds
        from_budget = ibis.cases((leads.budget >= hi, 1), (leads.budget >= lo, 2), else_=3)
        ability = ibis.coalesce(ability, ibis.ifelse(leads.budget.isnull(), ibis.null("int64"), from_budget))
    intent = level(leads.intent)
    t = leads.select("lead_id", intent_level=intent, ability_level=ability)
    if spec.style == "cell":
        letter = ibis.cases((t.intent_level == 1, "A"), (t.intent_level == 2, "B"), (t.intent_level == 3, "C"))
        grade = letter.concat(t.ability_level.cast("string"))
    else:
        grade = ibis.cases(*[((t.intent_level == i + 1) & (t.ability_level == j + 1), g)
                             for i, row in enumerate(spec.matrix) for j, g in enumerate(row)])
    # a lead missing intent or ability cannot be placed: it gets the default (lowest) grade
    return t.mutate(lead_grade=ibis.coalesce(grade, ibis.literal(spec.default_grade)))
