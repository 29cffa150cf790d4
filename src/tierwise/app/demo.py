"""``tierwise demo``: the whole loop on generated data, end to end.

1. a workspace from the preset, with generated data imported through the real import
   path; for the bank preset the data are written the way a Chinese core-banking system
   exports them (GBK CSV, ``.xlsx`` with a title row, Chinese headers, mixed formats, a
   few bad rows), so the demo shows the reconciliation and the quarantine at work;
2. twelve monthly runs of history (value models, tiers, upgrade candidates) ending at
   the latest data date;
3. service tasks, when the servicing module is there;
4. the HTML report and the Excel export of the last run.
"""

from __future__ import annotations

import importlib
import inspect
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

from threadpoolctl import threadpool_limits

from tierwise.app.importing import import_table
from tierwise.app.workspace import Workspace, init_workspace
from tierwise.canonical import TABLES
from tierwise.errors import TierwiseError
from tierwise.samples import EXTRA_TABLES, generate, write_english_csv
from tierwise.samples.export import write_bank_export

#: import order: customers first (the others refer to them)
ORDER = ("customers", "transactions", "balances", "holdings", "interactions", "leads")
#: the demo's steps after the imports, for progress bars
STEPS = ("import", "runs", "tasks", "report", "export")
ACTOR = "demo"


#: monthly runs of history in ``tierwise demo``
DEMO_MONTHS = 12


def run_demo(directory: str | Path, *, preset: str = "bank", n_customers: int = 1000, seed: int = 7,
             months: int = 0, outputs: bool = True, on_import: Callable[[dict], None] | None = None,
             on_step: Callable[[str, int, int], None] | None = None) -> dict:
    """Create the demo workspace in ``directory`` and run the loop.

    ``months`` monthly runs end at the latest data date; the default 0 only imports (what
    test fixtures want); ``tierwise demo`` asks for :data:`DEMO_MONTHS`. ``outputs`` writes the
    report and the workbook of the last run. ``on_step(step, done, total)`` reports progress
    (``step`` is one of :data:`STEPS`, or ``runs`` once per run).
    """
    started = time.perf_counter()
    timings: dict[str, float] = {}
    step = on_step or (lambda s, i, n: None)
    root = Path(directory)
    ws = init_workspace(root, preset)
    step("import", 0, 1)
    results = _import(ws, root, preset, n_customers, seed, on_import)
    timings["import"] = round(time.perf_counter() - started, 2)
    summary: dict = {
        "workspace": str(root), "preset": preset, "customers": n_customers,
        "imports": [{k: r[k] for k in ("import_id", "table", "rows_read", "accepted", "rejected",
                                        "rejected_by_reason")} | {"source": r["source"]["path"]} for r in results],
        "runs": [], "tasks": None, "report": None, "export": None,
    }
    if months > 0:
        t0 = time.perf_counter()
        summary["runs"] = _runs(ws, months, step)
        timings["runs"] = round(time.perf_counter() - t0, 2)
    if summary["runs"]:
        t0 = time.perf_counter()
        step("tasks", 0, 1)
        summary["tasks"] = _tasks(ws, date.fromisoformat(summary["runs"][-1]["as_of"]))
        timings["tasks"] = round(time.perf_counter() - t0, 2)
        if outputs:
            from tierwise.app.export import write_export
            from tierwise.app.report import write_report

            t0 = time.perf_counter()
            step("report", 0, 1)
            summary["report"] = write_report(ws, actor=ACTOR)["path"]
            timings["report"] = round(time.perf_counter() - t0, 2)
            t0 = time.perf_counter()
            step("export", 0, 1)
            summary["export"] = write_export(ws, actor=ACTOR)["path"]
            timings["export"] = round(time.perf_counter() - t0, 2)
    timings["total"] = round(time.perf_counter() - started, 2)
    summary["timings"] = timings
    return summary


