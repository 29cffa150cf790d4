"""Shared fixtures: real workspaces in temporary folders, a fixed reference date."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

TODAY = date(2024, 6, 1)


@pytest.fixture
def today() -> date:
    return TODAY


@pytest.fixture
def make_workspace(tmp_path: Path):
    """Factory: a fresh workspace from a preset in a new subfolder of tmp_path."""
    from tierwise.app.workspace import init_workspace

    counter = {"n": 0}

    def make(preset: str = "bank"):
        counter["n"] += 1
        return init_workspace(tmp_path / f"ws{counter['n']}", preset)

    return make


@pytest.fixture
def ws(make_workspace):
    return make_workspace("bank")
