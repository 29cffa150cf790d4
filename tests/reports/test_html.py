"""The HTML page from hand-built report data: self-contained, escaped, in both languages."""

from __future__ import annotations

import pytest

from tierwise.reports.html import ReportData, render_report

from .htmlcheck import parse

EVIL = "<script>alert('x')</script>"


def _data() -> ReportData:
    labels = {"tier": {"base": {"zh-CN": "普通", "en": "Base"}, "gold": {"zh-CN": "金卡", "en": EVIL}},
              "lifecycle": {"new": {"zh-CN": "新客户", "en": "new"}}}
    return ReportData(
        meta={"run_id": "run-000002", "as_of": "2024-12-31", "policy": "测试政策", "currency": "CNY",
              "preset": "bank", "workspace": "/w", "generated": "2024-12-31 00:00 UTC"},
        labels=labels, levels=["base", "gold"],
        summary={"customers": 3, "previous_customers": 2, "new_customers": 1, "lost_customers": 0, "events": {},
                 "upgrades": 1, "downgrades": 0, "watch": 0, "value_column": "revenue", "value": 10.0,
                 "value_previous": 5.0, "revenue_month": None, "revenue_month_previous": None,
                 "metric_column": "aum", "metric": None, "metric_previous": None},
        tier_counts=[{"tier": "base", "customers": 2, "share": 2 / 3}, {"tier": "gold", "customers": 1, "share": 1 / 3}],
        history=[{"as_of": "2024-11-30", "tiers": {"base": 2}}, {"as_of": "2024-12-31", "tiers": {"base": 2, "gold": 1}}],
        migration={"from": {"as_of": "2024-11-30"}, "to": {"as_of": "2024-12-31"}, "levels": ["base", "gold", "(none)"],
                   "counts": {"base": {"base": 1, "gold": 1, "(none)": 0}, "gold": {"base": 0, "gold": 0, "(none)": 0},
                              "(none)": {"base": 1, "gold": 0, "(none)": 0}}, "upgrades": 1, "downgrades": 0},
        lifecycle=[{"stage": "new", "customers": 3}],
        quality={"data_version": 2, "imports": [
            {"table": "customers", "import_id": "imp-000001", "source_name": "a.csv", "rows_read": 4, "accepted": 3,
             "rejected": 1, "reject_rate": 0.25, "rejected_by_reason": {"unparseable": 1}}]})


@pytest.mark.parametrize("locale, title, section", [("zh-CN", "客户分层分级报告", "等级迁移"),
                                                     ("en", "Customer tiering report", "Tier migration")])
def test_page_is_self_contained_and_in_the_language(locale, title, section):
    html = render_report(_data(), locale)
    p = parse(html)
    assert p.external == []                                  # nothing fetched from the network
    assert p.big_scripts == 1                                # Plotly's bundle, exactly once
    assert html.count("class=\"plotly-graph-div\"") == 4   # pyramid, over time, migration, lifecycle
    assert "<link" not in html and "<style>" in html
    text = "".join(p.text)
    assert title in text and section in text
    assert p.sections == ["summary", "tiers", "migration", "rfm", "segments", "abc", "lifecycle", "clv",
                          "validation", "candidates", "service", "quality"]
    assert p.values["tier.base"] == "2" and p.values["summary.customers"] == "3"
    assert p.values["migration.(none).base"] == "1" and p.values["migration.base.gold"] == "1"
    assert p.values["import.imp-000001.reason.unparseable"] == "1"
    assert f'lang="{locale}"' in html


def test_labels_from_the_policy_are_escaped_in_tables_and_charts():
    html = render_report(_data(), "en")
    assert EVIL not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html          # the table cell
    assert "\\u003cscript\\u003ealert('x')\\u003c\\u002fscript\\u003e" in html  # the chart's JSON


def test_sections_without_data_say_so():
    html = render_report(_data(), "en")
    text = "".join(parse(html).text)
    for sentence in ("This run has no RFM scores.", "No value model was fitted in this run.",
                     "This run has no upgrade candidates.", "There is no service data yet"):
        assert sentence in text
