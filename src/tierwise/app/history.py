"""Tier history across snapshots: distribution over time, migration matrices, events, explanations."""

from __future__ import annotations

from datetime import date

import pyarrow as pa
import pyarrow.compute as pc

from tierwise.app.workspace import Workspace
from tierwise.errors import UserInputError, did_you_mean
from tierwise.snapshots.store import SnapshotInfo, SnapshotStore


def _snap(ws: Workspace, ref: str | None) -> SnapshotInfo:
    snaps = SnapshotStore(ws.snapshots)
    info = snaps.find(ref)
    if info is None:
        known = [s.run_id for s in snaps.index()] + [s.as_of.isoformat() for s in snaps.in_force()]
        if ref is None:
            raise UserInputError(f"{ws.root}: no runs yet", hint=f"tierwise run {ws.root}")
        raise UserInputError(f"no run '{ref}'", hint=did_you_mean(ref, known) or f"runs: {', '.join(known[-6:])}")
    return info


def tier_levels(ws: Workspace, info: SnapshotInfo) -> list[str]:
    from tierwise.config.policy import parse_policy
    text = (SnapshotStore(ws.snapshots).path(info.run_id) / "policy.yaml").read_text(encoding="utf-8")
    return [lv.id for lv in parse_policy(text).tiers.levels]


def distribution_over_time(ws: Workspace) -> list[dict]:
    """Customers per tier for every snapshot in force, in date order."""
    snaps = SnapshotStore(ws.snapshots)
    out = []
    for s in snaps.in_force():
        t = snaps.read(s.run_id)
        if "tier" not in t.column_names:
            continue
        counts = {d["values"]: d["counts"] for d in t["tier"].value_counts().to_pylist()}
        out.append({"as_of": s.as_of.isoformat(), "run_id": s.run_id, "tiers": counts})
    return out


def migration_matrix(ws: Workspace, from_ref: str | None, to_ref: str | None) -> dict:
    """Counts and row shares of customers moving between tiers from one run to another.

    Customers present in only one of the runs appear in the row or column ``(none)``.
    """
    snaps = SnapshotStore(ws.snapshots)
    b = _snap(ws, to_ref)
    a = _snap(ws, from_ref) if from_ref else snaps.before(b.as_of)
    if a is None:
        raise UserInputError("a migration needs two runs", hint="run an earlier date too, or name --from")
    levels = tier_levels(ws, b)
    ta = snaps.read(a.run_id).select(["customer_id", "tier"]).rename_columns(["customer_id", "tier_from"])
    tb = snaps.read(b.run_id).select(["customer_id", "tier"]).rename_columns(["customer_id", "tier_to"])
    j = ta.join(tb, "customer_id", join_type="full outer")
    pairs = zip(j["tier_from"].to_pylist(), j["tier_to"].to_pylist(), [1] * j.num_rows)
    return migration_result(a, b, levels, pairs)


def migration_result(a, b, levels: list[str], pairs) -> dict:
    """The migration matrix of runs ``a`` → ``b`` from ``(tier_from, tier_to, count)`` triples
    (a missing tier is the row or column ``(none)``): counts, row shares, upgrades, downgrades."""
    none = "(none)"
    names = [*levels, none]
    counts = {r: {c: 0 for c in names} for r in names}
    for f, t, n in pairs:
        counts[f or none][t or none] += n
    shares = {r: {c: (n / total if (total := sum(counts[r].values())) else 0.0) for c, n in counts[r].items()}
              for r in names}
    up = sum(counts[r][c] for i, r in enumerate(levels) for c in levels[i + 1:])
    down = sum(counts[r][c] for i, r in enumerate(levels) for c in levels[:i])
    return {"from": {"run_id": a.run_id, "as_of": a.as_of.isoformat()},
            "to": {"run_id": b.run_id, "as_of": b.as_of.isoformat()},
            "levels": names, "counts": counts, "shares": shares, "upgrades": up, "downgrades": down}


def customer_history(ws: Workspace, customer_id: str) -> list[dict]:
    """The customer's tier, status and event in every snapshot in force."""
    snaps = SnapshotStore(ws.snapshots)
    out = []
    for s in snaps.in_force():
        t = snaps.read(s.run_id)
        hit = t.filter(pc.equal(t["customer_id"], customer_id))
        if hit.num_rows:
            r = hit.to_pylist()[0]
            out.append({"as_of": s.as_of.isoformat(), "run_id": s.run_id,
                        **{k: r.get(k) for k in ("tier", "tier_status", "tier_event", "tier_metric", "watch_count",
                                                 "override_ids")}})
    return out


