"""Runs and snapshots: repeatable, history and migrations, overrides end to end, explanations."""

from __future__ import annotations

import json
import shutil
from datetime import date

import pyarrow.compute as pc
import pytest

from tierwise.app.demo import run_demo
from tierwise.app.history import customer_history, distribution_over_time, explain, migration_matrix
from tierwise.app.overrides import decide_override, request_override
from tierwise.app.run import due_dates, period_ends, run_evaluation
from tierwise.app.workspace import open_workspace
from tierwise.errors import UserInputError
from tierwise.snapshots.store import SnapshotStore

MONTHS = period_ends(date(2024, 9, 1), date(2024, 12, 31), "month")


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """A bank workspace with runs for 2024-09-30 and 2024-10-31 (clusters off: tested elsewhere)."""
    root = tmp_path_factory.mktemp("runs") / "ws"
    run_demo(root, preset="bank", n_customers=300, seed=21)
    p = root / "policy.yaml"
    p.write_text(p.read_text(encoding="utf-8").replace("clusters:\n  enabled: true", "clusters:\n  enabled: false"),
                 encoding="utf-8")
    w = open_workspace(root)
    for d in MONTHS[:2]:
        run_evaluation(w, d)
    return root


@pytest.fixture
def ws(base, tmp_path):
    root = tmp_path / "ws"
    shutil.copytree(base, root)
    return open_workspace(root)


def snapshot(ws, ref=None):
    snaps = SnapshotStore(ws.snapshots)
    return snaps.read(snaps.find(ref).run_id)


def test_backfill_history_and_migration(ws):
    records = [run_evaluation(ws, d) for d in MONTHS[2:]]
    assert [r["as_of"] for r in records] == [d.isoformat() for d in MONTHS[2:]]
    dist = distribution_over_time(ws)
    assert [sum(r["tiers"].values()) for r in dist] == [300] * 4
    for r in records:
        assert r["previous"] is not None
    mm = migration_matrix(ws, "2024-09-30", "2024-12-31")
    assert sum(sum(row.values()) for row in mm["counts"].values()) == 300
    a, b = snapshot(ws, "2024-09-30"), snapshot(ws, "2024-12-31")
    # the matrix equals a direct count of the two snapshots
    pairs = list(zip(a.sort_by("customer_id")["tier"].to_pylist(), b.sort_by("customer_id")["tier"].to_pylist()))
    for f in mm["levels"][:-1]:
        for t in mm["levels"][:-1]:
            assert mm["counts"][f][t] == sum(1 for p in pairs if p == (f, t))
    levels = mm["levels"][:-1]
    assert mm["upgrades"] == sum(1 for f, t in pairs if levels.index(t) > levels.index(f))
    # every customer has exactly one tier per run, and events follow tier changes
    for d in MONTHS:
        s = snapshot(ws, d.isoformat())
        assert s["tier"].null_count == 0 and pc.count_distinct(s["customer_id"]).as_py() == 300


def test_rerun_gives_an_identical_snapshot(ws):
    snaps = SnapshotStore(ws.snapshots)
    first = snaps.find("2024-10-31")
    second = run_evaluation(ws, date(2024, 10, 31))
    assert first.run_id != second["run_id"] and first.digest == second["digest"]
    snaps = SnapshotStore(ws.snapshots)
    assert snaps.find("2024-10-31").run_id == second["run_id"]   # the later run is in force


def test_overrides_need_a_second_person_and_expire(ws):
    s = snapshot(ws)
    cid = next(r["customer_id"] for r in s.to_pylist() if r["tier"] == "standard")
    o = request_override(ws, cid, "pin", "private", "一户一策：战略客户", date(2024, 12, 31), "alice",
                         starts_on=date(2024, 11, 1))
    with pytest.raises(UserInputError, match="cannot approve"):
        decide_override(ws, o["override_id"], True, "alice")
    # requested but not approved: no effect
    run_evaluation(ws, date(2024, 11, 30))
    assert _row(snapshot(ws), cid)["tier"] == "standard"
    decide_override(ws, o["override_id"], True, "bob", "approved by branch manager")
    run_evaluation(ws, date(2024, 11, 30))
    row = _row(snapshot(ws), cid)
    assert (row["tier"], row["tier_computed"], row["override_ids"], row["tier_event"]) == (
        "private", 0, str(o["override_id"]), "upgrade")
    e = explain(ws, cid)
    assert e["tier"] == "private" and e["tier_computed"] == "standard" and e["overrides"][0]["decided_by"] == "bob"
    # after the expiry date the ladder takes over again
    run_evaluation(ws, date(2025, 1, 31))
    row = _row(snapshot(ws), cid)
    assert (row["tier"], row["override_ids"], row["tier_event"]) == ("standard", None, "downgrade")
    actions = [a["action"] for a in ws.store().audit_entries()]
    assert actions.count("override.request") == 1 and actions.count("override.approve") == 1
    assert ws.store().verify_audit() == (True, None)


