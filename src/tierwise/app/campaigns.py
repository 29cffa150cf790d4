"""Campaigns: define a target and a strategy, start (membership frozen with a control group), evaluate.

Evaluation compares each member between the campaign's start run and a later run
(default: the current one): ``upgraded`` (a higher tier), ``revenue`` (revenue in
between), ``purchase_days`` (purchase days in between), ``balance_change`` (change of the
3-month average daily balance) and ``satisfaction`` (the latest survey score), treated
against control, overall, per manager and per tier at the start; and the treated group
before and after.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timezone

import pyarrow as pa
import pyarrow.compute as pc

from tierwise.analytics.rules import compile_rule
from tierwise.app.history import _snap
from tierwise.app.workspace import Workspace
from tierwise.engine import connect_duckdb, ibis_duckdb
from tierwise.errors import UserInputError, did_you_mean
from tierwise.snapshots.store import SnapshotStore
from tierwise.upgrade.campaigns import assign_arms
from tierwise.upgrade.uplift import uplift

TARGET_KINDS = ("segment", "candidates", "rule")
METRICS = ("upgraded", "revenue", "purchase_days", "balance_change", "satisfaction")


def create_campaign(ws: Workspace, name: str, target_kind: str, target: str, starts_on: date, ends_on: date, *,
                    control_share: float = 0.2, seed: int = 1, strata: tuple[str, ...] = ("tier", "manager_id"),
                    strategy: dict | None = None, created_by: str = "cli") -> dict:
    if target_kind not in TARGET_KINDS:
        raise UserInputError(f"unknown target kind '{target_kind}'",
                             hint=did_you_mean(target_kind, TARGET_KINDS) or f"use {TARGET_KINDS}")
    if not 0 <= control_share < 1:
        raise UserInputError(f"control share {control_share}: must be in [0, 1)")
    if ends_on < starts_on:
        raise UserInputError(f"the campaign ends ({ends_on}) before it starts ({starts_on})")
    store = ws.store()
    cid = store.add_campaign({
        "name": name, "target_kind": target_kind, "target": target, "strategy": json.dumps(strategy or {}),
        "starts_on": starts_on, "ends_on": ends_on, "control_share": control_share, "seed": seed,
        "strata": ",".join(strata), "status": "draft", "created_by": created_by,
        "created_at": datetime.now(timezone.utc)})
    store.audit(created_by, "campaign.create", str(cid), {"name": name, "target": f"{target_kind}:{target}"})
    return store.get_campaign(cid)


def _target(ws: Workspace, run_id: str, kind: str, target: str) -> pa.Table:
    snaps = SnapshotStore(ws.snapshots)
    cust = snaps.read(run_id)
    if kind == "segment":
        if "=" not in target:
            raise UserInputError(f"segment target {target!r}: write COLUMN=VALUE, e.g. rfm_segment=important_develop")
        col, val = (x.strip() for x in target.split("=", 1))
        if col not in cust.column_names:
            raise UserInputError(f"unknown column '{col}'", hint=did_you_mean(col, cust.column_names))
        return cust.filter(pc.equal(pc.cast(cust[col], pa.string()), val))
    if kind == "candidates":
        path = snaps.path(run_id) / "candidates.parquet"
        if not path.exists():
            raise UserInputError(f"run {run_id} has no upgrade candidates")
        import pyarrow.parquet as pq
        cand = pq.read_table(path)
        if target not in ("", "all"):
            cand = cand.filter(pc.match_substring(cand["candidate_kind"], target))
        ids = set(cand["customer_id"].to_pylist())
        return cust.filter(pc.is_in(cust["customer_id"], pa.array(sorted(ids), pa.string())))
    con = connect_duckdb()
    try:
        ib = ibis_duckdb(con)
        con.register("_c", cust)
        t = ib.table("_c")
        return ib.to_pyarrow(t.filter(compile_rule(target, t, "campaign target")))
    finally:
        con.close()


def start_campaign(ws: Workspace, campaign_id: int, actor: str = "cli") -> dict:
    """Freeze the membership from the current run, with a stratified random control group."""
    store = ws.store()
    c = store.get_campaign(campaign_id)
    if c is None:
        raise UserInputError(f"no campaign {campaign_id}")
    if c["status"] != "draft":
        raise UserInputError(f"campaign {campaign_id} has already started (membership is frozen)")
    info = _snap(ws, None)
    members = _target(ws, info.run_id, c["target_kind"], c["target"])
    strata = tuple(s for s in c["strata"].split(",") if s)
    missing = [s for s in strata if s not in members.column_names]
    if missing:
        raise UserInputError(f"campaign strata {missing} are not columns of the run")
    arms = assign_arms(members.select(["customer_id", *strata]), control_share=c["control_share"], seed=c["seed"],
                       strata=strata)
    store.start_campaign(campaign_id, info.run_id, arms.to_pylist())
    n_control = sum(1 for a in arms["arm"].to_pylist() if a == "control")
    store.audit(actor, "campaign.start", str(campaign_id),
                {"run_id": info.run_id, "members": arms.num_rows, "control": n_control})
    return {**store.get_campaign(campaign_id), "members": arms.num_rows, "control": n_control}


def evaluate_campaign(ws: Workspace, campaign_id: int, run: str | None = None, min_group: int = 30) -> dict:
    store = ws.store()
    c = store.get_campaign(campaign_id)
    if c is None or c["status"] != "started":
        raise UserInputError(f"campaign {campaign_id} has not started")
    snaps = SnapshotStore(ws.snapshots)
    end = _snap(ws, run)
    start = {r["customer_id"]: r for r in snaps.read(c["start_run_id"]).to_pylist()}
    now = {r["customer_id"]: r for r in snaps.read(end.run_id).to_pylist()}
    rows = []
    for m in store.campaign_members(campaign_id):
        a, b = start.get(m["customer_id"]), now.get(m["customer_id"])
        if a is None or b is None:
            continue
        rows.append({"customer_id": m["customer_id"], "arm": m["arm"], "manager_id": a.get("manager_id"),
                     "tier": a.get("tier"), **_metrics(a, b)})

    def compare(subset: list[dict]) -> dict:
        out = {}
        for metric in METRICS:
            t = [r[metric] for r in subset if r["arm"] == "treatment"]
            k = [r[metric] for r in subset if r["arm"] == "control"]
            out[metric] = uplift(metric, t, k, min_group=min_group).as_dict()
        return out

    treated = [r for r in rows if r["arm"] == "treatment"]
    before_after = {
        "balance_3m_before": _mean([start[r["customer_id"]].get("aum_avg_3m") for r in treated]),
        "balance_3m_after": _mean([now[r["customer_id"]].get("aum_avg_3m") for r in treated]),
        "tier_level_before": _mean([start[r["customer_id"]].get("tier_level") for r in treated]),
        "tier_level_after": _mean([now[r["customer_id"]].get("tier_level") for r in treated]),
    }
    return {
        "campaign_id": campaign_id, "name": c["name"], "start_run": c["start_run_id"], "end_run": end.run_id,
        "members": len(rows), "overall": compare(rows),
        "by_manager": {m: compare([r for r in rows if r["manager_id"] == m])
                       for m in sorted({r["manager_id"] for r in rows if r["manager_id"]})},
        "by_tier": {t: compare([r for r in rows if r["tier"] == t]) for t in sorted({r["tier"] for r in rows if r["tier"]})},
        "treated_before_after": before_after,
    }


def _metrics(a: dict, b: dict) -> dict:
    num = lambda v: float(v) if v is not None else None  # noqa: E731
    return {
        "upgraded": float((b.get("tier_level") or 0) > (a.get("tier_level") or 0)),
        "revenue": (num(b.get("revenue")) or 0.0) - (num(a.get("revenue")) or 0.0),
        "purchase_days": float((b.get("purchase_days") or 0) - (a.get("purchase_days") or 0)),
        "balance_change": (num(b.get("aum_avg_3m")) - num(a.get("aum_avg_3m"))
                           if a.get("aum_avg_3m") is not None and b.get("aum_avg_3m") is not None else None),
        "satisfaction": num(b.get("last_survey_score")),
    }


def _mean(values) -> float | None:
    vals = [float(v) for v in values if v is not None]
    return sum(vals) / len(vals) if vals else None


EVALUATION_COLUMNS = ["scope", "group", "metric", "status", "n_treatment", "n_control", "mean_treatment",
                      "mean_control", "uplift", "ci_low", "ci_high", "note"]


def export_evaluation(ws: Workspace, campaign_id: int, path, *, run: str | None = None, actor: str = "cli") -> dict:
    """A campaign's uplift — overall, per manager, per tier — as one table in CSV or xlsx; audited."""
    from tierwise.app.upgrading import write_rows

    r = evaluate_campaign(ws, campaign_id, run)
    rows = []
    for scope, groups in (("overall", {"": r["overall"]}), ("manager", r["by_manager"]), ("tier", r["by_tier"])):
        for group, metrics in groups.items():
            for metric, u in metrics.items():
                rows.append({"scope": scope, "group": group, "metric": metric, **u})
    n = write_rows(path, rows, EVALUATION_COLUMNS)
    ws.store().audit(actor, "export.written", str(path), {"kind": "campaign_evaluation", "campaign_id": campaign_id,
                                                          "rows": n})
    return {"path": str(path), "rows": n, "campaign_id": campaign_id}
