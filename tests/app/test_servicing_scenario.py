"""The issue's main check: a small bank over a year, tasks generated every day, against expectations
written by hand from the policy and the official 2024/2025 Chinese holiday calendar.

Customers (bank preset, business days per the CN calendar, roll: previous, horizon 7 days):

* C1 王一 — gold, born 29 Feb 1980; contacted 2023-12-20; holds P2 maturing on 2024-10-05 (a holiday) and
  redeems it early; enters watch in the August evaluation and is downgraded in September.
* C2 李二 — opens an account on 2024-05-06 (onboarding, with a make-up Saturday in the count); platinum
  from the June evaluation (monthly cadence, one cycle due on National Day moved back to 30 Sep); birthday
  on a Saturday (gift due the Friday before).
* C3 张三 — standard, contacted 2023-12-01, completes a cadence call; holds P1 maturing 2024-10-08, whose
  reminder date (1 Oct) is a holiday; upgraded to gold in June.
* Manager M1 leaves on 2024-07-15: C1 and C3 and their open tasks go to M2 (M9, the branch head,
  serves private banking only, so the rules skip him).
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import pyarrow as pa
import pytest

from tierwise.app.assign import assign_customers, import_managers, manager_leaves, unassigned
from tierwise.app.importing import import_table
from tierwise.app.servicing import complete_task, list_tasks
from tierwise.app.servicing_contacts import import_contacts
from tierwise.app.servicing_generate import generate_tasks
from tierwise.snapshots.store import SnapshotStore, write_table

CUSTOMERS = """customer_id,name,phone,email,birthday,open_date,manager_id,branch_id
C1,王一,13800000001,c1@example.com,1980-02-29,2015-03-01,M1,B1
C3,张三,13800000003,c3@example.com,1990-12-25,2010-01-10,M1,B1
"""
CUSTOMERS_MAY = CUSTOMERS + "C2,李二,13800000002,c2@example.com,1975-08-17,2024-05-06,M2,B1\n"
HOLDINGS = """customer_id,product_id,product_name,product_type,open_date,maturity_date,amount,status
C3,P1,稳健理财1号,wealth,2023-10-08,2024-10-08,100000,holding
C1,P2,月月盈,wealth,2023-10-05,2024-10-05,50000,holding
"""
HOLDINGS_REDEEMED = HOLDINGS.replace("2024-10-05,50000,holding", "2024-10-05,50000,redeemed")
INTERACTIONS = """interaction_id,customer_id,interaction_time,kind,manager_id
I1,C1,2023-12-20 10:00,contact,M1
I2,C3,2023-12-01 15:00,contact,M1
"""
MANAGERS = """manager_id,name,branch_id,reports_to,capacity,active,tiers
M1,赵经理,B1,M9,,1,
M2,钱经理,B1,M9,,1,
M9,孙行长,B1,,,1,private
"""
LEVELS = ["standard", "gold", "platinum", "diamond", "private"]
#: hand-written evaluations: as of → {customer: (tier, event, previous tier)}; published the morning after
SNAPSHOTS = {
    date(2023, 12, 31): {"C1": ("gold", "new", None), "C3": ("standard", "new", None)},
    date(2024, 6, 30): {"C1": ("gold", None, "gold"), "C2": ("platinum", "new", None),
                        "C3": ("gold", "upgrade", "standard")},
    date(2024, 8, 31): {"C1": ("gold", "watch", "gold"), "C2": ("platinum", None, "platinum"),
                        "C3": ("gold", None, "gold")},
    date(2024, 9, 30): {"C1": ("standard", "downgrade", "gold"), "C2": ("platinum", None, "platinum"),
                        "C3": ("gold", None, "gold")},
}

D = date.fromisoformat


def T(s: str) -> datetime:
    return datetime.fromisoformat(s)


# (customer, rule, due, created on, manager at the end, status, close reason) — computed by hand; open tasks
# follow their customer to the new manager when M1 leaves (the unsent Feb greeting too)
EXPECTED = [
    ("C1", "birthday.greeting", "2024-02-29 09:00", "2024-02-22", "M2", "open", None),    # leap year: 29 Feb
    ("C1", "cadence", "2024-03-20 18:00", "2024-03-13", "M1", "done", "contacted"),       # 2023-12-20 + 3 months
    ("C2", "onboarding.welcome", "2024-05-06 09:00", "2024-05-06", "M2", "open", None),
    ("C2", "onboarding.vip_card", "2024-05-14 18:00", "2024-05-06", "M2", "open", None),  # Sat 11 May works
    ("C2", "onboarding.handbook", "2024-05-14 18:00", "2024-05-06", "M2", "open", None),
    ("C3", "cadence", "2024-05-31 18:00", "2024-05-24", "M1", "done", None),              # Sat 1 Jun → Fri
    ("C1", "cadence", "2024-06-18 18:00", "2024-06-11", "M2", "closed", "superseded"),    # contact 18 Mar + 3
    ("C3", "tier_change.upgrade", "2024-07-01 09:00", "2024-07-01", "M2", "open", None),
    ("C2", "cadence", "2024-07-05 18:00", "2024-07-01", "M2", "closed", "superseded"),    # 6 May + 2 m (Sat)
    ("C2", "cadence", "2024-08-06 18:00", "2024-07-30", "M2", "closed", "superseded"),
    ("C2", "birthday.gift", "2024-08-16 18:00", "2024-08-09", "M2", "open", None),         # Sat 17 Aug → Fri
    ("C2", "birthday.greeting", "2024-08-17 09:00", "2024-08-10", "M2", "open", None),
    ("C3", "cadence", "2024-08-30 18:00", "2024-08-23", "M2", "closed", "superseded"),    # gold: 31 May + 3 (Sat)
    ("C2", "cadence", "2024-09-06 18:00", "2024-08-30", "M2", "closed", "superseded"),
    ("C1", "tier_change.watch", "2024-09-04 18:00", "2024-09-01", "M2", "closed", "tier_changed_again"),
    ("C1", "cadence", "2024-09-18 18:00", "2024-09-11", "M2", "closed", "tier_changed"),
    ("C1", "maturity", "2024-09-27 18:00", "2024-09-20", "M2", "closed", "matured_early"),  # 5 Oct − 7 = Sat 28
    ("C3", "maturity", "2024-09-30 18:00", "2024-09-23", "M2", "open", None),              # 8 Oct − 7 = 1 Oct
    ("C2", "cadence", "2024-09-30 18:00", "2024-09-23", "M2", "closed", "superseded"),    # 6 Oct (holiday)
    ("C1", "tier_change.downgrade", "2024-10-10 18:00", "2024-10-01", "M2", "open", None),  # 3 business days
    ("C1", "cadence", "2024-09-18 18:00", "2024-10-01", "M2", "open", None),              # standard: 18 Mar + 6
    ("C2", "cadence", "2024-11-06 18:00", "2024-10-30", "M2", "closed", "superseded"),
    ("C3", "cadence", "2024-11-29 18:00", "2024-11-22", "M2", "closed", "superseded"),
    ("C2", "cadence", "2024-12-06 18:00", "2024-11-29", "M2", "closed", "superseded"),
    ("C3", "birthday.greeting", "2024-12-25 09:00", "2024-12-18", "M2", "open", None),
    ("C2", "cadence", "2025-01-06 18:00", "2024-12-30", "M2", "closed", "superseded"),
    ("C2", "cadence", "2025-02-06 18:00", "2025-01-30", "M2", "closed", "superseded"),    # after Spring Festival
    ("C1", "birthday.greeting", "2025-02-28 09:00", "2025-02-21", "M2", "open", None),    # common year: 28 Feb
    ("C3", "cadence", "2025-02-28 18:00", "2025-02-21", "M2", "open", None),
    ("C2", "cadence", "2025-03-06 18:00", "2025-02-27", "M2", "open", None),
]


def _publish(ws, as_of: date) -> None:
    rows = SNAPSHOTS[as_of]
    ids = sorted(rows)
    tbl = pa.table({
        "customer_id": ids, "tier": [rows[c][0] for c in ids],
        "tier_level": [LEVELS.index(rows[c][0]) for c in ids],
        "tier_event": [rows[c][1] for c in ids],
        "tier_level_prev": pa.array([LEVELS.index(rows[c][2]) if rows[c][2] else None for c in ids], pa.int64()),
        "tier_since": pa.array([None] * len(ids), pa.int64()),
        "churn_warnings": pa.array([None] * len(ids), pa.string())})
    snaps = SnapshotStore(ws.snapshots)
    run_id = snaps.next_run_id()
    staged = snaps.staging(run_id)
    write_table(tbl, staged / "customers.parquet")
    (staged / "run.json").write_text(json.dumps({"run_id": run_id, "as_of": as_of.isoformat()}), encoding="utf-8")
    snaps.publish(run_id, as_of, staged)


def _import(ws, tmp_path, table: str, text: str, today: date) -> None:
    p = tmp_path / f"{table}-{today}.csv"
    p.write_text(text, encoding="utf-8")
    import_table(ws, table, str(p), today=today)


@pytest.fixture
def bank(make_workspace, tmp_path):
    ws = make_workspace("bank")
    pol = ws.policy_path.read_text(encoding="utf-8")
    # holidays, alerts, campaigns and target returns are tested elsewhere; keep this year to its subject
    start = pol.index("  holidays:\n")
    end = pol.index("  alerts:\n")
    pol = pol[:start] + "  holidays: []\n" + pol[end:]
    pol = pol.replace("  alerts:\n    enabled: true", "  alerts:\n    enabled: false", 1)
    pol = pol.replace("  target_return:              # 达到目标收益提醒\n    enabled: true",
                      "  target_return:\n    enabled: false", 1)
    ws.policy_path.write_text(pol, encoding="utf-8")
    (tmp_path / "managers.csv").write_text(MANAGERS, encoding="utf-8")
    import_managers(ws, tmp_path / "managers.csv")
    _import(ws, tmp_path, "customers", CUSTOMERS, date(2024, 1, 1))
    _import(ws, tmp_path, "holdings", HOLDINGS, date(2024, 1, 1))
    _import(ws, tmp_path, "interactions", INTERACTIONS, date(2024, 1, 1))
    return ws


@pytest.mark.slow
def test_a_year_of_daily_generation(bank, tmp_path):
    ws = bank
    assert assign_customers(ws, actor="ops")["unassigned"] == 0
    day, end = date(2024, 1, 2), date(2025, 3, 5)
    _publish(ws, date(2023, 12, 31))
    while day <= end:
        if day - timedelta(days=1) in SNAPSHOTS:                 # the month-end run, the morning after
            _publish(ws, day - timedelta(days=1))
        if day == date(2024, 3, 18):                             # a contact log: C1 reached
            (tmp_path / "log.csv").write_text("客户号,联系时间,客户经理,渠道,结果\nC1,2024-03-18 10:00,M1,phone,已联系\n",
                                              encoding="utf-8")
            assert import_contacts(ws, tmp_path / "log.csv")["cadence_closed"] == 1
        if day == date(2024, 5, 6):                              # a new customer
            _import(ws, tmp_path, "customers", CUSTOMERS_MAY, day)
            assert assign_customers(ws, actor="ops")["by_rule"] == {"initial": 1}
        if day == date(2024, 7, 15):
            res = manager_leaves(ws, "M1", actor="hr")
            assert res["by_rule"] == {"reassigned": 2} and res["unassigned"] == 0 and not unassigned(ws)
        if day == date(2024, 9, 25):                             # P2 redeemed before it matures
            _import(ws, tmp_path, "holdings", HOLDINGS_REDEEMED, day)
        generate_tasks(ws, day)
        if day.day in (1, 15):                                   # rerunning a day changes nothing
            again = generate_tasks(ws, day)
            assert (again["created"], again["closed"], again["queued"]) == (0, 0, 0)
        if day == date(2024, 5, 31):                             # C3's call is made
            (task,) = [t for t in list_tasks(ws, customer_id="C3", status="open") if t["type"] == "cadence"]
            complete_task(ws, task["task_id"], outcome="reached", actor="M1", at=T("2024-05-31 15:00"))
        day += timedelta(days=1)

    got = sorted((t["customer_id"], t["rule"], t["due_at"][:16].replace("T", " "), t["created_on"], t["manager_id"],
                  t["status"], t["close_reason"]) for t in list_tasks(ws, status=None, limit=None))
    assert got == sorted(EXPECTED)
    keys = [t["task_key"] for t in list_tasks(ws, status=None, limit=None)]
    assert len(keys) == len(set(keys))
    # closures happen on the day the reason appears
    by = {(t["customer_id"], t["rule"], t["due_at"][:10]): t for t in list_tasks(ws, status=None, limit=None)}
    assert by[("C1", "maturity", "2024-09-27")]["closed_at"].startswith("2024-09-25")
    assert by[("C1", "tier_change.watch", "2024-09-04")]["closed_at"].startswith("2024-10-01")
    assert by[("C1", "cadence", "2024-03-20")]["closed_at"] == "2024-03-18T10:00:00"
    assert by[("C1", "cadence", "2024-03-20")]["outcome"] == "reached"
    assert by[("C2", "cadence", "2024-09-30")]["closed_at"].startswith("2024-10-30")
    # messages: the sms steps (welcome, upgrade notice, greetings) are in the outbox, once each
    out = ws.store().list_outbox(limit=None)
    assert sorted((m["customer_id"], m["subject"]) for m in out) == sorted(
        (c, r) for c, r, *_ in EXPECTED if r in ("onboarding.welcome", "tier_change.upgrade", "birthday.greeting"))
    # recipients are sealed in the store and open to the customer's real number
    from tierwise.app.servicing_outbox import opened
    assert not any("13800000001" in (m["recipient"] or "") for m in out)
    ring = ws.keyring()
    assert {opened(ring, m)["recipient"] for m in out if m["customer_id"] == "C1"} == {"13800000001"}
    # history: M1's customers moved, audited
    hist = ws.store().assignment_history()
    assert [(h["customer_id"], h["from_manager"], h["to_manager"], h["rule"]) for h in hist if h["rule"] == "reassigned"] \
        == [("C1", "M1", "M2", "reassigned"), ("C3", "M1", "M2", "reassigned")]
    actions = [e["action"] for e in ws.store().audit_entries()]
    assert "manager.leave" in actions and actions.count("task.complete") == 1
    assert ws.store().verify_audit() == (True, None)