def test_floor_and_ceiling(ws):
    s = snapshot(ws).to_pylist()
    low = next(r["customer_id"] for r in s if r["tier"] == "standard")
    high = next(r["customer_id"] for r in s if r["tier"] in ("platinum", "diamond", "private"))
    for cid, kind, tier in ((low, "floor", "gold"), (high, "ceiling", "gold")):
        o = request_override(ws, cid, kind, tier, "test", date(2025, 12, 31), "alice", starts_on=date(2024, 1, 1))
        decide_override(ws, o["override_id"], True, "bob")
    run_evaluation(ws, date(2024, 11, 30))
    now = snapshot(ws)
    assert _row(now, low)["tier"] == "gold" and _row(now, high)["tier"] == "gold"


def test_explain_gap_and_history(ws):
    s = snapshot(ws).to_pylist()
    r = next(r for r in s if r["tier"] == "gold")
    e = explain(ws, r["customer_id"])
    assert e["next_tier"] == "platinum"
    assert e["gap_to_next"] == pytest.approx(round(500000 - r["tier_metric"], 2))
    assert len(customer_history(ws, r["customer_id"])) == 2
    with pytest.raises(UserInputError, match="not in run"):
        explain(ws, "nobody")


def test_due_dates_catch_up_in_order(ws, tmp_path):
    assert due_dates(ws, date(2025, 3, 15), date(2024, 12, 31)) == [date(2024, 11, 30), date(2024, 12, 31)]
    assert due_dates(ws, date(2024, 12, 10), date(2024, 12, 31)) == [date(2024, 11, 30)]   # not past today
    fresh = tmp_path / "fresh"
    shutil.copytree(ws.root, fresh)
    shutil.rmtree(fresh / "snapshots")
    assert due_dates(open_workspace(fresh), date(2025, 3, 15), date(2024, 12, 31)) == [date(2024, 12, 31)]


def _row(table, cid):
    return table.filter(pc.equal(table["customer_id"], cid)).to_pylist()[0]


def test_whatif_moves_exactly_the_customers_the_new_thresholds_reach(ws, tmp_path):
    from tierwise.app.whatif import what_if

    text = (ws.root / "policy.yaml").read_text(encoding="utf-8")
    proposed = tmp_path / "proposed.yaml"
    proposed.write_text(text.replace("entry: 50000, maintain: 40000", "entry: 30000, maintain: 25000"), encoding="utf-8")
    before = (ws.root / "snapshots" / "index.json").read_text()
    r = what_if(ws, proposed)
    assert (ws.root / "snapshots" / "index.json").read_text() == before       # nothing published
    now = {x["customer_id"]: x for x in snapshot(ws, "2024-10-31").to_pylist()}
    prev = {x["customer_id"]: x for x in snapshot(ws, "2024-09-30").to_pylist()}
    # standard now, and either reaches the new gold entry, or held gold last month and meets the new maintain
    expected = {c for c, x in now.items() if x["tier"] == "standard" and (
        x["tier_metric"] >= 30000 or (prev[c]["tier"] == "gold" and x["tier_metric"] >= 25000))}
    assert r["counts"]["standard"]["gold"] == len(expected) == r["moved"] == r["upgrades"]
    assert r["downgrades"] == 0
    assert ws.store().audit_entries()[-1]["action"] == "policy.whatif"


