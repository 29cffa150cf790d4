"""The vault: a table's personal columns, sealed in blocks with AES-256-GCM.

A batch's personal columns, together with its key columns, are cut into blocks of rows; each
block is written as an Arrow IPC stream and sealed (12-byte nonce + ciphertext + 16-byte tag).
Two Parquet files hold the vault:

- ``personal-index.parquet``: the key columns in clear (pseudonymous ids such as the customer
  number) and the block each row is in — to find a customer without opening anything;
- ``personal-blocks.parquet``: ``block``, ``key_id`` (which key sealed it), ``sealed``.

Bulk reads (every birthday for the ages of a run) open all blocks at AES speed and parse them
vectorised; a lookup (one customer's profile) opens one block. The associated data bind a
block to its table, batch, number and key, and the keys inside the sealed block are the ones
returned, so a block moved to another batch or swapped with another fails to open, and an
altered index cannot make the vault answer with someone else's data.

>>> import pyarrow as pa, os
>>> from tierwise.protect.keys import Key, KeyRing
>>> ring = KeyRing(Key(os.urandom(32)))
>>> data = pa.table({"customer_id": ["C1", "C2", "C3"], "phone": ["13812345678", None, "13900000000"]})
>>> index, blocks = seal_table(ring, "customers", "imp-000001", data, ["customer_id"], block_rows=2)
>>> index.to_pylist()[2], blocks.num_rows
({'customer_id': 'C3', 'block': 1}, 2)
>>> b"13812345678" in b"".join(blocks["sealed"].to_pylist())
False
>>> open_blocks(ring, "customers", "imp-000001", blocks, [1]).to_pylist()
[{'customer_id': 'C3', 'phone': '13900000000'}]
>>> open_blocks(ring, "customers", "imp-000001", blocks).num_rows
3
"""

from __future__ import annotations

import base64
import io
import json
import os

import pyarrow as pa
import pyarrow.ipc as ipc
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from tierwise.protect.keys import KeyProblem, KeyRing

FORMAT = "tierwise-vault/1"
INDEX_FILE = "personal-index.parquet"
BLOCKS_FILE = "personal-blocks.parquet"
BLOCK_ROWS = 4096


def _aad(table: str, batch: str, block: int, key_id: str) -> bytes:
    return json.dumps([FORMAT, table, batch, block, key_id]).encode("utf-8")


def _ipc_bytes(t: pa.Table) -> bytes:
    sink = io.BytesIO()
    with ipc.new_stream(sink, t.schema) as w:
        w.write_table(t)
    return sink.getvalue()


