"""The generated data follow the stated models: checked against closed-form answers."""

from __future__ import annotations

from datetime import date

import duckdb
import numpy as np
import pandas as pd
import pytest
from scipy.special import hyp2f1

from tierwise.samples import BANK_TIERS, generate_b2b, generate_distributor, generate_realestate, generate_retail
from tierwise.samples.cncalendar import is_holiday
from tierwise.samples.people import id_check_digit

R, ALPHA, A, B = 0.75, 40.0, 2.0, 4.0  # a > 1 so the BG/NBD mean has its closed form


@pytest.fixture(scope="module")
def retail_summary():
    """Per-customer (x, T) of 100,000 simulated BG/NBD customers, T in days."""
    t = generate_retail(100_000, seed=21, r=R, alpha=ALPHA, a=A, b=B, return_rate=0.0)
    tx = t["transactions"].select(["customer_id", "txn_time"]).to_pandas()
    g = tx.groupby("customer_id")["txn_time"].agg(["min", "count"])
    T = (pd.Timestamp("2025-01-01") - g["min"]).dt.total_seconds() / 86_400
    return g["count"].to_numpy() - 1, T.to_numpy()


def test_share_of_one_time_buyers_matches_bgnbd(retail_summary):
    # P(X(T) = 0) = (alpha / (alpha + T))^r: no repeat purchase, and no dropout before one
    x, T = retail_summary
    expected = np.mean((ALPHA / (ALPHA + T)) ** R)
    assert abs(np.mean(x == 0) - expected) < 0.006, (np.mean(x == 0), expected)


def test_mean_repeat_purchases_matches_bgnbd(retail_summary):
    # Fader, Hardie & Lee (2005), eq. 9
    x, T = retail_summary
    z = T / (ALPHA + T)
    expected = (A + B - 1) / (A - 1) * (1 - (ALPHA / (ALPHA + T)) ** R * hyp2f1(R, B, A + B - 1, z))
    assert abs(x.mean() / expected.mean() - 1) < 0.03, (x.mean(), expected.mean())


def test_retail_returns_are_negative_and_later_than_a_purchase():
    t = generate_retail(5_000, seed=2, return_rate=0.1).get("transactions").to_pandas()
    share = (t["amount"] < 0).mean()
    assert 0.05 < share < 0.1
    first = t.groupby("customer_id")["txn_time"].min()
    returns = t[t["amount"] < 0]
    assert (returns["txn_time"].to_numpy() > first.loc[returns["customer_id"]].to_numpy()).all()


def _tiers(balances) -> pd.DataFrame:
    """Tier of each customer per quarter-end by average daily AUM of the last 3 months."""
    edges = [t[1] for t in BANK_TIERS]
    con = duckdb.connect()
    con.register("balances", balances)
    daily = con.sql("select customer_id, balance_date, sum(balance)::double as aum from balances group by all").df()
    daily["month"] = pd.to_datetime(daily["balance_date"]).dt.to_period("M")
    out = {}
    for end in sorted(daily["month"].unique())[2::3]:
        window = daily[(daily["month"] > end - 3) & (daily["month"] <= end)]
        avg = window.groupby("customer_id")["aum"].sum() / window.groupby("customer_id")["balance_date"].nunique()
        out[str(end)] = pd.Series(np.searchsorted(edges, avg.to_numpy(), side="right") - 1, index=avg.index)
    return pd.DataFrame(out)


def test_every_bank_tier_has_members_and_customers_move(bank_default):
    tiers = _tiers(bank_default["balances"])
    last = tiers.iloc[:, -1].dropna()
    counts = last.value_counts()
    assert set(counts.index) == {0, 1, 2, 3, 4}, counts
    assert counts[0] > counts[1] > counts[2] > counts[3] > counts[4] >= 3
    both = tiers.dropna()
    moved = (both.diff(axis=1).iloc[:, 1:] != 0).to_numpy().mean()
    assert 0.02 < moved < 0.3, moved  # realistic drift: some but not most customers change tier