def test_upgrade_candidates_and_products_in_runs(ws):
    import pyarrow.parquet as pq

    from tierwise.app.upgrading import list_candidates, products_for

    pol = ws.root / "policy.yaml"
    pol.write_text(pol.read_text(encoding="utf-8").replace("min_support: 0.3", "min_support: 0.1")
                   .replace("min_lift: 1.5", "min_lift: 1.1"), encoding="utf-8")
    run_evaluation(ws, MONTHS[2])
    snaps = SnapshotStore(ws.snapshots)
    base = snaps.path(snaps.current().run_id)
    cust = {r["customer_id"]: r for r in snaps.read(snaps.current().run_id).to_pylist()}
    entries = [0, 50000, 500000, 2000000, 6000000]
    run_id, rows = list_candidates(ws)
    assert rows and [r["rank"] for r in rows] == list(range(1, len(rows) + 1))
    for r in rows:
        c = cust[r["customer_id"]]
        assert r["next_entry"] == entries[c["tier_level"] + 1]
        assert r["gap"] == pytest.approx(max(r["next_entry"] - c["tier_metric"], 0))
        assert ("near" in r["candidate_kind"]) == (r["gap_share"] <= 0.2)
        assert 0 < r["likelihood"] <= 1
    near = {c for c, x in cust.items() if x["tier_level"] < 4
            and max(entries[x["tier_level"] + 1] - x["tier_metric"], 0) / entries[x["tier_level"] + 1] <= 0.2}
    assert near == {r["customer_id"] for r in rows if "near" in r["candidate_kind"]}
    mine = list_candidates(ws, manager=rows[0]["manager_id"])[1]
    assert [r["rank_in_manager"] for r in mine] == list(range(1, len(mine) + 1))
    # recommended products are never ones the customer holds, and meet support and lift
    held = {(r["customer_id"], r["product_type"]) for r in pq.read_table(ws.data.table_files("holdings")).to_pylist()
            if (r["maturity_date"] is None or r["maturity_date"] > MONTHS[2])
            and (r["open_date"] is None or r["open_date"] <= MONTHS[2])}
    nbp = pq.read_table(base / "next_best_products.parquet").to_pylist()
    assert nbp
    for r in nbp:
        assert (r["customer_id"], r["product"]) not in held
        assert r["next_rate"] >= 0.1 and (r["lift"] is None or r["lift"] >= 1.1)
    p = products_for(ws, nbp[0]["customer_id"], locale="en")
    assert p["products"][0]["why"].startswith(f"{p['products'][0]['next_rate']:.0%} of ")


def test_campaign_frozen_membership_and_evaluation(ws):
    from tierwise.app.campaigns import create_campaign, evaluate_campaign, start_campaign

    c = create_campaign(ws, "金卡提升", "rule", "tier_level < 4", date(2024, 11, 1), date(2024, 12, 31),
                        control_share=0.25, seed=7)
    started = start_campaign(ws, c["campaign_id"])
    assert started["start_run_id"] == SnapshotStore(ws.snapshots).current().run_id
    members = ws.store().campaign_members(c["campaign_id"])
    assert len(members) == started["members"] > 0
    assert abs(started["control"] - 0.25 * len(members)) <= len({m["stratum"] for m in members})
    with pytest.raises(UserInputError, match="already started"):
        start_campaign(ws, c["campaign_id"])
    run_evaluation(ws, MONTHS[2])
    ev = evaluate_campaign(ws, c["campaign_id"], min_group=10)
    # recompute the upgrade rates of the two arms straight from the snapshots
    start = {r["customer_id"]: r for r in snapshot(ws, "2024-10-31").to_pylist()}
    now = {r["customer_id"]: r for r in snapshot(ws, "2024-11-30").to_pylist()}
    arms = {m["customer_id"]: m["arm"] for m in members}
    for arm, key in (("treatment", "mean_treatment"), ("control", "mean_control")):
        ids = [cid for cid, a in arms.items() if a == arm]
        want = sum(now[i]["tier_level"] > start[i]["tier_level"] for i in ids) / len(ids)
        assert ev["overall"]["upgraded"][key] == pytest.approx(want)
    rev = ev["overall"]["revenue"]
    assert rev["status"] in ("ok", "not_enough_data") and rev["n_treatment"] + rev["n_control"] == len(members)
    assert set(ev["by_tier"]) <= {"standard", "gold", "platinum", "diamond"}
