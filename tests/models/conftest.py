"""Shared fixtures of the value-model tests: CDNOW summaries and the lifetimes oracle."""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pytest

from tierwise.datasets import load_cdnow
from tierwise.models.clv import summarize
from tierwise.models.clv.validation import calibration_holdout_split

CALIBRATION_END, HOLDOUT_END = "1997-09-30", "1998-06-30"


@pytest.fixture(scope="session")
def cdnow_transactions() -> pd.DataFrame:
    return load_cdnow("sample")


@pytest.fixture(scope="session")
def cdnow_weeks(cdnow_transactions) -> pd.DataFrame:
    """CDNOW sample, calibration 1997-01-01..1997-09-30, exact days / 7."""
    return summarize(cdnow_transactions, calibration_end=CALIBRATION_END, unit="W")


@pytest.fixture(scope="session")
def cdnow_split(cdnow_transactions) -> pd.DataFrame:
    return calibration_holdout_split(cdnow_transactions, calibration_end=CALIBRATION_END,
                                     holdout_end=HOLDOUT_END, unit="W")


@pytest.fixture(scope="session")
def lifetimes():
    """The lifetimes 0.11.3 package (test-only oracle), its warnings kept local."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import lifetimes
    return lifetimes


@pytest.fixture(scope="session")
def donations(lifetimes) -> pd.DataFrame:
    """Fader, Hardie & Berger (2010) donation data (11,104 people, 6 opportunities)."""
    path = Path(lifetimes.__file__).parent / "datasets" / "donations.csv"
    return pd.read_csv(path)


def _rfm(frame: pd.DataFrame):
    return frame["x"].to_numpy(), frame["t_x"].to_numpy(), frame["T"].to_numpy()


@pytest.fixture(scope="session")
def rfm():
    """``rfm(frame) -> (x, t_x, T)`` as arrays."""
    return _rfm
