"""Backup and restore of a whole workspace: one consistent archive, verified on the way back.

An archive is a tar file::

    workspace/…               policy, settings, data batches and manifest, snapshots, quarantine
    store/<table>.jsonl       the operational store, one JSON line per row (``tierwise.store.dump``)
    tierwise-backup.json      format, time, and the SHA-256 and size of every member (written last)

Consistency: the backup holds the workspace's writer lock, so no import or run changes the
data area or the snapshots meanwhile (they are append-only folders behind one pointer file
each), and it reads the operational store through a point-in-time view, so a web server may
keep writing to it. The archive is written under a temporary name and renamed into place:
a killed backup leaves no archive, never half of one.

Restore verifies every member against the manifest before anything becomes visible, builds
the new workspace under a temporary name and renames it into place; the store is loaded in
one transaction. Folders that only hold temporary state (``scratch/``, names starting with
``_``, the lock file) are not archived.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import tarfile
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath

import sqlalchemy as sa

from tierwise import __version__
from tierwise.atomic import fsync_dir
from tierwise.app.workspace import SETTINGS_FILE, Workspace, open_workspace, write_settings
from tierwise.errors import UserInputError, WorkspaceError
from tierwise.store import open_store
from tierwise.store.dump import consistent_connection, dump_tables, load_table, reset_sequences, row_counts
from tierwise.store.meta import metadata

FORMAT = 1
MANIFEST = "tierwise-backup.json"
SKIPPED_AREAS = {"scratch"}

Progress = Callable[[str, int, int], None]  # (step, done, total)


class BackupError(UserInputError):
    """An archive is missing, damaged, not a tierwise backup, or cannot be restored where asked."""


class _Hashing:
    """A file reader that hashes what passes through it (so each file is read once)."""

    def __init__(self, fh):
        self.fh, self.sha = fh, hashlib.sha256()

    def read(self, n: int = -1) -> bytes:
        block = self.fh.read(n)
        self.sha.update(block)
        return block


def _store_files(ws: Workspace) -> set[Path]:
    """The SQLite files of the store when it lives inside the workspace (archived as a dump instead)."""
    url = sa.engine.make_url(ws.settings.store_url.replace("{workspace}", str(ws.root.resolve())))
    if url.get_backend_name() != "sqlite" or not url.database:
        return set()
    db = Path(url.database).resolve()
    return {db, *(db.with_name(db.name + suffix) for suffix in ("-wal", "-shm", "-journal"))}


def workspace_files(ws: Workspace) -> list[Path]:
    """The files a backup holds, relative to the workspace, in a stable order."""
    root = ws.root.resolve()
    skip = _store_files(ws)
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = Path(dirpath).relative_to(root)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(("_", "."))
                             and not (rel_dir == Path(".") and d in SKIPPED_AREAS))
        for name in sorted(filenames):
            p = Path(dirpath) / name
            if name.startswith(("_", ".")) or p in skip or p.is_symlink():
                continue
            found.append(p.relative_to(root))
    return found


def _add_file(tar: tarfile.TarFile, arcname: str, path: Path) -> dict:
    """Add ``path`` to the archive; returns its manifest entry (SHA-256 and size of what was written)."""
    info = tar.gettarinfo(str(path), arcname)
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    with open(path, "rb") as fh:
        reader = _Hashing(fh)
        tar.addfile(info, reader)
    return {"sha256": reader.sha.hexdigest(), "size": info.size}


def _add_bytes(tar: tarfile.TarFile, arcname: str, data: bytes) -> None:
    info = tarfile.TarInfo(arcname)
    info.size = len(data)
    info.mtime = int(datetime.now(timezone.utc).timestamp())
    tar.addfile(info, io.BytesIO(data))


def backup_workspace(path: str | Path, out: str | Path, *, force: bool = False, actor: str = "cli",
                     progress: Progress | None = None) -> dict:
    """Write a consistent archive of the workspace at ``path`` to ``out``; returns its manifest."""
    ws = open_workspace(path)
    out = Path(out)
    if out.exists() and not force:
        raise BackupError(f"{out}: already exists", hint="choose another file name, or pass --force to replace it")
    if out.resolve().is_relative_to(ws.root.resolve()):
        raise BackupError(f"{out}: the archive cannot be written inside the workspace it backs up",
                          hint="write it to another folder")
    if not out.parent.exists():
        raise BackupError(f"{out.parent}: no such folder", hint="create the folder first")
    for stale in out.parent.glob(f"_{out.name}.partial-*"):  # left by a killed backup
        stale.unlink(missing_ok=True)
    tmp = out.parent / f"_{out.name}.partial-{os.getpid()}"
    store = ws.store()
    manifest: dict = {"format": FORMAT, "tierwise": __version__, "created_at": datetime.now(timezone.utc).isoformat(),
                      "workspace": ws.root.resolve().name, "files": {}, "store": {}}
    with ws.lock("backup"):
        files = workspace_files(ws)
        total = sum((ws.root / f).stat().st_size for f in files)
        done = 0
        try:
            with tarfile.open(tmp, "w", format=tarfile.PAX_FORMAT) as tar:
                for rel in files:
                    p = ws.root / rel
                    arc = f"workspace/{rel.as_posix()}"
                    manifest["files"][arc] = entry = _add_file(tar, arc, p)
                    done += entry["size"]
                    if progress:
                        progress("files", done, total)
                with consistent_connection(store.engine, ws.scratch) as conn:
                    tables = list(dump_tables(conn))
                    for i, (name, lines) in enumerate(tables):
                        data = "".join(line + "\n" for line in lines).encode("utf-8")
                        arc = f"store/{name}.jsonl"
                        manifest["files"][arc] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
                        manifest["store"][name] = data.count(b"\n")
                        _add_bytes(tar, arc, data)
                        if progress:
                            progress("store", i + 1, len(tables))
                _add_bytes(tar, MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=2).encode("utf-8"))
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, out)
            fsync_dir(out.parent)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    summary = {"archive": str(out), "bytes": out.stat().st_size, "files": len(files),
               "store_rows": manifest["store"], "created_at": manifest["created_at"]}
    store.audit(actor, "backup.create", str(out), {k: v for k, v in summary.items() if k != "store_rows"})
    return summary


# ---------------------------------------------------------------------------------------------- reading
def _safe_member(name: str) -> bool:
    p = PurePosixPath(name)
    return not p.is_absolute() and ".." not in p.parts and name == p.as_posix() and bool(p.parts)


def _open_archive(archive: Path) -> tuple[tarfile.TarFile, dict]:
    if not archive.is_file():
        raise BackupError(f"{archive}: no such archive file")
    try:
        tar = tarfile.open(archive, "r:")
    except (tarfile.TarError, OSError) as exc:
        raise BackupError(f"{archive}: not a tierwise backup archive ({exc})") from None
    try:
        member = tar.getmember(MANIFEST)
        manifest = json.loads(tar.extractfile(member).read())
    except (KeyError, ValueError, tarfile.TarError, OSError):
        tar.close()
        raise BackupError(f"{archive}: not a tierwise backup archive (no readable {MANIFEST}); "
                          "the file may be truncated") from None
    if manifest.get("format") != FORMAT:
        tar.close()
        raise BackupError(f"{archive}: backup format {manifest.get('format')!r} is not supported "
                          f"(this tierwise reads format {FORMAT})")
    return tar, manifest


def _check_members(archive: Path, tar: tarfile.TarFile, manifest: dict) -> list[tarfile.TarInfo]:
    members = [m for m in tar.getmembers() if m.name != MANIFEST]
    for m in members:
        if not _safe_member(m.name) or not m.isfile():
            raise BackupError(f"{archive}: unexpected member {m.name!r} (only plain files with relative "
                              "paths belong in a backup)")
        if m.name not in manifest["files"]:
            raise BackupError(f"{archive}: member {m.name!r} is not listed in the backup manifest")
    missing = sorted(set(manifest["files"]) - {m.name for m in members})
    if missing:
        raise BackupError(f"{archive}: {len(missing)} file(s) listed in the manifest are missing, "
                          f"first {missing[0]!r}; the archive is incomplete")
    return members


def _read_verified(archive: Path, tar: tarfile.TarFile, member: tarfile.TarInfo, manifest: dict,
                   sink=None) -> bytes | None:
    """Stream a member through SHA-256 (into ``sink`` if given, else return its bytes); check it."""
    expect = manifest["files"][member.name]
    h, size, chunks = hashlib.sha256(), 0, []
    fh = tar.extractfile(member)
    for block in iter(lambda: fh.read(1 << 20), b""):
        h.update(block)
        size += len(block)
        if sink is not None:
            sink.write(block)
        else:
            chunks.append(block)
    if h.hexdigest() != expect["sha256"] or size != expect["size"]:
        raise BackupError(f"{archive}: {member.name} is damaged (checksum mismatch)",
                          hint="use another copy of the backup")
    return None if sink is not None else b"".join(chunks)


def verify_backup(archive: str | Path) -> dict:
    """Check an archive completely (every member against its checksum) without restoring it."""
    archive = Path(archive)
    tar, manifest = _open_archive(archive)
    with tar:
        members = _check_members(archive, tar, manifest)
        for m in members:
            _read_verified(archive, tar, m, manifest, sink=_NullSink())
    return {"archive": str(archive), "ok": True, "created_at": manifest["created_at"],
            "files": sum(1 for n in manifest["files"] if n.startswith("workspace/")), "store_rows": manifest["store"]}


class _NullSink:
    def write(self, _b: bytes) -> None:
        pass


# ---------------------------------------------------------------------------------------------- restore
def restore_workspace(archive: str | Path, target: str | Path, *, store_url: str | None = None,
                      actor: str = "cli", progress: Progress | None = None) -> dict:
    """Restore an archive into a new workspace folder ``target`` (absent or empty).

    ``store_url`` restores the operational store into another database than the archived
    settings name (the settings are updated to match); that database must be empty."""
    archive, target = Path(archive), Path(target)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise BackupError(f"{target}: exists and is not an empty folder",
                          hint="restore into a new folder; nothing was changed")
    tar, manifest = _open_archive(archive)
    tmp = target.parent.resolve() / f"_{target.name}.restoring-{os.getpid()}"
    if not target.parent.exists():
        raise BackupError(f"{target.parent}: no such folder", hint="create the parent folder first")
    shutil.rmtree(tmp, ignore_errors=True)
    engine = None
    try:
        with tar:
            members = _check_members(archive, tar, manifest)
            ws_members = [m for m in members if m.name.startswith("workspace/")]
            total = sum(m.size for m in ws_members)
            done = 0
            for m in ws_members:
                dest = tmp / PurePosixPath(m.name).relative_to("workspace")
                dest.parent.mkdir(parents=True, exist_ok=True)
                with open(dest, "wb") as fh:
                    _read_verified(archive, tar, m, manifest, sink=fh)
                    fh.flush()
                    os.fsync(fh.fileno())
                done += m.size
                if progress:
                    progress("files", done, total)
            settings_path = tmp / SETTINGS_FILE
            if not settings_path.exists():
                raise BackupError(f"{archive}: the archive holds no {SETTINGS_FILE}; not a workspace backup")
            settings = open_workspace(tmp).settings  # validates the settings, creates the empty areas
            if store_url:
                settings.store_url = store_url
                write_settings(tmp, settings)
            # the store: into the temporary folder for a workspace-local SQLite file, else into its database
            url = settings.store_url.replace("{workspace}", str(tmp))
            store = open_store(url)
            engine = store.engine
            with engine.begin() as conn:
                existing = {k: v for k, v in row_counts(conn).items() if v}
                if existing:
                    raise BackupError(f"the store at {_redact(url)} is not empty ({sum(existing.values())} rows)",
                                      hint="restore into an empty database, or give another with --store-url")
                store_members = {m.name: m for m in members if m.name.startswith("store/")}
                unknown = sorted(n for n in store_members if n[len("store/"):-len(".jsonl")] not in metadata.tables)
                if unknown:
                    raise BackupError(f"{archive}: {unknown[0]} is a table this tierwise does not know "
                                      "(the backup was made by a newer version?)")
                for i, table in enumerate(metadata.sorted_tables):
                    m = store_members.get(f"store/{table.name}.jsonl")
                    if m is None:  # a table added after the backup was made: stays empty
                        continue
                    data = _read_verified(archive, tar, m, manifest).decode("utf-8")
                    n = load_table(conn, table.name, io.StringIO(data))
                    if n != manifest["store"][table.name]:
                        raise BackupError(f"{archive}: store table {table.name} holds {n} rows, "
                                          f"the manifest says {manifest['store'][table.name]}")
                    if progress:
                        progress("store", i + 1, len(metadata.sorted_tables))
                reset_sequences(conn)
            engine.dispose()
            engine = None
        fsync_dir(tmp)
        if target.exists():  # an empty folder: replaced by the restored one
            target.rmdir()
        os.replace(tmp, target)
        fsync_dir(target.parent.resolve())
    except BaseException:
        if engine is not None:
            engine.dispose()
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    ws = open_workspace(target)
    ok, broken = ws.store().verify_audit()
    if not ok:
        raise WorkspaceError(f"{target}: the restored audit log does not verify (record {broken})",
                             hint="the archive was altered after it was made")
    summary = {"workspace": str(target), "from": str(archive), "files": len(ws_members),
               "store_rows": manifest["store"], "backup_created_at": manifest["created_at"]}
    ws.store().audit(actor, "backup.restore", str(target), {"archive": str(archive),
                                                           "backup_created_at": manifest["created_at"]})
    return summary


def _redact(url: str) -> str:
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - only for a message
        return "the configured store"
