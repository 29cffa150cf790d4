"""Web and user commands: `serve`, `users`.

Shared helpers (``out``, ``err``, ``_locale``) come from :mod:`tierwise.cli.main`; import them
inside the commands, since ``main`` imports this module at its end.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer


def register(app: typer.Typer) -> None:
    """Add this area's commands to the ``tierwise`` application."""
    users_app = typer.Typer(help="Users and roles of the web UI and API (用户与角色).", no_args_is_help=True)
    app.add_typer(users_app, name="users")

    @app.command("serve")
    def serve_cmd(
        directory: Annotated[Path, typer.Argument(help="workspace folder")],
        host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
        port: Annotated[int, typer.Option(help="port")] = 8000,
        workers: Annotated[int, typer.Option(help="worker processes")] = 1,
        secure_cookies: Annotated[bool, typer.Option(help="mark cookies Secure (behind HTTPS)")] = False,
        due_every: Annotated[float, typer.Option(help="minutes between checks for due evaluations and the daily "
                                                      "task generation, run by the server itself (0: never)")] = 15,
    ) -> None:
        """Start the web UI and REST API (/api/v1, OpenAPI at /api/openapi.json)."""
        import os

        import uvicorn

        from tierwise.app.workspace import open_workspace
        from tierwise.cli.main import out
        from tierwise.i18n import t

        ws = open_workspace(directory)            # a clear error before the server starts
        os.environ["TIERWISE_WORKSPACE"] = str(ws.root.resolve())
        os.environ["TIERWISE_SECURE_COOKIES"] = "1" if secure_cookies else ""
        os.environ["TIERWISE_DUE_MINUTES"] = str(max(due_every, 0))
        out.print(t("web.serving", _loc(directory), url=f"http://{host}:{port}/"))
        # an import string, not an import: the shell stays above the application layer
        uvicorn.run("tierwise.web.server:app_from_env", factory=True, host=host, port=port, workers=workers,
                    log_level="info", proxy_headers=False)

    @users_app.command("add")
    def users_add(
        directory: Annotated[Path, typer.Argument(help="workspace folder")],
        username: Annotated[str, typer.Argument(help="login name")],
        role: Annotated[str, typer.Option(help="admin, analyst, branch_manager or relationship_manager")],
        manager_id: Annotated[Optional[str], typer.Option(help="a relationship manager's manager_id")] = None,
        branch_id: Annotated[Optional[str], typer.Option(help="a branch manager's branch_id")] = None,
        name: Annotated[Optional[str], typer.Option(help="display name")] = None,
        locale: Annotated[Optional[str], typer.Option(help="zh-CN or en")] = None,
        by: Annotated[str, typer.Option(help="who adds the user (audit)")] = "cli",
        as_json: Annotated[bool, typer.Option("--json")] = False,
    ) -> None:
        """Add a user; prints a one-time password that must be changed at the first login."""
        from tierwise.app.users import add_user
        from tierwise.app.workspace import open_workspace
        from tierwise.cli.main import out
        from tierwise.i18n import t

        user, password = add_user(open_workspace(directory), username, role, manager_id=manager_id,
                                  branch_id=branch_id, display_name=name, locale=locale, actor=by)
        if as_json:
            print(json.dumps({**user, "one_time_password": password}, ensure_ascii=False, default=str, indent=2))
            return
        out.print(t("web.user_added", _loc(directory), username=username, role=role))
        out.print(t("web.one_time_password", _loc(directory), password=password), highlight=False, soft_wrap=True)

    @users_app.command("list")
    def users_list(directory: Annotated[Path, typer.Argument(help="workspace folder")],
                   as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
        """List users with their role, scope and state."""
        from rich.table import Table

        from tierwise.app.users import list_users
        from tierwise.app.workspace import open_workspace
        from tierwise.cli.main import out

        rows = list_users(open_workspace(directory))
        if as_json:
            print(json.dumps(rows, ensure_ascii=False, default=str, indent=2))
            return
        tbl = Table()
        for h in ("user", "name", "role", "manager", "branch", "active", "must change password"):
            tbl.add_column(h)
        for u in rows:
            tbl.add_row(u["username"], u["display_name"] or "", u["role"], u["manager_id"] or "", u["branch_id"] or "",
                        "yes" if u["active"] else "no", "yes" if u["must_change_password"] else "")
        out.print(tbl)

    def _set_active(directory: Path, username: str, active: bool, by: str, as_json: bool) -> None:
        from tierwise.app.users import set_active
        from tierwise.app.workspace import open_workspace
        from tierwise.cli.main import out

        u = set_active(open_workspace(directory), username, active, actor=by)
        print(json.dumps(u, ensure_ascii=False, default=str, indent=2)) if as_json else out.print(
            f"{username}: {'enabled' if active else 'disabled (sessions ended)'}")

    @users_app.command("disable")
    def users_disable(directory: Annotated[Path, typer.Argument()], username: Annotated[str, typer.Argument()],
                      by: Annotated[str, typer.Option(help="who (audit)")] = "cli",
                      as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
        """Disable a user and end their sessions."""
        _set_active(directory, username, False, by, as_json)

    @users_app.command("enable")
    def users_enable(directory: Annotated[Path, typer.Argument()], username: Annotated[str, typer.Argument()],
                     by: Annotated[str, typer.Option(help="who (audit)")] = "cli",
                     as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
        """Enable a disabled user again."""
        _set_active(directory, username, True, by, as_json)

    @users_app.command("set")
    def users_set(directory: Annotated[Path, typer.Argument()], username: Annotated[str, typer.Argument()],
                  role: Annotated[Optional[str], typer.Option(help="new role")] = None,
                  manager_id: Annotated[Optional[str], typer.Option()] = None,
                  branch_id: Annotated[Optional[str], typer.Option()] = None,
                  name: Annotated[Optional[str], typer.Option(help="display name")] = None,
                  by: Annotated[str, typer.Option(help="who (audit)")] = "cli",
                  as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
        """Change a user's role or scope (their sessions end)."""
        from tierwise.app.users import update_user
        from tierwise.app.workspace import open_workspace
        from tierwise.cli.main import out

        u = update_user(open_workspace(directory), username, role=role, manager_id=manager_id, branch_id=branch_id,
                        display_name=name, actor=by)
        print(json.dumps(u, ensure_ascii=False, default=str, indent=2)) if as_json else out.print(
            f"{username}: {u['role']} {u['manager_id'] or u['branch_id'] or ''}")

    @users_app.command("reset-password")
    def users_reset(directory: Annotated[Path, typer.Argument()], username: Annotated[str, typer.Argument()],
                    by: Annotated[str, typer.Option(help="who (audit)")] = "cli",
                    as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
        """Give a user a new one-time password (their sessions end)."""
        from tierwise.app.users import reset_password
        from tierwise.app.workspace import open_workspace
        from tierwise.cli.main import out
        from tierwise.i18n import t

        password = reset_password(open_workspace(directory), username, actor=by)
        if as_json:
            print(json.dumps({"username": username, "one_time_password": password}))
            return
        out.print(t("web.one_time_password", _loc(directory), password=password), highlight=False, soft_wrap=True)


def _loc(directory: Path) -> str | None:
    from tierwise.cli.main import _locale

    return _locale(directory)
