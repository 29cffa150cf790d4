"""Fast reads of the published snapshots for the API and the pages: one read model per process.

Per workspace, the process holds, for the snapshot in force now, three Arrow tables:

* ``cur_N``   the current snapshot's customers, sorted by customer id;
* ``hist_N``  the tier columns of every snapshot in force, sorted by customer and date;
* ``pers_N``  the personal fields of the imported customers table, sorted by customer id.

They are rebuilt when the snapshot index or the data area changes (checked on every call
by a file stat) under new names, so a request in flight keeps reading the generation it
started with.

The customer 360 and the plain customer list read them directly: each is a :class:`Keyed`
table, whose customer ids are also held as a sorted NumPy byte array, so finding a customer
is a binary search and reading its row one Arrow scalar per column (about 50 microseconds
for the 70 columns of a snapshot row; a DuckDB query costs about a millisecond of planning
and conversion, and a 360 needed seven). The current run's candidates and next best products are loaded the same way
on first use.

Dashboards, searches and exports query the same tables with SQL: :meth:`Reader.cursor` gives
each request its own cursor of one in-memory DuckDB connection (from :mod:`tierwise.engine`)
on which the tables a statement names are registered as Arrow views, so the process holds
one copy of the snapshot (about 0.9 GiB of Arrow at 1 M customers), not two.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from tierwise.canonical import TABLES
from tierwise.engine import connect_duckdb
from tierwise.ingest.batches import MANIFEST
from tierwise.snapshots.store import INDEX, SnapshotInfo, SnapshotStore

HIST_COLUMNS = ("tier", "tier_level", "tier_status", "tier_event", "tier_metric", "watch_count", "override_ids")
#: the customers' personal columns, as the canonical schema marks them
PERSONAL = tuple(c.name for c in TABLES["customers"].personal_columns())


def _lit(path: str | Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _stat(path: Path) -> tuple | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return st.st_ino, st.st_mtime_ns, st.st_size


#: data-area manifest → (its stat, its version): the manifest is read again only when replaced
_versions: dict[Path, tuple[tuple | None, int]] = {}


_paths: dict[str, tuple[Path, Path]] = {}


def state_key(ws) -> tuple:
    """Changes whenever a run is published or an import is committed (two ``stat`` calls)."""
    paths = _paths.get(str(ws.root))
    if paths is None:
        paths = _paths[str(ws.root)] = (Path(ws.data.root) / MANIFEST, Path(ws.snapshots) / INDEX)
    manifest, index = paths
    st = _stat(manifest)
    hit = _versions.get(manifest)
    if hit is None or hit[0] != st or st is None:
        hit = _versions[manifest] = (st, ws.data.manifest().version)
    return _stat(index), hit[1]


class Keyed:
    """An Arrow table sorted by ``customer_id`` whose rows are found by binary search.

    The ids are held once more as a NumPy byte-string array (UTF-8, sorted bytewise like
    Arrow and DuckDB sort text), about 10 MB per million customers; a customer's rows are the
    half-open range ``span(id)``. Rows of one customer keep the order of ``order`` (e.g. the
    date of a history row, the rank of a product).

    >>> k = Keyed(pa.table({"customer_id": ["b", "a", "b"], "n": [2, 1, 1]}), order=("n",))
    >>> k.rows("b")
    [{'customer_id': 'b', 'n': 1}, {'customer_id': 'b', 'n': 2}]
    >>> k.rows("zz"), k.positions(["b", "x", "a"]).tolist()
    ([], [0, 1, 2])
    """

    def __init__(self, table: pa.Table, order: tuple[str, ...] = (), *, presorted: bool = False):
        if not presorted:       # (input already in customer order needs no second sort; it is checked below)
            keys = [("customer_id", "ascending")] + [(c, "ascending") for c in order if c in table.column_names]
            table = table.sort_by(keys)
        table = table.combine_chunks()
        batches = table.to_batches()
        self.batch: pa.RecordBatch = batches[0] if batches else pa.RecordBatch.from_pylist([], schema=table.schema)
        # (NumPy byte strings drop trailing NULs: only then must a match be checked against the real id)
        self.ids, self.nul_ends = _column_keys(self.batch.column(self.batch.schema.get_field_index("customer_id")))
        self.columns = tuple(table.column_names)
        self._arrays = list(zip(self.columns, self.batch.columns))
        if presorted and len(self.ids) > 1 and not bool(np.all(self.ids[1:] >= self.ids[:-1])):
            self.__init__(table, order)

    def __len__(self) -> int:
        return self.batch.num_rows

    def span(self, customer_id: str) -> tuple[int, int]:
        key = customer_id.encode("utf-8")
        return int(np.searchsorted(self.ids, key, "left")), int(np.searchsorted(self.ids, key, "right"))

    def rows(self, customer_id: str) -> list[dict]:
        """The customer's rows as dicts of Python values (``[]`` when there are none)."""
        lo, hi = self.span(customer_id)
        # (one scalar per column is about three times faster than ``slice(lo, 1).to_pylist()``)
        out = [{name: a[i].as_py() for name, a in self._arrays} for i in range(lo, hi)]
        if self.nul_ends or customer_id.endswith("\0"):
            out = [r for r in out if r["customer_id"] == customer_id]
        return out

    def positions(self, customer_ids) -> np.ndarray:
        """The sorted row numbers of every row of the given customers (unknown ids are left out)."""
        wanted = list(customer_ids)
        if len(wanted) <= 32:                                   # a page of a list, one customer
            spans = (self.span(c) for c in wanted)
            rows = np.array(sorted({i for lo, hi in spans for i in range(lo, hi)}), np.int64)
        else:
            keys = _byte_keys(wanted)
            lo = np.searchsorted(self.ids, keys, "left")
            counts = np.searchsorted(self.ids, keys, "right") - lo
            ends = np.cumsum(counts)
            # row numbers lo .. lo + count - 1 of every key, as one array
            rows = np.unique(np.repeat(lo - (ends - counts), counts) + np.arange(int(ends[-1])))
        if len(rows) and (self.nul_ends or any(c.endswith("\0") for c in wanted)):
            ids = self.batch.column(self.batch.schema.get_field_index("customer_id")).take(pa.array(rows))
            rows = rows[pc.is_in(ids, value_set=pa.array(wanted, ids.type)).to_numpy(zero_copy_only=False)]
        return rows


