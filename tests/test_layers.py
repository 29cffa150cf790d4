"""Imports point down only (ARCHITECTURE.md "Layers"); only tierwise.engine imports an engine."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "tierwise"

LEAVES = {"errors", "config", "i18n", "canonical", "datasets", "atomic"}
#: layer → tierwise layers it may import (besides itself); leaves may import leaves only
ALLOWED: dict[str, set[str]] = {
    **{leaf: LEAVES for leaf in LEAVES},
    "errors": set(),
    "engine": LEAVES,
    "store": LEAVES,
    "ingest": LEAVES | {"protect"},
    "analytics": LEAVES,
    "models": LEAVES,
    "samples": LEAVES,
    "snapshots": LEAVES,
    "protect": LEAVES,
    "tiers": LEAVES | {"analytics", "models"},
    "upgrade": LEAVES | {"analytics", "models", "tiers"},
    "servicing": LEAVES | {"analytics", "tiers"},
    "reports": LEAVES | {"analytics"},
    "app": LEAVES | {"engine", "store", "ingest", "analytics", "models", "samples", "snapshots", "tiers",
                     "upgrade", "servicing", "reports", "protect"},
    "cli": LEAVES | {"app"},
    "api": LEAVES | {"app"},
    "web": LEAVES | {"app", "api"},
    "__main__": {"cli"},
}
#: third-party modules only some layers may import
RESTRICTED = {
    "duckdb": {"engine"}, "pyspark": {"engine"}, "psycopg": {"engine"}, "psycopg2": {"engine"},
    "cryptography": {"protect"},
    "typer": {"cli"}, "rich": {"cli"}, "fastapi": {"api", "web"}, "starlette": {"api", "web"},
    "ibis": {"engine", "analytics", "tiers", "upgrade", "servicing", "reports", "app"},
}


def layer_of(path: Path, root: Path) -> str:
    rel = path.relative_to(root)
    return rel.parts[0].removesuffix(".py") if len(rel.parts) > 1 or rel.name != "__init__.py" else "__init__"


def imports_of(path: Path, root: Path = PACKAGE) -> list[tuple[int, str]]:
    """(line, absolute module) of every import in ``path``; relative imports are resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = ["tierwise", *path.relative_to(root).parts[:-1]]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1]
            found.append((node.lineno, ".".join(base + ([node.module] if node.module else []))))
    return found


def violations(root: Path) -> list[str]:
    problems = []
    for path in sorted(root.rglob("*.py")):
        layer = layer_of(path, root)
        if layer == "__init__":
            continue
        if layer not in ALLOWED:
            problems.append(f"{path}: layer '{layer}' is not declared in ALLOWED")
            continue
        for lineno, module in imports_of(path, root):
            parts = module.split(".")
            if parts[0] == "tierwise" and len(parts) > 1:
                target = parts[1]
                if target != layer and target not in ALLOWED[layer]:
                    problems.append(f"{path}:{lineno}: {layer} imports {module} ({target} is not below {layer})")
            elif parts[0] in RESTRICTED and layer not in RESTRICTED[parts[0]]:
                problems.append(f"{path}:{lineno}: {layer} imports {parts[0]}, allowed only in "
                                f"{sorted(RESTRICTED[parts[0]])}")
    return problems


def test_package_imports_point_down_only():
    assert violations(PACKAGE) == []


def test_layer_check_catches_a_wrong_way_import(tmp_path):
    pkg = tmp_path / "tierwise"
    (pkg / "ingest").mkdir(parents=True)
    (pkg / "cli").mkdir()
    (pkg / "ingest" / "bad.py").write_text("from tierwise.cli.main import app\nimport duckdb\n")
    (pkg / "cli" / "ok.py").write_text("from tierwise.app.importing import import_table\n")
    (pkg / "ingest" / "rel.py").write_text("from ..store import db\n")
    found = violations(pkg)
    assert len(found) == 3
    assert any("ingest imports tierwise.store" in f for f in found)
    assert "ingest imports tierwise.cli.main" in found[0]
    assert "ingest imports duckdb" in found[1]


def test_every_layer_directory_is_declared():
    for sub in PACKAGE.iterdir():
        if sub.is_dir() and (sub / "__init__.py").exists():
            assert sub.name in ALLOWED, f"new layer {sub.name}: declare it in ALLOWED"


@pytest.mark.parametrize("module", ["tierwise.engine"])
def test_only_the_engine_imports_duckdb(module):
    users = [str(p) for p in PACKAGE.rglob("*.py")
             if any(m.split(".")[0] == "duckdb" for _, m in imports_of(p))]
    assert users and all("/engine/" in u for u in users)
