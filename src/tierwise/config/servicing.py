"""The ``servicing:`` section of the policy: service plans per tier (the bank's "1+4" model).

A plan says which tasks and messages each customer gets: onboarding (the "三个一"),
priority-service flags, maturity and target-return reminders, tier-change notices,
a contact cadence, birthday greetings and gifts, holiday greetings, alerts with an SLA,
and how customers are assigned to managers. Messages are Jinja2 templates in zh-CN and
en, rendered in a sandbox; the fields each kind of message may use are fixed
(:data:`TEMPLATE_FIELDS`) and checked when the policy loads, so a typo is a located
policy error and never a surprise at send time.

>>> env = template_environment()
>>> env.from_string("尊敬的{{ name }}").render(name="张三")
'尊敬的张三'
>>> sorted(template_fields("{{ name }} {{ product }}"))
['name', 'product']
"""

from __future__ import annotations

import functools
from datetime import date
from typing import Literal

import jinja2
import jinja2.meta
import jinja2.sandbox
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tierwise.errors import did_you_mean


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


#: fields every message can use
COMMON_FIELDS = frozenset({"name", "tier", "manager", "branch", "customer_id", "date"})
#: fields each kind of message can use (rule kind → fields)
TEMPLATE_FIELDS: dict[str, frozenset[str]] = {
    "onboarding": COMMON_FIELDS,
    "cadence": COMMON_FIELDS | {"last_contact"},
    "maturity": COMMON_FIELDS | {"product", "maturity_date", "amount"},
    "target_return": COMMON_FIELDS | {"product", "target_return", "current_return", "amount"},
    "tier_change": COMMON_FIELDS | {"previous_tier", "event"},
    "birthday": COMMON_FIELDS,
    "holiday": COMMON_FIELDS | {"holiday"},
    "alert": COMMON_FIELDS | {"reason", "score"},
    "campaign": COMMON_FIELDS | {"campaign"},
    "escalation": COMMON_FIELDS | {"reason"},
}

Channel = Literal["none", "sms", "email", "webhook"]
TierEvent = Literal["upgrade", "downgrade", "watch"]


def template_environment() -> jinja2.sandbox.SandboxedEnvironment:
    """The one sandbox every message template is parsed and rendered in: no code execution, no
    access to unsafe attributes, and an undefined field is an error (``StrictUndefined``)."""
    return jinja2.sandbox.SandboxedEnvironment(undefined=jinja2.StrictUndefined, autoescape=False,
                                               keep_trailing_newline=False)


def template_fields(text: str) -> set[str]:
    """The fields a template uses (raises ``jinja2.TemplateSyntaxError`` on bad syntax)."""
    return set(_fields(text))


@functools.lru_cache(maxsize=1024)
def _fields(text: str) -> frozenset[str]:
    return frozenset(jinja2.meta.find_undeclared_variables(template_environment().parse(text)))


@functools.lru_cache(maxsize=1024)
def compiled_template(text: str) -> jinja2.Template:
    """The sandboxed template of ``text``, compiled once per process (templates are immutable text)."""
    return template_environment().from_string(text)


class Template(Strict):
    """A message in both languages."""

    zh_CN: str = Field(alias="zh-CN", description="Chinese text (Jinja2, e.g. 尊敬的{{ name }})")
    en: str = Field(description="English text")


class Step(Strict):
    """One kind of task a plan item creates."""

    template: str = Field(description="name of the message template (servicing → templates)")
    channel: Channel = Field("none", description="none: a task for the manager; sms, email or webhook: a message "
                                                 "sent automatically through the outbox")
    priority: int = Field(3, ge=1, le=5, description="1 = most urgent … 5 = least")


class OnboardingStep(Step):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="stable id of the step")


class OnboardingPolicy(Strict):
    """New customers: the "三个一" (a first-contact message, a VIP-card invitation, a service handbook)."""

    enabled: bool = Field(True, description="create onboarding tasks for new customers")
    within_days: int = Field(7, ge=1, le=90, description="business days after the open date by which each step is due")
    lookback_days: int = Field(30, ge=1, le=365, description="customers opened at most this many days ago count as new "
                                                             "(so a first deployment does not onboard everyone)")
    steps: list[OnboardingStep] = Field(default_factory=list, description="the steps, each a task or a message")


class MaturityPolicy(Step):
    """Reminders before a held product matures."""

    enabled: bool = Field(True, description="create maturity reminders")
    days_before: int = Field(7, ge=0, le=90, description="calendar days before the maturity date the reminder is due "
                                                         "(moved to a business day by servicing → roll)")
    product_types: list[str] | None = Field(None, description="only these product types (empty: every product with a "
                                                              "maturity date)")


