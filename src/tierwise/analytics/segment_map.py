"""Segment maps: named, versioned, validated data that turn RFM scores into segments.

A map declares its dimensions with their values (``R: [1, 2, 3, 4, 5]`` or
``R: [low, high]``) and a list of segments, each with a label in zh-CN and en and a
``when`` condition: a box (``{R: 5, FM: [4, 5]}``; a list means any of these values, a
missing dimension means any value) or a list of boxes. Loading checks that the
segments partition the grid of cells: every cell in exactly one segment, or, if the map
names an ``other`` segment, at most one. The error names the overlapping and the
missing cells.

Dimensions: ``R``, ``F``, ``M`` (scores), ``FM`` (the rounded mean of F and M, half up:
``(F + M + 1) div 2``); on a ``[low, high]`` dimension, R, F and M are judged high or low
by the policy's rule (see :func:`high_flags`).
"""

from __future__ import annotations

import itertools
from importlib import resources
from pathlib import Path
from typing import Literal, Union

import ibis
import ibis.expr.types as ir
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from tierwise.errors import PolicyError, did_you_mean

BUILTIN = ("cn8", "en11", "rf10")
KNOWN_DIMENSIONS = ("R", "F", "M", "FM")
NO_PURCHASE = "no_purchase"

Value = Union[int, str]
Box = dict[str, Union[Value, list[Value]]]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Segment(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: dict[Literal["zh-CN", "en"], str]
    when: Union[Box, list[Box]] = Field(default_factory=dict)

    @property
    def boxes(self) -> list[Box]:
        return self.when if isinstance(self.when, list) else [self.when]


class SegmentMap(_Strict):
    name: str
    version: int = Field(ge=1)
    title: dict[Literal["zh-CN", "en"], str] = Field(default_factory=dict)
    dimensions: dict[str, list[Value]]
    segments: list[Segment]
    other: Segment | None = None

    @field_validator("dimensions")
    @classmethod
    def _dims(cls, v: dict[str, list[Value]]) -> dict[str, list[Value]]:
        for d, values in v.items():
            if d not in KNOWN_DIMENSIONS:
                hint = did_you_mean(d, KNOWN_DIMENSIONS)
                raise ValueError(f"unknown dimension '{d}'" + (f"; {hint}" if hint else f"; use {KNOWN_DIMENSIONS}"))
            if values not in (["low", "high"], ["high", "low"]) and not all(isinstance(x, int) for x in values):
                raise ValueError(f"dimension {d}: values are scores (integers) or [low, high]")
        return v

    @property
    def high_low(self) -> bool:
        return any(v and isinstance(v[0], str) for v in self.dimensions.values())

    def label(self, segment_id: str, locale: str) -> str:
        for s in [*self.segments, *([self.other] if self.other else [])]:
            if s.id == segment_id:
                return s.label.get(locale) or s.label.get("en") or s.id
        return segment_id

    def cells(self) -> list[tuple[Value, ...]]:
        return list(itertools.product(*self.dimensions.values()))

    def covers(self, box: Box, cell: tuple[Value, ...]) -> bool:
        for d, v in zip(self.dimensions, cell):
            want = box.get(d)
            if want is None:
                continue
            if v not in (want if isinstance(want, list) else [want]):
                return False
        return True


def validate_partition(m: SegmentMap) -> None:
    """Raise :class:`PolicyError` unless the segments partition the grid (see module docstring)."""
    problems = []
    dims = list(m.dimensions)
    ids = [s.id for s in m.segments]
    dup = {i for i in ids if ids.count(i) > 1}
    if dup:
        problems.append(f"segment ids used twice: {sorted(dup)}")
    for s in m.segments:
        for box in s.boxes:
            for d, want in box.items():
                if d not in m.dimensions:
                    problems.append(f"segment '{s.id}': dimension '{d}' is not declared")
                    continue
                for v in (want if isinstance(want, list) else [want]):
                    if v not in m.dimensions[d]:
                        problems.append(f"segment '{s.id}': {d}={v} is not a value of {d} {m.dimensions[d]}")
    if problems:
        raise PolicyError(f"segment map '{m.name}' is invalid: " + "; ".join(problems))
    overlaps, missing = [], []
    for cell in m.cells():
        owners = [s.id for s in m.segments if any(m.covers(b, cell) for b in s.boxes)]
        name = ",".join(f"{d}={v}" for d, v in zip(dims, cell))
        if len(owners) > 1:
            overlaps.append(f"{name} is in {' and '.join(repr(o) for o in owners)}")
        elif not owners and m.other is None:
            missing.append(name)
    if overlaps or missing:
        parts = []
        if overlaps:
            parts.append("overlapping cells: " + "; ".join(overlaps))
        if missing:
            parts.append("cells in no segment: " + " ".join(missing)
                         + " (add them to a segment, or name an 'other' segment that takes them)")
        raise PolicyError(f"segment map '{m.name}' is not a partition of its cells: " + ". ".join(parts))


def parse_segment_map(data: object, source: str) -> SegmentMap:
    try:
        m = SegmentMap.model_validate(data)
    except ValidationError as exc:
        lines = [f"{' → '.join(str(p) for p in e['loc'])}: {e['msg'].removeprefix('Value error, ')}" for e in exc.errors()]
        raise PolicyError(f"{source}: invalid segment map:\n  " + "\n  ".join(lines)) from None
    validate_partition(m)
    return m


def load_segment_map(name_or_path: str, base: Path | None = None) -> SegmentMap:
    """A built-in map by name (``cn8``, ``en11``, ``rf10``) or a user map from a YAML file."""
    if name_or_path in BUILTIN:
        text = resources.files("tierwise.analytics").joinpath("segment_maps", f"{name_or_path}.yaml").read_text(
            encoding="utf-8")
        return parse_segment_map(yaml.safe_load(text), f"segment map {name_or_path}")
    path = Path(name_or_path)
    if base is not None and not path.is_absolute():
        path = base / path
    if not path.suffix:
        hint = did_you_mean(name_or_path, BUILTIN)
        raise PolicyError(f"unknown segment map '{name_or_path}'",
                          hint=hint or f"built-in maps: {', '.join(BUILTIN)}; or give a .yaml file")
    if not path.exists():
        raise PolicyError(f"segment map file {path} not found")
    return parse_segment_map(yaml.safe_load(path.read_text(encoding="utf-8")), str(path))


def high_flags(scores: ir.Table, *, method: Literal["mean", "median", "threshold"] = "mean",
               basis: Literal["score", "value"] = "score", threshold: float = 3.0) -> ir.Table:
    """Add ``r_high``, ``f_high``, ``m_high``: at or above the reference (≥), among buyers.

    ``basis="score"`` compares the scores; ``basis="value"`` the values (recency: fewer
    days is better, so R is high when ``recency ≤ reference``). The reference is the
    buyers' mean or median, or ``threshold``.
    """
    buyers = scores.filter(scores.r_score.notnull())
    flags = {}
    for dim, score_col, value_col in (("r", "r_score", "recency"), ("f", "f_score", "frequency"),
                                      ("m", "m_score", "monetary")):
        col = scores[score_col] if basis == "score" else scores[value_col].cast("float64")
        bcol = buyers[score_col] if basis == "score" else buyers[value_col].cast("float64")
        if method == "mean":
            ref = bcol.mean().as_scalar()
        elif method == "median":
            ref = bcol.median().as_scalar()
        else:
            ref = ibis.literal(float(threshold))
        high = (col <= ref) if (basis == "value" and dim == "r") else (col >= ref)
        flags[f"{dim}_high"] = ibis.ifelse(scores.r_score.isnull(), ibis.null("boolean"), high)
    return scores.mutate(**flags)


def assign_segments(scores: ir.Table, m: SegmentMap) -> ir.Table:
    """Add ``segment`` (a segment id; ``no_purchase`` for customers without scores)."""
    dim_expr = {
        "R": scores.r_score, "F": scores.f_score, "M": scores.m_score,
        "FM": (scores.f_score + scores.m_score + 1) // 2,
    }
    if m.high_low:
        dim_expr |= {d: ibis.ifelse(scores[f"{d.lower()}_high"], "high", "low") for d in ("R", "F", "M")}
    branches = []
    for s in m.segments:
        ors = []
        for box in s.boxes:
            ands = [dim_expr[d].isin(w if isinstance(w, list) else [w]) for d, w in box.items()]
            ors.append(ibis.and_(*ands) if ands else ibis.literal(True))
        branches.append((ibis.or_(*ors), s.id))
    other = m.other.id if m.other else None
    seg = ibis.cases(*branches, else_=other)
    return scores.mutate(segment=ibis.ifelse(scores.r_score.isnull(), NO_PURCHASE, seg))
