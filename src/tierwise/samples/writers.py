"""Stream generated tables to Parquet or plain UTF-8 CSV, one chunk at a time.

Both writers accept either a dict of tables or an iterable of such dicts (the chunks
that ``iter_bank`` and friends yield), so 10 M customers and 100 M transactions are
written without holding them all in memory. Each file is written under a temporary
name starting with ``_`` and renamed into place when complete, so a killed run never
leaves a half-written file under the final name (and DuckDB globs skip it).

>>> import tempfile
>>> from tierwise.samples import iter_retail
>>> with tempfile.TemporaryDirectory() as d:
...     paths = write_parquet(iter_retail(1_000, seed=1), d)
...     import pyarrow.parquet as pq
...     pq.read_metadata(paths["customers"]).num_rows
1000
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

__all__ = ["write_csv", "write_english_csv", "write_parquet"]

Tables = Mapping[str, pa.Table] | Iterable[Mapping[str, pa.Table]]


def _chunks(tables: Tables) -> Iterable[Mapping[str, pa.Table]]:
    return [tables] if isinstance(tables, Mapping) else tables


def _write(tables: Tables, out_dir: str | os.PathLike, suffix: str, open_writer, write) -> dict[str, Path]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    writers: dict[str, Any] = {}
    temps: dict[str, Path] = {}
    try:
        for chunk in _chunks(tables):
            for name, table in chunk.items():
                if name not in writers:
                    temps[name] = out / f"_{name}{suffix}.tmp"
                    writers[name] = open_writer(temps[name], table.schema)
                write(writers[name], table)
    except BaseException:
        for name, w in writers.items():
            w.close()
            temps[name].unlink(missing_ok=True)
        raise
    paths = {}
    for name, w in writers.items():
        w.close()
        paths[name] = out / f"{name}{suffix}"
        os.replace(temps[name], paths[name])
    return paths


def write_parquet(
    tables: Tables, out_dir: str | os.PathLike, *, compression: str = "zstd", row_group_size: int = 1_000_000
) -> dict[str, Path]:
    """Write each table to ``out_dir/<name>.parquet``, streaming chunk by chunk.

    Parameters
    ----------
    tables : dict of tables, or an iterable of dicts (chunks with the same schemas)
    out_dir : folder, created if missing
    compression : Parquet codec
    row_group_size : maximum rows per row group

    Returns
    -------
    dict of table name to the file written
    """
    return _write(
        tables, out_dir, ".parquet",
        lambda path, schema: pq.ParquetWriter(path, schema, compression=compression),
        lambda w, t: w.write_table(t, row_group_size=row_group_size),
    )


def write_csv(tables: Tables, out_dir: str | os.PathLike) -> dict[str, Path]:
    """Write each table to ``out_dir/<name>.csv``: UTF-8, canonical English headers.

    Dates are ISO ``2024-01-05``, timestamps ``2024-01-05 10:00:00``, money plain
    ``1234.50``; nulls are empty fields. Streams chunk by chunk like
    :func:`write_parquet`.

    Examples
    --------
    >>> import tempfile
    >>> from tierwise.samples import generate_bank
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = write_csv(generate_bank(100, seed=1, months=1), d)
    ...     print(p["transactions"].read_text().splitlines()[1][:58])
    "T00000000000000","019999730","2024-12-11 12:02:56",118.00
    """
    options = pcsv.WriteOptions(quoting_style="needed")

    def open_writer(path, schema):
        return pcsv.CSVWriter(path, _text_schema(schema), write_options=options)

    return _write(tables, out_dir, ".csv", open_writer, lambda w, t: w.write_table(_seconds(t)))


#: the plain canonical-header CSV path of the importer (same as :func:`write_csv`)
write_english_csv = write_csv


def _text_schema(schema: pa.Schema) -> pa.Schema:
    return pa.schema([pa.field(f.name, pa.string()) if pa.types.is_timestamp(f.type) else f for f in schema])


def _seconds(table: pa.Table) -> pa.Table:
    """Timestamps as ``YYYY-MM-DD HH:MM:SS`` text (Arrow would add ``.000000``)."""
    for i, field in enumerate(table.schema):
        if pa.types.is_timestamp(field.type):
            seconds = table.column(i).cast(pa.timestamp("s"), safe=False)
            table = table.set_column(i, field.name, pc.strftime(seconds, "%Y-%m-%d %H:%M:%S"))
    return table
