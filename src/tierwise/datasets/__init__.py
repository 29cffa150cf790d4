"""Datasets bundled with tierwise.

``load_cdnow`` returns the CDNOW transaction data (Fader & Hardie), the classic
benchmark for customer-lifetime-value models; ``cdnow/README.md`` gives its
provenance, checksums and quirks.

>>> df = load_cdnow("sample")
>>> len(df), df["customer_id"].nunique()
(6919, 2357)
>>> round(float(df["amount"].sum()), 2)
244091.94
"""

from __future__ import annotations

from importlib import resources
from typing import Literal

import pandas as pd

__all__ = ["load_cdnow", "cdnow_path", "load_cdnow_summary"]


def cdnow_path(name: str) -> str:
    """Path of a bundled CDNOW file (``CDNOW_sample.txt``, ``CDNOW_master.txt``, ...)."""
    return str(resources.files(__name__).joinpath("cdnow", name))


def load_cdnow(kind: Literal["sample", "master"] = "sample") -> pd.DataFrame:
    """Load CDNOW transactions, one row per line of the original file.

    Parameters
    ----------
    kind : ``"sample"`` (2,357 customers, the data of the published estimates) or
        ``"master"`` (the whole 23,570-customer cohort).

    Returns
    -------
    DataFrame with ``customer_id`` (str, the master id, 5 digits), ``date``
    (datetime64), ``quantity`` (number of CDs, int) and ``amount`` (US dollars, float).
    For the sample, ``sample_id`` (4 digits) is kept too. Several rows may share a
    (customer, date); the CLV models count one transaction per customer-day.
    """
    if kind == "sample":
        names = ["customer_id", "sample_id", "date", "quantity", "amount"]
        df = pd.read_csv(
            cdnow_path("CDNOW_sample.txt"), sep=r"\s+", header=None, names=names,
            dtype={"customer_id": str, "sample_id": str, "date": str},
        )
    elif kind == "master":
        names = ["customer_id", "date", "quantity", "amount"]
        df = pd.read_csv(
            cdnow_path("CDNOW_master.txt"), sep=r"\s+", header=0, names=names,
            dtype={"customer_id": str, "date": str},
        )
    else:
        raise ValueError(f"unknown CDNOW kind {kind!r}; expected 'sample' or 'master'")
    df["date"] = pd.to_datetime(df["date"], format="%Y%m%d")
    df["quantity"] = df["quantity"].astype("int64")
    df["amount"] = df["amount"].astype("float64")
    return df


def load_cdnow_summary() -> pd.DataFrame:
    """The calibration-period summary shipped with lifetimes (``ID, frequency, recency, T`` in weeks)."""
    return pd.read_csv(cdnow_path("cdnow_customers_summary.csv"), dtype={"ID": str})
