"""The data area: imported canonical tables as immutable Parquet batches, made visible by one manifest.

Layout under ``data/``::

    manifest.json                 what is visible: per table, the current batches
    <table>/<import id>/part-0.parquet
    <table>/<import id>/reconciliation.json
    _staging/<import id>/         being written; never read

Committing an import is: write the batch under ``_staging``, fsync, rename it into
``<table>/``, then replace ``manifest.json`` atomically (write a temporary file, fsync,
``os.replace``, fsync the folder). A process killed at any point leaves either the old
or the new manifest, both complete; batches no manifest names are orphans and are
removed by :func:`remove_orphans` on the next write.
"""

from __future__ import annotations

import json
import os
import shutil

from tierwise.atomic import fsync_dir, fsync_tree, write_atomic
from dataclasses import dataclass, field
from pathlib import Path

MANIFEST = "manifest.json"


@dataclass
class Manifest:
    """``current[table]`` lists the import ids whose batches form the table now;
    ``history`` lists every committed import id in order (replaced batches stay on disk
    so a run can record exactly which data it used)."""

    version: int = 0
    current: dict[str, list[str]] = field(default_factory=dict)
    history: list[str] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps({"version": self.version, "current": self.current, "history": self.history},
                          ensure_ascii=False, indent=2)


class DataArea:
    """Read and commit the batches of a workspace's ``data/`` folder."""

    def __init__(self, root: Path):
        self.root = root
        self.staging = root / "_staging"

    def manifest(self) -> Manifest:
        path = self.root / MANIFEST
        if not path.exists():
            return Manifest()
        raw = json.loads(path.read_text(encoding="utf-8"))
        return Manifest(raw["version"], raw["current"], raw["history"])

    def batch_dir(self, table: str, import_id: str) -> Path:
        return self.root / table / import_id

    def table_files(self, table: str, manifest: Manifest | None = None) -> list[str]:
        """Parquet files that make up ``table`` now (empty if never imported)."""
        m = manifest or self.manifest()
        files = []
        for iid in m.current.get(table, []):
            files += sorted(str(p) for p in self.batch_dir(table, iid).glob("part-*.parquet"))
        return files

    def next_import_id(self) -> str:
        m = self.manifest()
        used = {int(i.split("-")[1]) for i in m.history}
        dirs = [self.staging] + ([p for p in self.root.iterdir() if p.is_dir()] if self.root.exists() else [])
        for d in dirs:
            if d.exists():
                used |= {int(p.name.split("-")[1]) for p in d.iterdir()
                         if p.is_dir() and p.name.startswith("imp-") and p.name.split("-")[1].isdigit()}
        return f"imp-{(max(used) + 1) if used else 1:06d}"

    def new_staging_dir(self, import_id: str) -> Path:
        d = self.staging / import_id
        if d.exists():
            shutil.rmtree(d)
        d.mkdir(parents=True)
        return d

    def commit(self, table: str, import_id: str, staged: Path, mode: str) -> Manifest:
        """Publish a staged batch: rename it into place, then switch the manifest."""
        fsync_tree(staged)
        final = self.batch_dir(table, import_id)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.rename(staged, final)
        fsync_dir(final.parent)
        m = self.manifest()
        cur = [] if mode == "replace" else list(m.current.get(table, []))
        m.current[table] = [*cur, import_id]
        m.history.append(import_id)
        m.version += 1
        write_atomic(self.root / MANIFEST, m.to_json())
        return m

    def remove_orphans(self) -> list[str]:
        """Delete staging leftovers and batches no manifest ever committed (from killed imports)."""
        removed = []
        if self.staging.exists():
            for p in self.staging.iterdir():
                shutil.rmtree(p, ignore_errors=True)
                removed.append(str(p))
        committed = set(self.manifest().history)
        if self.root.exists():
            for tdir in self.root.iterdir():
                if not tdir.is_dir() or tdir.name.startswith("_"):
                    continue
                for b in tdir.iterdir():
                    if b.is_dir() and b.name.startswith("imp-") and b.name not in committed:
                        shutil.rmtree(b, ignore_errors=True)
                        removed.append(str(b))
        for p in self.root.glob(f"_{MANIFEST}.tmp"):
            p.unlink(missing_ok=True)
        return removed
