"""Task generation: from customers, holdings, surveys, campaigns and the service plan to dated tasks.

:func:`generate` is a pure function of its inputs (no I/O, no clock): the same inputs give the
same tasks. Each task has a natural key (``task_key``) built from what it is about, so the
store can skip tasks it already has and generating again never duplicates one:

==================  =====================================================  ==============================
task type           created when                                           key
==================  =====================================================  ==============================
``onboarding``      opened within ``lookback_days``; due ``within_days``     onboarding:STEP:CUSTOMER
                    business days after the open date
``cadence``         the current contact cycle is within the horizon: due   cadence:CUSTOMER:PLAN:ANCHOR:DUE
                    k × ``months`` after the anchor (last contact, else
                    the open date), k the latest cycle released
``maturity``        a held product matures on or after today; due          maturity:CUSTOMER:PRODUCT:DATE
                    ``days_before`` days before it
``target_return``   balance ÷ amount − 1 ≥ the holding's target return     target_return:CUSTOMER:PRODUCT:OPEN
``tier_change``     the latest evaluation's event is upgrade, downgrade    tier_change:EVENT:CUSTOMER:ASOF
                    or watch
``birthday``        greeting on the birthday (29 Feb: see ``feb29``);       birthday:CUSTOMER:YEAR,
                    gift due on it                                         birthday_gift:CUSTOMER:YEAR
``holiday``         a configured holiday within the horizon                holiday:ID:DATE:CUSTOMER
``alert``           a churn warning fires that did not before; a survey    alert:churn:CUSTOMER:ASOF,
                    score at or below its kind's limit                     alert:survey:CUSTOMER:TIME
``campaign``        a started campaign's treated members                   campaign:ID:CUSTOMER
==================  =====================================================  ==============================

Tasks for people are due at ``due_hour`` on a business day: a date that falls on a weekend or
holiday moves to the previous business day (``roll: previous``, so a reminder never comes after
the event it is about) or the next one. Messages sent automatically (greetings, the welcome
SMS, the upgrade notice) are due on their calendar day at their hour, holiday or not: a
birthday greeting belongs on the birthday. Tasks are created ``horizon_days`` before they are
due (the release), so managers see them coming.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tierwise.config.servicing import Step
from tierwise.servicing.calendar import BusinessCalendar, day_number
from tierwise.servicing.dates import (NULL_DAY, add_months, at_hour, birthday_in_year, days_of, iso, months_between,
                                      to_datetime64)
from tierwise.servicing.messages import MessageTemplate

#: columns of the customers table given to :func:`generate`
CUSTOMER_COLUMNS = ("customer_id", "name", "phone", "email", "branch_id", "manager_id", "manager_name", "plan",
                    "plan_label", "plan_since", "tier_event", "previous_label", "open_date", "birthday",
                    "last_contact", "churn_new")
HOLDING_COLUMNS = ("customer_id", "product_id", "product_name", "product_type", "open_date", "maturity_date",
                   "amount", "target_return", "current_return", "status")
SURVEY_COLUMNS = ("customer_id", "interaction_time", "kind", "score")
INACTIVE_HOLDING = ("matured", "redeemed", "closed", "到期", "已到期", "赎回", "已赎回", "结清")
CHURN_LABELS = {
    "low_p_alive": ("low probability of being active", "活跃概率低"),
    "frequency_drop": ("fewer purchases", "交易频次下降"),
    "balance_drop": ("assets falling", "资产下降"),
    "no_contact": ("no recent contact", "长期未联系"),
    "negative_survey": ("negative survey", "满意度低"),
}


@dataclass
class CampaignPlan:
    """A started campaign's task: its treated members and the step (template text given inline)."""

    campaign_id: int
    name: str
    starts_on: date
    ends_on: date
    members: list[str]
    template: MessageTemplate
    step: Step
    due_days: int


@dataclass
class Inputs:
    """Everything :func:`generate` reads. ``at`` is the reference time (the daily run's start)."""

    on: date
    at: datetime
    customers: pa.Table
    holdings: pa.Table | None = None
    surveys: pa.Table | None = None
    campaigns: list[CampaignPlan] = field(default_factory=list)
    snapshot_as_of: date | None = None
    locale: str = "zh-CN"


