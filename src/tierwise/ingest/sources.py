"""Read a source (CSV, .xlsx, Parquet, a database table) into an all-text staging table.

Every reader produces the same thing: a table ``name`` in the given DuckDB connection
with one VARCHAR column per source header, in source order, plus ``_rec`` (the
record's position, 0-based); a list of rows that could not even be split into fields
(:class:`StructuralReject`, with their original text); and a way to turn record
positions into the row numbers a person sees in their editor or in Excel.

Reading everything as text first means no value is ever lost or silently coerced by
a reader's type guessing: parsing happens afterwards, in one place, with located errors.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa

from tierwise.errors import SourceReadError, UserInputError
from tierwise.ingest.encoding import detect_delimiter, detect_encoding, transcode_to_utf8

HEADER_SCAN_ROWS = 20


@dataclass
class StructuralReject:
    """A source row that could not be split into the header's fields."""

    row: int
    reason: str
    message: str
    raw: str


@dataclass
class Source:
    """A source read into the staging table ``table`` (see module docstring)."""

    path: str
    kind: str
    table: str
    headers: list[str]
    records: int
    structural: list[StructuralReject] = field(default_factory=list)
    details: dict = field(default_factory=dict)
    row_numbers: Callable[[np.ndarray], np.ndarray] = lambda recs: recs + 2

    @property
    def rows_read(self) -> int:
        return self.records + len(self.structural)


def normalise_header(h: object) -> str:
    """Compare headers loosely: case, spaces, underscores, hyphens and bracket styles do not matter.

    >>> normalise_header(" Customer_ID ") == normalise_header("customer id")
    True
    >>> normalise_header("金额（元）") == normalise_header("金额(元)")
    True
    """
    s = str(h).strip().lower().translate(str.maketrans("（）【】", "()[]"))
    return re.sub(r"[\s_\-]+", "", s)


def pick_header_row(rows: list[list[object]], known: set[str]) -> int:
    """Index of the row (among the first few) that looks most like the header.

    A title line such as ``XX银行客户资产明细 2024年`` above the header is skipped because
    it matches fewer known headers than the header row itself.

    >>> pick_header_row([["XX银行客户资产明细"], ["客户号", "金额"], ["001", "5"]], {"客户号", "金额"})
    1
    """
    best, best_hits = 0, 0
    for i, row in enumerate(rows[:HEADER_SCAN_ROWS]):
        hits = sum(1 for v in row if v is not None and normalise_header(v) in known)
        if hits > best_hits:
            best, best_hits = i, hits
    return best


def read_source(con, location: str, table: str, *, scratch: Path, known_headers: Iterable[str],
                sheet: str | int | None = None, source_table: str | None = None,
                query: str | None = None) -> Source:
    """Read ``location`` (a file path or a database URL) into staging table ``table``."""
    known = {normalise_header(h) for h in known_headers}
    if "://" in location:
        return _read_database(con, location, table, source_table=source_table, query=query)
    path = Path(location)
    if not path.exists():
        raise SourceReadError(f"{path}: file not found")
    if path.is_dir():
        raise SourceReadError(f"{path}: is a folder; give a file")
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm", ".xls"):
        return _read_excel(con, path, table, known, sheet, scratch)
    if suffix in (".parquet", ".pq"):
        return _read_parquet(con, path, table)
    return _read_delimited(con, path, table, known, scratch)


