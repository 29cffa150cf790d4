"""Fixed customer blocks with their own random streams, so generation can stream.

A scenario is generated block by block: customers ``[k * BLOCK, (k + 1) * BLOCK)``
draw from a generator seeded by ``(seed, scenario, k)`` only. The output therefore
does not depend on how many blocks are held in memory at once: streaming 10 M
customers to Parquet gives exactly the rows that ``generate_*`` returns for a small n
(for the same first customers, as long as the scenario-wide settings such as the
number of managers are the same). Scenario-wide draws (catalogues, managers) use
:func:`shared_rng`.

>>> [(b.index, b.start, b.stop) for b in blocks(120_000)]
[(0, 0, 50000), (1, 50000, 100000), (2, 100000, 120000)]
>>> float(block_rng(1, "bank", 0).random()) == float(block_rng(1, "bank", 0).random())
True
"""

from __future__ import annotations

import os
import zlib
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date

import numpy as np
import pyarrow as pa

from tierwise.errors import UserInputError

__all__ = ["BLOCK", "Block", "block_rng", "blocks", "check_args", "concat", "group_cumsum", "map_blocks", "segments",
           "shared_rng"]

#: customers per block; fixed, because changing it changes the generated data
BLOCK = 50_000


@dataclass(frozen=True)
class Block:
    """Customers ``start`` (inclusive) to ``stop`` (exclusive), block number ``index``."""

    index: int
    start: int
    stop: int

    @property
    def size(self) -> int:
        return self.stop - self.start

    def positions(self) -> np.ndarray:
        """Global customer positions of the block, as int64."""
        return np.arange(self.start, self.stop, dtype=np.int64)


def blocks(n: int) -> Iterator[Block]:
    """The blocks covering ``n`` customers."""
    for k, start in enumerate(range(0, n, BLOCK)):
        yield Block(k, start, min(start + BLOCK, n))


def map_blocks(make: Callable[[Block], dict[str, pa.Table]], n: int, workers: int | None = None
               ) -> Iterator[dict[str, pa.Table]]:
    """``make(block)`` for every block of ``n`` customers, in order, on a few threads.

    NumPy and Arrow release the GIL in their kernels, so two threads on two cores
    nearly halve the time. At most ``2 * workers`` blocks are in memory at once.
    The output does not depend on ``workers``: every block has its own random stream.
    """
    workers = workers or min(4, os.cpu_count() or 1)
    if workers == 1 or n <= BLOCK:
        yield from (make(b) for b in blocks(n))
        return
    pool = ThreadPoolExecutor(workers, thread_name_prefix="tierwise-samples")
    pending: deque[Future] = deque()
    try:
        for b in blocks(n):
            pending.append(pool.submit(make, b))
            if len(pending) > workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _key(scenario: str) -> int:
    return zlib.crc32(scenario.encode())


def block_rng(seed: int, scenario: str, index: int) -> np.random.Generator:
    """Random generator of one block."""
    return np.random.default_rng(np.random.SeedSequence([int(seed), _key(scenario), int(index)]))


def shared_rng(seed: int, scenario: str) -> np.random.Generator:
    """Random generator of scenario-wide draws (catalogues, managers, stores)."""
    return np.random.default_rng(np.random.SeedSequence([int(seed), _key(scenario), 2**31]))


def check_args(n: int, seed: int, as_of: date, months: int, *, what: str = "n_customers") -> None:
    """Raise :class:`~tierwise.errors.UserInputError` for arguments no generator accepts."""
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise UserInputError(f"{what} must be a positive integer, got {n!r}")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise UserInputError(f"seed must be a non-negative integer, got {seed!r}", hint="for example seed=42")
    if not isinstance(as_of, date):
        raise UserInputError(f"as_of must be a datetime.date, got {as_of!r}")
    if not 1 <= months <= 240:
        raise UserInputError(f"months must be between 1 and 240, got {months!r}")


def concat(chunks: Iterator[dict[str, pa.Table]]) -> dict[str, pa.Table]:
    """Concatenate streamed chunks into one table per name (chunks stay zero-copy)."""
    parts: dict[str, list[pa.Table]] = {}
    for chunk in chunks:
        for name, table in chunk.items():
            parts.setdefault(name, []).append(table)
    return {name: pa.concat_tables(tabs) for name, tabs in parts.items()}


def segments(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For per-parent event counts, the parent of each event and its rank in its parent.

    >>> segments(np.array([2, 0, 3]))
    (array([0, 0, 2, 2, 2]), array([0, 1, 0, 1, 2]))
    """
    counts = np.asarray(counts, dtype=np.int64)
    parent = np.repeat(np.arange(len(counts)), counts)
    starts = np.cumsum(counts) - counts
    return parent, np.arange(len(parent)) - starts[parent]


def group_cumsum(values: np.ndarray, parent: np.ndarray, n_parents: int) -> np.ndarray:
    """Cumulative sums of ``values`` restarting at each parent (``parent`` sorted)."""
    total = np.cumsum(values)
    ends = np.bincount(parent, minlength=n_parents).cumsum()
    before = np.concatenate([[0.0], total])[ends - np.bincount(parent, minlength=n_parents)]
    return total - before[parent]

