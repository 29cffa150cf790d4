"""Write rejected rows, with their reasons and original text, to a quarantine CSV.

The file is UTF-8 with a byte-order mark so that Excel shows Chinese correctly. Columns:
``row`` (as the user counts rows: the line in a text file, the row in Excel), ``reason``
(a stable code), ``column`` (canonical), ``source_column`` (the user's header),
``value`` (the original text), ``message``, then every original field of the row
(``raw_line`` for rows that could not be split into fields).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pyarrow as pa

from tierwise.canonical import Table
from tierwise.ingest.sources import Source
from tierwise.ingest.validate import REASONS, message_sql, q, sql_str
from tierwise.protect.mask import mask_free_text, mask_value

FIXED = ["row", "reason", "column", "source_column", "value", "message"]


def write_quarantine(con, source: Source, checked: str, table: Table, out: Path,
                     mapping: dict[str, str] | None = None) -> int:
    """Write every rejected row of ``checked`` and the source's structural rejects to ``out``.

    Personal data are masked, since the quarantine is plain CSV for people to open: fields
    mapped (``mapping``: canonical column → source header) to a personal column by their kind,
    a rejected value of a personal column likewise, and in the fields no column maps and in raw
    lines that could not be split, whatever looks like a phone or ID number
    (``mask_free_text``). Fields of non-personal columns stay as they were, so the reason can be seen; the
    row number says where to find the original."""
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
    personal = {c.name for c in table.personal_columns()}
    header_col = {h: c for c, h in (mapping or {}).items()}
    kind_at = {len(FIXED) + j: header_col.get(h) for j, h in enumerate(source.headers)}
    column_at, value_at, message_at = FIXED.index("column"), FIXED.index("value"), FIXED.index("message")
    with open(out, "w", encoding="utf-8-sig", newline="") as fout:
        writer = csv.writer(fout)
        with open(tmp, encoding="utf-8", newline="") as fin:
            csv.field_size_limit(max(csv.field_size_limit(), 1 << 30))  # a rejected field may be huge
            reader = csv.reader(fin)
            header = next(reader, None)
            if header is not None:
                writer.writerow(header)
            for row in reader:
                rejected_personal = row[column_at] in personal
                for i, v in enumerate(row):
                    if not v:
                        continue
                    if i == value_at and rejected_personal:
                        row[i] = mask_value(row[column_at], v)
                    elif i == message_at and rejected_personal:
                        row[i] = mask_free_text(v)
                    elif i in kind_at:
                        kind = kind_at[i]
                        row[i] = mask_value(kind, v) if kind in personal else v if kind else mask_free_text(v)
                    elif i >= len(FIXED):  # raw_line
                        row[i] = mask_free_text(v)
                writer.writerow(row)
        for st in source.structural:
            writer.writerow([st.row, st.reason, "", "", "", REASONS.get(st.reason, (st.message,))[0] +
                             f" ({mask_free_text(st.message)})", *([""] * len(source.headers)), mask_free_text(st.raw)])
    tmp.unlink()
    return n + len(source.structural)
