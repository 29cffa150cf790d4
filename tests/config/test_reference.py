"""The policy reference is complete and current (docs whose completeness is a test)."""

from __future__ import annotations

from pathlib import Path

from tierwise.config.reference import reference, settings

DOC = Path(__file__).resolve().parents[2] / "docs" / "policy.md"


def test_every_setting_is_documented():
    missing = [path for path, _, _, desc in settings() if not desc.strip()]
    assert missing == [], f"settings without a description: {missing}"


def test_committed_reference_is_current():
    assert DOC.read_text(encoding="utf-8") == reference(), \
        "docs/policy.md is stale: run  python -m tierwise.config.reference > docs/policy.md"


def test_reference_lists_every_top_level_section():
    text = DOC.read_text(encoding="utf-8")
    for section in ("import", "features", "rfm", "abc", "lifecycle", "segments", "leads", "clusters", "tiers",
                    "value", "churn", "points", "upgrade", "columns"):
        assert f"| `{section}` |" in text, section
