"""The policy: one validated YAML file per workspace, saying in data how tierwise works.

This module holds the schema (pydantic models, unknown keys refused) and the loader,
which turns every validation problem into one :class:`~tierwise.errors.PolicyError`
that lists each problem with its place in the file and its path::

    policy.yaml:14:7: columns → transactions → amout: unknown column 'amout' of table
    'transactions'; did you mean 'amount'?

Sections grow as capabilities land; each section documents its settings in field
descriptions (the policy reference in the docs is generated from them).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from tierwise.canonical import TABLES
from tierwise.config.servicing import ServicingPolicy
from tierwise.config.yamlloc import load_yaml_with_marks
from tierwise.errors import PolicyError, did_you_mean

PRESETS = ("bank", "retail", "realestate", "b2b", "distributor")


class Strict(BaseModel):
    """Base for every policy section: unknown keys are refused."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ImportPolicy(Strict):
    """How imports treat questionable rows (``import:`` section)."""

    max_reject_rate: float = Field(
        0.05, ge=0, le=1,
        description="an import whose share of rejected rows exceeds this is refused as a whole and changes nothing",
    )
    returns: Literal["keep", "reject"] = Field(
        "keep", description="negative transaction amounts: keep them as returns, or reject the rows",
    )
    future_tolerance_days: int = Field(
        0, ge=0, description="event dates up to this many days after today are still accepted",
    )
    min_year: int = Field(1900, description="dates before this year are rejected as implausible")
    max_year: int = Field(2100, description="dates after this year are rejected as implausible")

    @model_validator(mode="after")
    def _years(self) -> ImportPolicy:
        if self.min_year >= self.max_year:
            raise ValueError("min_year must be < max_year")
        return self


class FeaturesPolicy(Strict):
    """Which feature windows to compute (``features:`` section)."""

    windows_days: list[int] = Field([30, 90, 365], description="trailing windows in days for revenue and purchase days")
    aum_windows_months: list[int] = Field([1, 3], description="trailing windows in months for average daily balance")
    contact_kinds: list[str] = Field(["contact", "visit", "call", "meeting", "联系", "拜访", "电话"],
                                     description="interaction kinds that count as a contact")

    @field_validator("windows_days", "aum_windows_months")
    @classmethod
    def _positive(cls, v: list[int]) -> list[int]:
        if any(x <= 0 for x in v) or len(set(v)) != len(v):
            raise ValueError("windows must be distinct positive numbers")
        return v


class HighRule(Strict):
    """When an R, F or M score counts as "high" for two-level maps such as cn8."""

    method: Literal["mean", "median", "threshold"] = Field("mean", description="compare with the buyers' mean, median, or a threshold")
    basis: Literal["score", "value"] = Field("score", description="compare scores (1..n) or the raw values")
    threshold: float = Field(3.0, description="the threshold when method is threshold (≥ is high)")


class RFMPolicy(Strict):
    """RFM scoring and segment map (``rfm:`` section)."""

    enabled: bool = Field(True, description="compute RFM scores and segments")
    bins: int = Field(5, ge=2, le=10, description="number of score levels; n = best")
    method: Literal["quantile", "thresholds"] = Field("quantile", description="quantile bins or explicit thresholds")
    recency: str = Field("recency_days", description="feature used for R (fewer days = better)")
    frequency: str = Field("purchase_days", description="feature used for F")
    monetary: str = Field("revenue", description="feature used for M (revenue, gross_sales or profit)")
    thresholds: dict[Literal["R", "F", "M"], list[float]] | None = Field(
        None, description="n−1 ascending edges per dimension when method is thresholds")
    map: str = Field("cn8", description="segment map: cn8, en11, rf10, or a .yaml file in the workspace")
    high: HighRule = Field(default_factory=HighRule, description="rule for high/low in two-level maps")

    @model_validator(mode="after")
    def _thresholds(self) -> RFMPolicy:
        if self.method == "thresholds":
            if not self.thresholds or set(self.thresholds) != {"R", "F", "M"}:
                raise ValueError("method 'thresholds' needs thresholds for R, F and M")
            for dim, edges in self.thresholds.items():
                if len(edges) != self.bins - 1 or edges != sorted(edges):
                    raise ValueError(f"thresholds → {dim}: give {self.bins - 1} ascending edges")
        return self