def _byte_keys(ids: list) -> np.ndarray:
    if not ids:
        return np.empty(0, "S1")
    return np.array([i.encode("utf-8") for i in ids], dtype=bytes)


def _column_keys(arr: pa.Array) -> tuple[np.ndarray, bool]:
    """A text column as a NumPy byte-string array, copied from Arrow's buffers without a Python
    object per value (0.1 s instead of 1 s per million), and whether any value ends in NUL."""
    if arr.null_count or not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        ids = arr.to_pylist()
        return _byte_keys(ids), any(i is not None and i.endswith("\0") for i in ids)
    n = len(arr)
    if n == 0:
        return np.empty(0, "S1"), False
    _, off_buf, data_buf = arr.buffers()
    offsets = np.frombuffer(off_buf, np.int64 if pa.types.is_large_string(arr.type) else np.int32)
    offsets = offsets[arr.offset:arr.offset + n + 1].astype(np.int64)
    data = np.frombuffer(data_buf, np.uint8) if data_buf is not None else np.empty(0, np.uint8)
    lengths = np.diff(offsets)
    width = max(int(lengths.max()), 1)
    out = np.zeros((n, width), np.uint8)
    rows = np.repeat(np.arange(n), lengths)
    out[rows, np.arange(len(rows)) - np.repeat(offsets[:-1] - offsets[0], lengths)] = \
        data[offsets[0]:offsets[-1]]
    nul_ends = bool(np.any(data[offsets[1:][lengths > 0] - 1] == 0))
    return out.view(f"S{width}").ravel(), nul_ends


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
    customers: Keyed | None = None     # the rows of ``cur``, every column
    history: Keyed | None = None       # the rows of ``hist``
    personal: Keyed | None = None      # customer_id and the personal columns of ``pers``
    memo: dict = field(default_factory=dict)                # per-generation caches (scopes, list orders)
    memo_lock: threading.Lock = field(default_factory=threading.Lock)

    def views(self) -> dict[str, pa.Table]:
        """The tables SQL may name (``cur_N``, ``hist_N``, ``pers_N``), in chunks DuckDB scans in parallel."""
        if "views" not in self.memo:
            self.memo["views"] = {name: pa.Table.from_batches(_chunks(k.batch), schema=k.batch.schema)
                                  for name, k in ((self.cur, self.customers), (self.hist, self.history),
                                                  (self.pers, self.personal)) if name and k is not None}
        return self.memo["views"]


