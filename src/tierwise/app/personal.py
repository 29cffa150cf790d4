"""Clear personal fields, opened from the sealed vault — the one place the application reads them.

Everything that shows or uses a name, phone, ID number, e-mail, address or birthday (customer
360 for a role allowed to unmask, message rendering, birthday tasks) comes through here;
the analytics never do. Callers that show values to people mask them by role and audit
unmasking (``tierwise.app.access``); this module only opens the vault.

Workspaces imported before the vault existed keep their personal columns in the analytic
file; they are read from there.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from tierwise.app.workspace import Workspace, write_settings
from tierwise.atomic import fsync_dir
from tierwise.canonical import ARROW_TYPES, TABLES
from tierwise.errors import UserInputError
from tierwise.protect.keys import KeyProblem, KeyRing, read_key_file
from tierwise.protect.vault import BLOCKS_FILE, INDEX_FILE, open_blocks, reseal
from tierwise.snapshots.store import write_table


def _schema(table: str, columns: list[str]) -> pa.Schema:
    t = TABLES[table]
    by_name = {c.name: c for c in t.columns}
    return pa.schema([pa.field(c, ARROW_TYPES[by_name[c].kind]) for c in [*t.key, *columns]])


def personal_fields(ws: Workspace, ids: list[str] | None = None, *, table: str = "customers",
                    columns: list[str] | None = None) -> pa.Table:
    """The key column(s) and clear personal ``columns`` (default: all) of ``table``'s current rows.

    ``ids`` limits the rows to these values of the table's (single) key: only the vault blocks
    holding them are opened. Rows of later batches win over earlier ones for the same key."""
    t = TABLES[table]
    personal = [c.name for c in t.personal_columns()]
    columns = columns or personal
    unknown = [c for c in columns if c not in personal]
    if unknown:
        raise UserInputError(f"{table}.{unknown[0]} is not a personal field", hint=f"personal fields: {personal}")
    schema = _schema(table, columns)
    if ids is not None and len(t.key) != 1:
        raise UserInputError(f"{table} has a composite key; look rows up by batch instead")
    wanted = None if ids is None else pa.array(list(ids), pa.string())
    area = ws.data
    manifest = area.manifest()
    ring = None
    parts = []
    for import_id in manifest.current.get(table, []):
        batch = area.batch_dir(table, import_id)
        if (batch / BLOCKS_FILE).exists():
            blocks = pq.read_table(batch / BLOCKS_FILE)
            which = None
            if wanted is not None:
                index = pq.read_table(batch / INDEX_FILE)
                hit = index.filter(pc.is_in(index[t.key[0]], value_set=wanted))
                which = sorted(set(hit["block"].to_pylist()))
                if not which:
                    continue
            ring = ring or ws.keyring()
            clear = open_blocks(ring, table, import_id, blocks, which)
            clear = clear.select(schema.names).cast(schema)
        else:  # a batch from before the vault: personal columns in the analytic file, if at all
            raw = pq.read_table(sorted(batch.glob("part-*.parquet")))
            clear = pa.table({n: raw[n] if n in raw.column_names else pa.nulls(raw.num_rows, schema.field(n).type)
                              for n in schema.names}).cast(schema)
        if wanted is not None:
            clear = clear.filter(pc.is_in(clear[t.key[0]], value_set=wanted))
        parts.append(clear)
    if not parts:
        return schema.empty_table()
    out = pa.concat_tables(parts)
    if len(t.key) == 1 and len(parts) > 1:  # the latest batch wins for a key
        keep = {}
        for i, k in enumerate(out[t.key[0]].to_pylist()):
            keep[k] = i
        out = out.take(pa.array(sorted(keep.values()), pa.int64()))
    return out


def ages_as_of(ws: Workspace, as_of: date) -> pa.Table | None:
    """``customer_id, age`` (whole years at ``as_of``; leap days exact) from the sealed birthdays,
    or None when no customer has a birthday. The analytics get ages, never birthdays."""
    births = personal_fields(ws, columns=["birthday"])
    births = births.filter(pc.is_valid(births["birthday"]))
    if births.num_rows == 0:
        return None
    b = births["birthday"]
    years = pc.subtract(pa.scalar(as_of.year, pa.int64()), pc.cast(pc.year(b), pa.int64()))
    md = pc.add(pc.multiply(pc.cast(pc.month(b), pa.int64()), 100), pc.cast(pc.day(b), pa.int64()))
    not_yet = pc.greater(md, pa.scalar(as_of.month * 100 + as_of.day, pa.int64()))
    age = pc.subtract(years, pc.cast(not_yet, pa.int64()))
    return pa.table({"customer_id": births["customer_id"], "age": age})




def _vault_batches(ws: Workspace):
    """(table, import id, batch folder) of every committed batch that has a vault."""
    area = ws.data
    m = area.manifest()
    for table, t in TABLES.items():
        if not t.personal_columns():
            continue
        for import_id in m.history:
            batch = area.batch_dir(table, import_id)
            if (batch / BLOCKS_FILE).exists():
                yield table, import_id, batch


def new_key_file(path: str | Path):
    """Create a new random key file (mode 0600; refuses to overwrite); returns the key."""
    from tierwise.protect.keys import generate_key_file

    return generate_key_file(path)


def check_key(ws: Workspace) -> dict:
    """Open every sealed block with the configured key: a wrong key or altered data is reported."""
    ring = ws.keyring()
    blocks = rows = 0
    for table, import_id, batch in _vault_batches(ws):
        sealed = pq.read_table(batch / BLOCKS_FILE)
        rows += open_blocks(ring, table, import_id, sealed).num_rows
        blocks += sealed.num_rows
    return {"key_id": ring.current.key_id, "source": ring.source, "blocks": blocks, "rows": rows}


def rotate_key(ws: Workspace, new_key_file: str | Path, *, actor: str = "cli") -> dict:
    """Reseal every vault with the key in ``new_key_file`` and make it the workspace's key.

    Each vault file is replaced atomically; a rotation that is stopped half-way leaves some
    files under the old key and some under the new one, all readable while both keys are
    given, and running it again finishes the job."""
    new = read_key_file(new_key_file)
    path = Path(new_key_file).resolve()
    if path.is_relative_to(ws.root.resolve()):
        raise KeyProblem(f"{path}: the key file is inside the workspace it protects",
                         hint="keep it outside the workspace folder")
    with ws.lock("key rotate"):
        old = ws.keyring()
        both = KeyRing(old.current, [new, *old.others], source=old.source)
        target = KeyRing(new, source=str(path))
        done = skipped = 0
        for table, import_id, batch in _vault_batches(ws):
            sealed = pq.read_table(batch / BLOCKS_FILE)
            if set(sealed["key_id"].to_pylist()) <= {new.key_id}:
                skipped += 1
                continue
            fresh = reseal(both, target, table, import_id, sealed)
            tmp = batch / f"_{BLOCKS_FILE}.tmp"
            write_table(fresh, tmp)
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, batch / BLOCKS_FILE)
            fsync_dir(batch)
            done += 1
        ws.settings.key_file = str(path)
        write_settings(ws.root, ws.settings)
    result = {"old_key_id": old.current.key_id, "new_key_id": new.key_id, "resealed": done, "already_new": skipped,
              "key_file": str(path)}
    ws.store().audit(actor, "key.rotate", str(ws.root), result)
    return result
