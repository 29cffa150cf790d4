"""The bundled CDNOW data are the published files, byte for byte, with the documented shape."""

from __future__ import annotations

import hashlib

import pytest

from tierwise.datasets import cdnow_path, load_cdnow, load_cdnow_summary

SHA256 = {  # from the provenance README (copied from the lifetimes 0.11.3 wheel)
    "CDNOW_master.txt": "eff6889ed364c5199d6eacbbeb7a6d559971df4406ac876f322c373f00a072ef",
    "CDNOW_sample.txt": "6fae10155c0b0ba363c2c386e30f77990d22328220efd862a5edd1443420d94a",
    "cdnow_customers_summary.csv": "09d92ca80daaabe8be0f997d4c539f9c9606106baa5b199081fe01cbce5fa9f6",
}


@pytest.mark.parametrize("name, digest", SHA256.items())
def test_files_are_unmodified(name, digest):
    with open(cdnow_path(name), "rb") as fh:
        assert hashlib.sha256(fh.read()).hexdigest() == digest


def test_sample_shape():
    df = load_cdnow("sample")
    assert (len(df), df["customer_id"].nunique(), df["sample_id"].nunique()) == (6919, 2357, 2357)
    assert round(float(df["amount"].sum()), 2) == 244091.94
    assert int(df["quantity"].sum()) == 16479
    assert str(df["date"].min().date()) == "1997-01-01" and str(df["date"].max().date()) == "1998-06-30"
    assert int(df.duplicated(["customer_id", "date"]).sum()) == 223
    assert (df["customer_id"].str.len() == 5).all()  # leading zeros kept


def test_master_shape():
    df = load_cdnow("master")
    assert (len(df), df["customer_id"].nunique()) == (69659, 23570)
    assert round(float(df["amount"].sum()), 2) == 2500315.63
    first = df.groupby("customer_id")["date"].min()
    assert str(first.max().date()) == "1997-03-25"  # everyone is in the 1997Q1 cohort


def test_summary_shape():
    s = load_cdnow_summary()
    assert len(s) == 2357 and int(s["frequency"].sum()) == 2457 and int((s["frequency"] > 0).sum()) == 946


def test_unknown_kind():
    with pytest.raises(ValueError, match="unknown CDNOW kind"):
        load_cdnow("full")