class TargetReturnPolicy(Step):
    """Reminders when a holding reaches its target return (balance ÷ amount − 1 ≥ target_return)."""

    enabled: bool = Field(True, description="create target-return reminders")
    within_days: int = Field(2, ge=1, le=30, description="business days to act after the target is reached")


class TierChangePolicy(Strict):
    """Notices when a customer's tier changes (upgrade, downgrade) or enters watch (关注)."""

    enabled: bool = Field(True, description="create tier-change notices")
    events: dict[TierEvent, Step] = Field(default_factory=dict, description="event → the notice it creates")
    within_days: int = Field(3, ge=1, le=30, description="business days after the evaluation date a notice is due")
    lookback_days: int = Field(31, ge=1, le=366, description="ignore evaluations older than this many days")


class CadencePolicy(Step):
    """Regular contact per tier (维护频率): a task falls due this many months after the last contact."""

    enabled: bool = Field(True, description="create cadence (regular contact) tasks")
    months: dict[str, int] = Field(default_factory=dict, description="plan value (tier) → months between contacts; "
                                                                     "plans not listed get no cadence")


class BirthdayPolicy(Strict):
    """Birthday greetings (everyone in ``greeting_tiers``) and gifts (``gift_tiers``)."""

    enabled: bool = Field(True, description="create birthday greetings and gifts")
    greeting: Step | None = Field(None, description="the greeting, sent on the morning of the birthday")
    greeting_tiers: list[str] | None = Field(None, description="plans that get a greeting (empty: everyone)")
    hour: int = Field(9, ge=0, le=23, description="hour of the birthday morning the greeting is sent")
    gift: Step | None = Field(None, description="the gift, a task for the manager due on the birthday "
                                                "(moved to a business day by servicing → roll)")
    gift_tiers: list[str] = Field(default_factory=list, description="plans that get a gift")
    feb29: Literal["feb28", "mar1"] = Field("feb28", description="in years without 29 February, greet customers born "
                                                                  "on it on 28 February or on 1 March")


class HolidayGreeting(Step):
    """A greeting on a public holiday or a fixed date."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="stable id")
    label: Template = Field(description="the holiday's name in messages ({{ holiday }})")
    holiday: str | None = Field(None, description="name of the holiday in the calendar (first day of it), e.g. "
                                                  "'Chinese New Year (Spring Festival)'")
    date: str | None = Field(None, pattern=r"^\d\d-\d\d$", description="or a fixed date MM-DD, e.g. 12-25")
    tiers: list[str] | None = Field(None, description="plans that get it (empty: everyone)")
    hour: int = Field(9, ge=0, le=23, description="hour of the day the greeting is sent")

    @model_validator(mode="after")
    def _one_date(self) -> HolidayGreeting:
        if (self.holiday is None) == (self.date is None):
            raise ValueError("give either holiday (a calendar name) or date (MM-DD)")
        return self


class AlertsPolicy(Strict):
    """Alerts for the owner with an SLA, escalated to the owner's manager (reports_to) when overdue."""

    enabled: bool = Field(True, description="create alerts")
    sla_hours: float = Field(24, gt=0, le=24 * 30, description="hours from the trigger to the alert's due time")
    churn_codes: list[str] = Field(["low_p_alive", "frequency_drop", "balance_drop"],
                                   description="churn warnings (see churn) that create an alert when they first fire")
    survey_kinds: dict[str, float] = Field({"survey": 2.0, "nps": 6.0},
                                           description="interaction kind → score at or below which it is negative")
    lookback_days: int = Field(7, ge=1, le=90, description="negative surveys and evaluations older than this are ignored")
    churn: Step = Field(default_factory=lambda: Step(template="alert_churn", priority=1),
                        description="the churn-warning alert")
    survey: Step = Field(default_factory=lambda: Step(template="alert_survey", priority=1),
                         description="the negative-survey alert")
    escalate: bool = Field(True, description="escalate overdue alerts to the owner's manager")
    escalation: Step | None = Field(None, description="the task the owner's manager gets when an alert is escalated")

    @field_validator("churn_codes")
    @classmethod
    def _codes(cls, v: list[str]) -> list[str]:
        known = ("low_p_alive", "frequency_drop", "balance_drop", "no_contact", "negative_survey")
        for c in v:
            if c not in known:
                hint = did_you_mean(c, known)
                raise ValueError(f"unknown churn warning '{c}'" + (f"; {hint}" if hint else f"; use {list(known)}"))
        return v


