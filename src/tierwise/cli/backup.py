"""Trust commands: `backup`, `restore`, `audit verify`.

Shared helpers (``out``, ``err``, ``_locale``) come from :mod:`tierwise.cli.main`; import them
inside the commands, since ``main`` imports this module at its end.
"""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this area's commands to the ``tierwise`` application."""
