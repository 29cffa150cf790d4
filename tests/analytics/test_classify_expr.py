"""The composed classification on the hand-made fixture: rule segments, derived columns, tags."""

from __future__ import annotations

from tierwise.analytics.classify import classify_customers, features_for
from tierwise.config.policy import parse_policy

from .conftest import AS_OF

POLICY = """
preset: distributor
segments:
  - name: capability
    rules:
      - {id: strong, label: {zh-CN: 强, en: Strong}, when: "revenue >= 300"}
      - {id: average, label: {zh-CN: 中, en: Average}, when: "revenue > 0"}
    default: needs_help
    maps_to:
      service_level: {strong: premium, average: standard, needs_help: care}
  - name: tags
    mode: tags
    rules:
      - {id: rich, label: {zh-CN: 富, en: Rich}, when: "aum_avg_3m > 1000"}
      - {id: contacted, label: {zh-CN: 联系过, en: Contacted}, when: "days_since_contact <= 30"}
"""


def test_composed_classification(fixture_tables):
    ib, tables = fixture_tables
    policy = parse_policy(POLICY)
    feats = features_for(tables, AS_OF, policy)
    ib.create_table("_f", feats, temp=True, overwrite=True)
    out = ib.execute(classify_customers(ib.table("_f"), tables, AS_OF, policy).customers).set_index("customer_id")
    # revenue: A 360, B 10, C 0, D −15, E 500 (see conftest)
    assert out["seg_capability"].to_dict() == {"A": "strong", "B": "average", "C": "needs_help", "D": "needs_help",
                                               "E": "strong"}
    assert out["seg_capability_service_level"].to_dict() == {"A": "premium", "B": "standard", "C": "care",
                                                             "D": "care", "E": "premium"}
    # A: aum_avg_3m 2333 and contacted 29 days ago → both tags; B: 200, never contacted → none
    assert out.loc["A", "seg_tags"] == "rich,contacted"
    assert out.loc["B", "seg_tags"] is None or out.loc["B", "seg_tags"] != out.loc["B", "seg_tags"]
    assert set(out["lifecycle"]) <= {"prospect", "new", "growing", "loyal", "at_risk", "churned", "won_back"}
    assert out.loc["C", "rfm_segment"] == "no_purchase"