class AssignmentPolicy(Strict):
    """How customers are assigned to managers (全部指派, 四包到人)."""

    keep_existing: bool = Field(True, description="take the initial owner from customers.manager_id when that "
                                                  "manager is active")
    by_branch: bool = Field(True, description="only managers of the customer's branch are eligible")
    by_tier: bool = Field(True, description="respect the tiers a manager serves (the managers file's tiers column)")
    fallback: Literal["any", "none"] = Field("any", description="no eligible manager in the branch: any active manager "
                                                                "(any) or leave unassigned (none)")
    tier_weights: dict[str, float] = Field(default_factory=dict, description="plan value → workload weight of one "
                                                                            "customer (default 1)")
    default_capacity: float | None = Field(None, gt=0, description="workload capacity of managers without their own "
                                                                    "(empty: unlimited)")


class CampaignTaskDefaults(Step):
    """Tasks for the treated members of a started campaign (its strategy JSON may override these)."""

    enabled: bool = Field(True, description="create campaign tasks")
    due_days: int = Field(5, ge=1, le=90, description="business days after the campaign start a task is due")


class CalendarPolicy(Strict):
    """Business days: weekends, public holidays and make-up working days (调休)."""

    country: str | None = Field("CN", description="public holidays of this country from the holidays library "
                                                  "(ISO code: CN, US, GB, HK …); empty: weekends only")
    subdivision: str | None = Field(None, description="state or province code of the country, if any")
    weekend: list[int] = Field([5, 6], description="weekday numbers of the weekend (Monday = 0)")
    extra_holidays: list[date] = Field(default_factory=list, description="more non-business days (bank closures)")
    extra_workdays: list[date] = Field(default_factory=list, description="more business days on weekends or holidays")


