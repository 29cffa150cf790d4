"""Manual overrides on top of the computed tier (软性分层, 一户一策).

An override pins a tier, or sets a floor or a ceiling, for one customer, with a reason
and an expiry, and takes effect only once a second person approved it. Several
overrides of one customer combine: a pin wins (the most recent approved pin); otherwise
the ceiling, then the floor, clamp the computed tier (a floor above a ceiling therefore
wins — in the customer's favour).
"""

from __future__ import annotations

from datetime import date

import ibis
import ibis.expr.types as ir
import pyarrow as pa

KINDS = ("pin", "floor", "ceiling")


def effective_overrides(rows: list[dict], as_of: date, level_index: dict[str, int]) -> pa.Table:
    """Reduce approved overrides in force at ``as_of`` to one row per customer.

    ``rows`` are override records (``customer_id``, ``kind``, ``tier``, ``status``,
    ``starts_on``, ``expires_on``, ``override_id``); an override is in force from its start
    date to its expiry date, both included.
    """
    per: dict[str, dict] = {}
    for r in sorted(rows, key=lambda r: r["override_id"]):
        if r["status"] != "approved" or not (r["starts_on"] <= as_of <= r["expires_on"]):
            continue
        lvl = level_index.get(r["tier"])
        if lvl is None:
            continue
        d = per.setdefault(r["customer_id"], {"pin": None, "floor": None, "ceiling": None, "ids": []})
        if r["kind"] == "pin":
            d["pin"] = lvl
        elif r["kind"] == "floor":
            d["floor"] = lvl if d["floor"] is None else max(d["floor"], lvl)
        elif r["kind"] == "ceiling":
            d["ceiling"] = lvl if d["ceiling"] is None else min(d["ceiling"], lvl)
        d["ids"].append(str(r["override_id"]))
    ids = list(per)
    return pa.table({
        "customer_id": pa.array(ids, pa.string()),
        "o_pin": pa.array([per[c]["pin"] for c in ids], pa.int64()),
        "o_floor": pa.array([per[c]["floor"] for c in ids], pa.int64()),
        "o_ceiling": pa.array([per[c]["ceiling"] for c in ids], pa.int64()),
        "override_ids": pa.array([",".join(per[c]["ids"]) for c in ids], pa.string()),
    })


def apply_overrides(tiers: ir.Table, overrides: ir.Table, n_levels: int) -> ir.Table:
    """Add ``tier_level`` (effective) and ``override_ids`` to a table with ``tier_computed``."""
    t = tiers.left_join(overrides, "customer_id").drop("customer_id_right")
    clamped = ibis.greatest(ibis.least(t.tier_computed, t.o_ceiling.fill_null(n_levels - 1)), t.o_floor.fill_null(0))
    eff = ibis.coalesce(t.o_pin, clamped)
    return t.mutate(tier_level=eff.cast("int64")).drop("o_pin", "o_floor", "o_ceiling")
