"""Shared sample tables for the sample-generator tests (built once per session)."""

from __future__ import annotations

import pytest

from tierwise.samples import GENERATORS, generate_bank

#: small sizes that still exercise every code path of each scenario (also in test_sample_generators)
SMALL = {"bank": 1_500, "retail": 3_000, "realestate": 3_000, "b2b": 3_000, "distributor": 1_000}


@pytest.fixture(scope="session")
def bank_default():
    """The bank scenario at its default size (5,000 customers, daily balances)."""
    return generate_bank(seed=11)


@pytest.fixture(scope="session")
def small_tables():
    """Every scenario at a small size, seed 5."""
    return {name: GENERATORS[name](SMALL[name], seed=5) for name in GENERATORS}
