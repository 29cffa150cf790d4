"""Every text the reports area shows exists in both languages (a missing key would print the key)."""

from __future__ import annotations

import re
from pathlib import Path

from tierwise.i18n import MESSAGES
from tierwise.i18n.reports import MESSAGES as OURS

SRC = Path(__file__).resolve().parents[2] / "src" / "tierwise"
FILES = [*(SRC / "reports").rglob("*.py"), SRC / "reports" / "templates" / "report.html.j2",
         SRC / "app" / "report.py", SRC / "app" / "export.py", SRC / "app" / "demo.py", SRC / "cli" / "report.py"]
KEY = re.compile(r"""\b(?:t|tr|empty)\(\s*["']([a-z_]+(?:\.[a-z0-9_]+)*)["']""")


def test_every_literal_key_is_in_the_catalog():
    used = {k for f in FILES for k in KEY.findall(f.read_text(encoding="utf-8"))}
    assert len(used) > 80
    missing = sorted(k for k in used if k not in MESSAGES)
    assert missing == []
    sections = ("summary", "tiers", "migration", "rfm", "segments", "abc", "lifecycle", "clv", "validation",
                "candidates", "service", "quality")      # built as "report.section." ~ s in the template
    assert all(f"report.section.{s}" in MESSAGES for s in sections)


def test_our_texts_are_translated():
    for key, (en, zh) in OURS.items():
        assert en and zh, key
        assert not zh.isascii(), f"{key}: the Chinese text is ASCII only: {zh!r}"
