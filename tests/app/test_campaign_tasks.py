"""#6 with #7: a started campaign's tasks go to its treated members only — the control group never
receives one — and the control group is the same for the same seed."""

from __future__ import annotations

from datetime import date

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
