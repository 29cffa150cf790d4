"""Write rejected rows, with their reasons and original text, to a quarantine CSV.

The file is UTF-8 with a byte-order mark so that Excel shows Chinese correctly. Columns:
``row`` (as the user counts rows: the line in a text file, the row in Excel), ``reason``
(a stable code), ``column`` (canonical), ``source_column`` (the user's header),
``value`` (the original text), ``message``, then every original field of the row
(``raw_line`` for rows that could not be split into fields).
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa

from tierwise.canonical import Table
from tierwise.ingest.sources import Source
from tierwise.ingest.validate import REASONS, message_sql, q, sql_str

FIXED = ["row", "reason", "column", "source_column", "value", "message"]


def write_quarantine(con, source: Source, checked: str, table: Table, out: Path) -> int:
    """Write every rejected row of ``checked`` and the source's structural rejects to ``out``."""
    recs = np.array([r[0] for r in con.execute(f"SELECT _rec FROM {checked} WHERE _reason IS NOT NULL").fetchall()],
                    dtype=np.int64)
    rows = source.row_numbers(recs) if len(recs) else np.array([], dtype=np.int64)
    con.execute("CREATE OR REPLACE TEMP TABLE _qrows AS SELECT unnest(?::BIGINT[]) AS _rec, unnest(?::BIGINT[]) AS _row",
                [recs.tolist(), np.asarray(rows, dtype=np.int64).tolist()])
    src_cols = ", ".join(f"s.{q(h)}" for h in source.headers)
    tmp = out.with_name(f"_{out.name}.tmp")
    con.execute(f"""COPY (
        SELECT r._row AS row, c._reason AS reason, c._column AS "column", c._source_column AS source_column,
               c._value AS value, {message_sql(table).replace('_reason', 'c._reason').replace('_column', 'c._column')} AS message,
               {src_cols}{', ' if src_cols else ''}CAST(NULL AS VARCHAR) AS raw_line
        FROM {checked} c JOIN _qrows r USING (_rec) JOIN {source.table} s USING (_rec)
        ORDER BY r._row) TO {sql_str(str(tmp))} (FORMAT csv, HEADER true)""")
    con.execute("DROP TABLE IF EXISTS _qrows")
    n = len(recs)
    with open(out, "w", encoding="utf-8-sig", newline="") as fout:
        with open(tmp, encoding="utf-8", newline="") as fin:
            shutil.copyfileobj(fin, fout)
        if source.structural:
            writer = csv.writer(fout)
            for s in source.structural:
                writer.writerow([s.row, s.reason, "", "", "", REASONS.get(s.reason, (s.message,))[0] + f" ({s.message})",
                                 *([""] * len(source.headers)), s.raw])
    tmp.unlink()
    return n + len(source.structural)
