"""What-if: evaluate a changed policy against the current data without publishing anything.

The proposed policy is evaluated as of the current snapshot's date, from the same
previous state (the snapshot before it), and compared customer by customer with the
current snapshot: a migration matrix current tier → proposed tier, and the counts that
would move up or down.
"""

from __future__ import annotations

from pathlib import Path

from tierwise.app.classify import classify_workspace
from tierwise.app.history import tier_levels
from tierwise.app.tiering import evaluate_tiers
from tierwise.app.workspace import Workspace
from tierwise.config.policy import load_policy
from tierwise.errors import UserInputError
from tierwise.snapshots.store import SnapshotStore


def what_if(ws: Workspace, policy_path: str | Path, actor: str = "cli") -> dict:
    proposed = load_policy(policy_path)
    if not proposed.tiers.enabled:
        raise UserInputError(f"{policy_path}: tiers are not enabled in the proposed policy")
    snaps = SnapshotStore(ws.snapshots)
    current = snaps.current()
    if current is None:
        raise UserInputError(f"{ws.root}: no run yet to compare with", hint=f"tierwise run {ws.root}")
    before = snaps.before(current.as_of)
    prev = snaps.read(before.run_id) if before else None
    result = classify_workspace(ws, current.as_of, policy=proposed, summaries_for=[])
    overrides = ws.store().list_overrides(status="approved")
    new = evaluate_tiers(result.customers, prev, proposed.tiers, current.as_of, overrides, ws.scratch)
    now = snaps.read(current.run_id)
    cur_tier = dict(zip(now["customer_id"].to_pylist(), now["tier"].to_pylist())) if "tier" in now.column_names else {}
    new_levels = [lv.id for lv in proposed.tiers.levels]
    cur_levels = list(dict.fromkeys([*tier_levels(ws, current), *sorted(set(cur_tier.values()) - {None})]))
    none = "(none)"
    counts = {r: {c: 0 for c in [*new_levels, none]} for r in [*cur_levels, none]}
    for cid, t_new in zip(new["customer_id"].to_pylist(), new["tier"].to_pylist()):
        counts[cur_tier.get(cid) or none][t_new or none] += 1
    rank_new = {lv: i for i, lv in enumerate(new_levels)}
    rank_cur = {lv: i for i, lv in enumerate(cur_levels)}
    same_ladder = cur_levels == new_levels
    moved = sum(n for r, row in counts.items() for c, n in row.items() if r != c and r != none and c != none)
    up = sum(n for r, row in counts.items() for c, n in row.items()
             if same_ladder and r in rank_cur and c in rank_new and rank_new[c] > rank_cur[r])
    down = sum(n for r, row in counts.items() for c, n in row.items()
               if same_ladder and r in rank_cur and c in rank_new and rank_new[c] < rank_cur[r])
    ws.store().audit(actor, "policy.whatif", str(policy_path), {"as_of": current.as_of.isoformat(), "moved": moved})
    return {"as_of": current.as_of.isoformat(), "current_run": current.run_id, "rows": [*cur_levels, none],
            "columns": [*new_levels, none], "counts": counts, "moved": moved,
            "upgrades": up if same_ladder else None, "downgrades": down if same_ladder else None}

