"""Open tasks that no longer make sense, and why (they are closed with that reason).

==========================  ============================================================
reason                      when
==========================  ============================================================
``customer_gone``           the customer is no longer in the customers table
``contacted``               a cadence task whose anchor is older than the last contact
``tier_changed``            a cadence task of another plan than the customer's now
``superseded``              a cadence task of an earlier cycle than the current one
``matured_early``           a maturity reminder whose holding matured, was redeemed or
                            changed its maturity date before the date it was about
``tier_changed_again``      a tier-change notice from an earlier evaluation, when a later
                            one moved the customer again (or to another tier)
``recovered``               a watch notice when the customer has recovered
``campaign_ended``          a campaign task after the campaign's end
==========================  ============================================================

Alerts, greetings, gifts and onboarding tasks are never closed here: they stay open until
done, and count as overdue when late.
"""

from __future__ import annotations

from datetime import datetime, time

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tierwise.servicing.calendar import day_number, from_day_number
from tierwise.servicing.dates import NULL_DAY, days_of, iso
from tierwise.servicing.plans import INACTIVE_HOLDING, Generator

OPEN_TASK_SCHEMA = pa.schema([("task_id", pa.int64()), ("task_key", pa.string()), ("type", pa.string()),
                              ("rule", pa.string()), ("customer_id", pa.string()), ("ref", pa.string()),
                              ("anchor", pa.date32())])


def obsolete(open_tasks: pa.Table, g: Generator, fresh: pa.Table, active_campaigns: set[int]) -> list[dict]:
    """``[{task_id, reason}]`` for the open tasks made obsolete, given the generator of today's
    tasks ``g`` and the tasks it generated (``fresh``)."""
    if open_tasks.num_rows == 0:
        return []
    t = open_tasks
    pos = pc.fill_null(pc.index_in(t["customer_id"], g.ids), -1).to_numpy(zero_copy_only=False)
    typ = t["type"].to_numpy(zero_copy_only=False)
    rule = pc.fill_null(t["rule"], "").to_numpy(zero_copy_only=False)
    ref = pc.fill_null(t["ref"], "").to_numpy(zero_copy_only=False)
    anchor = days_of(t["anchor"])
    reason = np.full(t.num_rows, None, dtype=object)
    known = pos >= 0
    reason[~known] = "customer_gone"
    safe = np.where(known, pos, 0)
    plan = pc.fill_null(g.plan, "").to_numpy(zero_copy_only=False)[safe]

    # cadence: contacted, plan changed, or an earlier cycle
    cad = known & (typ == "cadence")
    cur_anchor = None
    if cad.any():
        cur_anchor = g.cadence_anchor()[safe]
        reason[cad & (ref != plan)] = "tier_changed"
        contacted = cad & (ref == plan) & (anchor != NULL_DAY) & (anchor < cur_anchor)
        reason[contacted] = "contacted"
        fresh_cad = fresh.filter(pc.equal(fresh["type"], "cadence"))
        if fresh_cad.num_rows:
            fpos = pc.fill_null(pc.index_in(t["customer_id"], fresh_cad["customer_id"]), -1).to_numpy(
                zero_copy_only=False)
            has = fpos >= 0
            fkeys = fresh_cad["task_key"].to_numpy(zero_copy_only=False)[np.where(has, fpos, 0)]
            keys = t["task_key"].to_numpy(zero_copy_only=False)
            sup = cad & has & (reason == None) & (keys != fkeys)  # noqa: E711  (object array)
            reason[sup] = "superseded"

    # maturity reminders whose holding is gone or matured before its date
    mat = known & (typ == "maturity") & (anchor != NULL_DAY) & (anchor > g.on)
    if mat.any():
        h = g.inp.holdings
        live = set()
        if h is not None and h.num_rows:
            status = pc.fill_null(pc.cast(h["status"], pa.string()), "")
            act = pc.invert(pc.is_in(status, pa.array(INACTIVE_HOLDING)))
            hh = h.filter(act)
            live = set(zip(hh["customer_id"].to_pylist(), hh["product_id"].to_pylist(),
                           iso(days_of(hh["maturity_date"])).to_pylist()))
        cids = t["customer_id"].to_pylist()
        anchors = iso(anchor).to_pylist()
        for i in np.flatnonzero(mat):
            if (cids[i], ref[i], anchors[i]) not in live:
                reason[i] = "matured_early"

    # tier-change notices overtaken by a later evaluation
    asof = g.inp.snapshot_as_of
    tc = known & (typ == "tier_change")
    if tc.any() and asof is not None:
        a = day_number(asof)
        event = pc.fill_null(g.c["tier_event"].combine_chunks(), "").to_numpy(zero_copy_only=False)[safe]
        older = tc & (anchor != NULL_DAY) & (anchor < a)
        moved = older & (np.isin(event, ["upgrade", "downgrade"]) | (ref != plan))
        reason[moved] = "tier_changed_again"
        reason[older & ~moved & (rule == "tier_change.watch") & (event == "recovered")] = "recovered"

    camp = known & (typ == "campaign")
    if camp.any():
        ended = np.array([r not in {str(c) for c in active_campaigns} for r in ref])
        reason[camp & ended] = "campaign_ended"

    ids = t["task_id"].to_numpy(zero_copy_only=False)
    out = []
    for i in np.flatnonzero(reason != None):  # noqa: E711  (object array)
        row = {"task_id": int(ids[i]), "reason": reason[i]}
        if reason[i] == "contacted":     # closed as of the contact, so compliance sees when it happened
            row["at"] = datetime.combine(from_day_number(int(cur_anchor[i])), time(0))
        out.append(row)
    return out
