"""The policy reference (docs/policy.md), generated from the schema so it cannot drift.

``python -m tierwise.config.reference > docs/policy.md`` regenerates it; a test checks the
committed file equals the generated one and lists every setting.
"""

from __future__ import annotations

import typing

from pydantic import BaseModel

from tierwise.config.policy import Policy

HEADER = """# Policy reference

Every setting of `policy.yaml`, generated from the schema (`tierwise/config/policy.py`); unknown
keys are refused. Start from a preset (`tierwise init DIR --preset bank`) and edit.

| setting | type | default | meaning |
| --- | --- | --- | --- |
"""


def _type_name(ann) -> str:
    origin = typing.get_origin(ann)
    if origin is typing.Literal:
        return " \\| ".join(repr(a) for a in typing.get_args(ann))
    if origin in (list, tuple):
        return f"list of {_type_name(typing.get_args(ann)[0])}" if typing.get_args(ann) else "list"
    if origin is dict:
        k, v = typing.get_args(ann)
        return f"map {_type_name(k)} → {_type_name(v)}"
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        return " or ".join(_type_name(a) for a in typing.get_args(ann) if a is not type(None)) + " (optional)"
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return "section"
    return getattr(ann, "__name__", str(ann))


def _model_of(ann) -> type[BaseModel] | None:
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return ann
    for a in typing.get_args(ann):
        m = _model_of(a)
        if m is not None:
            return m
    return None


def settings(model: type[BaseModel] = Policy, prefix: str = "") -> list[tuple[str, str, str, str]]:
    """(path, type, default, description) of every setting, depth first."""
    rows = []
    for name, field in model.model_fields.items():
        key = field.alias or name
        path = f"{prefix}{key}"
        default = "" if field.is_required() else (
            "—" if field.default_factory is not None and _model_of(field.annotation) else repr(
                field.default if field.default_factory is None else field.default_factory()))
        rows.append((path, _type_name(field.annotation), default, (field.description or "").replace("|", "\\|")))
        sub = _model_of(field.annotation)
        if sub is not None and sub is not model:
            is_list = typing.get_origin(field.annotation) is list
            rows += settings(sub, f"{path}[]." if is_list else f"{path}.")
    return rows


def reference() -> str:
    lines = [HEADER]
    for path, typ, default, desc in settings():
        lines.append(f"| `{path}` | {typ} | {default.replace('|', '¦')} | {desc} |\n")
    return "".join(lines)


if __name__ == "__main__":  # pragma: no cover
    print(reference(), end="")
