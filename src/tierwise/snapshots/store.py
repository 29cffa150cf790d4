"""Immutable snapshots, one per run, published atomically.

Layout under ``snapshots/``::

    index.json                 the published runs in order of as-of date (replaced atomically)
    run-000001/                one run: customers.parquet, summaries/*.parquet, run.json, state.json
    _staging-run-000002/       being written; never read

A run writes everything into its staging folder, fsyncs it, renames it into place and
only then replaces ``index.json``. A run killed at any point leaves the previous index,
whose snapshots are all complete. Several runs may exist for one as-of date (a rerun);
the index names the latest of them as the one in force for that date.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from tierwise.atomic import fsync_dir, fsync_tree, write_atomic

INDEX = "index.json"


def write_table(table: pa.Table, path: Path) -> None:
    """Write Parquet deterministically (same table → same bytes)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, compression="zstd", row_group_size=1_000_000, write_statistics=True,
                   use_dictionary=True, store_schema=True)


@dataclass
class SnapshotInfo:
    run_id: str
    as_of: date
    digest: str

    @classmethod
    def from_json(cls, d: dict) -> SnapshotInfo:
        return cls(d["run_id"], date.fromisoformat(d["as_of"]), d["digest"])


class SnapshotStore:
    def __init__(self, root: Path):
        self.root = root

    # ------------------------------------------------------------------ reading
    def index(self) -> list[SnapshotInfo]:
        p = self.root / INDEX
        if not p.exists():
            return []
        return [SnapshotInfo.from_json(d) for d in json.loads(p.read_text(encoding="utf-8"))["runs"]]

    def in_force(self) -> list[SnapshotInfo]:
        """One snapshot per as-of date (the latest run of each date), ordered by date."""
        by_date: dict[date, SnapshotInfo] = {}
        for s in self.index():
            by_date[s.as_of] = s
        return [by_date[d] for d in sorted(by_date)]

    def current(self) -> SnapshotInfo | None:
        runs = self.in_force()
        return runs[-1] if runs else None

    def before(self, as_of: date) -> SnapshotInfo | None:
        """The snapshot in force for the latest date strictly before ``as_of``."""
        earlier = [s for s in self.in_force() if s.as_of < as_of]
        return earlier[-1] if earlier else None

    def find(self, ref: str | date | None) -> SnapshotInfo | None:
        """By run id, by as-of date (YYYY-MM-DD), or the current one."""
        if ref is None:
            return self.current()
        ref_s = ref.isoformat() if isinstance(ref, date) else str(ref)
        for s in reversed(self.index()):
            if s.run_id == ref_s or s.as_of.isoformat() == ref_s:
                return s
        return None

    def path(self, run_id: str) -> Path:
        return self.root / run_id

    def read(self, run_id: str, name: str = "customers") -> pa.Table:
        return pq.read_table(self.path(run_id) / f"{name}.parquet")

    def meta(self, run_id: str) -> dict:
        return json.loads((self.path(run_id) / "run.json").read_text(encoding="utf-8"))

    def next_run_id(self) -> str:
        used = [int(s.run_id.split("-")[1]) for s in self.index()]
        if self.root.exists():
            used += [int(p.name.split("-")[-1]) for p in self.root.iterdir()
                     if p.is_dir() and p.name.split("-")[-1].isdigit()]
        return f"run-{(max(used) + 1) if used else 1:06d}"

    # ------------------------------------------------------------------ writing
    def staging(self, run_id: str) -> Path:
        d = self.root / f"_staging-{run_id}"
        if d.exists():
            shutil.rmtree(d)
        d.mkdir(parents=True)
        return d

    def publish(self, run_id: str, as_of: date, staged: Path) -> SnapshotInfo:
        digest = digest_of(staged)
        fsync_tree(staged)
        final = self.path(run_id)
        os.rename(staged, final)
        fsync_dir(self.root)
        runs = [{"run_id": s.run_id, "as_of": s.as_of.isoformat(), "digest": s.digest} for s in self.index()]
        runs.append({"run_id": run_id, "as_of": as_of.isoformat(), "digest": digest})
        runs.sort(key=lambda r: (r["as_of"], r["run_id"]))
        write_atomic(self.root / INDEX, json.dumps({"runs": runs}, indent=2))
        return SnapshotInfo(run_id, as_of, digest)

    def remove_orphans(self) -> list[str]:
        """Delete staging folders and unpublished run folders (from killed runs)."""
        published = {s.run_id for s in self.index()}
        removed = []
        if self.root.exists():
            for p in self.root.iterdir():
                if p.is_dir() and (p.name.startswith("_staging-") or (p.name.startswith("run-") and p.name not in published)):
                    shutil.rmtree(p, ignore_errors=True)
                    removed.append(p.name)
            for p in self.root.glob(f"_{INDEX}.tmp"):
                p.unlink(missing_ok=True)
        return removed


IDENTITY_FILES = ("customers.parquet", "state.json", "identity.json")


def digest_of(folder: Path) -> str:
    """Hash of the snapshot's data files (timings excluded): equal inputs give equal digests."""
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if p.is_file() and p.name != "run.json":
            h.update(p.relative_to(folder).as_posix().encode())
            h.update(p.read_bytes())
    return h.hexdigest()
