"""Fast reads of the published snapshots for the API and the pages: one DuckDB per process.

Per workspace, one in-memory DuckDB connection (from :mod:`tierwise.engine`) holds, for the
snapshot in force now:

* ``cur_N``   the current snapshot's customers, sorted by customer id (zone maps make a
  point lookup touch one row group);
* ``hist_N``  the tier columns of every snapshot in force, sorted by customer and date;
* ``pers_N``  the personal fields of the imported customers table, sorted by customer id.

They are rebuilt when the snapshot index or the data area changes (checked on every call
by a file stat and the manifest's version) under new names, so a request in flight keeps
reading the generation it started with. Each request works on its own cursor.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from tierwise.canonical import TABLES
from tierwise.engine import connect_duckdb
from tierwise.snapshots.store import INDEX, SnapshotInfo, SnapshotStore

HIST_COLUMNS = ("tier", "tier_level", "tier_status", "tier_event", "tier_metric", "watch_count", "override_ids")
#: the customers' personal columns, as the canonical schema marks them
PERSONAL = tuple(c.name for c in TABLES["customers"].personal_columns())


def _lit(path: str | Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def state_key(ws) -> tuple:
    """Changes whenever a run is published or an import is committed."""
    idx = Path(ws.snapshots) / INDEX
    try:
        st = idx.stat()
        snap = (st.st_mtime_ns, st.st_size)
    except FileNotFoundError:
        snap = None
    return snap, ws.data.manifest().version


@dataclass
class Generation:
    """The tables of one workspace state."""

    key: tuple
    n: int
    current: SnapshotInfo | None
    previous: SnapshotInfo | None
    in_force: list[SnapshotInfo]
    cur: str | None = None
    hist: str | None = None
    pers: str | None = None
    columns: tuple[str, ...] = ()
    files: dict[str, str] = field(default_factory=dict)    # run_id → customers.parquet


class Reader:
    """The per-process cached DuckDB of one workspace."""

    def __init__(self, ws):
        self.ws = ws
        self.con = connect_duckdb(ws.scratch, threads=ws.settings.threads, memory_limit=ws.settings.memory_limit)
        self.lock = threading.Lock()
        self.gen: Generation | None = None
        self.old: list[Generation] = []
        self.cache: dict = {}

    def generation(self) -> Generation:
        key = state_key(self.ws)
        gen = self.gen
        if gen is not None and gen.key == key:
            return gen
        with self.lock:
            if self.gen is not None and self.gen.key == key:
                return self.gen
            gen = self._build(key, (self.gen.n + 1) if self.gen else 1)
            if self.gen is not None:
                self.old.append(self.gen)
            while len(self.old) > 1:          # keep one older generation for requests in flight
                self._drop(self.old.pop(0))
            self.gen = gen
            self.cache = {}
            return gen

    def _drop(self, g: Generation) -> None:
        for name in (g.cur, g.hist, g.pers, f"candidates_{g.n}", f"next_best_products_{g.n}"):
            if name:
                self.con.execute(f"DROP TABLE IF EXISTS {name}")

    def _build(self, key: tuple, n: int) -> Generation:
        snaps = SnapshotStore(self.ws.snapshots)
        runs = snaps.in_force()
        cur = runs[-1] if runs else None
        prev = runs[-2] if len(runs) > 1 else None
        g = Generation(key, n, cur, prev, runs)
        g.files = {s.run_id: (snaps.path(s.run_id) / "customers.parquet").as_posix() for s in runs}
        c = self.con
        if cur is not None:
            g.cur = f"cur_{n}"
            c.execute(f"CREATE TABLE {g.cur} AS SELECT * FROM read_parquet({_lit(g.files[cur.run_id])}) "
                      "ORDER BY customer_id")
            g.columns = tuple(r[0] for r in c.execute(f"DESCRIBE {g.cur}").fetchall())
            parts = []
            for s in runs:
                cols = c.execute(f"DESCRIBE SELECT * FROM read_parquet({_lit(g.files[s.run_id])})").fetchall()
                have = {r[0] for r in cols}
                if "tier" not in have:
                    continue
                sel = ", ".join(col if col in have else f"NULL AS {col}" for col in HIST_COLUMNS)
                parts.append(f"SELECT customer_id, DATE '{s.as_of.isoformat()}' AS as_of, '{s.run_id}' AS run_id, "
                             f"{sel} FROM read_parquet({_lit(g.files[s.run_id])})")
            if parts:
                g.hist = f"hist_{n}"
                c.execute(f"CREATE TABLE {g.hist} AS SELECT * FROM ({' UNION ALL '.join(parts)}) "
                          "ORDER BY customer_id, as_of")
        files = self.ws.data.table_files("customers")
        if files:
            from tierwise.app.personal import personal_fields

            have = {r[0] for r in c.execute(
                f"DESCRIBE SELECT * FROM read_parquet([{', '.join(_lit(f) for f in files)}], union_by_name=true)"
            ).fetchall()}
            extra = ", ".join(f"f.{x}" for x in ("manager_id", "branch_id") if x in have)
            # personal fields are opened from the sealed vault into this process's memory only
            c.register("_people", personal_fields(self.ws, columns=list(PERSONAL)))
            g.pers = f"pers_{n}"
            c.execute(f"CREATE TABLE {g.pers} AS SELECT f.customer_id, {', '.join('p.' + x for x in PERSONAL)}"
                      f"{', ' + extra if extra else ''} FROM read_parquet([{', '.join(_lit(f) for f in files)}], "
                      "union_by_name=true) f LEFT JOIN _people p USING (customer_id) ORDER BY f.customer_id")
            c.unregister("_people")
        return g

    def cursor(self):
        return self.con.cursor()

    def cached(self, key, compute):
        """A value computed once per workspace state (dashboards, policies)."""
        gen = self.generation()
        full = (gen.key, key)
        if full in self.cache:
            return self.cache[full]
        value = compute()
        self.cache[full] = value
        return value


_readers: dict[str, Reader] = {}
_readers_lock = threading.Lock()


def reader(ws) -> Reader:
    root = str(Path(ws.root).resolve())
    r = _readers.get(root)
    if r is None:
        with _readers_lock:
            r = _readers.get(root)
            if r is None:
                r = _readers[root] = Reader(ws)
    return r


def forget(ws) -> None:
    """Close the cached connection of a workspace (tests, shutdown)."""
    r = _readers.pop(str(Path(ws.root).resolve()), None)
    if r is not None:
        r.con.close()


def fallback_owners(ws) -> pa.Table:
    """Ownership from the current snapshot, or from the customers table before the first run."""
    rd = reader(ws)
    g = rd.generation()
    src = g.cur if g.cur and {"manager_id", "branch_id"} <= set(g.columns) else g.pers
    cur = rd.cursor()
    if src is None:
        return pa.table({"customer_id": pa.array([], pa.string()), "manager_id": pa.array([], pa.string()),
                         "branch_id": pa.array([], pa.string())})
    return cur.sql(f"SELECT customer_id, CAST(manager_id AS VARCHAR) AS manager_id, "
                       f"CAST(branch_id AS VARCHAR) AS branch_id FROM {src}").to_arrow_table()


def personal_rows(ws, customer_ids: list[str]) -> list[dict]:
    """Personal fields, in clear, of the given customers (callers mask: see ``access.personal_view``)."""
    if not customer_ids:
        return []
    rd = reader(ws)
    g = rd.generation()
    if g.pers is None:
        return []
    cur = rd.cursor()
    cur.register("_ids", pa.table({"customer_id": pa.array(list(customer_ids), pa.string())}))
    rows = cur.execute(f"SELECT p.customer_id, {', '.join('p.' + c for c in PERSONAL)} FROM {g.pers} p "
                       "SEMI JOIN _ids USING (customer_id) ORDER BY p.customer_id").fetchall()
    return [dict(zip(("customer_id", *PERSONAL), r)) for r in rows]


def snapshot_policy(ws, info: SnapshotInfo):
    """The policy a run was evaluated with (parsed once per process)."""
    from tierwise.config.policy import parse_policy

    rd = reader(ws)
    key = ("policy", info.run_id)
    if key not in rd.cache:
        text = (SnapshotStore(ws.snapshots).path(info.run_id) / "policy.yaml").read_text(encoding="utf-8")
        rd.cache[key] = parse_policy(text)
    return rd.cache[key]


def snapshot_labels(ws, info: SnapshotInfo) -> dict:
    rd = reader(ws)
    key = ("labels", info.run_id)
    if key not in rd.cache:
        p = SnapshotStore(ws.snapshots).path(info.run_id) / "labels.json"
        rd.cache[key] = json.loads(p.read_text(encoding="utf-8")) if p.exists() else {}
    return rd.cache[key]


def snapshot_part(ws, name: str) -> str | None:
    """An in-memory table (sorted by customer) of the current run's ``name``.parquet (candidates, next best
    products), loaded once per workspace state; None when the run has no such file."""
    rd = reader(ws)
    g = rd.generation()
    if g.current is None:
        return None
    path = SnapshotStore(ws.snapshots).path(g.current.run_id) / f"{name}.parquet"

    def load() -> str | None:
        if not path.exists():
            return None
        table = f"{name}_{g.n}"
        with rd.lock:
            rd.con.execute(f"CREATE TABLE IF NOT EXISTS {table} AS SELECT * FROM read_parquet({_lit(path.as_posix())}) "
                           "ORDER BY customer_id")
        return table
    return rd.cached(("part", name), load)
