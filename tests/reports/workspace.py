"""One small demo workspace with three monthly runs, built once per test session and shared by
the report, export and CLI tests (building it takes most of their time)."""

from __future__ import annotations

from pathlib import Path

_built: dict[str, Path] = {}


def demo_workspace(tmp_path_factory) -> Path:
    """A bank workspace: 300 customers through the messy Chinese export, runs at the last three month ends."""
    if "bank" not in _built:
        from tierwise.app.demo import run_demo

        root = tmp_path_factory.mktemp("report-ws") / "bank"
        run_demo(root, preset="bank", n_customers=300, seed=5, months=3, outputs=False)
        _built["bank"] = root
    return _built["bank"]
