"""Report and export commands: `report`, `export`.

Shared helpers (``out``, ``err``, ``_locale``) come from :mod:`tierwise.cli.main`; import them
inside the commands, since ``main`` imports this module at its end.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Optional

import typer

REPORT_STEPS = ("read", "render", "write")
EXPORT_STEPS = ("read", "write")


@contextmanager
def _bar(steps: tuple[str, ...], title: str, quiet: bool):
    """A Rich progress bar over the named steps; yields the ``progress(step)`` callback."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from tierwise.cli.main import err

    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), console=err, disable=quiet, transient=True) as bar:
        task = bar.add_task(title, total=len(steps))
        seen: list[str] = []

        def progress(step: str) -> None:
            if seen:
                bar.advance(task)
            seen.append(step)
            bar.update(task, description=f"{title}: {step}")
        yield progress
        bar.update(task, completed=len(steps))


def register(app: typer.Typer) -> None:
    """Add this area's commands to the ``tierwise`` application."""

    @app.command("report")
    def report_cmd(
        directory: Annotated[Path, typer.Argument(help="workspace folder")],
        run: Annotated[Optional[str], typer.Option("--run", help="run id (default: the current run)")] = None,
        as_of: Annotated[Optional[str], typer.Option("--as-of", help="the run in force on this date, YYYY-MM-DD")] = None,
        lang: Annotated[Optional[str], typer.Option("--lang", help="zh-CN or en (default: the policy's locale)")] = None,
        out_file: Annotated[Optional[Path], typer.Option("--out", help="HTML file to write (default: DIR/reports/…)")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="print a JSON summary")] = False,
    ) -> None:
        """Write a self-contained HTML report of a run (charts, tables, data quality), in Chinese or English."""
        from tierwise.app.report import write_report
        from tierwise.app.workspace import open_workspace
        from tierwise.cli.main import out
        from tierwise.i18n import t

        ws = open_workspace(directory)
        with _bar(REPORT_STEPS, "report", as_json) as progress:
            r = write_report(ws, run=run, as_of=as_of, lang=lang, out=out_file, progress=progress)
        if as_json:
            print(json.dumps(r, ensure_ascii=False, indent=2))
            return
        out.print(t("report.written", r["lang"], path=r["path"]), soft_wrap=True)
        out.print(t("report.open_hint", r["lang"], path=r["path"]), soft_wrap=True)

    @app.command("export")
    def export_cmd(
        directory: Annotated[Path, typer.Argument(help="workspace folder")],
        as_of: Annotated[Optional[str], typer.Option("--as-of", help="the run in force on this date, YYYY-MM-DD")] = None,
        run: Annotated[Optional[str], typer.Option("--run", help="run id (default: the current run)")] = None,
        lang: Annotated[Optional[str], typer.Option("--lang", help="zh-CN or en (default: the policy's locale)")] = None,
        out_file: Annotated[Optional[Path], typer.Option("--out", help=".xlsx file to write (default: DIR/exports/…)")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="print a JSON summary")] = False,
    ) -> None:
        """Export a run to Excel: summary, segments, tiers with changes, candidates and tasks per manager, data
        quality. Personal fields are masked."""
        from tierwise.app.export import write_export
        from tierwise.app.workspace import open_workspace
        from tierwise.cli.main import out
        from tierwise.i18n import t

        ws = open_workspace(directory)
        with _bar(EXPORT_STEPS, "export", as_json) as progress:
            r = write_export(ws, run=run, as_of=as_of, lang=lang, out=out_file, progress=progress)
        if as_json:
            print(json.dumps(r, ensure_ascii=False, indent=2))
            return
        out.print(t("export.written", r["lang"], path=r["path"], sheets=len(r["sheets"])), soft_wrap=True)
        for s in r["sheets"]:
            out.print(f"  {s['sheet']}: {s['rows']:,}")