# --------------------------------------------------------------------------- CSV / text
def _read_delimited(con, path: Path, table: str, known: set[str], scratch: Path) -> Source:
    encoding = detect_encoding(path)
    text_path = path
    if encoding == "gb18030":
        scratch.mkdir(parents=True, exist_ok=True)
        text_path = scratch / f"_{table}.utf8.csv"
        transcode_to_utf8(path, text_path, encoding)
    with open(text_path, encoding="utf-8-sig", errors="replace", newline="") as fh:
        sample = fh.read(256 * 1024)
    delim = detect_delimiter(sample)
    head_rows = _first_rows(sample, delim)
    if not head_rows:
        raise SourceReadError(f"{path}: the file is empty", hint="export the table with its header row")
    header_idx = pick_header_row(head_rows, known)
    header_line = _physical_line_of_record(sample, delim, header_idx)
    rejects = f"_rej_{table}"
    con.execute(f"DROP TABLE IF EXISTS {rejects}; DROP TABLE IF EXISTS {rejects}_scan")
    quote = '"'
    try:
        con.execute(
            f"""CREATE OR REPLACE TABLE {table} AS
                SELECT * FROM read_csv(?, all_varchar=true, header=true, delim=?, quote=?, escape=?,
                                       skip=?, store_rejects=true, rejects_table='{rejects}',
                                       rejects_scan='{rejects}_scan', strict_mode=true,
                                       null_padding=false, auto_detect=true, normalize_names=false,
                                       max_line_size=4194304)""",
            [str(text_path), delim, quote, quote, header_line - 1],
        )
    except Exception as exc:  # the engine's message is specific; keep it, add the file
        raise SourceReadError(f"{path}: cannot read as CSV: {_first_line(exc)}",
                              hint="check that the file is a delimited text export with a header row") from None
    headers = [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()]
    _add_record_index(con, table)
    rows = con.execute(f"SELECT line, error_type, error_message, csv_line FROM {rejects} "
                       f"ORDER BY line, column_idx").fetchall()
    structural, seen = [], set()
    for line, et, msg, raw in rows:  # the engine logs one entry per missing column: keep one per line
        if line not in seen:
            seen.add(line)
            structural.append(StructuralReject(int(line), _structural_reason(str(et)), f"{et}: {msg}", raw or ""))
    con.execute(f"DROP TABLE IF EXISTS {rejects}; DROP TABLE IF EXISTS {rejects}_scan")
    records = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    skip_lines = np.array(sorted(r.row for r in structural), dtype=np.int64)
    mapper = _LineMapper(text_path, header_line, skip_lines)
    return Source(str(path), "csv", table, headers, records, structural,
                  {"encoding": encoding, "delimiter": delim, "header_row": header_line},
                  mapper)


def _first_rows(sample: str, delim: str) -> list[list[str]]:
    """The first rows of ``sample`` for header detection; odd line breaks never raise."""
    try:
        return list(itertools.islice(csv.reader(io.StringIO(sample, newline=""), delimiter=delim), HEADER_SCAN_ROWS))
    except csv.Error:
        return [ln.split(delim) for ln in sample.splitlines()[:HEADER_SCAN_ROWS]]


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _structural_reason(error_type: str) -> str:
    return {"MISSING COLUMNS": "too_few_fields", "TOO MANY COLUMNS": "too_many_fields",
            "INVALID ENCODING": "invalid_encoding", "UNQUOTED VALUE": "bad_quoting",
            "LINE SIZE OVER MAXIMUM": "line_too_long"}.get(error_type, "malformed_row")


def _physical_line_of_record(sample: str, delim: str, record_idx: int) -> int:
    """1-based physical line where record ``record_idx`` of ``sample`` starts."""
    if record_idx == 0:
        return 1 + _leading_blank_lines(sample)
    reader = csv.reader(io.StringIO(sample, newline=""), delimiter=delim)
    try:
        for i, _ in enumerate(reader):
            if i == record_idx - 1:
                return reader.line_num + 1
    except csv.Error:
        pass
    return record_idx + 1


def _leading_blank_lines(sample: str) -> int:
    n = 0
    for ln in sample.splitlines():
        if ln.strip():
            break
        n += 1
    return n


def _add_record_index(con, table: str) -> None:
    """Expose the record position as ``_rec`` through a view (no copy of the data).

    ``rowid`` follows insertion order, which the CSV scan preserves (preserve_insertion_order).
    """
    con.execute(f'ALTER TABLE {table} RENAME TO "{table}_raw"')
    con.execute(f'CREATE OR REPLACE TEMP VIEW {table} AS SELECT rowid AS _rec, * FROM "{table}_raw"')


