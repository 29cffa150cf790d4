"""Calendar, dates, templates, policy section and assignment, against hand-computed answers."""

from __future__ import annotations

from datetime import date

import numpy as np
import pyarrow as pa
import pytest

from tierwise.config.policy import parse_policy
from tierwise.config.presets import render_preset
from tierwise.errors import PolicyError
from tierwise.servicing.assignment import assign
from tierwise.servicing.calendar import china_calendar, day_number, from_day_number
from tierwise.servicing.dates import add_months, birthday_in_year
from tierwise.servicing.messages import MessageTemplate


def test_chinese_calendar_2024_holidays_and_make_up_days():
    cal = china_calendar(2024)
    # National Day 1–7 Oct 2024 off; Sun 29 Sep and Sat 12 Oct are make-up working days (official notice)
    assert [cal.is_business_day(date(2024, 10, d)) for d in range(1, 8)] == [False] * 7
    assert cal.is_business_day(date(2024, 9, 29)) and cal.is_business_day(date(2024, 10, 12))
    assert not cal.is_business_day(date(2024, 10, 13))          # an ordinary Sunday
    # Spring Festival 10–17 Feb 2024; Sun 4 Feb and Sun 18 Feb are working days
    assert cal.is_business_day(date(2024, 2, 4)) and cal.is_business_day(date(2024, 2, 18))
    assert not any(cal.is_business_day(date(2024, 2, d)) for d in range(10, 18))
    assert cal.roll(date(2024, 10, 5), "previous") == date(2024, 9, 30)
    assert cal.roll(date(2024, 10, 5), "next") == date(2024, 10, 8)
    assert cal.add_business_days(date(2024, 9, 30), 1) == date(2024, 10, 8)
    assert cal.add_business_days(date(2024, 10, 8), -1) == date(2024, 9, 30)


def test_vectorised_roll_equals_one_at_a_time():
    cal = china_calendar(2024)
    days = np.arange(day_number(date(2024, 1, 1)), day_number(date(2024, 12, 31)))
    for how in ("previous", "next"):
        v = cal.roll_days(days, how)
        assert [from_day_number(x) for x in v[::7]] == [cal.roll(from_day_number(d), how) for d in days[::7]]


@pytest.mark.parametrize("rule, expect", [("feb28", date(2025, 2, 28)), ("mar1", date(2025, 3, 1))])
def test_29_february_in_a_common_year(rule, expect):
    born = np.array([day_number(date(2000, 2, 29)), day_number(date(1990, 3, 1)), day_number(date(1990, 2, 28))])
    got = [from_day_number(x) for x in birthday_in_year(born, np.array([2025] * 3), rule)]
    assert got == [expect, date(2025, 3, 1), date(2025, 2, 28)]
    leap = [from_day_number(x) for x in birthday_in_year(born[:1], np.array([2024]), rule)]
    assert leap == [date(2024, 2, 29)]


def test_add_months_clips_to_month_end():
    d = np.array([day_number(date(2024, 1, 31)), day_number(date(2024, 8, 31)), day_number(date(2023, 12, 15))])
    assert [from_day_number(x) for x in add_months(d, 1)] == [date(2024, 2, 29), date(2024, 9, 30), date(2024, 1, 15)]
    assert [from_day_number(x) for x in add_months(d, 6)] == [date(2024, 7, 31), date(2025, 2, 28), date(2024, 6, 15)]


@pytest.mark.parametrize("text", [
    "尊敬的{{ name }}，您的{{ product }}于{{ maturity_date }}到期，金额{{ amount }}元。",
    "{{name}}{{product}}",
    "plain text only",
    "{{ name }}\n第二行 {{ amount }}\n",
])
def test_vectorised_rendering_equals_the_sandbox(text):
    t = MessageTemplate("m", text, kind="maturity")
    ctx = {"name": pa.array(["张三", None, "O'Brien <b>"]), "product": pa.array(["理财A", "B", None]),
           "maturity_date": pa.array(["2024-10-08"] * 3), "amount": pa.array(["1,000.00", "2.50", "0.00"])}
    fast = t.render_column(ctx, 3).to_pylist()
    slow = [t.render(**{k: v[i].as_py() for k, v in ctx.items()}) for i in range(3)]
    assert t.simple and fast == slow


def test_templates_with_logic_render_row_by_row():
    t = MessageTemplate("m", "{% if amount %}{{ name|upper }}{% else %}-{% endif %}", kind="maturity")
    assert not t.simple
    assert t.render_column({"name": pa.array(["ab", "cd"]), "amount": pa.array(["1", None])}, 2).to_pylist() == ["AB", "-"]


