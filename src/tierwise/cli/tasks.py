"""Servicing commands: `assign`, `managers`, `tasks`, `outbox`.

Shared helpers (``out``, ``err``, ``_locale``) come from :mod:`tierwise.cli.main`; import them
inside the commands, since ``main`` imports this module at its end.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Optional

import typer

Dir = Annotated[Path, typer.Argument(help="workspace folder")]
Json = Annotated[bool, typer.Option("--json", help="print as JSON")]


def _ws(directory: Path):
    from tierwise.app.workspace import open_workspace
    return open_workspace(directory)


def _date(text: str | None, option: str) -> date | None:
    from tierwise.cli.main import _parse_date
    return _parse_date(text, option) if text else None


def _datetime(text: str, option: str) -> datetime:
    from tierwise.errors import UserInputError
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise UserInputError(f"{option} {text!r}: not a date and time", hint="use YYYY-MM-DDTHH:MM, "
                             "e.g. 2024-12-31T18:00") from None


def _print_json(obj) -> None:
    print(json.dumps(obj, ensure_ascii=False, indent=2, default=str))


def _table(rows: list[dict], cols: list[str], title: str | None = None) -> None:
    from rich.table import Table

    from tierwise.cli.main import out
    tbl = Table(title=title)
    for c in cols:
        tbl.add_column(c)
    for r in rows:
        tbl.add_row(*["" if r.get(c) is None else str(r.get(c)) for c in cols])
    out.print(tbl)


def _say(key: str, directory: Path, **kw) -> None:
    from tierwise.cli.main import _locale, out
    from tierwise.i18n import t
    out.print(t(key, _locale(directory), **kw))


def register(app: typer.Typer) -> None:
    """Add this area's commands to the ``tierwise`` application."""
    managers_app = typer.Typer(help="Relationship managers: import, derive, list, leave, unassigned, workload.",
                               no_args_is_help=True)
    tasks_app = typer.Typer(help="Service tasks: generate, list, complete, export, contacts, compliance, escalate.",
                            no_args_is_help=True)
    outbox_app = typer.Typer(help="Messages: send (e-mail, webhook), export (SMS), list.", no_args_is_help=True)
    app.add_typer(managers_app, name="managers")
    app.add_typer(tasks_app, name="tasks")
    app.add_typer(outbox_app, name="outbox")

    @app.command("assign")
    def assign_cmd(directory: Dir, by: Annotated[str, typer.Option(help="who assigns")] = "cli",
                   customer: Annotated[Optional[str], typer.Option(help="assign one customer by hand")] = None,
                   manager: Annotated[Optional[str], typer.Option(help="to this manager (with --customer)")] = None,
                   reason: Annotated[Optional[str], typer.Option(help="why (required with --customer)")] = None,
                   as_json: Json = False) -> None:
        """Assign every customer without an active owner (initial owners, then balanced by workload)."""
        from tierwise.app.assign import assign_customer, assign_customers
        from tierwise.errors import UserInputError

        ws = _ws(directory)
        if customer or manager:
            if not (customer and manager and reason):
                raise UserInputError("assigning one customer needs --customer, --manager and --reason")
            res = assign_customer(ws, customer, manager, actor=by, reason=reason)
        else:
            res = assign_customers(ws, actor=by)
        if as_json:
            return _print_json(res)
        if customer:
            return _say("sv.assigned_one", directory, customer=customer, manager=manager)
        _say("sv.assigned", directory, **res)

    @managers_app.command("import")
    def managers_import(directory: Dir, file: Annotated[Path, typer.Argument(help="CSV or xlsx managers file")],
                        sheet: Annotated[Optional[str], typer.Option(help="xlsx sheet")] = None,
                        by: Annotated[str, typer.Option(help="who imports")] = "cli", as_json: Json = False) -> None:
        """Import managers (id, name, branch, reports_to, capacity, active, tiers, email)."""
        from tierwise.app.assign import import_managers
        res = import_managers(_ws(directory), file, sheet=sheet, actor=by)
        _print_json(res) if as_json else _say("sv.managers_imported", directory, **res)

    @managers_app.command("derive")
    def managers_derive(directory: Dir, by: Annotated[str, typer.Option()] = "cli", as_json: Json = False) -> None:
        """Add the managers named in customers.manager_id (most common branch) that are not known yet."""
        from tierwise.app.assign import derive_managers
        res = derive_managers(_ws(directory), actor=by)
        _print_json(res) if as_json else _say("sv.managers_derived", directory, **res)

    @managers_app.command("list")
    def managers_list(directory: Dir, as_json: Json = False) -> None:
        """List managers with their customers, workload and capacity."""
        from tierwise.app.assign import workloads
        rows = workloads(_ws(directory))
        if as_json:
            return _print_json(rows)
        _table(rows, ["manager_id", "name", "branch_id", "active", "customers", "load", "capacity"])

    @managers_app.command("leave")
    def managers_leave(directory: Dir, manager_id: Annotated[str, typer.Argument(help="the manager leaving")],
                       by: Annotated[str, typer.Option(help="who records it")],
                       to: Annotated[Optional[str], typer.Option("--to", help="successor (default: by the rules)")] = None,
                       reason: Annotated[str, typer.Option()] = "manager left", as_json: Json = False) -> None:
        """A manager leaves: deactivate them and hand their customers and open tasks on (history kept)."""
        from tierwise.app.assign import manager_leaves
        res = manager_leaves(_ws(directory), manager_id, actor=by, successor=to, reason=reason)
        _print_json(res) if as_json else _say("sv.assigned", directory, **res)

    @managers_app.command("unassigned")
    def managers_unassigned(directory: Dir, as_json: Json = False) -> None:
        """Customers without an active owner (empty after `tierwise assign`)."""
        from tierwise.app.assign import unassigned
        rows = unassigned(_ws(directory))
        if as_json:
            return _print_json(rows)
        _table(rows, ["customer_id", "manager_id", "branch_id"])
        _say("sv.unassigned", directory, n=len(rows))

    @tasks_app.command("generate")
    def tasks_generate(directory: Dir, on: Annotated[Optional[str], typer.Option(help="date (default today)")] = None,
                       by: Annotated[str, typer.Option()] = "cli", as_json: Json = False) -> None:
        """Generate today's tasks and messages (idempotent; run daily, and after every run)."""
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        from tierwise.app.servicing_generate import generate_tasks
        from tierwise.cli.main import err
        with Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=err,
                      disable=as_json, transient=True) as bar:
            t = bar.add_task("tasks", total=3)
            res = generate_tasks(_ws(directory), _date(on, "--on"), actor=by,
                                 progress=lambda s: bar.update(t, description=f"tasks: {s}", advance=1))
        _print_json(res) if as_json else _say("sv.generated", directory, **res)

    @tasks_app.command("list")
    def tasks_list(directory: Dir, manager: Annotated[Optional[list[str]], typer.Option(help="manager id(s)")] = None,
                   customer: Annotated[Optional[str], typer.Option()] = None,
                   status: Annotated[Optional[str], typer.Option(help="open, done or closed")] = "open",
                   type: Annotated[Optional[str], typer.Option("--type", help="task type")] = None,
                   due_before: Annotated[Optional[str], typer.Option(help="YYYY-MM-DD")] = None,
                   limit: Annotated[int, typer.Option()] = 100, offset: Annotated[int, typer.Option()] = 0,
                   as_json: Json = False) -> None:
        """List tasks by due time (default: open ones)."""
        from tierwise.app.servicing import list_tasks
        rows = list_tasks(_ws(directory), manager_ids=set(manager) if manager else None, customer_id=customer,
                          status=None if status == "all" else status, due_before=_date(due_before, "--due-before"),
                          limit=limit, offset=offset, type=type)
        if as_json:
            return _print_json(rows)
        _table(rows, ["task_id", "type", "customer_id", "manager_id", "due_at", "priority", "status", "message"])

    @tasks_app.command("complete")
    def tasks_complete(directory: Dir, task_id: Annotated[int, typer.Argument()],
                       outcome: Annotated[str, typer.Option(help="reached, no_answer, declined or sold:PRODUCT")],
                       by: Annotated[str, typer.Option(help="who completes it")],
                       note: Annotated[Optional[str], typer.Option()] = None, as_json: Json = False) -> None:
        """Complete a task with its outcome (a contact resets the cadence clock)."""
        from tierwise.app.servicing import complete_task
        res = complete_task(_ws(directory), task_id, outcome=outcome, actor=by, note=note)
        _print_json(res) if as_json else _say("sv.completed", directory, id=task_id, outcome=res["outcome"])

    @tasks_app.command("export")
    def tasks_export(directory: Dir, out_file: Annotated[Path, typer.Option("--out", help=".csv or .xlsx")],
                     manager: Annotated[Optional[list[str]], typer.Option()] = None,
                     status: Annotated[str, typer.Option()] = "open", as_json: Json = False) -> None:
        """Export tasks to CSV or xlsx (e.g. a manager's list for the week)."""
        from tierwise.app.servicing import export_tasks
        n = export_tasks(_ws(directory), out_file, manager_ids=set(manager) if manager else None,
                         status=None if status == "all" else status)
        _print_json({"exported": n, "path": str(out_file)}) if as_json else _say("sv.exported", directory, n=n,
                                                                                 path=str(out_file))

    @tasks_app.command("contacts")
    def tasks_contacts(directory: Dir, file: Annotated[Path, typer.Argument(help="contact log CSV or xlsx")],
                       sheet: Annotated[Optional[str], typer.Option()] = None,
                       by: Annotated[str, typer.Option()] = "cli", as_json: Json = False) -> None:
        """Import a contact log (customer, time, manager, channel, outcome); closes cadence tasks."""
        from tierwise.app.servicing_contacts import import_contacts
        res = import_contacts(_ws(directory), file, sheet=sheet, actor=by)
        _print_json(res) if as_json else _say("sv.contacts", directory, **res)

    @tasks_app.command("compliance")
    def tasks_compliance(directory: Dir, by: Annotated[str, typer.Option(help="manager, branch or tier")] = "manager",
                         as_of: Annotated[Optional[str], typer.Option("--as-of")] = None,
                         since: Annotated[Optional[str], typer.Option()] = None, as_json: Json = False) -> None:
        """Cadence met %, birthday greetings on the day %, alerts within SLA %, overdue tasks."""
        from tierwise.app.servicing import compliance
        rows = compliance(_ws(directory), by=by, as_of=_date(as_of, "--as-of"), since=_date(since, "--since"))
        if as_json:
            return _print_json(rows)
        _table(rows, ["key", "cadence_due", "cadence_met_pct", "birthdays", "birthdays_on_day_pct", "alerts",
                      "alerts_in_sla_pct", "overdue", "open"])

    @tasks_app.command("escalate")
    def tasks_escalate(directory: Dir, at: Annotated[Optional[str], typer.Option(help="YYYY-MM-DDTHH:MM")] = None,
                       as_json: Json = False) -> None:
        """Escalate overdue alerts to the owner's manager (run hourly from cron)."""
        from tierwise.app.servicing_generate import escalate_overdue, local_now
        ws = _ws(directory)
        now = _datetime(at, "--at") if at else local_now(ws.policy().servicing)
        n = escalate_overdue(ws, now)
        _print_json({"escalated": n}) if as_json else _say("sv.escalated", directory, n=n)

    @outbox_app.command("send")
    def outbox_send(directory: Dir, channel: Annotated[Optional[str], typer.Option(help="email or webhook")] = None,
                    as_json: Json = False) -> None:
        """Send due e-mail and webhook messages (at most once each; failures retried)."""
        from tierwise.app.servicing_outbox import send_outbox
        res = send_outbox(_ws(directory), channel=channel)
        _print_json(res) if as_json else _say("sv.sent", directory, **res)

    @outbox_app.command("export")
    def outbox_export(directory: Dir, out_file: Annotated[Optional[Path], typer.Option("--out")] = None,
                      as_json: Json = False) -> None:
        """Write due SMS messages to a CSV/xlsx file for the SMS platform and mark them sent."""
        from tierwise.app.servicing_outbox import export_sms
        res = export_sms(_ws(directory), out_file)
        _print_json(res) if as_json else _say("sv.sms_exported", directory, n=res["exported"], path=res["path"])

    @outbox_app.command("list")
    def outbox_list(directory: Dir, status: Annotated[Optional[str], typer.Option()] = None,
                    channel: Annotated[Optional[str], typer.Option()] = None,
                    limit: Annotated[int, typer.Option()] = 100, as_json: Json = False) -> None:
        """List outbox messages and their delivery state."""
        from tierwise.app.servicing_outbox import list_outbox
        from tierwise.errors import UserInputError, did_you_mean
        for option, value, known in (("--status", status, ("pending", "sending", "sent", "failed")),
                                     ("--channel", channel, ("sms", "email", "webhook"))):
            if value is not None and value not in known:   # a typo would silently list nothing
                raise UserInputError(f"{option} {value!r}: use {', '.join(known)}",
                                     hint=did_you_mean(value, known))
        rows = list_outbox(_ws(directory), status=status, channel=channel, limit=limit)
        if as_json:
            return _print_json(rows)
        _table(rows, ["message_id", "channel", "customer_id", "recipient", "status", "attempts", "send_after", "body"])