def explain(ws: Workspace, customer_id: str, ref: str | None = None) -> dict:
    """Why the customer is in their tier in a run, and what it takes to reach the next tier."""
    from tierwise.config.policy import parse_policy

    info = _snap(ws, ref)
    snaps = SnapshotStore(ws.snapshots)
    t = snaps.read(info.run_id)
    hit = t.filter(pc.equal(t["customer_id"], customer_id))
    if not hit.num_rows:
        ids = t["customer_id"].to_pylist()
        raise UserInputError(f"customer '{customer_id}' is not in run {info.run_id}",
                             hint=did_you_mean(customer_id, ids[:100000]) or "check the customer number")
    policy = parse_policy((snaps.path(info.run_id) / "policy.yaml").read_text(encoding="utf-8"))
    return explain_snapshot_row(ws, info, hit.to_pylist()[0], policy.tiers)


def explain_snapshot_row(ws: Workspace, info, r: dict, tp) -> dict:
    """The explanation of one snapshot row ``r`` of run ``info``, under that run's tier policy ``tp``."""
    if not tp.enabled or "tier" not in r:
        return {"customer_id": r["customer_id"], "run_id": info.run_id, "as_of": info.as_of.isoformat(),
                "tiers": False}
    levels = tp.levels
    cur = r["tier_level"]
    computed = r["tier_computed"]
    m = r["tier_metric"] or 0.0
    lv = levels[computed]
    keep = lv.entry if lv.maintain is None else lv.maintain
    nxt = levels[cur + 1] if cur + 1 < len(levels) else None
    overrides = []
    if r.get("override_ids"):
        store = ws.store()
        overrides = [store.get_override(int(i)) for i in r["override_ids"].split(",")]
    return {
        "customer_id": r["customer_id"], "run_id": info.run_id, "as_of": info.as_of.isoformat(),
        "metric": tp.metric, "unit": tp.unit, "value": m,
        "tier": levels[cur].id, "tier_computed": lv.id, "status": r["tier_status"], "event": r["tier_event"],
        "qualifying": levels[r["q"]].id,
        "entry": lv.entry, "maintain": keep, "meets_maintain": m >= keep,
        "watch_count": r["watch_count"], "deferral": lv.deferral,
        "downgrade_after": (lv.deferral - r["watch_count"]) if r["watch_count"] else None,
        "next_tier": nxt.id if nxt else None,
        "gap_to_next": round(max(nxt.entry - m, 0.0), 2) if nxt else None,
        "overrides": [{k: o[k] for k in ("override_id", "kind", "tier", "reason", "expires_on", "requested_by",
                                         "decided_by")} for o in overrides if o],
        "labels": {x.id: {"zh-CN": x.label.zh_CN, "en": x.label.en} for x in levels},
    }


def explain_text(e: dict, locale: str) -> str:
    """A sentence or two a relationship manager can read out."""
    if not e.get("tiers", True):
        return "tiers are not enabled in this workspace's policy"
    lab = lambda i: e["labels"][i]["zh-CN" if locale == "zh-CN" else "en"]  # noqa: E731
    v, unit = e["value"], e["unit"]
    if locale == "zh-CN":
        s = f"客户 {e['customer_id']} 在 {e['as_of']} 为「{lab(e['tier'])}」：{e['metric']} = {unit}{v:,.2f}"
        s += f"，本级保级线 {unit}{e['maintain']:,.2f}，入级线 {unit}{e['entry']:,.2f}。"
        if e["status"] == "watch":
            s += f"低于保级线已 {e['watch_count']} 期（关注），再 {e['downgrade_after']} 期未恢复将降级。"
        for o in e["overrides"]:
            s += f"人工调整（{o['kind']} {lab(o['tier'])}，原因：{o['reason']}，至 {o['expires_on']}）。"
        if e["next_tier"]:
            s += f"升至「{lab(e['next_tier'])}」需 {e['metric']} 再增加 {unit}{e['gap_to_next']:,.2f}。"
        return s
    s = (f"Customer {e['customer_id']} is {lab(e['tier'])} as of {e['as_of']}: {e['metric']} = {unit}{v:,.2f}; "
         f"this tier's maintain threshold is {unit}{e['maintain']:,.2f}, entry {unit}{e['entry']:,.2f}.")
    if e["status"] == "watch":
        s += (f" Below maintain for {e['watch_count']} period(s) (watch); a downgrade follows after "
              f"{e['downgrade_after']} more.")
    for o in e["overrides"]:
        s += f" Manual {o['kind']} {lab(o['tier'])} until {o['expires_on']} ({o['reason']})."
    if e["next_tier"]:
        s += f" To reach {lab(e['next_tier'])}, {e['metric']} must rise by {unit}{e['gap_to_next']:,.2f}."
    return s