class ServicingPolicy(Strict):
    """Service plans (``servicing:`` section); see tierwise.servicing."""

    enabled: bool = Field(False, description="generate service tasks after runs and daily")
    plan_by: str = Field("tier", description="snapshot column whose value selects a customer's plan (tier, "
                                             "service_level, lifecycle …)")
    timezone: str = Field("Asia/Shanghai", description="local time zone of due times and sends")
    calendar: CalendarPolicy = Field(default_factory=CalendarPolicy, description="business days")
    roll: Literal["previous", "next"] = Field("previous", description="a task due on a non-business day moves to the "
                                                                      "previous or the next business day")
    due_hour: int = Field(18, ge=0, le=23, description="tasks due on a day are due at this hour")
    horizon_days: int = Field(7, ge=0, le=60, description="tasks are created this many days before they are due")
    contact_outcomes: list[str] = Field(["reached", "declined", "sold"],
                                        description="outcomes that count as a contact (reset the cadence clock)")
    priority_flags: dict[str, list[str]] = Field(default_factory=dict, description="plan value → priority-service "
                                                                                   "flags (basic service per tier)")
    onboarding: OnboardingPolicy = Field(default_factory=OnboardingPolicy, description="new customers")
    maturity: MaturityPolicy = Field(default_factory=lambda: MaturityPolicy(template="maturity", priority=2),
                                     description="maturity reminders")
    target_return: TargetReturnPolicy = Field(default_factory=lambda: TargetReturnPolicy(template="target_return",
                                                                                         enabled=False),
                                              description="target-return reminders")
    tier_change: TierChangePolicy = Field(default_factory=TierChangePolicy, description="tier-change notices")
    cadence: CadencePolicy = Field(default_factory=lambda: CadencePolicy(template="cadence"),
                                   description="contact cadence per plan")
    birthday: BirthdayPolicy = Field(default_factory=BirthdayPolicy, description="birthday greetings and gifts")
    holidays: list[HolidayGreeting] = Field(default_factory=list, description="holiday greetings")
    alerts: AlertsPolicy = Field(default_factory=AlertsPolicy, description="alerts with an SLA")
    campaigns: CampaignTaskDefaults = Field(default_factory=lambda: CampaignTaskDefaults(template="campaign"),
                                            description="campaign tasks")
    assignment: AssignmentPolicy = Field(default_factory=AssignmentPolicy, description="assignment of customers")
    templates: dict[str, Template] = Field(default_factory=dict, description="message templates by name")

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone '{v}' (use an IANA name such as Asia/Shanghai)") from None
        return v

    @field_validator("templates")
    @classmethod
    def _syntax(cls, v: dict[str, Template]) -> dict[str, Template]:
        problems = []
        for name, tpl in v.items():
            for loc, text in (("zh-CN", tpl.zh_CN), ("en", tpl.en)):
                try:
                    template_fields(text)
                except jinja2.TemplateSyntaxError as exc:
                    problems.append(f"{name} → {loc}: template syntax error at line {exc.lineno}: {exc.message}")
        if problems:
            raise ValueError("; ".join(problems))
        return v

    def steps(self) -> list[tuple[str, str, Step]]:
        """(kind, policy path, step) of every enabled step that creates tasks or messages."""
        out: list[tuple[str, str, Step]] = []
        if self.onboarding.enabled:
            out += [("onboarding", f"onboarding → steps → {i}", s) for i, s in enumerate(self.onboarding.steps)]
        if self.maturity.enabled:
            out.append(("maturity", "maturity", self.maturity))
        if self.target_return.enabled:
            out.append(("target_return", "target_return", self.target_return))
        if self.tier_change.enabled:
            out += [("tier_change", f"tier_change → events → {e}", s) for e, s in self.tier_change.events.items()]
        if self.cadence.enabled:
            out.append(("cadence", "cadence", self.cadence))
        if self.birthday.enabled:
            out += [("birthday", f"birthday → {k}", s) for k, s in (("greeting", self.birthday.greeting),
                                                                    ("gift", self.birthday.gift)) if s is not None]
        out += [("holiday", f"holidays → {i}", h) for i, h in enumerate(self.holidays)]
        if self.alerts.enabled:
            out += [("alert", "alerts → churn", self.alerts.churn), ("alert", "alerts → survey", self.alerts.survey)]
            if self.alerts.escalate and self.alerts.escalation is not None:
                out.append(("escalation", "alerts → escalation", self.alerts.escalation))
        if self.campaigns.enabled:
            out.append(("campaign", "campaigns", self.campaigns))
        return out

    @model_validator(mode="after")
    def _templates_used(self) -> ServicingPolicy:
        if not self.enabled:
            return self
        problems = []
        for kind, path, step in self.steps():
            tpl = self.templates.get(step.template)
            if tpl is None:
                hint = did_you_mean(step.template, self.templates)
                problems.append(f"{path} → template: no template '{step.template}' in servicing → templates"
                                + (f"; {hint}" if hint else ""))
                continue
            problems += check_template(step.template, tpl, kind)
        ids = [h.id for h in self.holidays]
        if len(set(ids)) != len(ids):
            problems.append(f"holidays: ids must be unique: {ids}")
        ids = [s.id for s in self.onboarding.steps]
        if len(set(ids)) != len(ids):
            problems.append(f"onboarding → steps: ids must be unique: {ids}")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def plan_values(self) -> dict[str, set[str]]:
        """Setting path → the plan values (tiers) it names, for checking against the ladder."""
        return {
            "priority_flags": set(self.priority_flags), "cadence → months": set(self.cadence.months),
            "birthday → greeting_tiers": set(self.birthday.greeting_tiers or ()),
            "birthday → gift_tiers": set(self.birthday.gift_tiers),
            "assignment → tier_weights": set(self.assignment.tier_weights),
            **{f"holidays → {h.id} → tiers": set(h.tiers or ()) for h in self.holidays},
        }


def check_template(name: str, tpl: Template, kind: str) -> list[str]:
    """Problems of template ``name`` used for messages of ``kind`` (fields it may not use)."""
    allowed = TEMPLATE_FIELDS[kind]
    problems = []
    for loc, text in (("zh-CN", tpl.zh_CN), ("en", tpl.en)):
        for f in sorted(template_fields(text) - allowed):
            hint = did_you_mean(f, allowed)
            problems.append(f"templates → {name} → {loc}: field '{f}' is not available in {kind} messages"
                            + (f"; {hint}" if hint else f"; available: {', '.join(sorted(allowed))}"))
        if not problems:
            try:   # a trial render: the sandbox refuses unsafe attribute access before anything is sent
                compiled_template(text).render(**{f: "x" for f in allowed})
            except jinja2.TemplateError as exc:
                problems.append(f"templates → {name} → {loc}: {type(exc).__name__}: {exc}")
    return problems


class CampaignTask(Strict):
    """The ``task`` of a campaign's strategy JSON; unset values come from servicing → campaigns."""

    template: str | Template | None = Field(None, description="a template name, or the text {zh-CN: …, en: …}")
    channel: Channel | None = None
    priority: int | None = Field(None, ge=1, le=5)
    due_days: int | None = Field(None, ge=1, le=90)


class CampaignStrategy(BaseModel):
    """A campaign's strategy JSON (other keys are kept for other uses)."""

    model_config = ConfigDict(extra="allow")
    task: CampaignTask | None = None
