"""``python -m tierwise`` runs the command line."""

from tierwise.cli.main import entry

entry()
