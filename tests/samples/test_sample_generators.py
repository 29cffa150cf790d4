"""Schema, determinism, integrity and scale of the sample-data generators."""

from __future__ import annotations

import io
import time
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tierwise.canonical import TABLES
from tierwise.errors import UserInputError
from tierwise.samples import EXTRA_TABLES, GENERATORS, generate, generate_bank, generate_retail, iter_chunks
from tierwise.samples.arrays import arrow_schema
from tierwise.samples.blocks import concat, map_blocks

AS_OF = date(2024, 12, 31)
SMALL = {"bank": 1_500, "retail": 3_000, "realestate": 3_000, "b2b": 3_000, "distributor": 1_000}


def _bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="none")
    return sink.getvalue()


@pytest.mark.parametrize("scenario", sorted(GENERATORS))
def test_tables_conform_to_canonical_schema(small_tables, scenario):
    tables = small_tables[scenario]
    for name, table in tables.items():
        if name in EXTRA_TABLES:
            continue
        assert name in TABLES, name
        expected = arrow_schema(name)
        assert table.schema.names == [c.name for c in TABLES[name].columns]
        for field in expected:
            assert table.schema.field(field.name).type == field.type, (name, field.name)
        for col in TABLES[name].required_columns():
            assert table.column(col.name).null_count == 0, (name, col.name)
        assert table.num_rows > 0, name


@pytest.mark.parametrize("scenario", sorted(GENERATORS))
def test_same_seed_same_bytes_other_seed_differs(small_tables, scenario):
    n = SMALL[scenario]
    again = generate(scenario, n, seed=5)
    other = generate(scenario, n, seed=6)
    first = small_tables[scenario]
    assert sorted(again) == sorted(first)
    for name in first:
        assert _bytes(again[name]) == _bytes(first[name]), name
    assert _bytes(other["transactions"]) != _bytes(first["transactions"])


def test_output_does_not_depend_on_threads():
    from tierwise.samples import retail

    setup = retail._Setup(120_000, 3, AS_OF, 12, 0.75, 40.0, 0.8, 2.5, 120.0, 0.6, 0.04)
    one = concat(map_blocks(lambda b: retail._block(b, setup), 120_000, workers=1))
    two = concat(map_blocks(lambda b: retail._block(b, setup), 120_000, workers=2))
    assert one["transactions"].equals(two["transactions"]) and one["customers"].equals(two["customers"])


def _customer_ids(tables) -> set:
    return set(tables["customers"]["customer_id"].to_pylist())


@pytest.mark.parametrize("scenario", sorted(GENERATORS))
def test_referential_integrity_and_unique_keys(small_tables, scenario):
    tables = small_tables[scenario]
    known = _customer_ids(tables)
    assert len(known) == tables["customers"].num_rows
    for name, table in tables.items():
        if name in EXTRA_TABLES or name == "customers":
            continue
        ids = set(table["customer_id"].drop_null().to_pylist())
        assert ids <= known, (name, list(ids - known)[:3])
        key = TABLES[name].key
        frame = table.select(list(key)).to_pandas()
        assert not frame.duplicated().any(), (name, key)


@pytest.mark.parametrize("scenario", sorted(GENERATORS))
def test_nothing_happens_after_as_of(small_tables, scenario):
    for name, table in small_tables[scenario].items():
        if name in EXTRA_TABLES or TABLES[name].event_time is None:
            continue
        latest = table[TABLES[name].event_time].to_pandas().max()
        assert str(latest)[:10] <= str(AS_OF), (name, latest)


def test_transactions_not_before_customer_open_date(bank_default):
    tx = bank_default["transactions"].select(["customer_id", "txn_time"]).to_pandas()
    opened = bank_default["customers"].select(["customer_id", "open_date"]).to_pandas()
    merged = tx.merge(opened, on="customer_id")
    assert (merged["txn_time"].dt.date >= merged["open_date"]).all()


def test_scale_100k_bank_and_retail_in_seconds():
    start = time.perf_counter()
    bank = generate_bank(100_000, seed=1, months=24, balance_freq="M")
    bank_s = time.perf_counter() - start
    start = time.perf_counter()
    retail = generate_retail(100_000, seed=1)
    retail_s = time.perf_counter() - start
    assert bank["customers"].num_rows == retail["customers"].num_rows == 100_000
    assert bank["balances"].num_rows > 2_000_000  # 24 month-ends x ~1.5 product types
    # generous bounds: the machine is shared; measured ~2 s and ~0.5 s
    assert bank_s < 15 and retail_s < 6, (bank_s, retail_s)


def test_chunks_cover_all_customers_once():
    chunks = list(iter_chunks("retail", 120_000, seed=2))
    assert len(chunks) == 3
    ids = np.concatenate([c["customers"]["customer_id"].to_numpy(zero_copy_only=False) for c in chunks])
    assert len(ids) == len(set(ids)) == 120_000
    for c in chunks:  # every chunk is self-contained: its transactions refer to its customers
        assert set(c["transactions"]["customer_id"].to_pylist()) <= set(c["customers"]["customer_id"].to_pylist())


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: generate("bnak", 10), "did you mean 'bank'"),
        (lambda: generate_bank(0), "positive integer"),
        (lambda: generate_bank(10, seed=-1), "seed"),
        (lambda: generate_bank(10, balance_freq="W"), "balance_freq"),
        (lambda: generate_retail(10, a=0), "a must be positive"),
        (lambda: generate_retail(10, as_of="2024-01-01"), "datetime.date"),
    ],
)
def test_bad_arguments_raise_user_input_error(call, message):
    with pytest.raises(UserInputError, match=message):
        call()


def test_as_of_is_respected():
    t = generate_retail(500, seed=1, as_of=date(2023, 6, 30), months=6)
    times = t["transactions"]["txn_time"].to_pandas()
    assert times.max() < np.datetime64("2023-07-01") and times.min() >= np.datetime64("2023-01-01")
