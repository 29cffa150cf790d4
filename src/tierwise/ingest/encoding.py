"""Detect the text encoding and the delimiter of a delimited text file.

Real exports come as UTF-8, UTF-8 with a byte-order mark, or GBK/GB18030 (the default
of Chinese Windows and most core-banking systems). The decision is made on the first
stretch of non-ASCII bytes: if it is valid UTF-8 the file is UTF-8 (a later invalid
line becomes one rejected row, not a mis-decoded file); otherwise GB18030 (a superset
of GBK and GB2312).
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from pathlib import Path

from tierwise.errors import SourceReadError

BOM = codecs.BOM_UTF8
_PROBE = 1 << 20  # 1 MiB
DELIMITERS = [",", "\t", ";", "|"]
_NON_ASCII = re.compile(rb"[\x80-\xff]")


def detect_encoding(path: Path) -> str:
    """Return ``"utf-8"``, ``"utf-8-sig"`` or ``"gb18030"``.

    >>> import tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> p = Path(d, "a.csv"); _ = p.write_bytes("客户号,金额\\n1,2\\n".encode("gbk"))
    >>> detect_encoding(p)
    'gb18030'
    >>> _ = p.write_bytes("客户号,金额\\n".encode("utf-8")); detect_encoding(p)
    'utf-8'
    """
    with open(path, "rb") as fh:
        head = fh.read(len(BOM))
        if head == BOM:
            return "utf-8-sig"
        fh.seek(0)
        while True:
            block = fh.read(_PROBE)
            if not block:
                return "utf-8"  # pure ASCII
            if block.isascii():
                continue
            first = _NON_ASCII.search(block).start()
            window = block[first:first + 4096]
            more = fh.read(8)  # complete a multi-byte character cut at the block end
            window = (window + more) if len(block) - first <= 4096 else window
            try:
                codecs.getincrementaldecoder("utf-8")().decode(window, final=False)
                return "utf-8"
            except UnicodeDecodeError as exc:
                if exc.start >= len(window) - 3:  # cut inside a character at the window edge
                    return "utf-8"
            try:
                codecs.getincrementaldecoder("gb18030")().decode(window, final=False)
                return "gb18030"
            except UnicodeDecodeError:
                raise SourceReadError(
                    f"{path}: cannot read the text: it is neither UTF-8 nor GBK/GB18030 "
                    f"(undecodable bytes near byte {first})",
                    hint="save the file as UTF-8 CSV, or export it as .xlsx",
                ) from None


def transcode_to_utf8(src: Path, dst: Path, encoding: str, chunk: int = 8 << 20) -> None:
    """Stream ``src`` from ``encoding`` into UTF-8 at ``dst``; undecodable bytes raise a located error."""
    decoder = codecs.getincrementaldecoder(encoding)()
    offset = 0
    with open(src, "rb") as fin, open(dst, "wb") as fout:
        while True:
            block = fin.read(chunk)
            final = not block
            try:
                text = decoder.decode(block, final=final)
            except UnicodeDecodeError as exc:
                line = _line_at(src, offset + exc.start)
                raise SourceReadError(
                    f"{src}: line {line}: bytes that are not valid {encoding.upper()} text "
                    f"(at byte {offset + exc.start})",
                    hint="the file mixes encodings; re-export it as UTF-8",
                ) from None
            fout.write(text.encode("utf-8"))
            offset += len(block)
            if final:
                return


def _line_at(path: Path, byte_offset: int) -> int:
    with open(path, "rb") as fh:
        return fh.read(byte_offset).count(b"\n") + 1


def detect_delimiter(sample: str) -> str:
    """Pick the delimiter that splits the first lines into the most consistent, widest rows.

    >>> detect_delimiter("a;b;c\\n1;2,5;3\\n")
    ';'
    >>> detect_delimiter("客户号\\t金额\\n001\\t1,234.50\\n")
    '\\t'
    >>> detect_delimiter("one column only\\nx\\n")
    ','
    """
    lines = [ln for ln in sample.splitlines() if ln.strip()][:50]
    if not lines:
        return ","
    best, best_score = ",", (0, 0.0)
    for delim in DELIMITERS:
        try:
            rows = list(csv.reader(io.StringIO("\n".join(lines), newline=""), delimiter=delim))
        except csv.Error:
            continue
        widths = [len(r) for r in rows]
        if not widths or max(widths) < 2:
            continue
        # the most common width (a title line above the header must not decide)
        modal = max(set(widths), key=lambda w: (widths.count(w), w))
        consistency = widths.count(modal) / len(widths)
        score = (1 if consistency >= 0.6 and modal >= 2 else 0, consistency * modal)
        if score > best_score:
            best, best_score = delim, score
    return best