@dataclass
class Batch:
    """Tasks of one rule: rows of the customers table and what is particular to them."""

    type: str
    rule: str
    step: Step
    template: MessageTemplate
    row: np.ndarray
    key: pa.Array
    due_at: np.ndarray                 # datetime64[s]
    anchor: np.ndarray | None = None   # days
    ref: pa.Array | None = None
    extra: dict[str, pa.Array] = field(default_factory=dict)


TASK_SCHEMA = pa.schema([
    ("task_key", pa.string()), ("type", pa.string()), ("rule", pa.string()), ("customer_id", pa.string()),
    ("manager_id", pa.string()), ("branch_id", pa.string()), ("tier", pa.string()), ("due_at", pa.timestamp("s")),
    ("priority", pa.int16()), ("channel", pa.string()), ("message", pa.string()), ("ref", pa.string()),
    ("anchor", pa.date32()), ("recipient", pa.string()),
])


class Generator:
    """Builds the batches of every rule for one day, then renders and assembles them."""

    def __init__(self, inp: Inputs, sv, cal: BusinessCalendar, templates: dict[tuple[str, str], MessageTemplate]):
        self.inp, self.sv, self.cal, self.templates = inp, sv, cal, templates
        c = inp.customers
        self.c = c
        self.ids = c["customer_id"].combine_chunks()
        self.n = c.num_rows
        self.on = day_number(inp.on)
        self.at = to_datetime64(inp.at)
        self.plan = c["plan"].combine_chunks()

    # ---------------------------------------------------------------- helpers
    def tpl(self, kind: str, step: Step) -> MessageTemplate:
        return self.templates[(kind, step.template)]

    def due_task(self, days: np.ndarray) -> np.ndarray:
        """A person's task: rolled to a business day, at the due hour."""
        return at_hour(self.cal.roll_days(days, self.sv.roll), self.sv.due_hour)

    def in_plans(self, plans: list[str] | None) -> np.ndarray:
        if plans is None:
            return np.ones(self.n, dtype=bool)
        return pc.fill_null(pc.is_in(self.plan, pa.array(plans, pa.string())), False).to_numpy(zero_copy_only=False)

    def keys(self, prefix: str, rows: np.ndarray, *parts) -> pa.Array:
        """``prefix:part…`` with the customer id and per-row parts (arrays or scalars) joined by ':'."""
        pieces = [pa.scalar(prefix)]
        for p in parts:
            if isinstance(p, pa.ChunkedArray):
                p = p.combine_chunks()
            pieces.append(pc.cast(p, pa.string()) if isinstance(p, pa.Array) else pa.scalar(str(p)))
        return pc.binary_join_element_wise(*pieces, ":")

    def cid(self, rows: np.ndarray) -> pa.Array:
        return self.ids.take(pa.array(rows, pa.int64()))

    # ---------------------------------------------------------------- rules
    def onboarding(self) -> list[Batch]:
        ob = self.sv.onboarding
        if not ob.enabled or not ob.steps:
            return []
        opened = days_of(self.c["open_date"])
        rows = np.flatnonzero((opened != NULL_DAY) & (opened > self.on - ob.lookback_days) & (opened <= self.on))
        if not rows.size:
            return []
        due_day = self.cal.add_business_days_array(opened[rows], ob.within_days)
        out = []
        for s in ob.steps:
            due = (np.maximum(at_hour(opened[rows], self.sv.birthday.hour), self.at) if s.channel != "none"
                   else self.due_task(due_day))
            out.append(Batch("onboarding", f"onboarding.{s.id}", s, self.tpl("onboarding", s), rows,
                             self.keys("onboarding", rows, s.id, self.cid(rows)), due, anchor=opened[rows]))
        return out

    def cadence_anchor(self) -> np.ndarray:
        """Each customer's cadence anchor (days): the last contact, else the open date, else today."""
        last = days_of(self.c["last_contact"])
        opened = days_of(self.c["open_date"])
        return np.where(last != NULL_DAY, last, np.where(opened != NULL_DAY, opened, self.on))

    def cadence(self) -> list[Batch]:
        cp = self.sv.cadence
        if not cp.enabled or not cp.months:
            return []
        months = pc.fill_null(pc.index_in(self.plan, pa.array(list(cp.months), pa.string())), -1) \
            .to_numpy(zero_copy_only=False)
        interval = np.array(list(cp.months.values()), dtype=np.int64)
        rows = np.flatnonzero(months >= 0)
        if not rows.size:
            return []
        m = interval[months[rows]]
        last = days_of(self.c["last_contact"])[rows]
        anchor = self.cadence_anchor()[rows]
        release_limit = self.on + self.sv.horizon_days
        k0 = np.maximum(months_between(anchor, np.full_like(anchor, release_limit)) // m, 1)
        best = np.full(rows.size, NULL_DAY)
        for dk in (-1, 0, 1):               # rolling moves a due date by days: check the neighbours too
            k = np.maximum(k0 + dk, 1)
            due = self.cal.roll_days(add_months(anchor, k * m), self.sv.roll)
            ok = (due - self.sv.horizon_days <= self.on) & (due > best)
            best = np.where(ok, due, best)
        keep = best != NULL_DAY
        rows, anchor, best = rows[keep], anchor[keep], best[keep]
        if not rows.size:
            return []
        plan = self.plan.take(pa.array(rows))
        since = pc.cast(self.c["plan_since"].combine_chunks().take(pa.array(rows)), pa.string())
        key = self.keys("cadence", rows, self.cid(rows), plan, pc.fill_null(since, "-"), iso(anchor), iso(best))
        last_txt = pc.fill_null(iso(last[keep]), "—")
        return [Batch("cadence", "cadence", cp, self.tpl("cadence", cp), rows, key, at_hour(best, self.sv.due_hour),
                      anchor=anchor, ref=plan, extra={"last_contact": last_txt})]

    def holdings_rules(self) -> list[Batch]:
        h = self.inp.holdings
        if h is None or h.num_rows == 0:
            return []
        pos = np.asarray(pc.fill_null(pc.index_in(h["customer_id"], self.ids), -1).to_numpy(zero_copy_only=False))
        known = pos >= 0
        status = pc.fill_null(pc.cast(h["status"], pa.string()), "")
        active = known & ~pc.is_in(status, pa.array(INACTIVE_HOLDING)).to_numpy(zero_copy_only=False)
        out = []
        mp = self.sv.maturity
        if mp.enabled:
            mat = days_of(h["maturity_date"])
            ok = active & (mat != NULL_DAY) & (mat >= self.on) \
                & (mat - mp.days_before <= self.on + self.sv.horizon_days + 31)   # later ones are not released yet
            if mp.product_types:
                ok &= pc.fill_null(pc.is_in(h["product_type"], pa.array(mp.product_types)), False) \
                    .to_numpy(zero_copy_only=False)
            due = self.cal.roll_days(np.where(ok, mat - mp.days_before, self.on), self.sv.roll)
            ok &= due - self.sv.horizon_days <= self.on
            idx = np.flatnonzero(ok)
            if idx.size:
                take = pa.array(idx)
                rows = pos[idx]
                out.append(Batch("maturity", "maturity", mp, self.tpl("maturity", mp), rows,
                                 self.keys("maturity", rows, self.cid(rows), h["product_id"].take(take),
                                           iso(mat[idx])),
                                 at_hour(due[idx], self.sv.due_hour), anchor=mat[idx],
                                 ref=_col(h, "product_id", take),
                                 extra={"product": _product(h, take), "maturity_date": iso(mat[idx]),
                                        "amount": _money(h["amount"].take(take))}))
        tp = self.sv.target_return
        if tp.enabled:
            target, current = h["target_return"], h["current_return"]
            ok = active & pc.fill_null(pc.greater_equal(current, target), False).to_numpy(zero_copy_only=False)
            idx = np.flatnonzero(ok)
            if idx.size:
                take = pa.array(idx)
                rows = pos[idx]
                due = self.cal.add_business_days_array(np.full(idx.size, self.on), tp.within_days)
                out.append(Batch("target_return", "target_return", tp, self.tpl("target_return", tp), rows,
                                 self.keys("target_return", rows, self.cid(rows), h["product_id"].take(take),
                                           pc.fill_null(iso(days_of(h["open_date"].take(take))), "-")),
                                 at_hour(due, self.sv.due_hour), ref=_col(h, "product_id", take),
                                 extra={"product": _product(h, take), "target_return": _pct(target.take(take)),
                                        "current_return": _pct(current.take(take)),
                                        "amount": _money(h["amount"].take(take))}))
        return out

    def tier_change(self) -> list[Batch]:
        tc, asof = self.sv.tier_change, self.inp.snapshot_as_of
        if not tc.enabled or asof is None or (self.inp.on - asof).days > tc.lookback_days or asof > self.inp.on:
            return []
        event = pc.fill_null(self.c["tier_event"].combine_chunks(), "")
        out = []
        a = day_number(asof)
        for ev, step in tc.events.items():
            rows = np.flatnonzero(pc.equal(event, ev).to_numpy(zero_copy_only=False))
            if not rows.size:
                continue
            if step.channel != "none":
                due = np.maximum(at_hour(np.full(rows.size, a + 1), self.sv.birthday.hour), self.at)
            else:
                due = at_hour(self.cal.add_business_days_array(np.full(rows.size, a), tc.within_days),
                              self.sv.due_hour)
            plan = self.plan.take(pa.array(rows))
            out.append(Batch("tier_change", f"tier_change.{ev}", step, self.tpl("tier_change", step), rows,
                             self.keys("tier_change", rows, ev, self.cid(rows), asof.isoformat()), due,
                             anchor=np.full(rows.size, a), ref=plan,
                             extra={"event": pa.array([ev] * rows.size, pa.string()),
                                    "previous_tier": self.c["previous_label"].combine_chunks().take(pa.array(rows))}))
        return out

    def birthdays(self) -> list[Batch]:
        bp = self.sv.birthday
        if not bp.enabled or (bp.greeting is None and bp.gift is None):
            return []
        born = days_of(self.c["birthday"])
        has = born != NULL_DAY
        out = []
        for year in (self.inp.on.year, self.inp.on.year + 1):
            b = np.where(has, birthday_in_year(np.where(has, born, 0), np.full(self.n, year), bp.feb29), NULL_DAY)
            soon = has & (b >= self.on)
            if bp.greeting is not None:
                rows = np.flatnonzero(soon & (b - self.sv.horizon_days <= self.on) & self.in_plans(bp.greeting_tiers))
                if rows.size:
                    out.append(Batch("birthday", "birthday.greeting", bp.greeting, self.tpl("birthday", bp.greeting),
                                     rows, self.keys("birthday", rows, self.cid(rows), year),
                                     at_hour(b[rows], bp.hour), anchor=b[rows],
                                     extra={"date": iso(b[rows])}))
            if bp.gift is not None and bp.gift_tiers:
                due = self.cal.roll_days(np.where(soon, b, self.on), self.sv.roll)
                rows = np.flatnonzero(soon & (due - self.sv.horizon_days <= self.on) & self.in_plans(bp.gift_tiers))
                if rows.size:
                    out.append(Batch("birthday", "birthday.gift", bp.gift, self.tpl("birthday", bp.gift), rows,
                                     self.keys("birthday_gift", rows, self.cid(rows), year),
                                     at_hour(due[rows], self.sv.due_hour), anchor=b[rows],
                                     extra={"date": iso(b[rows])}))
        return out

    def holidays(self) -> list[Batch]:
        out = []
        first, last = self.inp.on, self.inp.on + timedelta(days=self.sv.horizon_days)
        for h in self.sv.holidays:
            if h.holiday:
                dates = [d for d in self.cal.holidays_named(h.holiday) if first <= d <= last]
            else:
                mm, dd = (int(x) for x in h.date.split("-"))
                dates = [date(y, mm, dd) for y in (first.year, first.year + 1) if first <= date(y, mm, dd) <= last]
            rows = np.flatnonzero(self.in_plans(h.tiers))
            label = h.label.zh_CN if self.inp.locale == "zh-CN" else h.label.en
            for d in dates:
                if not rows.size:
                    continue
                dn = np.full(rows.size, day_number(d))
                out.append(Batch("holiday", f"holiday.{h.id}", h, self.tpl("holiday", h), rows,
                                 self.keys("holiday", rows, h.id, d.isoformat(), self.cid(rows)),
                                 at_hour(dn, h.hour), anchor=dn,
                                 extra={"holiday": pa.array([label] * rows.size, pa.string()), "date": iso(dn)}))
        return out

    def alerts(self) -> list[Batch]:
        ap = self.sv.alerts
        if not ap.enabled:
            return []
        out = []
        sla = np.timedelta64(int(ap.sla_hours * 3600), "s")
        asof = self.inp.snapshot_as_of
        if ap.churn_codes and asof is not None and 0 <= (self.inp.on - asof).days <= ap.lookback_days:
            new = self.c["churn_new"].combine_chunks().to_pylist()
            zh = self.inp.locale == "zh-CN"
            rows, reasons, refs = [], [], []
            for i, codes in enumerate(new):
                if not codes:
                    continue
                hit = [c for c in codes.split(",") if c in ap.churn_codes]
                if hit:
                    rows.append(i)
                    refs.append(",".join(hit))
                    reasons.append(("、" if zh else ", ").join(CHURN_LABELS[c][1 if zh else 0] for c in hit))
            if rows:
                r = np.array(rows, dtype=np.int64)
                out.append(Batch("alert", "alert.churn", ap.churn, self.tpl("alert", ap.churn), r,
                                 self.keys("alert", r, "churn", self.cid(r), asof.isoformat()),
                                 np.full(r.size, self.at + sla), anchor=np.full(r.size, day_number(asof)),
                                 ref=pa.array(refs, pa.string()),
                                 extra={"reason": pa.array(reasons, pa.string()), "score": pa.nulls(r.size, pa.string())}))
        s = self.inp.surveys
        if ap.survey_kinds and s is not None and s.num_rows:
            limit = pc.fill_null(pc.index_in(s["kind"], pa.array(list(ap.survey_kinds))), -1).to_numpy(zero_copy_only=False)
            bounds = np.array(list(ap.survey_kinds.values()) + [np.nan])[limit]
            score = pc.fill_null(pc.cast(s["score"], pa.float64()), np.nan).to_numpy(zero_copy_only=False)
            when = pc.cast(s["interaction_time"], pa.timestamp("s")).to_numpy(zero_copy_only=False)
            pos = pc.fill_null(pc.index_in(s["customer_id"], self.ids), -1).to_numpy(zero_copy_only=False)
            since = self.at - np.timedelta64(ap.lookback_days * 86400, "s")
            ok = (limit >= 0) & (score <= bounds) & (when > since) & (when <= self.at) & (pos >= 0)
            idx = np.flatnonzero(ok)
            if idx.size:
                rows = pos[idx]
                stamp = pc.strftime(pa.array(when[idx], pa.timestamp("s")), "%Y-%m-%dT%H:%M:%S")
                out.append(Batch("alert", "alert.survey", ap.survey, self.tpl("alert", ap.survey), rows,
                                 self.keys("alert", rows, "survey", self.cid(rows), stamp), when[idx] + sla,
                                 anchor=when[idx].astype("datetime64[D]").astype(np.int64),
                                 ref=pc.cast(s["kind"].take(pa.array(idx)), pa.string()),
                                 extra={"score": pa.array([f"{v:g}" for v in score[idx]], pa.string()),
                                        "reason": pc.cast(s["kind"].take(pa.array(idx)), pa.string())}))
        return out

    def campaigns(self) -> list[Batch]:
        if not self.sv.campaigns.enabled:
            return []
        out = []
        for cp in self.inp.campaigns:
            if not (cp.starts_on - timedelta(days=self.sv.horizon_days) <= self.inp.on <= cp.ends_on):
                continue
            pos = pc.fill_null(pc.index_in(pa.array(cp.members, pa.string()), self.ids), -1).to_numpy(zero_copy_only=False)
            rows = np.sort(pos[pos >= 0])
            if not rows.size:
                continue
            due = self.cal.add_business_days_array(np.full(rows.size, day_number(cp.starts_on)), cp.due_days)
            out.append(Batch("campaign", f"campaign.{cp.campaign_id}", cp.step, cp.template, rows,
                             self.keys("campaign", rows, cp.campaign_id, self.cid(rows)),
                             at_hour(due, self.sv.due_hour), anchor=np.full(rows.size, day_number(cp.starts_on)),
                             ref=pa.array([str(cp.campaign_id)] * rows.size, pa.string()),
                             extra={"campaign": pa.array([cp.name] * rows.size, pa.string())}))
        return out

    # ---------------------------------------------------------------- assembly
    def batches(self) -> list[Batch]:
        return [*self.onboarding(), *self.cadence(), *self.holdings_rules(), *self.tier_change(),
                *self.birthdays(), *self.holidays(), *self.alerts(), *self.campaigns()]

    def assemble(self, b: Batch) -> pa.Table:
        take = pa.array(b.row, pa.int64())
        n = len(b.row)
        due_days = b.due_at.astype("datetime64[D]").astype(np.int64)
        ctx = {
            "customer_id": self.ids.take(take),
            "name": _col(self.c, "name", take), "tier": _col(self.c, "plan_label", take),
            "manager": _col(self.c, "manager_name", take), "branch": _col(self.c, "branch_id", take),
            "date": iso(due_days),
        }
        ctx.update(b.extra)
        message = b.template.render_column(ctx, n)
        channel = b.step.channel
        recipient = (_col(self.c, "phone", take) if channel == "sms" else _col(self.c, "email", take)
                     if channel == "email" else ctx["customer_id"] if channel == "webhook" else pa.nulls(n, pa.string()))
        anchor = b.anchor if b.anchor is not None else np.full(n, NULL_DAY)
        anchor_arr = pa.array(np.where(anchor == NULL_DAY, 0, anchor).astype(np.int32), pa.int32(),
                              mask=anchor == NULL_DAY).cast(pa.date32())
        return pa.table({
            "task_key": b.key, "type": pa.array([b.type] * n, pa.string()), "rule": pa.array([b.rule] * n, pa.string()),
            "customer_id": ctx["customer_id"], "manager_id": _col(self.c, "manager_id", take),
            "branch_id": ctx["branch"], "tier": self.plan.take(take),
            "due_at": pa.array(b.due_at.astype("datetime64[s]"), pa.timestamp("s")),
            "priority": pa.array(np.full(n, b.step.priority, dtype=np.int16)),
            "channel": pa.array([channel] * n, pa.string()), "message": message,
            "ref": pc.cast(b.ref, pa.string()) if b.ref is not None else pa.nulls(n, pa.string()),
            "anchor": anchor_arr, "recipient": pc.cast(recipient, pa.string()),
        }, schema=TASK_SCHEMA)


def generate(inp: Inputs, sv, cal: BusinessCalendar, templates: dict[tuple[str, str], MessageTemplate]) -> pa.Table:
    """Every task the plan calls for on ``inp.on`` (existing ones included: the store skips known keys),
    one row per task, in :data:`TASK_SCHEMA`, ordered by key."""
    g = Generator(inp, sv, cal, templates)
    parts = [g.assemble(b) for b in g.batches()]
    if not parts:
        return TASK_SCHEMA.empty_table()
    out = pa.concat_tables(parts)
    return out.take(pc.sort_indices(out, [("task_key", "ascending")]))


def compile_templates(sv, locale: str) -> dict[tuple[str, str], MessageTemplate]:
    """(kind, template name) → the template in ``locale``, for every step of the plan (checked here)."""
    out = {}
    for kind, path, step in sv.steps():
        tpl = sv.templates[step.template]
        text = tpl.zh_CN if locale == "zh-CN" else tpl.en
        out[(kind, step.template)] = MessageTemplate(step.template, text, kind=kind)
    return out


def service_flags(plan: pa.Array, sv) -> pa.Array:
    """Priority-service flags (basic service) of each customer's plan, as lists of text."""
    flags = {k: v for k, v in sv.priority_flags.items()}
    return pa.array([flags.get(p, []) for p in plan.to_pylist()], pa.list_(pa.string()))


def _col(t: pa.Table, name: str, take: pa.Array) -> pa.Array:
    col = t[name]
    col = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    return pc.cast(col.take(take), pa.string())


def _product(h: pa.Table, take: pa.Array) -> pa.Array:
    return pc.coalesce(_col(h, "product_name", take), _col(h, "product_id", take))


def _money(arr) -> pa.Array:
    return pa.array([None if v is None else f"{float(v):,.2f}" for v in arr.to_pylist()], pa.string())


def _pct(arr) -> pa.Array:
    return pa.array([None if v is None else f"{float(v):.2%}" for v in arr.to_pylist()], pa.string())
