"""Policy loading: presets are valid, unknown keys refused, every error located."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tierwise.config.policy import PRESETS, parse_policy
from tierwise.config.presets import render_preset
from tierwise.errors import PolicyError, UserInputError


@pytest.mark.parametrize("preset", PRESETS)
def test_every_preset_is_a_valid_policy_with_column_mappings(preset):
    p = parse_policy(render_preset(preset))
    assert p.preset == preset
    for table in ("customers", "transactions", "balances", "holdings", "interactions", "leads"):
        assert p.columns[table], f"{preset} has no column mapping for {table}"
    assert "客户号" in p.headers_for("transactions")["customer_id"]
    assert "customer_id" in p.headers_for("transactions")["customer_id"]


def test_unknown_preset_suggests_the_closest():
    with pytest.raises(UserInputError) as info:
        render_preset("retial")
    assert "did you mean 'retail'?" in str(info.value)


def test_errors_name_file_line_column_path_and_fix():
    text = render_preset("bank")
    text = text.replace("  returns: keep", "  retruns: keep").replace("max_reject_rate: 0.05", "max_reject_rate: 5")
    with pytest.raises(PolicyError) as info:
        parse_policy(text, "policy.yaml")
    msg = str(info.value)
    lines = text.splitlines()
    rate_line = next(i for i, ln in enumerate(lines, 1) if "max_reject_rate" in ln)
    typo_line = next(i for i, ln in enumerate(lines, 1) if "retruns" in ln)
    assert f"policy.yaml:{rate_line}:" in msg and "import → max_reject_rate" in msg and "less than or equal to 1" in msg
    assert f"policy.yaml:{typo_line}:" in msg and "unknown setting 'retruns'; did you mean 'returns'?" in msg
    assert "(2 problems)" in msg


def test_unknown_top_level_section_refused():
    with pytest.raises(PolicyError, match="unknown setting 'tiers_typo'"):
        parse_policy("preset: bank\ntiers_typo: {}\n")


def test_unknown_table_and_column_in_columns():
    with pytest.raises(PolicyError) as info:
        parse_policy("preset: bank\ncolumns:\n  transaction:\n    amount: [金额]\n  customers:\n    nmae: [姓名]\n")
    msg = str(info.value)
    assert "unknown table 'transaction'; did you mean 'transactions'?" in msg
    assert "unknown column 'nmae'" in msg and "did you mean 'name'?" in msg


def test_single_header_string_is_accepted():
    p = parse_policy("preset: retail\ncolumns:\n  transactions:\n    amount: 实付\n")
    assert p.columns["transactions"]["amount"] == ["实付"]


def test_invalid_yaml_names_line():
    with pytest.raises(PolicyError, match=r"policy.yaml:3:\d+: invalid YAML"):
        parse_policy("preset: bank\nimport:\n\tmax_reject_rate: 0.05\nname: x\n", "policy.yaml")


def test_missing_preset_and_non_mapping():
    with pytest.raises(PolicyError, match="preset"):
        parse_policy("name: x\n")
    with pytest.raises(PolicyError, match="must be a mapping"):
        parse_policy("- a\n- b\n")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_any_text_is_a_policy_or_a_policy_error(text):
    try:
        parse_policy(text)
    except PolicyError:
        pass


def test_maps_to_must_cover_every_segment():
    base = ("preset: distributor\nsegments:\n  - name: capability\n    rules:\n"
            "      - {id: strong, label: {zh-CN: 强, en: Strong}, when: 'revenue > 1'}\n"
            "    default: weak\n    maps_to:\n      service_level: {strong: premium%s}\n")
    with pytest.raises(PolicyError, match=r"no value for \['weak'\]"):
        parse_policy(base % "")
    with pytest.raises(PolicyError, match=r"unknown segments \['gold'\]"):
        parse_policy(base % ", weak: care, gold: x")
    assert parse_policy(base % ", weak: care").segments[0].maps_to["service_level"]["weak"] == "care"
