"""#6 with #7: a started campaign's tasks go to its treated members only — the control group never
receives one — and the control group is the same for the same seed."""

from __future__ import annotations

from datetime import date

import pytest

from tierwise.app.campaigns import create_campaign, start_campaign
from tierwise.app.servicing import list_tasks
from tierwise.app.servicing_generate import generate_tasks

from .test_runs import base, ws  # noqa: F401  (a bank workspace with runs for 2024-09-30 and 2024-10-31)


def test_campaign_tasks_reach_treated_members_only(ws):  # noqa: F811
    c = create_campaign(ws, "基金升级", "rule", "aum_avg_3m >= 0", date(2024, 11, 1), date(2024, 11, 30),
                        control_share=0.3, seed=5,
                        strategy={"task": {"template": {"zh-CN": "请联系{{ name }}介绍基金", "en": "Call {{ name }}"},
                                           "due_days": 3}})
    start_campaign(ws, c["campaign_id"])
    members = ws.store().campaign_members(c["campaign_id"])
    treated = {m["customer_id"] for m in members if m["arm"] == "treatment"}
    control = {m["customer_id"] for m in members if m["arm"] == "control"}
    assert treated and control and not treated & control
    generate_tasks(ws, on=date(2024, 11, 1))
    generate_tasks(ws, on=date(2024, 11, 4))      # a rerun on a later day adds nothing
    tasks = [t for t in list_tasks(ws, status=None, limit=None) if t["type"] == "campaign"]
    assert {t["customer_id"] for t in tasks} == treated
    assert len(tasks) == len(treated)             # one each, no duplicates
    assert all(t["message"].startswith("请联系") for t in tasks)
    # the same seed gives the same control group
    again = create_campaign(ws, "基金升级（复制）", "rule", "aum_avg_3m >= 0", date(2024, 11, 1), date(2024, 11, 30),
                            control_share=0.3, seed=5)
    start_campaign(ws, again["campaign_id"])
    assert {m["customer_id"] for m in ws.store().campaign_members(again["campaign_id"]) if m["arm"] == "control"} \
        == control


def test_uplift_and_next_best_products_are_exportable(ws, tmp_path):  # noqa: F811
    import csv

    import pyarrow.parquet as pq

    from tierwise.app.campaigns import evaluate_campaign, export_evaluation
    from tierwise.app.upgrading import export_products, products_for
    from tierwise.snapshots.store import SnapshotStore

    c = create_campaign(ws, "uplift", "rule", "aum_avg_3m >= 0", date(2024, 9, 1), date(2024, 10, 31), seed=9)
    start_campaign(ws, c["campaign_id"])
    res = export_evaluation(ws, c["campaign_id"], tmp_path / "uplift.csv")
    rows = list(csv.DictReader((tmp_path / "uplift.csv").open(encoding="utf-8-sig")))
    ev = evaluate_campaign(ws, c["campaign_id"])
    assert res["rows"] == len(rows) == len(ev["overall"]) * (1 + len(ev["by_manager"]) + len(ev["by_tier"]))
    overall = {r["metric"]: r for r in rows if r["scope"] == "overall"}
    for metric, u in ev["overall"].items():
        assert overall[metric]["status"] == u["status"]
        assert int(overall[metric]["n_treatment"]) == u["n_treatment"]
        if u["uplift"] is not None:
            assert float(overall[metric]["uplift"]) == pytest.approx(u["uplift"])
    import pyarrow as pa

    info = SnapshotStore(ws.snapshots).current()
    path = SnapshotStore(ws.snapshots).path(info.run_id) / "next_best_products.parquet"
    ids = SnapshotStore(ws.snapshots).read(info.run_id)["customer_id"].to_pylist()[:3]
    # a known set of recommendations for three customers (this small workspace has too few holders for any)
    pq.write_table(pa.table({"customer_id": [ids[0], ids[0], ids[1], ids[2]], "product": ["FUND", "INS", "FUND", "BOND"],
                             "next_rate": [0.62, 0.4, 0.62, 0.3], "own_rate": [0.1, 0.05, 0.1, 0.0],
                             "lift": [6.2, 8.0, 6.2, None], "nbp_rank": [1, 2, 1, 1]}), path)
    nbp = pq.read_table(path)
    out = export_products(ws, tmp_path / "nbp.csv")
    got = list(csv.DictReader((tmp_path / "nbp.csv").open(encoding="utf-8-sig")))
    assert out["rows"] == len(got) == nbp.num_rows
    assert [(g["customer_id"], g["product"]) for g in got] == \
        [(ids[0], "FUND"), (ids[0], "INS"), (ids[1], "FUND"), (ids[2], "BOND")]
    assert [g["why"] for g in got if g["customer_id"] == ids[0]] == \
        [p["why"] for p in products_for(ws, ids[0])["products"]]
    assert got[0]["why"].startswith("62%")
    assert [e["action"] for e in ws.store().audit_entries()][-2:] == ["export.written", "export.written"]