def seal_table(ring: KeyRing, table: str, batch: str, data: pa.Table, key_columns: list[str], *,
               block_rows: int = BLOCK_ROWS) -> tuple[pa.Table, pa.Table]:
    """Seal ``data`` (key columns + personal columns) into (index, blocks) tables."""
    aead = AESGCM(ring.current.secret)
    kid = ring.current.key_id
    n_blocks = (data.num_rows + block_rows - 1) // block_rows
    sealed = []
    for b in range(n_blocks):
        payload = _ipc_bytes(data.slice(b * block_rows, block_rows))
        nonce = os.urandom(12)
        sealed.append(nonce + aead.encrypt(nonce, payload, _aad(table, batch, b, kid)))
    block_of_row = pa.array([i // block_rows for i in range(data.num_rows)], pa.int32())
    index = data.select(key_columns).append_column("block", block_of_row)
    blocks = pa.table({"block": pa.array(range(n_blocks), pa.int32()),
                       "key_id": pa.array([kid] * n_blocks, pa.string()),
                       "sealed": pa.array(sealed, pa.binary())})
    return index, blocks


def _opened(ring: KeyRing, table: str, batch: str, blocks: pa.Table, which: list[int] | None):
    """(block number, clear rows) of the chosen blocks (default: all), in one pass over ``blocks``."""
    wanted = None if which is None else set(which)
    aeads: dict[str, AESGCM] = {}
    for b, kid, blob in zip(blocks["block"].to_pylist(), blocks["key_id"].to_pylist(), blocks["sealed"].to_pylist()):
        if wanted is not None and b not in wanted:
            continue
        if kid not in aeads:
            aeads[kid] = AESGCM(ring.by_id(kid).secret)
        try:
            payload = aeads[kid].decrypt(blob[:12], blob[12:], _aad(table, batch, b, kid))
        except InvalidTag:
            raise KeyProblem(f"sealed personal data of {table} (batch {batch}, block {b}) do not open with key {kid}: "
                             "they were altered or moved",
                             hint="restore the workspace from a backup; the analytic data are not affected") from None
        yield b, ipc.open_stream(payload).read_all()


def open_blocks(ring: KeyRing, table: str, batch: str, blocks: pa.Table, which: list[int] | None = None,
                schema: pa.Schema | None = None) -> pa.Table:
    """The clear rows (key + personal columns) of the chosen blocks (default: all), in block order."""
    parts = [clear for _, clear in _opened(ring, table, batch, blocks, which)]
    if not parts:
        if schema is None:
            raise ValueError("no blocks chosen and no schema given")
        return schema.empty_table()
    return pa.concat_tables(parts)


def reseal(ring_from: KeyRing, ring_to: KeyRing, table: str, batch: str, blocks: pa.Table) -> pa.Table:
    """The same blocks sealed with ``ring_to``'s current key (key rotation); block numbers are kept."""
    aead = AESGCM(ring_to.current.secret)
    kid = ring_to.current.key_id
    numbers, out = [], []
    for b, clear in _opened(ring_from, table, batch, blocks, None):
        nonce = os.urandom(12)
        numbers.append(b)
        out.append(nonce + aead.encrypt(nonce, _ipc_bytes(clear), _aad(table, batch, b, kid)))
    return pa.table({"block": pa.array(numbers, pa.int32()), "key_id": pa.array([kid] * len(out), pa.string()),
                     "sealed": pa.array(out, pa.binary())})


TEXT_PREFIX = "tw1:"


def seal_text(ring: KeyRing, text: str | None, context: str) -> str | None:
    """A short text (a rendered message, a phone number) sealed into a printable token for a
    database column; ``context`` (column and row key) is bound in, so a token copied to
    another row does not open.

    >>> from tierwise.protect.keys import Key, KeyRing
    >>> ring = KeyRing(Key(bytes(32)))
    >>> tok = seal_text(ring, "尊敬的张三，生日快乐", "tasks.message|k1")
    >>> tok.startswith("tw1:") and "张三" not in tok
    True
    >>> open_text(ring, tok, "tasks.message|k1")
    '尊敬的张三，生日快乐'
    >>> open_text(ring, "plain text from before sealing", "x")
    'plain text from before sealing'
    """
    if text is None:
        return None
    nonce = os.urandom(12)
    ct = AESGCM(ring.current.secret).encrypt(nonce, text.encode("utf-8"), context.encode("utf-8"))
    return f"{TEXT_PREFIX}{ring.current.key_id}:{base64.b64encode(nonce + ct).decode('ascii')}"


def open_text(ring: KeyRing, token: str | None, context: str) -> str | None:
    """The text of a :func:`seal_text` token (text that is not a token is returned as it is)."""
    if token is None or not token.startswith(TEXT_PREFIX):
        return token
    kid, b64 = token[len(TEXT_PREFIX):].split(":", 1)
    blob = base64.b64decode(b64)
    try:
        return AESGCM(ring.by_id(kid).secret).decrypt(blob[:12], blob[12:], context.encode("utf-8")).decode("utf-8")
    except InvalidTag:
        raise KeyProblem(f"a sealed {context.split('|')[0]} does not open with key {kid}: it was altered or moved",
                         hint="restore the operational store from a backup") from None