def test_unknown_field_and_unsafe_code_are_located_policy_errors():
    with pytest.raises(PolicyError, match=r"templates → m: field 'prodct' is not available in maturity messages; "
                                          r"did you mean 'product'\?"):
        MessageTemplate("m", "{{ prodct }}", kind="maturity")
    base = render_preset("bank")
    bad = base.replace('zh-CN: "{{ name }}持有的{{ product }}', 'zh-CN: "{{ name.__class__.__mro__ }}{{ product }}', 1)
    with pytest.raises(PolicyError, match="templates → maturity → zh-CN: SecurityError"):
        parse_policy(bad)
    typo = base.replace("{{ maturity_date }}到期", "{{ maturity_day }}到期", 1)
    with pytest.raises(PolicyError, match=r"policy.yaml:\d+:\d+: servicing: templates → maturity → zh-CN: field "
                                          r"'maturity_day' is not available"):
        parse_policy(typo)


def test_policy_refuses_unknown_keys_and_tiers():
    base = render_preset("bank")
    with pytest.raises(PolicyError, match="unknown setting 'horizon_day'"):
        parse_policy(base.replace("  horizon_days: 7\n", "  horizon_day: 7\n", 1))
    with pytest.raises(PolicyError, match=r"servicing → cadence → months: unknown tier 'platnum'; did you mean "
                                          r"'platinum'\?"):
        parse_policy(base.replace("platinum: 1, gold: 3", "platnum: 1, gold: 3", 1))
    with pytest.raises(PolicyError, match="no template 'birthday_card'"):
        parse_policy(base.replace("template: birthday_gift,", "template: birthday_card,", 1))


@pytest.mark.parametrize("preset", ["bank", "retail", "realestate", "b2b", "distributor"])
def test_every_preset_has_a_service_plan(preset):
    sv = parse_policy(render_preset(preset)).servicing
    assert sv.enabled and sv.cadence.months and sv.steps()


def test_bank_preset_plan_matches_the_brief():
    sv = parse_policy(render_preset("bank")).servicing
    assert sv.cadence.months == {"private": 1, "diamond": 1, "platinum": 1, "gold": 3, "standard": 6}
    assert sv.birthday.greeting_tiers is None and sv.birthday.hour == 9
    assert sv.birthday.gift_tiers == ["platinum", "diamond", "private"]
    assert sv.alerts.sla_hours == 24 and sv.calendar.country == "CN"
    assert [s.id for s in sv.onboarding.steps] == ["welcome", "vip_card", "handbook"]


def M(mid, branch, cap=None, tiers=None, active=True):
    return {"manager_id": mid, "branch_id": branch, "capacity": cap, "tiers": tiers, "active": active}


def C(cid, branch, plan, owner=None, hint=None):
    return {"customer_id": cid, "branch_id": branch, "plan": plan, "owner": owner, "hint": hint}


def test_assignment_by_branch_tier_and_capacity_hand_computed():
    mgrs = [M("a", "B1", cap=10), M("b", "B1", cap=4), M("p", "B1", tiers="diamond"), M("z", "B2"),
            M("gone", "B1", active=False)]
    custs = [C("c1", "B1", "diamond"), C("c2", "B1", "gold"), C("c3", "B1", "gold"), C("c4", "B1", "standard"),
             C("c5", "B1", "standard", hint="gone"), C("c6", "B1", "standard", hint="z"), C("c7", "B3", "gold"),
             C("c8", "B1", "standard", owner="a")]
    w = {"diamond": 8, "gold": 2, "standard": 1}
    got = {r["customer_id"]: (r["manager_id"], r["rule"]) for r in assign(custs, mgrs, weights=w)}
    # c8 keeps a (load a=1); c6 keeps its existing manager z; heaviest first:
    # c1 diamond(8): only p serves diamond? no — a and b serve every tier; utilisation a=1/10, b=0, p=0 → b full? 8>4
    #   → candidates a (0.1), p (0 load, no capacity → 0) → p (0 < 0.1)
    # c2 gold(2): a 0.1, b 0, p 8 → b (load 2/4 = 0.5); c3 gold: a 0.1 → a (3/10); c7 gold in B3: no branch → any:
    #   a 0.3, b 0.5, z 1 (c6) → a (5/10); c4 standard: a .5, b .5 → a by id (6/10); c5: a .6, b .5 → b (3/4)
    assert got == {"c1": ("p", "balanced"), "c2": ("b", "balanced"), "c3": ("a", "balanced"),
                   "c7": ("a", "balanced"), "c4": ("a", "balanced"), "c5": ("b", "balanced"),
                   "c6": ("z", "initial")}
    assert assign(list(reversed(custs)), list(reversed(mgrs)), weights=w) == assign(custs, mgrs, weights=w)
    none = assign(custs, mgrs, weights=w, fallback="none")
    assert "c7" not in {r["customer_id"] for r in none}
