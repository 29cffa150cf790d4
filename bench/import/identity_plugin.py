"""pytest plugin for ``identity.py``: record what every ``import_table`` call produced.

Loaded with ``-p identity_plugin`` (``bench/import`` on ``PYTHONPATH``) and
``TIERWISE_IDENTITY_LOG=FILE``. It wraps :func:`tierwise.app.importing.import_table` before
any test module imports it, and appends one JSON line per call: the test, the call's
number within the test, a fingerprint of its input, and a digest of its outcome — the reconciliation (without times),
the accepted rows of the batch with their personal fields opened from the vault, and the
quarantine file's bytes; or, for a refused or failed import, the error and its message.
Running the same tests against two versions of the code and comparing the logs shows
whether they accept, reject and quarantine exactly the same rows.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
from collections import Counter
from pathlib import Path

VOLATILE = {"seconds", "started_at", "finished_at"}
_calls: Counter = Counter()


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _rows_digest(ws, table: str, import_id: str) -> str:
    import pyarrow.parquet as pq

    from tierwise.app.personal import personal_fields
    from tierwise.canonical import TABLES

    batch = ws.data.batch_dir(table, import_id)
    h = hashlib.sha256()
    for part in sorted(batch.glob("part-*.parquet")):
        for row in pq.read_table(part).to_pylist():
            h.update(repr(sorted(row.items())).encode())
    if TABLES[table].personal_columns() and import_id in ws.data.manifest().current.get(table, []):
        for row in personal_fields(ws, table=table).to_pylist():
            h.update(repr(sorted(row.items())).encode())
    return h.hexdigest()


def _outcome(ws, table: str, rec: dict | None) -> dict:
    if not rec:
        return {}
    out = {"reconciliation": {k: v for k, v in rec.items() if k not in VOLATILE}}
    # the input's size and hash are not outcomes (and a workbook written by a test embeds its creation
    # time): the input is compared by its fingerprint instead
    out["reconciliation"]["source"] = {k: v for k, v in rec.get("source", {}).items() if k not in ("sha256", "bytes")}
    q = rec.get("quarantine")
    if q and os.path.exists(q):
        with open(q, "rb") as fh:
            out["quarantine_sha256"] = _sha(fh.read())
    if rec.get("status") == "committed":
        try:
            out["rows"] = _rows_digest(ws, table, rec["import_id"])
        except Exception as exc:  # noqa: BLE001  (recorded, and compared like any outcome)
            out["rows"] = f"cannot read back: {type(exc).__name__}: {exc}"
    return out


def _input_fingerprint(location: str) -> str | None:
    """What the import reads: the bytes of a file; for a workbook the parts of its zip archive
    but the document properties, which hold the time a test wrote it (same cells, other bytes)."""
    import zipfile

    path = Path(location)
    if "://" in location or not path.is_file():
        return None
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        try:
            h = hashlib.sha256()
            with zipfile.ZipFile(path) as zf:
                for info in sorted(zf.infolist(), key=lambda i: i.filename):
                    if info.filename != "docProps/core.xml":
                        with zf.open(info) as fh:
                            h.update(info.filename.encode() + b"\0" + fh.read(64 << 20))
            return "parts:" + h.hexdigest()
        except Exception:  # noqa: BLE001  (a damaged archive: its bytes, then)
            pass
    return _sha(path.read_bytes())


def _wrap(original):
    @functools.wraps(original)
    def import_table(ws, table_name, location, *args, **kwargs):
        test = os.environ.get("PYTEST_CURRENT_TEST", "?").rsplit(" (", 1)[0]
        _calls[test] += 1
        entry = {"test": test, "call": _calls[test], "table": table_name, "input": _input_fingerprint(location)}
        try:
            rec = original(ws, table_name, location, *args, **kwargs)
        except Exception as exc:
            entry |= {"error": type(exc).__name__, "message": str(exc)}
            entry |= _outcome(ws, table_name, getattr(exc, "reconciliation", None))
            _log(entry)
            raise
        entry |= _outcome(ws, table_name, rec)
        _log(entry)
        return rec

    return import_table


def _log(entry: dict) -> None:
    path = os.environ.get("TIERWISE_IDENTITY_LOG")
    if path:
        line = json.dumps(entry, default=str, sort_keys=True)  # ASCII: one record per line
        # each run has its own temporary folders: compare what is inside them
        line = re.sub(r"/tmp/pytest-of-[^/]+/pytest-\d+/", "<tmp>/", line)
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")


def pytest_configure(config):
    import tierwise.app.importing as importing

    importing.import_table = _wrap(importing.import_table)
