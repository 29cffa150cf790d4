"""``tierwise`` command line (Typer + Rich).

Each command parses its arguments, calls one application function and renders the
result. User mistakes (:class:`~tierwise.errors.TierwiseError`) print a message and a
hint, never a traceback, and exit non-zero:

====  ==========================================================
code  meaning
====  ==========================================================
0     success
1     internal error (a bug: please report it with the traceback)
2     invalid input: arguments, files, policy, workspace
3     an import was refused (too many rejected rows); nothing changed
4     a model did not converge (reserved: runs record a failed value model in ``models.json`` and go on)
5     the workspace is busy (another command is writing)
6     the audit log does not verify (``tierwise audit verify``)
7     not allowed: not logged in, locked out, or the role may not do this (the web and API answer
      401/403; the CLI acts as the operating-system user and does not log in)
8     the disk is full, or the workspace folder is read-only (nothing was half-written)
====  ==========================================================
"""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table as RichTable

from tierwise.errors import ImportRejectedError, TierwiseError
from tierwise.i18n import t

app = typer.Typer(help="tierwise — customer classification, tiering and upgrade (客户分类、分层分级与升级)",
                  no_args_is_help=True, pretty_exceptions_enable=False, add_completion=True)
out = Console()
err = Console(stderr=True)


def _locale(ws_path: Path | None = None) -> str | None:
    from tierwise.i18n import default_locale
    import os

    if os.environ.get("TIERWISE_LANG"):
        return default_locale()
    if ws_path is not None:
        try:
            from tierwise.app.workspace import open_workspace
            return open_workspace(ws_path).policy().locale
        except TierwiseError:
            return None
    return None


def render_reconciliation(rec: dict, locale: str | None) -> None:
    tbl = RichTable(title=f"{t('reconciliation', locale)} · {rec['table']} · {rec['import_id']}", show_header=True)
    tbl.add_column(t("reason", locale))
    tbl.add_column(t("count", locale), justify="right")
    tbl.add_row(t("rows_read", locale), f"{rec['rows_read']:,}")
    tbl.add_row(t("accepted", locale), f"{rec['accepted']:,}", style="green")
    tbl.add_row(t("rejected", locale), f"{rec['rejected']:,}", style="red" if rec["rejected"] else None)
    for reason, n in rec["rejected_by_reason"].items():
        tbl.add_row(f"  {t('reason.' + reason, locale)} ({reason})", f"{n:,}")
    tbl.add_row(t("reject_rate", locale), f"{rec['reject_rate']:.2%}")
    out.print(tbl)
    if rec.get("quarantine"):
        out.print(t("quarantine_at", locale, path=rec["quarantine"]))


@app.command("init")
def init_cmd(
    directory: Annotated[Path, typer.Argument(help="folder to create the workspace in")],
    preset: Annotated[str, typer.Option(help="bank, retail, realestate, b2b or distributor")] = "bank",
    force: Annotated[bool, typer.Option(help="create even if the folder is not empty")] = False,
    engine: Annotated[str, typer.Option(help="where runs compute: duckdb (embedded) or spark")] = "duckdb",
    spark_master: Annotated[str | None, typer.Option(help="Spark master URL for --engine spark "
                                                          "(default local[*])")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the workspace, its key file and the first "
                                                          "admin's one-time password as JSON")] = False,
) -> None:
    """Create a workspace folder from a preset (policy, data area, snapshots, store, quarantine)."""
    from tierwise.app.workspace import init_workspace

    ws = init_workspace(directory, preset, force=force, engine=engine, spark_master=spark_master)
    if as_json:
        from tierwise.app.users import take_one_time_password
        print(json.dumps({"workspace": str(directory), "preset": preset, "key_file": ws.settings.key_file,
                          "admin": {"username": "admin", "one_time_password": take_one_time_password(directory)}},
                         ensure_ascii=False, indent=2))
        return
    loc = _locale(directory)
    out.print(t("workspace_created", loc, path=str(directory), preset=preset))
    _print_first_admin(directory, loc)
    out.print(t("next_import", loc, path=str(directory)))


