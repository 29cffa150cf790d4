"""Compliance of service plans per manager, branch or tier (服务达标率).

Over the tasks due in a window ``[since, as_of]`` (end of day):

* **cadence met %** — cadence tasks done with a contact outcome, or closed because the customer
  was contacted, by their due time; a cycle that passed without contact (``superseded``) or is
  still open counts as missed. Cadence tasks closed because the plan changed are left out.
* **birthday greetings on the day %** — greetings sent (done) on the birthday itself.
* **alerts within SLA %** — alerts done by their due time.
* **overdue** — tasks still open after their due time, at the end of ``as_of``.

>>> from datetime import datetime, date
>>> facts = [("cadence", "cadence", "m1", "b1", "gold", datetime(2024, 3, 1, 18), "done", datetime(2024, 2, 28, 10),
...           "reached", None, None),
...          ("cadence", "cadence", "m1", "b1", "gold", datetime(2024, 3, 8, 18), "open", None, None, None, None)]
>>> r = report(facts, by="manager", since=date(2024, 1, 1), as_of=date(2024, 3, 31), contact_outcomes=["reached"])
>>> r[0]["key"], r[0]["cadence_due"], r[0]["cadence_met"], r[0]["cadence_met_pct"], r[0]["overdue"]
('m1', 2, 1, 50.0, 1)
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta

GROUPS = {"manager": 2, "branch": 3, "tier": 4}
NOT_APPLICABLE = {"tier_changed", "customer_gone", "campaign_ended", "matured_early", "tier_changed_again",
                  "recovered"}


def report(facts: list[tuple], *, by: str, since: date, as_of: date, contact_outcomes: list[str]) -> list[dict]:
    """One row per group (sorted), then a total row with key ``"*"``.

    ``facts`` are ``(type, rule, manager_id, branch_id, tier, due_at, status, closed_at, outcome,
    close_reason, anchor)`` tuples (see ``Store.task_facts``)."""
    if by not in GROUPS:
        raise ValueError(f"by must be one of {sorted(GROUPS)}")
    start = datetime.combine(since, time(0))
    end = datetime.combine(as_of + timedelta(days=1), time(0))
    gi = GROUPS[by]
    rows: dict[str, dict] = defaultdict(lambda: dict.fromkeys(
        ("cadence_due", "cadence_met", "birthdays", "birthdays_on_day", "alerts", "alerts_in_sla", "overdue",
         "open", "done"), 0))
    for f in facts:
        typ, rule, due, status, closed, outcome, reason, anchor = f[0], f[1], f[5], f[6], f[7], f[8], f[9], f[10]
        for key in (f[gi] or "—", "*"):
            r = rows[key]
            if status == "open":
                r["open"] += 1
                if due < end:
                    r["overdue"] += 1
            elif status == "done":
                r["done"] += 1
            if not (start <= due < end) or reason in NOT_APPLICABLE:
                continue
            met_in_time = closed is not None and closed <= due
            if typ == "cadence":
                r["cadence_due"] += 1
                contacted = (status == "done" and outcome in contact_outcomes) or reason == "contacted"
                r["cadence_met"] += int(contacted and met_in_time)
            elif rule == "birthday.greeting":
                r["birthdays"] += 1
                r["birthdays_on_day"] += int(status == "done" and closed is not None and anchor is not None
                                             and closed.date() == anchor)
            elif typ == "alert":
                r["alerts"] += 1
                r["alerts_in_sla"] += int(status == "done" and met_in_time)
    out = []
    for key in sorted(k for k in rows if k != "*") + (["*"] if "*" in rows else []):
        r = rows[key]
        out.append({"by": by, "key": key, **r,
                    "cadence_met_pct": _pct(r["cadence_met"], r["cadence_due"]),
                    "birthdays_on_day_pct": _pct(r["birthdays_on_day"], r["birthdays"]),
                    "alerts_in_sla_pct": _pct(r["alerts_in_sla"], r["alerts"])})
    return out


def _pct(a: int, b: int) -> float | None:
    return round(100.0 * a / b, 1) if b else None
