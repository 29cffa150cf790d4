"""Trust commands: `backup`, `restore`, `audit verify|list`, `key generate|check|rotate`.

Shared helpers (``out``, ``err``, ``_locale``) come from :mod:`tierwise.cli.main`; import them
inside the commands, since ``main`` imports this module at its end.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Optional

import typer


@contextmanager
def _bars(quiet: bool):
    """A Rich progress bar per step ("files", "store"), fed by the app's progress callback."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from tierwise.cli.main import err

    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                  TimeElapsedColumn(), console=err, disable=quiet, transient=True) as bar:
        tasks: dict[str, int] = {}

        def update(step: str, done: int, total: int) -> None:
            if step not in tasks:
                tasks[step] = bar.add_task(step, total=max(total, 1))
            bar.update(tasks[step], completed=done, total=max(total, 1))

        yield update


def _print(data, as_json: bool, text: str) -> None:
    from tierwise.cli.main import out

    if as_json:
        print(json.dumps(data, ensure_ascii=False, indent=2, default=str))
    else:
        out.print(text)


def register(app: typer.Typer) -> None:
    """Add this area's commands to the ``tierwise`` application."""

    @app.command("backup")
    def backup_cmd(
        directory: Annotated[Path, typer.Argument(help="workspace folder")],
        archive: Annotated[Path, typer.Argument(help="archive file to write (a .tar)")],
        force: Annotated[bool, typer.Option(help="replace an existing archive file")] = False,
        by: Annotated[str, typer.Option(help="who makes the backup (audited)")] = "cli",
        as_json: Annotated[bool, typer.Option("--json", help="print a JSON summary")] = False,
    ) -> None:
        """Write a consistent archive of a workspace: data, snapshots, policy, operational store.

        Safe while the web server runs; waits for no one: if an import or run is writing, it says so."""
        from tierwise.app.backup import backup_workspace
        from tierwise.i18n import t

        with _bars(as_json) as progress:
            res = backup_workspace(directory, archive, force=force, actor=by, progress=progress)
        _print(res, as_json, t("backup_done", None, path=res["archive"], files=res["files"],
                               rows=sum(res["store_rows"].values()), mb=res["bytes"] / 2**20))

    @app.command("restore")
    def restore_cmd(
        archive: Annotated[Path, typer.Argument(help="archive made by tierwise backup")],
        directory: Annotated[Optional[Path], typer.Argument(help="new (or empty) folder to restore into")] = None,
        check: Annotated[bool, typer.Option("--check", help="only verify the archive; write nothing")] = False,
        store_url: Annotated[Optional[str], typer.Option(help="restore the operational store into this "
                                                                "(empty) database instead")] = None,
        by: Annotated[str, typer.Option(help="who restores (audited)")] = "cli",
        as_json: Annotated[bool, typer.Option("--json", help="print a JSON summary")] = False,
    ) -> None:
        """Verify an archive and restore it into a new workspace folder (all or nothing)."""
        from tierwise.app.backup import restore_workspace, verify_backup
        from tierwise.errors import UserInputError
        from tierwise.i18n import t

        if check:
            res = verify_backup(archive)
            _print(res, as_json, t("backup_verified", None, path=str(archive), files=res["files"]))
            return
        if directory is None:
            raise UserInputError("restore needs a target folder", hint="tierwise restore ARCHIVE NEW_FOLDER")
        with _bars(as_json) as progress:
            res = restore_workspace(archive, directory, store_url=store_url, actor=by, progress=progress)
        _print(res, as_json, t("restore_done", None, path=res["workspace"], files=res["files"],
                               rows=sum(res["store_rows"].values())))

    audit_app = typer.Typer(help="The tamper-evident audit log: verify its hash chain, list entries.",
                            no_args_is_help=True)
    app.add_typer(audit_app, name="audit")

    @audit_app.command("verify")
    def audit_verify(directory: Annotated[Path, typer.Argument(help="workspace folder")],
                     as_json: Annotated[bool, typer.Option("--json", help="print a JSON result")] = False) -> None:
        """Check the audit log's hash chain; exit 6 and name the first broken record if it was altered."""
        from tierwise.app.workspace import open_workspace
        from tierwise.i18n import t

        store = open_workspace(directory).store()
        ok, broken = store.verify_audit()
        n = len(store.audit_entries())
        _print({"ok": ok, "entries": n, "first_broken": broken}, as_json,
               t("audit_ok", None, n=n) if ok else t("audit_broken", None, seq=broken))
        if not ok:
            raise typer.Exit(6)

    @audit_app.command("list")
    def audit_list(directory: Annotated[Path, typer.Argument(help="workspace folder")],
                   action: Annotated[Optional[str], typer.Option(help="only actions starting with this, "
                                                                       "e.g. override or backup")] = None,
                   actor: Annotated[Optional[str], typer.Option(help="only this actor")] = None,
                   limit: Annotated[int, typer.Option(help="newest N entries")] = 50,
                   as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False) -> None:
        """List audit entries, newest last."""
        from rich.table import Table as RichTable

        from tierwise.app.workspace import open_workspace
        from tierwise.cli.main import out

        rows = open_workspace(directory).store().audit_entries()
        rows = [r for r in rows if (not action or r["action"].startswith(action)) and (not actor or r["actor"] == actor)]
        rows = rows[-limit:] if limit > 0 else rows
        if as_json:
            print(json.dumps(rows, ensure_ascii=False, indent=2, default=str))
            return
        tbl = RichTable("seq", "at", "actor", "action", "target", "origin")
        for r in rows:
            tbl.add_row(str(r["seq"]), str(r["at"])[:19], r["actor"], r["action"], r["target"] or "", r["origin"] or "")
        out.print(tbl)

    key_app = typer.Typer(help="The key that seals personal fields: generate, check, rotate.", no_args_is_help=True)
    app.add_typer(key_app, name="key")

    @key_app.command("generate")
    def key_generate(file: Annotated[Path, typer.Argument(help="new key file (kept outside every workspace)")],
                     as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False) -> None:
        """Create a new random 256-bit key file, readable by its owner only."""
        from tierwise.app.personal import new_key_file
        from tierwise.i18n import t

        key = new_key_file(file)
        _print({"key_file": str(file), "key_id": key.key_id}, as_json, t("key_generated", None, path=str(file),
                                                                         key_id=key.key_id))

    @key_app.command("check")
    def key_check(directory: Annotated[Path, typer.Argument(help="workspace folder")],
                  as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False) -> None:
        """Open every sealed block with the configured key (a wrong key or altered data is reported)."""
        from tierwise.app.personal import check_key
        from tierwise.app.workspace import open_workspace
        from tierwise.i18n import t

        res = check_key(open_workspace(directory))
        _print(res, as_json, t("key_ok", None, **res))

    @key_app.command("rotate")
    def key_rotate(directory: Annotated[Path, typer.Argument(help="workspace folder")],
                   new_key_file: Annotated[Path, typer.Option("--new-key-file", help="the new key (see key generate)")],
                   by: Annotated[str, typer.Option(help="who rotates (audited)")] = "cli",
                   as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False) -> None:
        """Reseal every personal field with a new key and make it the workspace's key (resumable)."""
        from tierwise.app.personal import rotate_key
        from tierwise.app.workspace import open_workspace
        from tierwise.i18n import t

        res = rotate_key(open_workspace(directory), new_key_file, actor=by)
        _print(res, as_json, t("key_rotated", None, **res))