@app.command("import")
def import_cmd(
    directory: Annotated[Path, typer.Argument(help="workspace folder")],
    table: Annotated[str, typer.Argument(help="customers, transactions, balances, holdings, interactions or leads")],
    source: Annotated[str, typer.Argument(help="a CSV, .xlsx or Parquet file, or a database URL")],
    mode: Annotated[Optional[str], typer.Option(help="append or replace (default depends on the table)")] = None,
    sheet: Annotated[Optional[str], typer.Option(help="sheet name or 0-based index of an .xlsx")] = None,
    source_table: Annotated[Optional[str], typer.Option(help="table to read from a database URL")] = None,
    query: Annotated[Optional[str], typer.Option(help="SQL query to read from a database URL")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the reconciliation as JSON")] = False,
    today: Annotated[Optional[str], typer.Option(hidden=True, help="reference date for future-date checks")] = None,
) -> None:
    """Import a file or database table into a canonical table; prints the reconciliation."""
    from tierwise.app.importing import import_table
    from tierwise.app.workspace import open_workspace

    ws = open_workspace(directory)
    loc = _locale(directory)
    ref = _parse_date(today, "--today") if today else None
    try:
        if as_json:
            rec = import_table(ws, table, source, mode=mode, sheet=sheet, source_table=source_table,
                               query=query, today=ref)
        else:
            with out.status(f"import {table} ← {source}") as status:
                rec = import_table(ws, table, source, mode=mode, sheet=sheet, source_table=source_table,
                                   query=query, today=ref, progress=lambda s: status.update(f"import {table}: {s}"))
    except ImportRejectedError as exc:
        if exc.reconciliation:
            if as_json:
                print(json.dumps(exc.reconciliation, ensure_ascii=False, indent=2, default=str))
            else:
                render_reconciliation(exc.reconciliation, loc)
        raise
    if as_json:
        print(json.dumps(rec, ensure_ascii=False, indent=2, default=str))
        return
    render_reconciliation(rec, loc)
    out.print(t("import_committed", loc, id=rec["import_id"], accepted=rec["accepted"], table=table))


@app.command("status")
def status_cmd(
    directory: Annotated[Path, typer.Argument(help="workspace folder")],
    as_json: Annotated[bool, typer.Option("--json", help="print as JSON")] = False,
) -> None:
    """Show the workspace: its tables, the imports that form them, and the policy."""
    from tierwise.app.status import workspace_status

    info = workspace_status(directory)
    if as_json:
        print(json.dumps(info, ensure_ascii=False, indent=2, default=str))
        return
    loc = info["locale"]
    tbl = RichTable(title=t("status_title", loc, path=str(directory)))
    tbl.add_column(t("table", loc))
    tbl.add_column(t("rows", loc), justify="right")
    tbl.add_column(t("batches", loc))
    for name, tinfo in info["tables"].items():
        tbl.add_row(name, f"{tinfo['rows']:,}", ", ".join(tinfo["imports"]) or "—")
    out.print(tbl)
    cur = info["current_run"]
    out.print(f"runs: {info['runs']}" + (f" · current {cur['run_id']} as of {cur['as_of']}" if cur else "")
              + f" · data version {info['data_version']} · overrides awaiting approval: {info['pending_overrides']}")


@app.command("segments")
def segments_cmd(
    directory: Annotated[Path, typer.Argument(help="workspace folder")],
    as_of: Annotated[Optional[str], typer.Option("--as-of", help="evaluation date YYYY-MM-DD (default: latest data date)")] = None,
    by: Annotated[Optional[str], typer.Option(help="rfm_segment, abc_class, lifecycle or seg_<name> (default: all)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print summaries as JSON")] = False,
) -> None:
    """Classify every customer as of a date and show the segment summaries (nothing is published)."""
    from tierwise.app.status import latest_data_date
    from tierwise.app.workspace import open_workspace
    from tierwise.errors import UserInputError, did_you_mean

    ws = open_workspace(directory)
    loc = _locale(directory)
    if by and by not in (known := classifications(ws.policy())):   # say so before a long classification
        raise UserInputError(f"no classification '{by}'",
                             hint=did_you_mean(by, known) or f"choose from: {', '.join(known)}")
    from tierwise.app.classify import classify_workspace   # heavy (models): only once the arguments are right
    when = _parse_date(as_of, "--as-of") if as_of else latest_data_date(ws)
    if when is None:
        raise UserInputError(f"{directory}: no dated data yet; give --as-of", hint=f"tierwise import {directory} transactions FILE")
    with out.status(f"classify as of {when}") if not as_json else _null():
        result = classify_workspace(ws, when)
    cols = list(result.summaries)
    if by:
        if by not in cols:
            raise UserInputError(f"no classification '{by}'", hint=did_you_mean(by, cols) or f"choose from: {', '.join(cols)}")
        cols = [by]
    if as_json:
        print(json.dumps({"as_of": str(when), "customers": result.customers.num_rows,
                          "summaries": {c: result.summaries[c].to_pylist() for c in cols},
                          "rfm_edges": result.rfm_edges}, ensure_ascii=False, indent=2, default=str))
        return
    for c in cols:
        labels = result.labels.get(c, {})
        tbl = RichTable(title=f"{c} · {when} · {result.customers.num_rows:,}")
        for h, j in (("segment", "left"), ("customers", "right"), ("share", "right"), ("revenue", "right"),
                     ("revenue_share", "right"), ("aov", "right"), ("median_recency_days", "right")):
            tbl.add_column(t(h, loc), justify=j)
        for row in result.summaries[c].to_pylist():
            name = labels.get(row["segment"], {}).get(loc or "zh-CN", row["segment"])
            tbl.add_row(f"{name} ({row['segment']})" if name != row["segment"] else str(row["segment"]),
                        f"{row['customers']:,}", f"{row['share']:.1%}", f"{row['revenue'] or 0:,.2f}",
                        f"{(row['revenue_share'] or 0):.1%}", "—" if row["aov"] is None else f"{row['aov']:,.2f}",
                        "—" if row["median_recency_days"] is None else f"{row['median_recency_days']:.0f}")
        out.print(tbl)


def classifications(policy) -> list[str]:
    """Every summary ``segments --by`` may name under ``policy`` (a superset of what a classification gives)."""
    return ["rfm_segment", "abc_class", "lifecycle", *(f"seg_{s.name}" for s in policy.segments if s.mode == "ordered"),
            *(["cluster"] if policy.clusters.enabled else []), *(["lead_grade"] if policy.leads.enabled else [])]


def _parse_date(text: str, option: str) -> date:
    from tierwise.errors import UserInputError
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UserInputError(f"{option} {text!r}: not a date", hint="use YYYY-MM-DD, e.g. 2024-12-31") from None


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@app.command("run")
def run_cmd(
    directory: Annotated[Path, typer.Argument(help="workspace folder")],
    as_of: Annotated[Optional[str], typer.Option("--as-of", help="evaluation date (default: latest data date)")] = None,
    date_from: Annotated[Optional[str], typer.Option("--from", help="backfill: first date")] = None,
    date_to: Annotated[Optional[str], typer.Option("--to", help="backfill: last date")] = None,
    every: Annotated[str, typer.Option(help="backfill step: month or quarter")] = "month",
    due: Annotated[bool, typer.Option("--due", help="run every evaluation the policy calendar says is due")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print the run records as JSON")] = False,
) -> None:
    """Evaluate every customer as of a date (or a range) and publish a snapshot per date."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from tierwise.app.run import STEPS, due_dates, period_ends, run_evaluation
    from tierwise.app.status import latest_data_date
    from tierwise.app.workspace import open_workspace
    from tierwise.errors import UserInputError

    ws = open_workspace(directory)
    latest = latest_data_date(ws)
    if due:
        dates = due_dates(ws, date.today(), latest)
    elif date_from or date_to:
        if not (date_from and date_to):
            raise UserInputError("a backfill needs both --from and --to")
        dates = period_ends(_parse_date(date_from, "--from"), _parse_date(date_to, "--to"), every)
    else:
        when = _parse_date(as_of, "--as-of") if as_of else latest
        if when is None:
            raise UserInputError(f"{directory}: no dated data yet; give --as-of")
        dates = [when]
    records = []
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), console=err, disable=as_json, transient=True) as bar:
        task = bar.add_task("run", total=len(dates) * len(STEPS))
        for d in dates:
            rec = run_evaluation(ws, d, progress=lambda s, d=d: bar.update(task, description=f"{d} {s}", advance=1))
            records.append(rec)
            if not as_json:
                out.print(f"{rec['run_id']} {d}: {rec['customers']:,} customers, "
                          f"tiers {rec['counts'].get('tier', {})}, events {rec['counts'].get('tier_event', {})}")
    if as_json:
        print(json.dumps(records, ensure_ascii=False, indent=2, default=str))
    elif not dates:
        out.print("nothing due")


@app.command("explain")
def explain_cmd(
    directory: Annotated[Path, typer.Argument(help="workspace folder")],
    customer: Annotated[str, typer.Argument(help="customer number")],
    run: Annotated[Optional[str], typer.Option(help="run id or as-of date (default: current)")] = None,
    history: Annotated[bool, typer.Option(help="also show the tier history")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print as JSON")] = False,
) -> None:
    """Why a customer is in their tier, and what it takes to reach the next one."""
    from tierwise.app.history import customer_history, explain, explain_text
    from tierwise.app.workspace import open_workspace

    ws = open_workspace(directory)
    e = explain(ws, customer, run)
    hist = customer_history(ws, customer) if history else None
    if as_json:
        print(json.dumps({**e, "history": hist} if history else e, ensure_ascii=False, indent=2, default=str))
        return
    out.print(explain_text(e, _locale(directory) or "zh-CN"))
    if hist:
        tbl = RichTable()
        for h in ("as_of", "tier", "tier_status", "tier_event", "tier_metric"):
            tbl.add_column(h)
        for r in hist:
            tbl.add_row(r["as_of"], str(r["tier"]), str(r["tier_status"]), str(r["tier_event"] or ""),
                        f"{(r['tier_metric'] or 0):,.2f}")
        out.print(tbl)


tiers_app = typer.Typer(help="Tier distribution over time and migration matrices.", no_args_is_help=True)
app.add_typer(tiers_app, name="tiers")


@tiers_app.command("distribution")
def tiers_distribution(directory: Annotated[Path, typer.Argument(help="workspace folder")],
                       as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Customers per tier in every run, in date order."""
    from tierwise.app.history import distribution_over_time
    from tierwise.app.workspace import open_workspace

    rows = distribution_over_time(open_workspace(directory))
    if as_json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    levels = sorted({k for r in rows for k in r["tiers"]})
    tbl = RichTable(title="tiers over time")
    tbl.add_column("as_of")
    for lv in levels:
        tbl.add_column(lv, justify="right")
    for r in rows:
        tbl.add_row(r["as_of"], *[f"{r['tiers'].get(lv, 0):,}" for lv in levels])
    out.print(tbl)


@tiers_app.command("migration")
def tiers_migration(directory: Annotated[Path, typer.Argument(help="workspace folder")],
                    from_run: Annotated[Optional[str], typer.Option("--from", help="run id or date (default: the run before --to)")] = None,
                    to_run: Annotated[Optional[str], typer.Option("--to", help="run id or date (default: current)")] = None,
                    as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Migration matrix between two runs: counts (and shares with --json)."""
    from tierwise.app.history import migration_matrix
    from tierwise.app.workspace import open_workspace

    mm = migration_matrix(open_workspace(directory), from_run, to_run)
    if as_json:
        print(json.dumps(mm, ensure_ascii=False, indent=2))
        return
    out.print(_matrix(f"{mm['from']['as_of']} → {mm['to']['as_of']} (↑{mm['upgrades']} ↓{mm['downgrades']})",
                      "from \\ to", mm["levels"], mm["levels"], mm["counts"]))


def _matrix(title: str, corner: str, rows: list[str], columns: list[str], counts: dict) -> RichTable:
    """A migration-style matrix of counts (``counts[row][column]``) as a Rich table."""
    tbl = RichTable(title=title)
    tbl.add_column(corner)
    for c in columns:
        tbl.add_column(c, justify="right")
    for r in rows:
        tbl.add_row(r, *[f"{counts[r][c]:,}" for c in columns])
    return tbl


override_app = typer.Typer(help="Manual tier overrides (软性分层): request, approve, reject, list.", no_args_is_help=True)
app.add_typer(override_app, name="override")


@override_app.command("request")
def override_request(directory: Annotated[Path, typer.Argument(help="workspace folder")],
                     customer: Annotated[str, typer.Argument(help="customer number")],
                     kind: Annotated[str, typer.Option(help="pin, floor or ceiling")],
                     tier: Annotated[str, typer.Option(help="tier id")],
                     reason: Annotated[str, typer.Option(help="why (required)")],
                     expires: Annotated[str, typer.Option(help="last day in force, YYYY-MM-DD")],
                     by: Annotated[str, typer.Option(help="who requests")],
                     starts: Annotated[Optional[str], typer.Option(help="first day in force (default today)")] = None,
                     as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Request an override; it takes effect once a second person approves it."""
    from tierwise.app.overrides import request_override
    from tierwise.app.workspace import open_workspace

    o = request_override(open_workspace(directory), customer, kind, tier, reason, _parse_date(expires, "--expires"),
                         by, _parse_date(starts, "--starts") if starts else None)
    print(json.dumps(o, ensure_ascii=False, default=str, indent=2)) if as_json else out.print(
        f"override {o['override_id']} requested: {kind} {tier} for {customer} until {o['expires_on']} (awaiting approval)")


def _decide(directory: Path, override_id: int, approve: bool, by: str, note: str | None, as_json: bool) -> None:
    from tierwise.app.overrides import decide_override
    from tierwise.app.workspace import open_workspace

    o = decide_override(open_workspace(directory), override_id, approve, by, note)
    print(json.dumps(o, ensure_ascii=False, default=str, indent=2)) if as_json else out.print(
        f"override {override_id} {o['status']} by {by}")


@override_app.command("approve")
def override_approve(directory: Annotated[Path, typer.Argument()], override_id: Annotated[int, typer.Argument()],
                     by: Annotated[str, typer.Option(help="who approves (not the requester)")],
                     note: Annotated[Optional[str], typer.Option()] = None,
                     as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Approve a requested override (a second person)."""
    _decide(directory, override_id, True, by, note, as_json)


@override_app.command("reject")
def override_reject(directory: Annotated[Path, typer.Argument()], override_id: Annotated[int, typer.Argument()],
                    by: Annotated[str, typer.Option(help="who rejects (not the requester)")],
                    note: Annotated[Optional[str], typer.Option()] = None,
                    as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Reject a requested override."""
    _decide(directory, override_id, False, by, note, as_json)


@override_app.command("list")
def override_list(directory: Annotated[Path, typer.Argument()],
                  customer: Annotated[Optional[str], typer.Option()] = None,
                  status: Annotated[Optional[str], typer.Option()] = None,
                  as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List overrides (all, or of one customer, or in one status)."""
    from tierwise.app.workspace import open_workspace

    rows = open_workspace(directory).store().list_overrides(customer, status)
    if as_json:
        print(json.dumps(rows, ensure_ascii=False, default=str, indent=2))
        return
    tbl = RichTable()
    for h in ("id", "customer", "kind", "tier", "from", "until", "status", "by", "decided by", "reason"):
        tbl.add_column(h)
    for o in rows:
        tbl.add_row(str(o["override_id"]), o["customer_id"], o["kind"], o["tier"], str(o["starts_on"]),
                    str(o["expires_on"]), o["status"], o["requested_by"], o["decided_by"] or "", o["reason"])
    out.print(tbl)


@app.command("whatif")
def whatif_cmd(
    directory: Annotated[Path, typer.Argument(help="workspace folder")],
    policy: Annotated[Path, typer.Argument(help="the proposed policy file")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """How many customers a changed policy would move between tiers (nothing is published)."""
    from tierwise.app.whatif import what_if
    from tierwise.app.workspace import open_workspace

    r = what_if(open_workspace(directory), policy)
    if as_json:
        print(json.dumps(r, ensure_ascii=False, indent=2))
        return
    out.print(_matrix(f"what-if as of {r['as_of']}: {r['moved']:,} customers would change tier"
                      + (f" (↑{r['upgrades']:,} ↓{r['downgrades']:,})" if r["upgrades"] is not None else ""),
                      "current \\ proposed", r["rows"], r["columns"], r["counts"]))


upgrade_app = typer.Typer(help="Upgrade candidates and next best products (客户升级).", no_args_is_help=True)
app.add_typer(upgrade_app, name="upgrade")


@upgrade_app.command("candidates")
def upgrade_candidates(directory: Annotated[Path, typer.Argument(help="workspace folder")],
                       manager: Annotated[Optional[str], typer.Option(help="only this manager's customers")] = None,
                       kind: Annotated[Optional[str], typer.Option(help="near or potential")] = None,
                       top: Annotated[int, typer.Option(help="how many to show")] = 20,
                       run: Annotated[Optional[str], typer.Option(help="run id or date (default: current)")] = None,
                       as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Customers closest to (or worth more than) their next tier, best first."""
    from tierwise.app.upgrading import list_candidates
    from tierwise.app.workspace import open_workspace
    from tierwise.errors import UserInputError, did_you_mean

    if kind is not None and kind not in ("near", "potential"):   # a typo would silently list nobody
        raise UserInputError(f"--kind {kind!r}: use near or potential",
                             hint=did_you_mean(kind, ("near", "potential")))
    run_id, rows = list_candidates(open_workspace(directory), manager=manager, kind=kind, top=top, run=run)
    if as_json:
        print(json.dumps(rows, ensure_ascii=False, indent=2, default=str))
        return
    tbl = RichTable(title=f"upgrade candidates · {run_id}" + (f" · {manager}" if manager else ""))
    for h in ("rank", "customer", "manager", "tier", "gap", "gap %", "kind", "likelihood", "CLV"):
        tbl.add_column(h, justify="right" if h in ("rank", "gap", "gap %", "likelihood", "CLV") else "left")
    for r in rows:
        tbl.add_row(str(r["rank_in_manager"] if manager else r["rank"]), r["customer_id"], str(r.get("manager_id") or ""),
                    str(r["tier"]), f"{r['gap']:,.2f}", f"{r['gap_share']:.1%}", r["candidate_kind"],
                    f"{r['likelihood']:.0%}", "—" if r.get("clv") is None else f"{r['clv']:,.0f}")
    out.print(tbl)


@upgrade_app.command("products")
def upgrade_products(directory: Annotated[Path, typer.Argument(help="workspace folder")],
                     customer: Annotated[str, typer.Argument(help="customer number")],
                     run: Annotated[Optional[str], typer.Option()] = None,
                     as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """A customer's next best products and why."""
    from tierwise.app.upgrading import products_for
    from tierwise.app.workspace import open_workspace

    r = products_for(open_workspace(directory), customer, run, _locale(directory) or "zh-CN")
    if as_json:
        print(json.dumps(r, ensure_ascii=False, indent=2, default=str))
        return
    if not r["products"]:
        out.print(f"{customer}: no product clearly distinguishes the next tier ({r['next_tier'] or '—'})")
    for p in r["products"]:
        out.print(f"{p['nbp_rank']}. {p['product']}: {p['why']}")


@upgrade_app.command("export-products")
def upgrade_export_products(directory: Annotated[Path, typer.Argument(help="workspace folder")],
                            out_file: Annotated[Path, typer.Option("--out", help=".csv or .xlsx file to write")],
                            run: Annotated[Optional[str], typer.Option(help="run id or as-of date")] = None,
                            as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Every customer's next best products of a run, with the reasons, to CSV or Excel (audited)."""
    from tierwise.app.upgrading import export_products
    from tierwise.app.workspace import open_workspace

    r = export_products(open_workspace(directory), out_file, run=run, locale=_locale(directory) or "zh-CN")
    if as_json:
        print(json.dumps(r, ensure_ascii=False, indent=2))
    else:
        out.print(f"{r['rows']:,} recommendations of {r['run_id']} written to {r['path']}")


campaign_app = typer.Typer(help="Campaigns with randomised control groups, and their uplift.", no_args_is_help=True)
upgrade_app.add_typer(campaign_app, name="campaign")


@campaign_app.command("create")
def campaign_create(directory: Annotated[Path, typer.Argument()],
                    name: Annotated[str, typer.Option(help="campaign name")],
                    target_kind: Annotated[str, typer.Option(help="segment, candidates or rule")],
                    target: Annotated[str, typer.Option(help="COLUMN=VALUE, near/potential/all, or a rule")],
                    starts: Annotated[str, typer.Option(help="first day, YYYY-MM-DD")],
                    ends: Annotated[str, typer.Option(help="last day, YYYY-MM-DD")],
                    control: Annotated[float, typer.Option(help="control-group share")] = 0.2,
                    seed: Annotated[int, typer.Option(help="seed of the control-group draw")] = 1,
                    by: Annotated[str, typer.Option(help="who creates it")] = "cli",
                    as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Define a campaign (a draft until started)."""
    from tierwise.app.campaigns import create_campaign
    from tierwise.app.workspace import open_workspace

    c = create_campaign(open_workspace(directory), name, target_kind, target, _parse_date(starts, "--starts"),
                        _parse_date(ends, "--ends"), control_share=control, seed=seed, created_by=by)
    print(json.dumps(c, ensure_ascii=False, indent=2, default=str)) if as_json else out.print(
        f"campaign {c['campaign_id']} created (draft): {name}")


@campaign_app.command("start")
def campaign_start(directory: Annotated[Path, typer.Argument()], campaign_id: Annotated[int, typer.Argument()],
                   by: Annotated[str, typer.Option()] = "cli",
                   as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Freeze the membership from the current run, with its control group."""
    from tierwise.app.campaigns import start_campaign
    from tierwise.app.workspace import open_workspace

    c = start_campaign(open_workspace(directory), campaign_id, by)
    print(json.dumps(c, ensure_ascii=False, indent=2, default=str)) if as_json else out.print(
        f"campaign {campaign_id} started: {c['members']:,} members, {c['control']:,} in the control group")


@campaign_app.command("evaluate")
def campaign_evaluate(directory: Annotated[Path, typer.Argument()], campaign_id: Annotated[int, typer.Argument()],
                      run: Annotated[Optional[str], typer.Option(help="compare with this run (default: current)")] = None,
                      out_file: Annotated[Optional[Path], typer.Option("--out", help="also write the table to a "
                                                                                     ".csv or .xlsx file")] = None,
                      as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Treated vs control: uplift with 95 % intervals, per manager and per tier."""
    from tierwise.app.campaigns import evaluate_campaign, export_evaluation
    from tierwise.app.workspace import open_workspace

    r = evaluate_campaign(open_workspace(directory), campaign_id, run)
    if out_file is not None:
        written = export_evaluation(open_workspace(directory), campaign_id, out_file, run=run)
        err.print(f"{written['rows']} rows written to {written['path']}")
    if as_json:
        print(json.dumps(r, ensure_ascii=False, indent=2, default=str))
        return
    tbl = RichTable(title=f"{r['name']}: {r['start_run']} → {r['end_run']}, {r['members']:,} members")
    for h in ("metric", "treated", "control", "uplift", "95 % interval"):
        tbl.add_column(h, justify="left" if h == "metric" else "right")
    fmt = lambda v: "—" if v is None else f"{v:,.4g}"  # noqa: E731
    for m, u in r["overall"].items():
        interval = f"[{fmt(u['ci_low'])}, {fmt(u['ci_high'])}]" if u["status"] == "ok" else u["note"]
        tbl.add_row(m, fmt(u["mean_treatment"]), fmt(u["mean_control"]), fmt(u["uplift"]), interval)
    out.print(tbl)


@app.command("demo")
def demo_cmd(
    directory: Annotated[Path, typer.Argument(help="folder for the demo workspace")] = Path("tierwise-demo"),
    preset: Annotated[str, typer.Option(help="bank, retail, realestate, b2b or distributor")] = "bank",
    customers: Annotated[int, typer.Option(help="number of customers to generate")] = 1000,
    seed: Annotated[int, typer.Option(help="random seed")] = 7,
    months: Annotated[int, typer.Option(help="monthly runs of history (0: import only)")] = 12,  # DEMO_MONTHS
    as_json: Annotated[bool, typer.Option("--json", help="print a JSON summary")] = False,
) -> None:
    """The whole loop on generated data: import (the messy Chinese export for the bank), monthly runs,
    service tasks, the HTML report and the Excel export."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from tierwise.app.demo import STEPS, run_demo

    loc = None if preset != "b2b" else "en"

    imports: list[dict] = []   # reconciliations, shown once the progress bar is gone

    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                  TimeElapsedColumn(), console=err, disable=as_json, transient=True) as bar:
        weights = {"import": 20, "runs": 70, "tasks": 2, "report": 4, "export": 4}   # rough shares of the time
        task = bar.add_task("demo", total=sum(weights.values()))

        def step(name: str, done: int, total: int) -> None:
            before = sum(weights[s] for s in STEPS[:STEPS.index(name)])
            bar.update(task, completed=before + weights[name] * (done / total if total else 0),
                       description=f"{t('demo.step.' + name, loc)} {done}/{total}" if name == "runs"
                       else t("demo.step." + name, loc))

        summary = run_demo(directory, preset=preset, n_customers=customers, seed=seed, months=months,
                           on_import=imports.append, on_step=step)
    if as_json:
        from tierwise.app.users import take_one_time_password
        summary["admin"] = {"username": "admin", "one_time_password": take_one_time_password(directory)}
        print(json.dumps(summary, ensure_ascii=False, indent=2, default=str))
    else:
        for rec in imports:
            render_reconciliation(rec, loc)
        out.print(t("demo_done", loc, path=str(directory)))
        if summary["report"]:
            out.print(t("demo.files", loc, report=summary["report"], workbook=summary["export"]), soft_wrap=True)
            out.print(t("demo.open", loc, report=summary["report"]), soft_wrap=True)
        if (summary["tasks"] or {}).get("error"):
            err.print(t("demo.tasks_failed", loc, error=summary["tasks"]["error"]), soft_wrap=True, highlight=False)
        out.print(t("demo.took", loc, runs=len(summary["runs"]), seconds=summary["timings"]["total"]))
        out.print(t("demo.serve", loc, path=str(directory)), soft_wrap=True)
        _print_first_admin(directory, loc)


def _print_first_admin(directory: Path, loc: str | None) -> None:
    """Show the first admin's one-time password (created by init; shown once, never stored)."""
    from tierwise.app.users import take_one_time_password

    password = take_one_time_password(directory)
    if password:
        out.print(t("web.first_admin", loc, username="admin", password=password), highlight=False, soft_wrap=True)


# Commands of other areas live in their own modules (one per area, so that they can grow
# independently) and add themselves to ``app`` here. Their heavy imports stay inside the commands.
from tierwise.cli import backup as _backup, report as _report, tasks as _tasks, web as _web  # noqa: E402

for _area in (_tasks, _web, _report, _backup):
    _area.register(app)


def main(argv: list[str] | None = None) -> int:
    """Console entry point: runs the app and turns user errors into messages and exit codes."""
    try:
        rc = app(args=argv, standalone_mode=False)  # click returns the code of a typer.Exit here
        if isinstance(rc, int) and rc:
            return rc
    except TierwiseError as exc:
        err.print(f"[bold red]{t('error')}:[/] {exc.message}", highlight=False, markup=True, soft_wrap=True)
        if exc.hint:
            err.print(f"[yellow]{t('hint')}:[/] {exc.hint}", highlight=False, soft_wrap=True)
        return exc.exit_code
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        err.print("aborted")
        return 130
    except Exception as exc:  # usage errors (unknown command, bad option) carry show() and exit_code
        if callable(getattr(exc, "show", None)) and isinstance(getattr(exc, "exit_code", None), int):
            exc.show()
            return exc.exit_code
        from tierwise.errors import storage_error

        storage = storage_error(exc)  # a full disk or a read-only folder is the user's to fix: no traceback
        if storage is None:
            raise
        err.print(f"[bold red]{t('error')}:[/] {storage.message}", highlight=False, markup=True, soft_wrap=True)
        err.print(f"[yellow]{t('hint')}:[/] {storage.hint}", highlight=False, soft_wrap=True)
        return storage.exit_code
    return 0


def entry() -> None:
    sys.exit(main())