class _LineMapper:
    """Turns record positions into physical line numbers.

    Records follow the header line; structural rejects and blank lines are not
    records. Blank lines are only looked for when a row number is first needed, so a
    clean import pays nothing. A quoted field spanning several lines shifts the numbers
    of the rows after it by the extra lines (documented limitation).
    """

    def __init__(self, path: Path, header_line: int, excluded: np.ndarray):
        self.path, self.header_line, self.excluded = path, header_line, excluded
        self._ready = False

    def _prepare(self) -> None:
        blanks = _blank_lines(self.path)
        blanks = blanks[blanks > self.header_line]
        merged = np.sort(np.concatenate([self.excluded, blanks]))
        # distinct values (np.unique would import numpy.ma: a tenth of a second, once per process)
        self.excluded = merged[np.concatenate([[True], merged[1:] != merged[:-1]])] if len(merged) else merged
        self._ready = True

    def __call__(self, recs: np.ndarray) -> np.ndarray:
        if not self._ready:
            self._prepare()
        recs = np.asarray(recs, dtype=np.int64)
        lines = self.header_line + recs + 1
        for _ in range(len(self.excluded) + 1):
            new = self.header_line + recs + 1 + np.searchsorted(self.excluded, lines, side="right")
            # a candidate line that is itself excluded moves on to the next one
            if np.array_equal(new, lines):
                break
            lines = new
        return lines


_BLANK = re.compile(rb"\n(?=\r?\n)")  # a line break that ends the line before a blank one


def _blank_lines(path: Path) -> np.ndarray:
    """1-based numbers of empty lines (only a line break, or CR LF).

    One regular-expression scan over the memory-mapped file (C speed, no copy); line breaks
    are counted only up to the blank lines found, so a file without any costs one scan.
    """
    import mmap
    import os

    found: list[int] = []
    with open(path, "rb") as fh:
        if os.fstat(fh.fileno()).st_size == 0:
            return np.array([], dtype=np.int64)
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            if mm[:1] == b"\n" or mm[:2] == b"\r\n":
                found.append(1)
            data = np.frombuffer(mm, dtype=np.uint8)
            try:
                breaks, cur = 0, 0
                for m in _BLANK.finditer(mm):
                    i = m.start()
                    breaks += int(np.count_nonzero(data[cur:i + 1] == 10))
                    cur = i + 1
                    found.append(breaks + 1)
            finally:
                del data  # the map cannot close while an array still uses it
    return np.array(found, dtype=np.int64)


# --------------------------------------------------------------------------- Excel
#: calamine, the Rust reader behind fastexcel, trusts sizes written inside the file: a workbook of a
#: few KB (one stray cell at XFD1048576, a huge sharedStrings count) can ask for hundreds of GB, and
#: a failed allocation aborts the whole process (a web server with it). Workbooks are therefore
#: read in a child process with an address-space cap and a time limit; whatever happens there
#: comes back as a clean error naming the file.
EXCEL_MEMORY_LIMIT = 8 << 30
EXCEL_TIMEOUT_S = 600


def _read_excel(con, path: Path, table: str, known: set[str], sheet: str | int | None, scratch: Path) -> Source:
    import json
    import os
    import subprocess
    import sys

    scratch.mkdir(parents=True, exist_ok=True)
    out = scratch / f"_{table}.xlsx.arrow"
    request = json.dumps({"path": str(path), "out": str(out), "known": sorted(known), "sheet": sheet})
    try:
        proc = subprocess.run([sys.executable, "-m", "tierwise.ingest.sources", request], capture_output=True,
                              stdin=subprocess.DEVNULL, timeout=EXCEL_TIMEOUT_S,
                              env={**os.environ, "RUST_BACKTRACE": "0"})
        lines = proc.stdout.decode("utf-8", "replace").strip().splitlines()
        answer = json.loads(lines[-1]) if proc.returncode == 0 and lines else None
    except ValueError:   # not the child's answer: reported below with its exit status
        answer = None
    except subprocess.TimeoutExpired:
        out.unlink(missing_ok=True)
        raise SourceReadError(f"{path}: reading the workbook took longer than {EXCEL_TIMEOUT_S} s",
                              hint="save it as .xlsx again in Excel, or export CSV") from None
    if not isinstance(answer, dict):
        out.unlink(missing_ok=True)
        why = f"signal {-proc.returncode}" if proc.returncode < 0 else f"exit code {proc.returncode}"
        said = [ln for ln in proc.stderr.decode("utf-8", "replace").strip().splitlines()
                if ln.strip() and not ln.startswith(("note:", "stack backtrace"))]
        last = (said or [""])[-1][:300]
        raise SourceReadError(f"{path}: the Excel reader failed on this file ({why}{': ' + last if last else ''})",
                              hint="open and save it again in Excel, or export CSV")
    if "error" in answer:
        raise (UserInputError if answer["error"] == "UserInputError" else SourceReadError)(
            answer["message"], hint=answer.get("hint"))
    with pa.OSFile(str(out), "rb") as fh:
        tbl = pa.ipc.open_file(fh).read_all()
    out.unlink()
    header_idx = answer["header_idx"]
    headers = [str(c) for c in tbl.column_names]
    # Excel rows are 1-based and the header is at header_idx + 1
    return _register_text_table(con, tbl, table, str(path), "xlsx", headers,
                                {"sheet": answer["sheet"], "header_row": header_idx + 1},
                                offset=header_idx + 2, drop_empty=True)


