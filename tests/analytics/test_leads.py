"""Lead grading: intent × ability matrix (grades and A1…C3 cells), budget-derived ability, source rules."""

from __future__ import annotations

from decimal import Decimal as D

import pyarrow as pa
import pytest

from tierwise.analytics.leads import LeadSpec, grade_leads
from tierwise.engine import connect_duckdb, ibis_duckdb

LEADS = pa.table({
    "lead_id": ["L1", "L2", "L3", "L4", "L5", "L6", "L7", "L8"],
    "intent": ["高", "high", "中", "低", " Low ", "高", None, "中"],
    "ability": ["高", "低", "中", "高", "l", None, "高", None],
    "budget": pa.array([None, None, None, None, None, D("6000000"), D("9000000"), D("2999999.99")],
                       pa.decimal128(18, 2)),
    "source": ["展会", "详细询盘", "询价", "搜索", "转介绍", "展会", "询价", None],
})


@pytest.fixture(scope="module")
def leads():
    ib = ibis_duckdb(connect_duckdb())
    return ib, ib.create_table("leads", LEADS)


def grades(leads, spec):
    ib, t = leads
    return ib.execute(grade_leads(t, spec)).set_index("lead_id")["lead_grade"].to_dict()


def test_matrix_grades_with_budget_fallback(leads):
    spec = LeadSpec(budget_thresholds=(3_000_000, 6_000_000))
    # L1 high×high A; L2 high×low B; L3 mid×mid B; L4 low×high B; L5 low×low C;
    # L6 high × (budget 6,000,000 ≥ 6M → high) A; L7 no intent → default C; L8 mid × (2,999,999.99 < 3M → low) C
    assert grades(leads, spec) == {"L1": "A", "L2": "B", "L3": "B", "L4": "B", "L5": "C", "L6": "A", "L7": "C",
                                   "L8": "C"}


def test_cells_a1_to_c3(leads):
    got = grades(leads, LeadSpec(style="cell", budget_thresholds=(3_000_000, 6_000_000)))
    assert got == {"L1": "A1", "L2": "A3", "L3": "B2", "L4": "C1", "L5": "C3", "L6": "A1", "L7": "C", "L8": "B3"}


def test_source_rules(leads):
    spec = LeadSpec(method="source", sources={"展会": "A", "详细询盘": "B", "询价": "C", "搜索": "C"}, default_grade="C")
    assert grades(leads, spec) == {"L1": "A", "L2": "B", "L3": "C", "L4": "C", "L5": "C", "L6": "A", "L7": "C",
                                   "L8": "C"}


def test_custom_matrix(leads):
    spec = LeadSpec(matrix=(("S", "A", "A"), ("A", "B", "B"), ("B", "C", "D")))
    got = grades(leads, spec)
    assert (got["L1"], got["L5"], got["L4"]) == ("S", "D", "B")
