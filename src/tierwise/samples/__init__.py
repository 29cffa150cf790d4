"""Seeded, fast, scalable sample data for every tierwise scenario.

Each generator returns canonical Arrow tables (see :mod:`tierwise.canonical`: ids as
strings, money as ``decimal128(18, 2)``, dates as ``date32``, timestamps as
``timestamp[us]``) and is deterministic: the same arguments give byte-identical
tables. Generation is vectorised NumPy in blocks of 50,000 customers with their own
random streams, so the ``iter_*`` variants stream any size to disk with
:func:`write_parquet` / :func:`write_csv`, and the output does not depend on how it
is consumed.

============  =====================  ==============================================
scenario      generator              tables
============  =====================  ==============================================
bank          :func:`generate_bank`  customers, balances, holdings, transactions,
                                     interactions
retail        :func:`generate_retail`  customers, transactions (BG/NBD purchases)
realestate    :func:`generate_realestate`  leads, customers, transactions
b2b           :func:`generate_b2b`   leads, lead_attributes, customers, transactions
distributor   :func:`generate_distributor`  customers, transactions, store_attributes
============  =====================  ==============================================

:func:`tierwise.samples.export.write_bank_export` writes the bank tables the way a
Chinese core-banking system exports them (GBK, Chinese headers, mixed formats, an
optional manifest of injected bad rows).

>>> sorted(GENERATORS)
['b2b', 'bank', 'distributor', 'realestate', 'retail']
>>> t = generate("retail", 200, seed=1)
>>> t["customers"].num_rows
200
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pyarrow as pa

from tierwise.errors import UserInputError, did_you_mean

from .b2b import generate_b2b, iter_b2b
from .bank import BANK_TIERS, bank_customer_numbers, generate_bank, iter_bank
from .distributor import generate_distributor, iter_distributor
from .realestate import generate_realestate, iter_realestate
from .retail import generate_retail, iter_retail
from .writers import write_csv, write_english_csv, write_parquet

__all__ = [
    "BANK_TIERS",
    "EXTRA_TABLES",
    "GENERATORS",
    "ITERATORS",
    "bank_customer_numbers",
    "generate",
    "generate_b2b",
    "generate_bank",
    "generate_distributor",
    "generate_realestate",
    "generate_retail",
    "iter_b2b",
    "iter_bank",
    "iter_chunks",
    "iter_distributor",
    "iter_realestate",
    "iter_retail",
    "write_csv",
    "write_english_csv",
    "write_parquet",
]

#: scenario name → generator returning ``dict[str, pyarrow.Table]``
GENERATORS: dict[str, Callable[..., dict[str, pa.Table]]] = {
    "bank": generate_bank,
    "retail": generate_retail,
    "realestate": generate_realestate,
    "b2b": generate_b2b,
    "distributor": generate_distributor,
}

#: scenario name → streaming variant yielding one dict of tables per block
ITERATORS: dict[str, Callable[..., Iterator[dict[str, pa.Table]]]] = {
    "bank": iter_bank,
    "retail": iter_retail,
    "realestate": iter_realestate,
    "b2b": iter_b2b,
    "distributor": iter_distributor,
}

#: tables some scenarios add beyond the canonical ones (attributes with no canonical column)
EXTRA_TABLES = ("lead_attributes", "store_attributes")


def _lookup(registry: dict, scenario: str):
    try:
        return registry[scenario]
    except KeyError:
        raise UserInputError(
            f"unknown sample scenario {scenario!r}; choose one of {', '.join(sorted(registry))}",
            hint=did_you_mean(scenario, registry),
        ) from None


def generate(scenario: str, n: int, **kwargs) -> dict[str, pa.Table]:
    """Run the generator of ``scenario`` for ``n`` customers (or leads, or stores)."""
    return _lookup(GENERATORS, scenario)(n, **kwargs)


def iter_chunks(scenario: str, n: int, **kwargs) -> Iterator[dict[str, pa.Table]]:
    """Stream the tables of ``scenario`` block by block (for :func:`write_parquet`)."""
    return _lookup(ITERATORS, scenario)(n, **kwargs)