def test_bank_customer_attributes(bank_default):
    c = bank_default["customers"].to_pandas()
    ids = c["id_number"]
    assert ids.str.len().eq(18).all()
    assert all(id_check_digit(s[:17]) == s[17] for s in ids)
    assert (ids.str[6:14] == pd.to_datetime(c["birthday"]).dt.strftime("%Y%m%d")).all()
    male = ids.str[16].astype(int) % 2 == 1
    assert (male == (c["gender"] == "M")).all()
    assert c["phone"].str.fullmatch(r"1[3-9]\d{9}").all()
    assert (pd.to_datetime(c["birthday"]).dt.strftime("%m-%d") == "02-29").sum() >= 1
    assert c["customer_id"].str.startswith("0").any()
    per_manager = c.groupby("manager_id").size()
    assert 200 < per_manager.mean() < 400
    assert c["manager_id"].nunique() == 17 and c["branch_id"].nunique() == 3


def test_bank_holdings_maturities_and_interactions(bank_default):
    h = bank_default["holdings"].to_pandas()
    assert set(h["product_type"]) == {"deposit", "wealth", "fund", "insurance"}
    wealth = h[h["product_type"] == "wealth"]
    months = ((pd.to_datetime(wealth["maturity_date"]) - pd.to_datetime(wealth["open_date"])).dt.days / 30.4).round()
    assert set(months.unique()) <= {3.0, 4.0, 5.0, 6.0, 7.0, 11.0, 12.0, 13.0}  # 3/6/12 months from issue
    mat = pd.to_datetime(h["maturity_date"].dropna())
    days = (mat - pd.Timestamp("1970-01-01")).dt.days.to_numpy()
    assert is_holiday(days).sum() > 10 and (mat.dt.day_of_week >= 5).sum() > 10
    assert h["maturity_date"].isna().sum() > 0  # funds have none
    assert {"holding", "matured"} == set(h["status"])
    tx = bank_default["transactions"].to_pandas()
    assert (tx["amount"] < 0).sum() > 0  # reversals
    i = bank_default["interactions"].to_pandas()
    assert set(i.loc[i["kind"] == "survey", "score"]) <= {1, 2, 3, 4, 5}
    assert set(i.loc[i["kind"] == "nps", "score"]) <= set(range(11))
    assert i.loc[~i["kind"].isin(["survey", "nps"]), "score"].isna().all()
    assert {"contact", "visit", "complaint", "survey", "nps"} == set(i["kind"])


def test_realestate_intent_drives_visits_and_conversion():
    leads = generate_realestate(5_000, seed=3)["leads"].to_pandas()
    visits = leads.groupby("intent")["visits"].mean()
    won = leads["stage"].isin(["认购", "签约"]).groupby(leads["intent"]).mean()
    assert visits["高"] > visits["中"] > visits["低"]
    assert won["高"] > won["中"] > won["低"]
    assert (leads["customer_id"].notna() == leads["stage"].isin(["认购", "签约"])).all()
    assert leads.loc[leads["visits"] == 0, "last_visit_date"].isna().all()


def test_b2b_sources_rank_as_sales_teams_expect():
    t = generate_b2b(5_000, seed=3)
    leads = t["leads"].to_pandas()
    rate = (leads["stage"] == "成交").groupby(leads["source"]).mean()
    assert rate["展会"] > rate["询价"] and rate["详细询盘"] > rate["询价"]
    attrs = t["lead_attributes"].to_pandas()
    assert attrs["lead_id"].tolist() == leads["lead_id"].tolist()
    assert attrs["country"].nunique() > 10


def test_distributor_capability_shares_and_ordering():
    t = generate_distributor(4_000, seed=3)
    a = t["store_attributes"].to_pandas()
    share = a["capability_grade"].value_counts(normalize=True)
    assert abs(share["A"] - 0.15) < 0.03 and abs(share["D"] - 0.20) < 0.03
    assert a.groupby("capability_grade")["area_m2"].median().is_monotonic_decreasing
    assert set(t["customers"]["branch_id"].to_pylist()) <= {f"R{i:02d}" for i in range(1, 9)}
    assert date(2024, 12, 31) >= max(t["transactions"]["txn_time"].to_pylist()).date()
