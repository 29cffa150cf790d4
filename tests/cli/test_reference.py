"""The CLI reference (docs/cli.md) is generated from the commands and kept current; every command
and parameter has help text."""

from __future__ import annotations

from pathlib import Path

import typer

from tierwise.cli.main import app
from tierwise.cli.reference import _walk, reference

DOC = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def test_committed_cli_reference_is_current():
    assert DOC.read_text(encoding="utf-8") == reference(), \
        "docs/cli.md is stale: run  python -m tierwise.cli.reference > docs/cli.md"


def test_every_command_the_issue_names_exists_and_has_help():
    commands = {" ".join(path[1:]): cmd for path, cmd in _walk(typer.main.get_command(app), ["tierwise"])}
    for name in ("init", "import", "run", "status", "explain", "whatif", "segments", "tiers distribution",
                 "tiers migration", "upgrade candidates", "upgrade campaign create", "tasks generate", "tasks list",
                 "tasks complete", "tasks export", "report", "export", "serve", "users add", "backup", "restore",
                 "demo", "audit verify", "key rotate"):
        assert name in commands, name
    undocumented = [name for name, cmd in commands.items() if name and not (cmd.help or "").strip()]
    assert undocumented == []


def test_the_user_guides_name_only_real_commands_and_match_each_other():
    """Every `tierwise …` command written in the English and Chinese guides exists, and both guides
    have the same chapters."""
    import re

    commands = {" ".join(path[1:]) for path, _ in _walk(typer.main.get_command(app), ["tierwise"])}
    groups = {c.split(" ")[0] for c in commands if " " in c}
    docs = DOC.parent
    chapters = []
    for name in ("guide.en.md", "guide.zh-CN.md"):
        text = (docs / name).read_text(encoding="utf-8")
        chapters.append(re.findall(r"^## (\d+)\.", text, flags=re.M))
        fenced = re.findall(r"```bash\n(.*?)```", text, flags=re.S)
        code = fenced + re.findall(r"`([^`\n]+)`", re.sub(r"```bash\n.*?```", "", text, flags=re.S))
        assert len(code) > 30, name
        for snippet in code:
            for m in re.finditer(r"(?:^|\s)tierwise ([a-z]+)(?: ([a-z|]+))?", snippet):
                first, second = m.group(1), m.group(2)
                assert first in commands, (name, m.group(0))
                if first in groups and second:
                    for sub in second.split("|"):
                        assert f"{first} {sub}" in commands, (name, m.group(0))
    assert chapters[0] == chapters[1] and len(chapters[0]) == 10
