"""Assigning customers to managers (全部指派, 四包到人): deterministic, balanced by weighted workload.

Rules, in order, for every customer without an active owner:

1. ``keep_existing``: the manager named in ``customers.manager_id`` takes the customer if that
   manager is active (rule ``initial``; the bank's existing relationships win over balance).
2. Otherwise the customer goes to an eligible manager (rule ``balanced``): active; of the
   customer's branch when ``by_branch``; serving the customer's plan when ``by_tier`` and the
   manager lists the plans they serve; with room left (``capacity``, in workload units, where
   one customer weighs ``tier_weights[plan]``, default 1). Among them, the one with the lowest
   utilisation (load ÷ capacity; plain load for managers without a capacity), ties by id.
   Customers are placed heaviest first, then by id, so the same inputs give the same result.
3. No eligible manager in the branch: any eligible manager elsewhere (``fallback: any``) or
   none (``fallback: none``): the customer stays unassigned and shows in the report.

>>> mgrs = [{"manager_id": "A", "branch_id": "B1", "active": True, "capacity": None, "tiers": None},
...         {"manager_id": "B", "branch_id": "B1", "active": True, "capacity": None, "tiers": None}]
>>> rows = [{"customer_id": c, "branch_id": "B1", "plan": p, "owner": None, "hint": None}
...         for c, p in [("c1", "gold"), ("c2", "standard"), ("c3", "standard")]]
>>> [(r["customer_id"], r["manager_id"]) for r in assign(rows, mgrs, weights={"gold": 2})]
[('c1', 'A'), ('c2', 'B'), ('c3', 'B')]
"""

from __future__ import annotations

import heapq
from collections import defaultdict


def assign(customers: list[dict], managers: list[dict], *, weights: dict[str, float] | None = None,
           keep_existing: bool = True, by_branch: bool = True, by_tier: bool = True, fallback: str = "any",
           default_capacity: float | None = None) -> list[dict]:
    """New owners for the customers that need one.

    ``customers``: dicts with ``customer_id``, ``branch_id``, ``plan``, ``owner`` (current owner or
    None) and ``hint`` (``customers.manager_id``). Customers whose owner is an active manager keep
    them and count towards that manager's load. Returns ``[{customer_id, manager_id, branch_id,
    rule, from_manager}]`` for the customers that got an owner (the others stay unassigned).
    """
    weights = weights or {}
    active = {m["manager_id"]: m for m in managers if m["active"]}
    cap = {mid: (m.get("capacity") if m.get("capacity") is not None else default_capacity) for mid, m in active.items()}
    serves = {mid: set(filter(None, (m.get("tiers") or "").split(","))) if isinstance(m.get("tiers"), str)
              else set(m.get("tiers") or ()) for mid, m in active.items()}
    load: dict[str, float] = defaultdict(float)
    todo = []
    out = []
    for c in customers:
        w = float(weights.get(c.get("plan"), 1.0))
        if c.get("owner") in active:
            load[c["owner"]] += w
        elif keep_existing and c.get("hint") in active:
            load[c["hint"]] += w
            out.append(_row(c, c["hint"], active, "initial"))
        else:
            todo.append((-w, c["customer_id"], c))

    def eligible(mid: str, c: dict, same_branch: bool) -> bool:
        if same_branch and active[mid].get("branch_id") != c.get("branch_id"):
            return False
        return not (by_tier and serves[mid] and c.get("plan") not in serves[mid])

    def utilisation(mid: str) -> float:
        return load[mid] / cap[mid] if cap[mid] else load[mid]

    todo.sort(key=lambda x: (x[0], x[1]))
    by_branch_ids: dict[str | None, list[str]] = defaultdict(list)
    for mid in sorted(active):
        by_branch_ids[active[mid].get("branch_id")].append(mid)
    # one lazily updated heap per (candidate group, plan): entries (utilisation, id, version)
    version: dict[str, int] = defaultdict(int)
    heaps: dict[tuple, list] = {}
    member_of: dict[str, list[tuple]] = defaultdict(list)

    def pick(group: tuple, candidates: list[str], c: dict, w: float) -> str | None:
        heap = heaps.get(group)
        if heap is None:
            heap = heaps[group] = [(utilisation(m), m, version[m]) for m in candidates]
            heapq.heapify(heap)
            for m in candidates:
                member_of[m].append(group)
        skipped = []
        chosen = None
        while heap:
            u, mid, ver = heapq.heappop(heap)
            if ver != version[mid]:
                continue                      # stale entry: the manager's load changed since
            if cap[mid] is not None and load[mid] + w > cap[mid] + 1e-9:
                skipped.append((u, mid, ver))  # full for this customer; maybe not for a lighter one
                continue
            chosen = mid
            break
        for s in skipped:
            heapq.heappush(heap, s)
        return chosen

    def push_all(mid: str) -> None:
        for group in member_of[mid]:
            heapq.heappush(heaps[group], (utilisation(mid), mid, version[mid]))

    for negw, cid, c in todo:
        w = -negw
        plan = c.get("plan")
        chosen = None
        if by_branch:
            cands = tuple(m for m in by_branch_ids.get(c.get("branch_id"), []) if eligible(m, c, True))
            if cands:
                chosen = pick(("branch", c.get("branch_id"), frozenset(cands), plan), list(cands), c, w)
        if chosen is None and (not by_branch or fallback == "any"):
            cands = tuple(m for m in sorted(active) if eligible(m, c, False))
            if cands:
                chosen = pick(("any", None, frozenset(cands), plan), list(cands), c, w)
        if chosen is None:
            continue
        load[chosen] += w
        version[chosen] += 1
        push_all(chosen)
        out.append(_row(c, chosen, active, "balanced"))
    out.sort(key=lambda r: r["customer_id"])
    return out


def _row(c: dict, mid: str, active: dict, rule: str) -> dict:
    return {"customer_id": c["customer_id"], "manager_id": mid, "branch_id": active[mid].get("branch_id"),
            "rule": rule, "from_manager": c.get("owner")}


def workload(owners: list[tuple[str, str | None]], weights: dict[str, float]) -> dict[str, float]:
    """Weighted load per manager from ``(manager_id, plan)`` pairs."""
    out: dict[str, float] = defaultdict(float)
    for mid, plan in owners:
        if mid is not None:
            out[mid] += float(weights.get(plan, 1.0))
    return dict(out)