class ABCPolicy(Strict):
    """ABC / Pareto classes (``abc:`` section)."""

    enabled: bool = Field(True, description="compute ABC classes")
    value: Literal["revenue", "gross_sales", "profit"] = Field("revenue", description="value to rank by")
    classes: dict[str, float] = Field({"A": 80.0, "B": 95.0, "C": 100.0},
                                      description="class → upper bound of the cumulative share in %, in order; "
                                                  "sub-grades are more classes (A+: 50, A: 70, A-: 80, …)")

    @field_validator("classes")
    @classmethod
    def _bounds(cls, v: dict[str, float]) -> dict[str, float]:
        bounds = list(v.values())
        if not bounds or bounds != sorted(bounds) or bounds[-1] != 100 or bounds[0] <= 0:
            raise ValueError("bounds must increase and the last must be 100")
        return v


class LifecyclePolicy(Strict):
    """Lifecycle stages (``lifecycle:`` section); see tierwise.analytics.lifecycle."""

    enabled: bool = Field(True, description="compute lifecycle stages")
    new_days: int = Field(90, ge=1, description="first purchase at most this many days ago: new")
    churn_days: int = Field(365, ge=1, description="no purchase for more than this many days: churned")
    k: float = Field(2.0, gt=0, description="at risk beyond k × the customer's typical gap between purchases")
    min_at_risk_days: int = Field(60, ge=1, description="never at risk before this many days")
    at_risk_days: int = Field(180, ge=1, description="at-risk limit for customers with one purchase day")
    loyal_min_purchase_days: int = Field(4, ge=1, description="purchase days needed to be loyal")
    loyal_min_tenure_days: int = Field(365, ge=0, description="tenure needed to be loyal")

    @model_validator(mode="after")
    def _order(self) -> LifecyclePolicy:
        if self.at_risk_days > self.churn_days:
            raise ValueError("at_risk_days must be ≤ churn_days")
        return self


class Label(Strict):
    """A label in both languages."""

    zh_CN: str = Field(alias="zh-CN", description="Chinese label")
    en: str = Field(description="English label")


class RuleSegment(Strict):
    id: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$", description="stable id")
    label: Label = Field(description="label shown to people")
    when: str = Field(description="condition in the rule language, e.g. aum_avg_3m >= 500000 AND age < 60")


