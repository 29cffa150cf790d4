"""Fast construction of canonical Arrow columns from NumPy arrays.

Sample data is generated as NumPy arrays (integers for ids, days since 1970 for dates,
microseconds for timestamps, integer cents for money) and turned into Arrow columns
here without a per-row Python loop: fixed-width ids are written straight into a byte
buffer, money is written as 128-bit decimals from cents, categories are dictionary
decoded. :func:`canonical_table` then lays the columns out in canonical order and type,
filling the columns a scenario does not produce with nulls.

>>> import numpy as np
>>> fixed_ids("C", np.array([7, 123]), 5).to_pylist()
['C00007', 'C00123']
>>> money(np.array([123450, -5])).to_pylist()
[Decimal('1234.50'), Decimal('-0.05')]
>>> t = canonical_table("balances", {"customer_id": fixed_ids("", np.array([1]), 3),
...     "balance_date": dates(np.array([19723])), "balance": money(np.array([100]))})
>>> t.column_names[:3], str(t.schema.field("balance").type)
(['customer_id', 'balance_date', 'product_id'], 'decimal128(18, 2)')
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pyarrow as pa

from tierwise.canonical import ARROW_TYPES, TABLES

__all__ = [
    "ARROW_TYPES",
    "arrow_schema",
    "canonical_table",
    "categories",
    "dates",
    "digit_matrix",
    "fixed_ids",
    "from_bytes",
    "money",
    "timestamps",
]

def arrow_schema(table: str) -> pa.Schema:
    """The Arrow schema of a canonical table.

    >>> arrow_schema("transactions").field("amount").type
    Decimal128Type(decimal128(18, 2))
    """
    return TABLES[table].arrow_schema()


def _validity(valid: np.ndarray | None) -> pa.Buffer | None:
    if valid is None or bool(valid.all()):
        return None
    return pa.py_buffer(np.packbits(valid.astype(bool), bitorder="little"))


def money(cents: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """``decimal128(18, 2)`` from integer cents, exactly (no float round trip)."""
    cents = np.ascontiguousarray(cents, dtype=np.int64)
    words = np.empty((len(cents), 2), dtype=np.int64)
    words[:, 0] = cents
    words[:, 1] = cents >> 63  # sign extension of the 128-bit two's complement
    return pa.Array.from_buffers(pa.decimal128(18, 2), len(cents), [_validity(valid), pa.py_buffer(words)])


def dates(days: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """``date32`` from days since 1970-01-01."""
    mask = None if valid is None else ~valid.astype(bool)
    return pa.array(np.asarray(days, dtype=np.int32), type=pa.date32(), mask=mask)


def timestamps(micros: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """``timestamp[us]`` from microseconds since 1970-01-01 00:00."""
    mask = None if valid is None else ~valid.astype(bool)
    return pa.array(np.asarray(micros, dtype=np.int64), type=pa.timestamp("us"), mask=mask)


def categories(codes: np.ndarray, values: Sequence[str | None]) -> pa.Array:
    """Strings ``values[codes]``; a ``None`` among ``values`` gives nulls.

    (An Arrow ``take`` with int64 indices is several times faster than decoding a
    dictionary array.)
    """
    return pa.array(list(values), pa.string()).take(pa.array(np.asarray(codes, dtype=np.int64)))


# the four ASCII digits of 0000..9999, each packed in one uint32 (in memory order)
_QUADS = np.frombuffer(b"".join(f"{i:04d}".encode() for i in range(10_000)), dtype=np.uint32)


def digit_matrix(numbers: np.ndarray, width: int) -> np.ndarray:
    """ASCII digits of non-negative integers, zero padded: ``uint8`` array (n, width)."""
    rest = np.asarray(numbers, dtype=np.int64).copy()
    words = -(-width // 4)
    out = np.empty((len(rest), words), dtype=np.uint32)
    for j in range(words - 1, -1, -1):  # four digits per pass, through a lookup table
        quotient = rest // 10_000  # (numpy's signed % is several times slower than //)
        out[:, j] = _QUADS[rest - quotient * 10_000]
        rest = quotient
    return out.view(np.uint8)[:, 4 * words - width :]


def from_bytes(matrix: np.ndarray, keep: np.ndarray | None = None, valid: np.ndarray | None = None) -> pa.Array:
    """A string array whose row ``i`` is the bytes of ``matrix[i]`` (where ``keep``).

    ``matrix`` is an (n, w) ``uint8`` array of UTF-8 bytes; ``keep`` (same shape, bool)
    drops bytes, which turns a fixed-width layout into variable-length strings.
    """
    matrix = np.ascontiguousarray(matrix, dtype=np.uint8)
    n, w = matrix.shape
    if keep is None:
        offsets = np.arange(0, (n + 1) * w, w, dtype=np.int64)
        data = matrix.reshape(-1)
    else:
        offsets = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(keep.sum(axis=1), out=offsets[1:])
        data = matrix[keep]
    if offsets[-1] < 2**31:
        return pa.Array.from_buffers(
            pa.string(), n, [_validity(valid), pa.py_buffer(offsets.astype(np.int32)), pa.py_buffer(data)]
        )
    big = pa.Array.from_buffers(pa.large_string(), n, [_validity(valid), pa.py_buffer(offsets), pa.py_buffer(data)])
    return big.cast(pa.string())


def fixed_ids(prefix: str, numbers: np.ndarray, width: int, valid: np.ndarray | None = None) -> pa.Array:
    """Ids ``prefix + zero-padded number`` (``fixed_ids("T", [5], 3)`` gives ``T005``)."""
    head = np.frombuffer(prefix.encode("ascii"), dtype=np.uint8)
    digits = digit_matrix(numbers, width)
    matrix = np.concatenate([np.broadcast_to(head, (len(digits), len(head))), digits], axis=1)
    return from_bytes(matrix, valid=valid)


def canonical_table(name: str, columns: Mapping[str, pa.Array], n: int | None = None) -> pa.Table:
    """Lay ``columns`` out as the canonical table ``name``; absent columns are null.

    Raises ``KeyError`` for a column the canonical table does not have, so a typo in a
    generator cannot silently produce an extra column.
    """
    schema = arrow_schema(name)
    unknown = set(columns) - set(schema.names)
    if unknown:
        raise KeyError(f"{name} has no column(s) {sorted(unknown)}")
    if n is None:
        n = len(next(iter(columns.values())))
    arrays = []
    for field in schema:
        col = columns.get(field.name)
        if col is None:
            arrays.append(pa.nulls(n, field.type))
        else:
            arrays.append(col if col.type == field.type else col.cast(field.type))
    return pa.Table.from_arrays(arrays, schema=schema)