def _import(ws: Workspace, root: Path, preset: str, n_customers: int, seed: int,
            on_import: Callable[[dict], None] | None) -> list[dict]:
    # the generated source files stand for the bank's own exports: they live beside the workspace, not in it
    # (a workspace holds personal data only sealed; see tierwise.protect)
    inbox = root.resolve().parent / f"{root.resolve().name}-inbox"
    tables = generate(preset, n_customers, seed=seed)
    sources: dict[str, tuple[Path, str | None]] = {}
    if preset == "bank":
        n_rows = sum(t.num_rows for t in tables.values())
        manifest = write_bank_export(tables, inbox, seed=seed, n_bad=max(6, n_rows // 2000))
        for name, files in manifest.files.items():
            xlsx = [f for f in files if f.suffix == ".xlsx"]
            # customers through the Excel path; everything else through the GBK CSV path
            pick = xlsx[0] if (name == "customers" and xlsx) else files[0]
            sources[name] = (pick, None)
    else:
        written = write_english_csv({k: v for k, v in tables.items() if k not in EXTRA_TABLES}, inbox)
        sources = {name: (Path(p), None) for name, p in written.items()}
    results = []
    for name in ORDER:
        if name not in sources or name not in TABLES:
            continue
        path, sheet = sources[name]
        rec = import_table(ws, name, str(path), sheet=sheet, actor=ACTOR)
        results.append(rec)
        if on_import:
            on_import(rec)
    return results


def month_ends(latest: date, months: int) -> list[date]:
    """The last ``months`` month ends up to ``latest``; ``latest`` itself closes the list if it is not one.

    >>> month_ends(date(2024, 12, 31), 3)
    [datetime.date(2024, 10, 31), datetime.date(2024, 11, 30), datetime.date(2024, 12, 31)]
    >>> month_ends(date(2024, 12, 15), 2)
    [datetime.date(2024, 11, 30), datetime.date(2024, 12, 15)]
    """
    from tierwise.app.run import period_ends

    y, m = latest.year, latest.month - months + 1
    while m < 1:
        y, m = y - 1, m + 12
    ends = period_ends(date(y, m, 1), latest, "month")
    if not ends or ends[-1] != latest:
        ends.append(latest)
    return ends[-months:]


def _runs(ws: Workspace, months: int, step: Callable[[str, int, int], None]) -> list[dict]:
    from tierwise.app.run import run_evaluation
    from tierwise.app.status import latest_data_date

    latest = latest_data_date(ws)
    if latest is None:
        return []
    dates = month_ends(latest, months)
    out = []
    for i, d in enumerate(dates):
        step("runs", i, len(dates))
        # k-means on a demo's few thousand rows is fastest on one OpenMP thread; on a busy 2-core
        # machine its thread pool otherwise spins against the other processes (2.5 s → 0.2 s a run)
        with threadpool_limits(1, user_api="openmp"):
            rec = run_evaluation(ws, d, actor=ACTOR)
        out.append({"run_id": rec["run_id"], "as_of": rec["as_of"], "customers": rec["customers"],
                    "tiers": rec["counts"].get("tier", {})})
    step("runs", len(dates), len(dates))
    return out


def _generator():
    """The servicing area's task generation, when its modules exist (``app.servicing`` or the module
    that holds the generation)."""
    for name in ("tierwise.app.servicing", "tierwise.app.servicing_generate"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        if hasattr(module, "generate_tasks"):
            return module.generate_tasks
    return None


def _tasks(ws: Workspace, on: date) -> dict | None:
    """Generate the service tasks due by the last run's date through the servicing area's function."""
    generate_tasks = _generator()
    if generate_tasks is None:
        return None
    params = inspect.signature(generate_tasks).parameters
    kw = {k: v for k, v in (("on", on), ("actor", ACTOR)) if k in params}
    try:
        result = generate_tasks(ws, **kw)
    except TierwiseError as exc:
        # a servicing policy the preset's data cannot satisfy: the demo goes on and says why
        return {"error": exc.message, "hint": exc.hint}
    if not isinstance(result, dict):
        return {"result": str(result)}
    return {k: result[k] for k in ("on", "created", "by_type") if k in result} or result