def _load_excel(path: Path, known: set[str], sheet: str | int | None) -> tuple[pa.Table, str, int]:
    """The sheet as text, its name and the 0-based index of its header row (run in the child)."""
    import fastexcel  # imported here: only needed for Excel sources

    try:
        reader = fastexcel.read_excel(str(path))
    except Exception as exc:
        raise SourceReadError(f"{path}: cannot open as an Excel workbook: {_first_line(exc)}",
                              hint="save it as .xlsx, or export CSV") from None
    names = reader.sheet_names
    if sheet is None:
        sheet_ref: str | int = 0
    elif isinstance(sheet, str) and sheet.isdigit():
        sheet_ref = int(sheet)
    else:
        sheet_ref = sheet
    if isinstance(sheet_ref, str) and sheet_ref not in names:
        from tierwise.errors import did_you_mean
        raise UserInputError(f"{path}: no sheet named '{sheet_ref}'",
                             hint=did_you_mean(sheet_ref, names) or f"sheets: {', '.join(names)}")
    if isinstance(sheet_ref, int) and not 0 <= sheet_ref < len(names):
        raise UserInputError(f"{path}: sheet {sheet_ref} does not exist (it has {len(names)} sheets)")
    try:
        # the sheet is parsed once (each load parses all of it, even for a few rows): the header
        # is picked from its first rows and the rows below it are the data. skip_rows=0 keeps
        # blank rows above the table, so that row numbers are the sheet's own
        whole = reader.load_sheet(sheet_ref, header_row=None, skip_rows=0, dtypes="string").to_arrow()
        whole = pa.Table.from_batches([whole]) if isinstance(whole, pa.RecordBatch) else whole
        rows = [list(r.values()) for r in whole.slice(0, HEADER_SCAN_ROWS).to_pylist()]
        header_idx = pick_header_row(rows, known)
        columns = _excel_column_names(rows[header_idx]) if _header_is_plain(whole, rows, header_idx) else None
        if columns is None:  # a header cell that may not be text, say: the reader names the columns
            batch = reader.load_sheet(sheet_ref, header_row=header_idx, dtypes="string").to_arrow()
        else:
            batch = whole.slice(header_idx + 1).rename_columns(columns)
    except Exception as exc:
        raise SourceReadError(f"{path}: cannot read sheet {sheet_ref!r}: {_first_line(exc)}") from None
    tbl = pa.Table.from_batches([batch]) if isinstance(batch, pa.RecordBatch) else batch
    return tbl, names[sheet_ref] if isinstance(sheet_ref, int) else sheet_ref, header_idx


def _header_is_plain(whole: pa.Table, rows: list[list], header_idx: int) -> bool:
    """Whether the sheet's rows below ``header_idx`` are exactly what the reader returns for that header.

    The reader takes ``header_row=0`` as "the first row that is not blank", and keeps only the
    columns used from the header row down: true when neither is at play.
    """
    import pyarrow.compute as pc

    if not rows or (header_idx == 0 and all(v is None for v in rows[0])):
        return False
    below = whole.slice(header_idx)
    return all(pc.any(pc.is_valid(below.column(i))).as_py() for i in {0, below.num_columns - 1})