class RuleSegmentation(Strict):
    """A named set of rule segments (``segments:`` list)."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="name; becomes the output column seg_<name>")
    title: Label | None = Field(None, description="title shown to people")
    mode: Literal["ordered", "tags"] = Field("ordered", description="ordered: first match wins; tags: every match")
    rules: list[RuleSegment] = Field(min_length=1, description="the segments and their conditions")
    default: str = Field("other", description="segment id of customers no rule matches (ordered mode)")
    default_label: Label = Field(default_factory=lambda: Label.model_validate({"zh-CN": "其他", "en": "Other"}),
                                 description="label of the default segment")
    maps_to: dict[str, dict[str, str]] = Field(
        {}, description="derived columns: name → {segment id → value}, e.g. service_level: {strong: premium}")

    @model_validator(mode="after")
    def _maps_cover(self) -> RuleSegmentation:
        ids = {r.id for r in self.rules} | {self.default}
        for name, values in self.maps_to.items():
            if self.mode != "ordered":
                raise ValueError("maps_to needs mode: ordered (one segment per customer)")
            missing, unknown = ids - set(values), set(values) - ids
            if missing or unknown:
                raise ValueError(f"maps_to → {name}: "
                                 + (f"no value for {sorted(missing)}" if missing else "")
                                 + ("; " if missing and unknown else "")
                                 + (f"unknown segments {sorted(unknown)}" if unknown else ""))
        return self

    @model_validator(mode="after")
    def _unique(self) -> RuleSegmentation:
        ids = [r.id for r in self.rules]
        if len(set(ids)) != len(ids):
            raise ValueError(f"rule ids must be unique: {ids}")
        return self


class LeadsPolicy(Strict):
    """Lead grading (``leads:`` section), for the realestate and b2b presets."""

    enabled: bool = Field(False, description="grade leads")
    method: Literal["matrix", "source"] = Field("matrix", description="intent × ability matrix, or by lead source")
    style: Literal["grade", "cell"] = Field("grade", description="matrix letters, or cells A1 … C3")
    matrix: list[list[str]] = Field([["A", "A", "B"], ["A", "B", "C"], ["B", "C", "C"]],
                                    description="3 × 3 grades: rows intent high→low, columns ability high→low")
    budget_thresholds: list[float] = Field([], description="two ascending budget edges deriving ability when missing")
    sources: dict[str, str] = Field({}, description="lead source → grade (method source)")
    default_grade: str = Field("C", description="grade of leads that cannot be placed")

    @model_validator(mode="after")
    def _shape(self) -> LeadsPolicy:
        if len(self.matrix) != 3 or any(len(r) != 3 for r in self.matrix):
            raise ValueError("matrix must be 3 × 3 (intent high/medium/low × ability high/medium/low)")
        if self.budget_thresholds and (len(self.budget_thresholds) != 2 or self.budget_thresholds != sorted(self.budget_thresholds)):
            raise ValueError("budget_thresholds: give two ascending numbers")
        if self.method == "source" and not self.sources:
            raise ValueError("method 'source' needs sources (source → grade)")
        return self


class ClustersPolicy(Strict):
    """Data-driven clusters (``clusters:`` section); see tierwise.models.clustering."""

    enabled: bool = Field(False, description="compute clusters")
    numeric: list[str] = Field(["purchase_days", "revenue", "recency_days"], description="numeric features")
    categorical: list[str] = Field([], description="categorical features (one-hot)")
    log: list[str] = Field(["revenue"], description="numeric features to log1p first (money)")
    k: int | None = Field(None, ge=2, le=30, description="fixed number of clusters; empty: choose by silhouette")
    k_range: tuple[int, int] = Field((2, 8), description="range of k searched by silhouette")
    fit_sample: int = Field(200_000, ge=100, description="fit on a seeded sample of at most this many customers")
    seed: int = Field(0, description="random seed")


class TierLevel(Strict):
    id: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$", description="stable id of the level")
    label: Label = Field(description="label shown to people")
    entry: float = Field(ge=0, description="entry threshold on the metric (≥ qualifies)")
    maintain: float | None = Field(None, ge=0, description="lower threshold to keep the level (default: entry)")
    deferral: int = Field(0, ge=0, description="consecutive periods below maintain before a downgrade")


class TiersPolicy(Strict):
    """The tier ladder (``tiers:`` section); see tierwise.tiers.ladder for the semantics."""

    enabled: bool = Field(False, description="evaluate the tier ladder in runs")
    metric: str = Field("aum_avg_3m", description="qualifying metric: a feature or an expression of features")
    unit: str = Field("¥", description="unit of the metric for explanations (¥, points, orders …)")
    calendar: Literal["monthly", "quarterly", "anniversary"] = Field(
        "monthly", description="when tiers are evaluated; anniversary: downgrades only in the anniversary month")
    upgrade: Literal["immediate", "next_period"] = Field("immediate", description="when an upgrade takes effect")
    downgrade_step: Literal["one", "qualifying", "best_of_k"] = Field("one", description="how far a downgrade goes")
    best_of_k: int = Field(3, ge=2, le=24, description="K for best_of_k")
    levels: list[TierLevel] = Field(default_factory=list, description="levels from lowest to highest")

    @model_validator(mode="after")
    def _ladder(self) -> TiersPolicy:
        if self.enabled and len(self.levels) < 2:
            raise ValueError("give at least two levels")
        ids = [lv.id for lv in self.levels]
        if len(set(ids)) != len(ids):
            raise ValueError(f"level ids must be unique: {ids}")
        entries = [lv.entry for lv in self.levels]
        if entries != sorted(entries) or len(set(entries)) != len(entries):
            raise ValueError("entry thresholds must strictly increase from the first level to the last")
        for i, lv in enumerate(self.levels):
            if lv.maintain is not None and lv.maintain > lv.entry:
                raise ValueError(f"levels → {i} ({lv.id}) → maintain: must be ≤ entry ({lv.entry:g})")
        return self


class ValuePolicy(Strict):
    """Customer value models joining the evaluation (``value:`` section)."""

    enabled: bool = Field(False, description="fit the value models in runs")
    model: Literal["bgnbd", "pareto_nbd", "mbgnbd"] = Field("bgnbd", description="transaction model")
    spend: Literal["gamma_gamma", "mean"] = Field("gamma_gamma", description="spend model (or each customer's mean)")
    unit: Literal["D", "W"] = Field("W", description="time unit of the models (days or weeks)")
    horizon: str = Field("52W", pattern=r"^\d+(\.\d+)?[DW]$", description="prediction horizon, e.g. 52W or 365D")
    period: str = Field("4W", pattern=r"^\d+(\.\d+)?[DW]$", description="discounting period, e.g. 4W")
    discount_rate: float = Field(0.01, ge=0, lt=1, description="discount rate per period")
    penalizer: float = Field(0.0, ge=0, description="L2 penalty on the log-parameters (helps sparse data converge)")


class ChurnPolicy(Strict):
    """Early churn warnings (``churn:`` section); see tierwise.analytics.churn. Empty disables a rule."""

    enabled: bool = Field(True, description="compute early churn warnings")
    p_alive_below: float | None = Field(0.3, ge=0, le=1, description="warn when P(alive) is below this")
    frequency_drop: float | None = Field(0.5, gt=0, le=1, description="warn when purchase days fall by this share")
    frequency_window_days: int = Field(90, description="window compared with the window before it")
    balance_drop: float | None = Field(0.3, gt=0, le=1, description="warn when last month's balance is this far below the 3-month average")
    no_contact_days: int | None = Field(180, ge=1, description="warn after this many days without contact")
    survey_below: float | None = Field(2.0, description="warn when the latest survey score is at or below this")


class PointsPolicy(Strict):
    """Points (``points:`` section); see tierwise.analytics.points. Adds points_* features."""

    enabled: bool = Field(False, description="compute points features")
    per_amount: float = Field(1.0, gt=0, description="points per unit of currency spent (rounded down)")
    category_multipliers: dict[str, float] = Field({}, description="product category → multiplier")
    tier_multipliers: dict[str, float] = Field({}, description="tier id → multiplier (tier in force at purchase)")
    qualifying_months: int = Field(12, ge=1, le=60, description="window of qualifying points")
    expiry_months: int | None = Field(24, ge=1, le=120, description="points expire after this many months")


class UpgradePolicy(Strict):
    """Upgrade candidates and next best product (``upgrade:`` section); see tierwise.upgrade."""

    enabled: bool = Field(False, description="find upgrade candidates and next best products in runs")
    near_share: float = Field(0.20, gt=0, le=1, description="near candidates: gap within this share of the next entry threshold")
    potential_top: float = Field(0.20, gt=0, le=1, description="potential candidates: top share of CLV within their tier")
    horizon_periods: int = Field(3, ge=1, le=24, description="runs ahead over which the likelihood of closing the gap is measured")
    prior_weight: float = Field(20.0, ge=0, description="smoothing of the empirical likelihood towards the overall rate")
    products_by: Literal["product_type", "product_id"] = Field("product_type", description="granularity of next best product")
    min_support: float = Field(0.30, gt=0, le=1, description="next tier's holding rate needed to recommend a product")
    min_lift: float = Field(1.5, ge=1, description="next tier's rate over the own tier's rate")
    max_products: int = Field(3, ge=1, le=10, description="recommendations per customer")


#: ``columns: {table: {canonical column: [header, ...]}}``
ColumnMap = dict[str, dict[str, list[str]]]


class Policy(Strict):
    """A workspace policy. Only ``preset`` is required; everything else has defaults."""

    version: Literal[1] = Field(1, description="policy file format version")
    name: str = Field("tierwise workspace", description="a name for reports and the web UI")
    preset: Literal["bank", "retail", "realestate", "b2b", "distributor"] = Field(
        description="the scenario this policy started from",
    )
    locale: Literal["zh-CN", "en"] = Field("zh-CN", description="language of reports and messages")
    currency: str = Field("CNY", min_length=3, max_length=3, description="ISO 4217 currency of all amounts")
    import_: ImportPolicy = Field(default_factory=ImportPolicy, alias="import",
                                  description="rules for imports")
    features: FeaturesPolicy = Field(default_factory=FeaturesPolicy, description="feature windows")
    rfm: RFMPolicy = Field(default_factory=RFMPolicy, description="RFM scores and segments")
    abc: ABCPolicy = Field(default_factory=ABCPolicy, description="ABC / Pareto classes")
    lifecycle: LifecyclePolicy = Field(default_factory=LifecyclePolicy, description="lifecycle stages")
    segments: list[RuleSegmentation] = Field(default_factory=list, description="rule segmentations")
    leads: LeadsPolicy = Field(default_factory=LeadsPolicy, description="lead grading")
    clusters: ClustersPolicy = Field(default_factory=ClustersPolicy, description="data-driven clusters")
    tiers: TiersPolicy = Field(default_factory=TiersPolicy, description="tier ladder")
    value: ValuePolicy = Field(default_factory=ValuePolicy, description="value models (CLV, P(alive))")
    churn: ChurnPolicy = Field(default_factory=ChurnPolicy, description="early churn warnings")
    points: PointsPolicy = Field(default_factory=PointsPolicy, description="points (积分)")
    upgrade: UpgradePolicy = Field(default_factory=UpgradePolicy, description="upgrade candidates and products")
    servicing: ServicingPolicy = Field(default_factory=ServicingPolicy,
                                       description="service plans, tasks, messages and alerts (see config/servicing.py)")

    @model_validator(mode="after")
    def _points_tiers(self) -> Policy:
        unknown = set(self.points.tier_multipliers) - {lv.id for lv in self.tiers.levels}
        if self.points.enabled and unknown:
            raise ValueError(f"points → tier_multipliers: unknown tiers {sorted(unknown)}")
        return self

    @model_validator(mode="after")
    def _servicing_plans(self) -> Policy:
        sv = self.servicing
        if not sv.enabled or sv.plan_by != "tier":
            return self
        if not self.tiers.enabled:
            raise ValueError("servicing → plan_by: 'tier' needs the tier ladder (tiers → enabled: true), "
                             "or choose another column such as lifecycle")
        ids = [lv.id for lv in self.tiers.levels]
        problems = []
        for path, names in sv.plan_values().items():
            for name in sorted(names - set(ids)):
                hint = did_you_mean(name, ids)
                problems.append(f"servicing → {path}: unknown tier '{name}'" + (f"; {hint}" if hint else
                                                                                 f"; tiers are {ids}"))
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @model_validator(mode="after")
    def _churn_window(self) -> Policy:
        if self.churn.enabled and self.churn.frequency_drop is not None \
                and self.churn.frequency_window_days not in self.features.windows_days:
            raise ValueError(f"churn → frequency_window_days ({self.churn.frequency_window_days}) must be one of "
                             f"features → windows_days {self.features.windows_days}")
        return self
    columns: ColumnMap = Field(
        default_factory=dict,
        description="per canonical table, the source headers (any of them, case-insensitive) for each column",
    )

    @field_validator("columns", mode="before")
    @classmethod
    def _normalise_columns(cls, value: object) -> object:
        """Accept a single header string where a list is expected."""
        if isinstance(value, dict):
            return {
                t: ({c: ([h] if isinstance(h, str) else h) for c, h in cols.items()} if isinstance(cols, dict) else cols)
                for t, cols in value.items()
            }
        return value

    @field_validator("columns")
    @classmethod
    def _known_tables_and_columns(cls, value: ColumnMap) -> ColumnMap:
        problems = []
        for table, cols in value.items():
            if table not in TABLES:
                hint = did_you_mean(table, TABLES)
                problems.append(f"unknown table '{table}'" + (f"; {hint}" if hint else f"; expected one of {sorted(TABLES)}"))
                continue
            for col, headers in cols.items():
                if not TABLES[table].has(col):
                    hint = did_you_mean(col, TABLES[table].names)
                    problems.append(f"{table} → {col}: unknown column '{col}' of table '{table}'"
                                    + (f"; {hint}" if hint else ""))
                elif not headers:
                    problems.append(f"{table} → {col}: give at least one source header")
        if problems:
            raise ValueError("; ".join(problems))
        return value

    @field_validator("segments")
    @classmethod
    def _unique_segmentations(cls, v: list[RuleSegmentation]) -> list[RuleSegmentation]:
        names = [x.name for x in v]
        if len(set(names)) != len(names):
            raise ValueError(f"segmentation names must be unique: {names}")
        return v

    def headers_for(self, table: str) -> dict[str, list[str]]:
        """Source headers for each canonical column of ``table`` (canonical name always matches too)."""
        mapping = {c: [c] for c in TABLES[table].names}
        for col, headers in self.columns.get(table, {}).items():
            mapping[col] = list(dict.fromkeys([*headers, col]))
        return mapping


def _format_loc(loc: tuple) -> tuple[str, ...]:
    return tuple(str(p) for p in loc if p not in ("function-after", "function-before"))


def parse_policy(text: str, source: str = "policy.yaml") -> Policy:
    """Validate policy YAML text; raise one :class:`PolicyError` listing every problem with its place."""
    doc = load_yaml_with_marks(text, source)
    if not isinstance(doc.data, dict):
        raise PolicyError(f"{source}: the policy must be a mapping of sections (got {type(doc.data).__name__})",
                          hint="start from a preset: tierwise init DIR --preset bank")
    try:
        return Policy.model_validate(doc.data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            loc = _format_loc(err["loc"])
            path = " → ".join(loc) if loc else "(top level)"
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                parent = loc[:-1]
                model = _model_at(parent)
                choices = list(model.model_fields) + [f.alias for f in model.model_fields.values() if f.alias] if model else []
                hint = did_you_mean(loc[-1], choices) if choices else None
                msg = f"unknown setting '{loc[-1]}'" + (f"; {hint}" if hint else "")
            lines.append(f"{doc.where(loc)}: {path}: {msg}")
        raise PolicyError(f"{source}: the policy is invalid ({len(lines)} problem{'s' if len(lines) > 1 else ''}):\n  "
                          + "\n  ".join(lines)) from None


def _model_at(path: tuple[str, ...]) -> type[BaseModel] | None:
    model: type[BaseModel] = Policy
    for part in path:
        field = model.model_fields.get(part) or next(
            (f for f in model.model_fields.values() if f.alias == part), None)
        if field is None or not (isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel)):
            return None
        model = field.annotation
    return model


def load_policy(path: str | Path) -> Policy:
    """Read and validate a policy file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PolicyError(f"{path}: policy file not found",
                          hint="create a workspace with: tierwise init DIR --preset bank") from None
    except UnicodeDecodeError as exc:
        raise PolicyError(f"{path}: the policy must be UTF-8 text ({exc.reason} at byte {exc.start})") from None
    return parse_policy(text, str(path))


def policy_hash(text: str) -> str:
    """Stable hash of a policy text, recorded with every run."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
