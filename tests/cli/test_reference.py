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