#: text the reader may have made from a cell that is not text (a number, date, time, boolean or
#: error), which it would not use as a column name as it is
_NOT_SURELY_TEXT = re.compile(r"[0-9eE.+\-: T]*|true|false|#.*|__UNNAMED__.*|\s*", re.I | re.S)


def _excel_column_names(cells: list) -> list[str] | None:
    """The column names fastexcel gives a header row of these cells (as text), or None if unsure.

    It names a column by its header text, ``__UNNAMED__<i>`` if the cell is empty, and a
    repeated name ``<name>_1``, ``<name>_2`` …, skipping names already taken. A cell that was
    a date or a boolean would be unnamed too, but reads as text here like a number would: for
    such headers, None (the reader then names the columns itself).

    >>> _excel_column_names(["客户号", None, "金额", "金额", "金额_1"])
    ['客户号', '__UNNAMED__1', '金额', '金额_1', '金额_1_1']
    >>> _excel_column_names(["客户号", "2024-01-05 00:00:00"]) is None
    True
    """
    names: list[str] = []
    used: set[str] = set()
    for i, cell in enumerate(cells):
        if cell is None:
            base = f"__UNNAMED__{i}"
        elif _NOT_SURELY_TEXT.fullmatch(cell):
            return None
        else:
            base = cell
        name, k = base, 1
        while name in used:
            name, k = f"{base}_{k}", k + 1
        used.add(name)
        names.append(name)
    return names


def _excel_child(request: str) -> None:
    """``python -m tierwise.ingest.sources REQUEST``: read one workbook under the caps (see above)."""
    import json

    from tierwise.errors import TierwiseError

    try:
        import resource
    except ImportError:  # not on POSIX: the time limit still holds
        pass
    else:
        resource.setrlimit(resource.RLIMIT_AS, (EXCEL_MEMORY_LIMIT, EXCEL_MEMORY_LIMIT))
    req = json.loads(request)
    try:
        tbl, name, header_idx = _load_excel(Path(req["path"]), set(req["known"]), req["sheet"])
    except TierwiseError as exc:
        print(json.dumps({"error": type(exc).__name__, "message": exc.message, "hint": exc.hint}))
        return
    with pa.OSFile(req["out"], "wb") as fh, pa.ipc.new_file(fh, tbl.schema) as writer:
        writer.write_table(tbl)
    print(json.dumps({"sheet": name, "header_idx": header_idx}))


def _register_text_table(con, tbl: pa.Table, table: str, path: str, kind: str, headers: list[str],
                         details: dict, *, offset: int, drop_empty: bool) -> Source:
    cols = [pa.array(np.arange(tbl.num_rows, dtype=np.int64))]
    for col in tbl.columns:
        cols.append(col.cast(pa.string()) if col.type != pa.string() else col)
    # SQL names cannot be empty nor hold NUL (DuckDB cuts them there)
    headers = [h.replace("\x00", "") or f"__UNNAMED__{j}" for j, h in enumerate(headers)]
    names = ["_rec", *headers]
    if len(set(names)) != len(names):
        seen: dict[str, int] = {}
        dedup = []
        for n in names:
            seen[n] = seen.get(n, 0) + 1
            dedup.append(n if seen[n] == 1 else f"{n}_{seen[n] - 1}")
        names = dedup
        headers = names[1:]
    staged = pa.table(cols, names=names)
    con.register(f"_arrow_{table}", staged)
    quoted = ['"' + h.replace('"', '""') + '"' for h in headers]  # a header may hold a quote
    where = f"WHERE coalesce({', '.join(quoted)}) IS NOT NULL" if (drop_empty and headers) else ""
    con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM _arrow_{table} {where}")
    con.unregister(f"_arrow_{table}")
    records = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    return Source(path, kind, table, headers, records, [], details, lambda recs: np.asarray(recs) + offset)