#: rows per chunk of the Arrow views DuckDB scans (each chunk is one unit of parallel work)
VIEW_CHUNK = 122_880


def _chunks(batch: pa.RecordBatch) -> list[pa.RecordBatch]:
    return [batch.slice(i, VIEW_CHUNK) for i in range(0, batch.num_rows, VIEW_CHUNK)] or [batch]


class Cursor:
    """A DuckDB cursor of one request that registers the read model's tables a statement names
    (registration costs about a millisecond each, so only what is used)."""

    def __init__(self, con, gens: list[Generation]):
        self._con = con
        self._views: dict[str, pa.Table] = {}
        for g in gens:
            self._views.update(g.views())
        self._registered: set[str] = set()

    def _prepare(self, query: str) -> None:
        for name, table in self._views.items():
            if name not in self._registered and name in query:
                self._con.register(name, table)
                self._registered.add(name)

    def execute(self, query: str, *args, **kw):
        self._prepare(query)
        return self._con.execute(query, *args, **kw)

    def sql(self, query: str, *args, **kw):
        self._prepare(query)
        return self._con.sql(query, *args, **kw)

    def __getattr__(self, name):
        return getattr(self._con, name)


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
                self.old.pop(0)
            self.gen = gen
            self.cache = {}
            return gen

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
            # a run writes its snapshot in customer order (checked: else it is sorted here)
            g.customers = Keyed(pq.read_table(g.files[cur.run_id]), presorted=True)
            g.columns = g.customers.columns
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
                g.history = Keyed(c.sql(f"SELECT * FROM ({' UNION ALL '.join(parts)}) ORDER BY customer_id, as_of")
                                  .to_arrow_table(), order=("as_of",), presorted=True)
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
            g.personal = Keyed(c.sql(
                f"SELECT f.customer_id, {', '.join('p.' + x for x in PERSONAL)}{', ' + extra if extra else ''} "
                f"FROM read_parquet([{', '.join(_lit(f) for f in files)}], union_by_name=true) f "
                "LEFT JOIN _people p USING (customer_id) ORDER BY f.customer_id").to_arrow_table(), presorted=True)
            c.unregister("_people")
        return g

    def cursor(self) -> Cursor:
        """A cursor of this request, on which ``cur_N``, ``hist_N`` and ``pers_N`` of the current (and the
        previous) generation can be queried."""
        gens = [*self.old, self.gen] if self.gen is not None else list(self.old)
        return Cursor(self.con.cursor(), gens)

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


_roots: dict[str, str] = {}


def root_key(ws) -> str:
    """The workspace's resolved folder (resolved once per path: ``resolve`` stats every component)."""
    given = str(ws.root)
    root = _roots.get(given)
    if root is None:
        root = _roots[given] = str(Path(given).resolve())
    return root


def reader(ws) -> Reader:
    root = root_key(ws)
    r = _readers.get(root)
    if r is None:
        with _readers_lock:
            r = _readers.get(root)
            if r is None:
                r = _readers[root] = Reader(ws)
    return r


def forget(ws) -> None:
    """Close the cached connection of a workspace (tests, shutdown)."""
    r = _readers.pop(root_key(ws), None)
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
    """Personal fields, in clear, of the given customers, in customer order (callers mask: see
    ``access.personal_view``)."""
    if not customer_ids:
        return []
    g = reader(ws).generation()
    if g.personal is None:
        return []
    fields = ("customer_id", *PERSONAL)
    if len(customer_ids) == 1:                  # a customer 360
        return [{k: r[k] for k in fields} for r in g.personal.rows(customer_ids[0])]
    rows = g.personal.positions(customer_ids)
    return g.personal.batch.select(list(fields)).take(pa.array(rows, pa.int64())).to_pylist()


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


def snapshot_part(ws, name: str, order: tuple[str, ...] = ()) -> Keyed | None:
    """The current run's ``name``.parquet (candidates, next best products) in memory, sorted by
    customer and then ``order``; loaded once per workspace state (one thread loads, the others
    wait for it); None when the run has no such file."""
    g = reader(ws).generation()
    if g.current is None:
        return None
    key = ("part", name)
    if key in g.memo:
        return g.memo[key]
    with g.memo_lock:
        if key not in g.memo:
            path = SnapshotStore(ws.snapshots).path(g.current.run_id) / f"{name}.parquet"
            g.memo[key] = Keyed(pq.read_table(path), order=order) if path.exists() else None
    return g.memo[key]
