"""The deployment guide (docs/deploy.md and its Chinese twin) names only real commands and options, lists
every workspace setting, and both languages have the same chapters."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer

from tierwise.app.workspace import Settings
from tierwise.cli.main import app
from tierwise.cli.reference import _walk

DOCS = Path(__file__).resolve().parents[1] / "docs"
GUIDES = ("deploy.md", "deploy.zh-CN.md")


def _commands() -> dict[str, set[str]]:
    """``"tasks generate"`` → the option names it accepts."""
    out = {}
    for path, cmd in _walk(typer.main.get_command(app), ["tierwise"]):
        out[" ".join(path[1:])] = {o for p in cmd.params for o in (*p.opts, *p.secondary_opts) if o.startswith("--")}
    return out


@pytest.mark.parametrize("name", GUIDES)
def test_every_command_and_option_in_the_guide_exists(name):
    commands = _commands()
    text = (DOCS / name).read_text(encoding="utf-8")
    fenced = re.findall(r"```[a-z]*\n(.*?)```", text, flags=re.S)
    inline = re.findall(r"`([^`\n]+)`", re.sub(r"```.*?```", "", text, flags=re.S))
    text = "\n".join(fenced + inline)
    calls = re.findall(r"tierwise ([a-z]+(?: [a-z-]+)?)((?: [^\s`\"'>|]+)*)", text)
    assert len(calls) > 15
    for head, rest in calls:
        words = head.split(" ")
        command = head if head in commands else words[0]
        assert command in commands, (name, head)
        if command != head:   # the second word was an argument, not a subcommand
            rest = " " + words[1] + rest
        for option in re.findall(r"(?<!\S)(--[a-z-]+)", rest):
            assert option in commands[command], (name, command, option)


@pytest.mark.parametrize("name", GUIDES)
def test_the_settings_table_lists_every_setting(name):
    text = (DOCS / name).read_text(encoding="utf-8")
    table = text[text.index("| `engine` |"):].split("\n\n")[0]
    listed = set(re.findall(r"^\| `([a-z_]+)`", table, flags=re.M)) | set(re.findall(r"`([a-z_]+)\.master`", table))
    fields = set(Settings.model_fields) - {"format", "channels"}   # channels: documented in the user guide
    assert listed == fields


def test_both_languages_have_the_same_chapters():
    chapters = [re.findall(r"^## (\d+)\.", (DOCS / n).read_text(encoding="utf-8"), flags=re.M) for n in GUIDES]
    assert chapters[0] == chapters[1] == [str(i) for i in range(1, 7)]
