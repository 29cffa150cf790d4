"""Evaluation runs: classify every customer as of a date, evaluate tiers, publish one snapshot.

A run is atomic (see :mod:`tierwise.snapshots.store`) and repeatable: the snapshot's data
files and identity are a function of the imported data, the policy, the as-of date and
the previous snapshot (whose tier state carries hysteresis forward). Its digest is
therefore equal for equal inputs; timings live in ``run.json`` only.
"""

from __future__ import annotations

import calendar
import json
import time
from collections.abc import Callable
from datetime import date, datetime, timezone

import pyarrow as pa

from tierwise.app.classify import classify_workspace
from tierwise.app.tiering import evaluate_tiers
from tierwise.app.upgrading import upgrade_tables
from tierwise.app.workspace import Workspace
from tierwise.config.policy import policy_hash
from tierwise.errors import UserInputError
from tierwise.snapshots.store import SnapshotStore, write_table

STEPS = ("prepare", "classify", "tiers", "write", "publish")


def run_evaluation(ws: Workspace, as_of: date, *, actor: str = "cli",
                   progress: Callable[[str], None] | None = None) -> dict:
    """Run one evaluation as of ``as_of`` and publish its snapshot; return the run record."""
    step = progress or (lambda s: None)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal t0
        now = time.perf_counter()
        timings[name] = round(now - t0, 3)
        t0 = now

    with ws.lock("run"):
        step("prepare")
        snaps = SnapshotStore(ws.snapshots)
        snaps.remove_orphans()
        policy_text = ws.policy_path.read_text(encoding="utf-8")
        policy = ws.policy()
        manifest = ws.data.manifest()
        prev = snaps.before(as_of)
        prev_models = {}
        prev_customers = None
        if prev is not None:
            prev_customers = snaps.read(prev.run_id)
            models_path = snaps.path(prev.run_id) / "models.json"
            if models_path.exists():
                prev_models = json.loads(models_path.read_text(encoding="utf-8"))
        lap("prepare")
        step("classify")
        result = classify_workspace(ws, as_of, previous_clusters=prev_models.get("clusters"), policy=policy)
        customers = result.customers
        lap("classify")
        step("tiers")
        if policy.tiers.enabled:
            overrides = ws.store().list_overrides(status="approved")
            with ws.compute() as engine:   # the ladder runs where the classification ran
                customers = evaluate_tiers(customers, prev_customers, policy.tiers, as_of, overrides, compute=engine)
            ov_used = sorted({i for v in customers["override_ids"].to_pylist() if v for i in v.split(",")}, key=int)
        else:
            ov_used = []
        lap("tiers")
        extra: dict[str, pa.Table] = {}
        if policy.tiers.enabled and policy.upgrade.enabled:
            extra = upgrade_tables(customers, ws.data.table_files("holdings", manifest), policy, as_of, snaps,
                                   ws.scratch)
        lap("upgrade")
        step("write")
        run_id = snaps.next_run_id()
        staged = snaps.staging(run_id)
        write_table(customers, staged / "customers.parquet")
        for name, table in result.summaries.items():
            write_table(table, staged / "summaries" / f"{name}.parquet")
        for name, table in extra.items():
            write_table(table, staged / f"{name}.parquet")
        identity = {
            "as_of": as_of.isoformat(), "policy_hash": policy_hash(policy_text),
            "data_version": manifest.version, "data": manifest.current,
            "previous": {"as_of": prev.as_of.isoformat(), "digest": prev.digest} if prev else None,
            "customers": customers.num_rows, "overrides_applied": ov_used,
        }
        (staged / "identity.json").write_text(json.dumps(identity, indent=2, ensure_ascii=False), encoding="utf-8")
        (staged / "policy.yaml").write_text(policy_text, encoding="utf-8")
        models = {"clusters": result.clusters} if result.clusters else {}
        if result.value_models:
            models["value"] = result.value_models
        (staged / "models.json").write_text(json.dumps({**models, "rfm_edges": result.rfm_edges}, default=str,
                                                       sort_keys=True), encoding="utf-8")
        (staged / "labels.json").write_text(json.dumps(result.labels, ensure_ascii=False, sort_keys=True),
                                            encoding="utf-8")
        counts = _counts(customers)
        if "candidates" in extra:
            counts["upgrade_candidates"] = {
                str(d["values"]): d["counts"] for d in extra["candidates"]["candidate_kind"].value_counts().to_pylist()}
        lap("write")
        step("publish")
        record = {"run_id": run_id, **identity, "counts": counts, "timings": timings,
                  "finished_at": datetime.now(timezone.utc).isoformat()}
        (staged / "run.json").write_text(json.dumps(record, indent=2, ensure_ascii=False, default=str),
                                         encoding="utf-8")
        info = snaps.publish(run_id, as_of, staged)
        record["digest"] = info.digest
        lap("publish")
        record["timings"] = timings
        store = ws.store()
        store.record_run(record)
        store.audit(actor, "run.published", run_id, {"as_of": as_of.isoformat(), "digest": info.digest,
                                                      "customers": customers.num_rows})
    if policy.servicing.enabled:   # the snapshot is published whatever happens here
        from tierwise.app.servicing_generate import generate_after_run
        record["servicing"] = generate_after_run(ws, as_of, actor=actor)
    return record


def _counts(customers: pa.Table) -> dict:
    out: dict = {"customers": customers.num_rows}
    for col in ("tier", "tier_status", "tier_event", "rfm_segment", "abc_class", "lifecycle", "churn_warnings"):
        if col in customers.column_names:
            vc = customers[col].value_counts().to_pylist()
            out[col] = {str(d["values"]): d["counts"] for d in sorted(vc, key=lambda d: str(d["values"]))}
    return out


def period_ends(start: date, end: date, every: str) -> list[date]:
    """Month or quarter ends from ``start`` to ``end`` inclusive.

    >>> period_ends(date(2024, 1, 15), date(2024, 4, 30), "month")
    [datetime.date(2024, 1, 31), datetime.date(2024, 2, 29), datetime.date(2024, 3, 31), datetime.date(2024, 4, 30)]
    >>> period_ends(date(2024, 1, 1), date(2024, 12, 31), "quarter")
    [datetime.date(2024, 3, 31), datetime.date(2024, 6, 30), datetime.date(2024, 9, 30), datetime.date(2024, 12, 31)]
    """
    if every not in ("month", "quarter"):
        raise UserInputError(f"--every {every!r}: use month or quarter")
    out = []
    y, m = start.year, start.month
    while True:
        d = date(y, m, calendar.monthrange(y, m)[1])
        if d > end:
            break
        if d >= start and (every == "month" or m % 3 == 0):
            out.append(d)
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def due_dates(ws: Workspace, today: date, latest_data: date | None) -> list[date]:
    """Evaluations due by the policy's calendar and not yet run, in order (a missed period is caught up)."""
    policy = ws.policy()
    every = "quarter" if policy.tiers.calendar == "quarterly" else "month"
    snaps = SnapshotStore(ws.snapshots)
    last = snaps.current()
    limit = min(today, latest_data) if latest_data else today
    if last is None:
        if latest_data is None:
            return []
        ends = period_ends(date(limit.year, limit.month, 1), limit, every)
        return ends[-1:]
    start = date(last.as_of.year, last.as_of.month, 1)
    return [d for d in period_ends(start, limit, every) if d > last.as_of]
