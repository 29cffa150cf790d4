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