# --------------------------------------------------------------------------- Parquet / database
def _read_parquet(con, path: Path, table: str) -> Source:
    import pyarrow.parquet as pq

    try:
        tbl = pq.read_table(path)
    except Exception as exc:
        raise SourceReadError(f"{path}: cannot read as Parquet: {_first_line(exc)}") from None
    names = []
    for i in range(tbl.num_columns):
        try:
            names.append(tbl.schema.field(i).name)
        except UnicodeDecodeError:  # Parquet stores names as bytes, unchecked
            raise SourceReadError(f"{path}: the name of column {i + 1} is not UTF-8 text",
                                  hint="write the file with UTF-8 column names") from None
    tbl = pa.table([_as_text(tbl.column(i), n, path) for i, n in enumerate(names)], names=names)
    return _register_text_table(con, tbl, table, str(path), "parquet", list(tbl.column_names), {},
                                offset=1, drop_empty=False)


def _as_text(col: pa.ChunkedArray, name: str = "", path: Path | None = None) -> pa.ChunkedArray:
    """A Parquet column as text: flat values cast, nested ones (lists, structs, maps) written as JSON.

    Bytes that are not UTF-8 text are an error naming the column and the first such row.
    """
    if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
        return col.cast(pa.string())
    if pa.types.is_dictionary(col.type):
        return _as_text(col.cast(col.type.value_type), name, path)
    if pa.types.is_timestamp(col.type) and (col.type.tz or col.type.unit == "ns"):
        import pyarrow.compute as pc

        # the wall-clock time in the file's own zone; nanoseconds (Spark's INT96) to microseconds
        try:
            local = pc.local_timestamp(col) if col.type.tz else col
            col = local.cast(pa.timestamp("us"), safe=local.type.unit != "ns")
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass  # out of range: the plain text below, which validation rejects with its row
    if not pa.types.is_nested(col.type):
        try:
            return col.cast(pa.string())
        except pa.ArrowInvalid as exc:
            if pa.types.is_binary(col.type) or pa.types.is_large_binary(col.type) or \
                    pa.types.is_fixed_size_binary(col.type):
                bad = next(i for i, v in enumerate(col.to_pylist()) if v is not None and not _is_utf8(v))
                raise SourceReadError(f"{path}: column '{name}', row {bad + 1}: bytes that are not UTF-8 text",
                                      hint="write text columns as UTF-8 strings") from None
            raise SourceReadError(f"{path}: column '{name}' ({col.type}) cannot be read as text: "
                                  f"{_first_line(exc)}") from None
        except pa.ArrowNotImplementedError:
            pass  # a type with no text cast: written as JSON below
    import json

    try:
        values = [None if v is None else json.dumps(v, ensure_ascii=False, default=str) for v in col.to_pylist()]
    except (ValueError, OverflowError) as exc:  # e.g. a nested date beyond Python's range
        raise SourceReadError(f"{path}: column '{name}' ({col.type}) cannot be read as text: "
                              f"{_first_line(exc)}") from None
    return pa.chunked_array([pa.array(values, pa.string())], pa.string())


def _is_utf8(b: bytes) -> bool:
    try:
        b.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _read_database(con, url: str, table: str, *, source_table: str | None, query: str | None) -> Source:
    import sqlalchemy as sa

    if not (source_table or query):
        raise UserInputError(f"{_redact(url)}: name the table to read (--source-table NAME) or give --query")
    if source_table and not re.fullmatch(r"[A-Za-z_][\w.]*", source_table):
        raise UserInputError(f"--source-table {source_table!r}: not a plain table name")
    sql = query or f"SELECT * FROM {source_table}"
    try:
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            result = conn.execute(sa.text(sql))
            headers = [str(k) for k in result.keys()]
            rows = result.fetchall()
        engine.dispose()
    except Exception as exc:
        raise SourceReadError(f"{_redact(url)}: cannot read {source_table or 'the query'}: {_first_line(exc)}") from None
    arrays = [pa.array([None if r[i] is None else str(r[i]) for r in rows], type=pa.string())
              for i in range(len(headers))]
    tbl = pa.table(arrays, names=headers) if headers else pa.table({})
    return _register_text_table(con, tbl, table, _redact(url), "database", headers,
                                {"table": source_table, "query": query}, offset=1, drop_empty=False)


def _redact(url: str) -> str:
    """Hide a password in a database URL before it is printed or stored."""
    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", url)


if __name__ == "__main__":
    import sys

    _excel_child(sys.argv[1])
