"""RFM scores, bin edges, thresholds and segment maps against hand-computed answers."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tierwise.analytics.rfm import RFMSpec, rfm_scores
from tierwise.analytics.segment_map import (assign_segments, high_flags, load_segment_map,
                                            parse_segment_map)
from tierwise.engine import connect_duckdb, ibis_duckdb
from tierwise.errors import PolicyError

# 11 buyers and a prospect; frequency has ties across the 1|2 and 2|3 cut-offs
FREQ = {"c00": 1, "c01": 1, "c02": 1, "c03": 2, "c04": 2, "c05": 2, "c06": 2, "c07": 3, "c08": 5, "c09": 8,
        "c10": 0, "c11": 1}
REC = {"c00": 10, "c01": 10, "c02": 5, "c03": 3, "c04": 400, "c05": 7, "c06": 7, "c07": 1, "c08": 1, "c09": 2,
       "c10": None, "c11": 30}
REV = {"c00": 10, "c01": 10, "c02": 10, "c03": 10, "c04": 20, "c05": 30, "c06": 40, "c07": 50, "c08": 60,
       "c09": 70, "c10": 0, "c11": 5}


@pytest.fixture(scope="module")
def ib():
    return ibis_duckdb(connect_duckdb())


def features(ib, freq=FREQ, rec=REC, rev=REV, name="f"):
    df = pd.DataFrame({"customer_id": list(freq), "purchase_days": list(freq.values()),
                       "recency_days": [rec[c] for c in freq], "revenue": [float(rev[c]) for c in freq]})
    return ib.create_table(name, df, overwrite=True)


def scores_of(ib, t, spec=None):
    s, edges = rfm_scores(t, spec)
    df = ib.execute(s).set_index("customer_id")
    return df, {d: (e if isinstance(e, list) else ib.execute(e).sort_values("score")) for d, e in edges.items()}


def test_quantile_scores_by_position_with_id_tie_break(ib):
    # F ascending, ties by id: c00 c01 c02 c11 | c03 c04 c05 c06 | c07 | c08 | c09 → positions 0..10
    # score = floor(p * 5 / 11) + 1
    df, edges = scores_of(ib, features(ib))
    expect_f = {"c00": 1, "c01": 1, "c02": 1, "c11": 2, "c03": 2, "c04": 3, "c05": 3, "c06": 4, "c07": 4,
                "c08": 5, "c09": 5}
    assert df["f_score"].dropna().astype(int).to_dict() == expect_f
    # R: most days first: c04(400) c11(30) c00 c01(10) c05 c06(7) c02(5) c03(3) c09(2) c07 c08(1)
    expect_r = {"c04": 1, "c11": 1, "c00": 1, "c01": 2, "c05": 2, "c06": 3, "c02": 3, "c03": 4, "c09": 4,
                "c07": 5, "c08": 5}
    assert df["r_score"].dropna().astype(int).to_dict() == expect_r
    assert pd.isna(df.loc["c10", "r_score"])  # no purchase: no score
    # bin edges: the lowest value scoring k (R in days: the most days that still scores k)
    assert edges["F"]["value"].tolist() == [1, 1, 2, 2, 5]
    assert edges["R"]["value"].tolist() == [400, 10, 7, 3, 1]


def test_bins_differ_by_at_most_one(ib):
    df, _ = scores_of(ib, features(ib))
    counts = df["m_score"].value_counts()
    assert counts.max() - counts.min() <= 1 and counts.sum() == 11


def test_thresholds_lower_bound_inclusive(ib):
    spec = RFMSpec(method="thresholds", thresholds={"R": (2, 5, 10, 30), "F": (2, 3, 5, 8), "M": (10, 20, 40, 60)})
    df, edges = scores_of(ib, features(ib), spec)
    s = df.dropna(subset=["r_score"]).astype({"r_score": int, "f_score": int, "m_score": int})
    # recency 2 days with edges [2, 5, 10, 30] is still 5; 3 days → 4; 10 → 3; 30 → 2; 400 → 1
    assert s.loc[["c09", "c03", "c00", "c11", "c04"], "r_score"].tolist() == [5, 4, 3, 2, 1]
    # frequency 2 equals an edge → upper bin
    assert s.loc[["c00", "c03", "c07", "c08", "c09"], "f_score"].tolist() == [1, 2, 3, 4, 5]
    assert s.loc[["c11", "c00", "c04", "c06", "c08"], "m_score"].tolist() == [1, 2, 3, 4, 5]
    assert edges["R"] == [2, 5, 10, 30]


def test_thresholds_must_be_n_minus_one_ascending(ib):
    spec = RFMSpec(method="thresholds", thresholds={"R": (5, 2, 10, 30), "F": (1, 2, 3, 4), "M": (1, 2, 3, 4)})
    with pytest.raises(ValueError, match="4 ascending edges"):
        rfm_scores(features(ib), spec)


def seg(ib, mapname, **high):
    s, _ = rfm_scores(features(ib))
    m = load_segment_map(mapname)
    if m.high_low:
        s = high_flags(s, **high)
    return ib.execute(assign_segments(s, m)).set_index("customer_id")


def test_cn8_against_the_mean_score(ib):
    df = seg(ib, "cn8", method="mean")
    # mean scores over 11 buyers: R = 31/11 = 2.82, F = 32/11 = 2.91, M = 32/11 = 2.91 (high: ≥ mean)
    # c08: R5 F5 M5 → 重要价值; c04: R1 F3 M3 → 重要保持; c00: R1 F1 M1 → 一般挽留; c03: R4 F2 M2 → 一般发展
    assert df.loc["c08", "segment"] == "important_value"
    assert df.loc["c04", "segment"] == "important_keep"
    assert df.loc["c00", "segment"] == "general_retain"
    assert df.loc["c03", "segment"] == "general_develop"
    assert df.loc["c10", "segment"] == "no_purchase"


def test_cn8_threshold_boundary_is_inclusive(ib):
    df = seg(ib, "cn8", method="threshold", threshold=3)
    # c04: R1 F3 M3 with threshold 3 → F and M high (≥ 3), R low
    assert df.loc["c04", "segment"] == "important_keep"
    df = seg(ib, "cn8", method="threshold", threshold=4)
    assert df.loc["c04", "segment"] == "general_retain"


def test_en11_cells(ib):
    df = seg(ib, "en11")
    # c08: R5, FM=(5+5+1)//2=5 → champions; c04: R1, FM=3 → hibernating; c03: R4, FM=2 → potential_loyalist
    # c11: R1, F2, M1 → FM=(2+1+1)//2=2 → lost
    assert df.loc[["c08", "c04", "c03", "c11"], "segment"].tolist() == ["champions", "hibernating",
                                                                       "potential_loyalist", "lost"]


def test_every_builtin_map_is_a_partition_and_labelled():
    for name in ("cn8", "en11", "rf10"):
        m = load_segment_map(name)
        assert all(s.label.get("zh-CN") and s.label.get("en") for s in m.segments)
    assert len(load_segment_map("en11").segments) == 11 and len(load_segment_map("rf10").segments) == 10


def test_map_validation_names_overlaps_and_missing_cells():
    data = {"name": "mine", "version": 1, "dimensions": {"R": [1, 2], "F": [1, 2]},
            "segments": [{"id": "a", "label": {"en": "A", "zh-CN": "甲"}, "when": {"R": 2}},
                         {"id": "b", "label": {"en": "B", "zh-CN": "乙"}, "when": {"R": 2, "F": 2}}]}
    with pytest.raises(PolicyError) as info:
        parse_segment_map(data, "mine.yaml")
    msg = str(info.value)
    assert "R=2,F=2 is in 'a' and 'b'" in msg
    assert "cells in no segment: R=1,F=1 R=1,F=2" in msg
    data["segments"][1]["when"] = {"R": 1, "F": 2}
    data["other"] = {"id": "rest", "label": {"en": "Rest", "zh-CN": "其他"}}
    m = parse_segment_map(data, "mine.yaml")      # R=1,F=1 goes to 'other'
    assert m.other.id == "rest"


def test_unknown_dimension_and_value():
    bad = {"name": "x", "version": 1, "dimensions": {"Q": [1]}, "segments": []}
    with pytest.raises(PolicyError, match="unknown dimension 'Q'"):
        parse_segment_map(bad, "x")
    bad = {"name": "x", "version": 1, "dimensions": {"R": [1, 2]},
           "segments": [{"id": "a", "label": {"en": "a"}, "when": {"R": 7}}]}
    with pytest.raises(PolicyError, match="R=7 is not a value"):
        parse_segment_map(bad, "x")


SHARED = ibis_duckdb(connect_duckdb())


@settings(max_examples=12, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 400), st.integers(-5, 50)), min_size=1, max_size=40),
       st.randoms(use_true_random=False))
def test_one_segment_each_and_independent_of_row_order(rows, rnd):
    ib = SHARED
    ids = [f"k{i:03d}" for i in range(len(rows))]
    freq = dict(zip(ids, [r[0] for r in rows]))
    rec = dict(zip(ids, [r[1] for r in rows]))
    rev = dict(zip(ids, [r[2] for r in rows]))
    results = []
    for order in (ids, rnd.sample(ids, len(ids))):
        t = features(ib, {k: freq[k] for k in order}, rec, rev, name="p")
        s, _ = rfm_scores(t)
        out = ib.execute(assign_segments(s, load_segment_map("en11"))).set_index("customer_id").sort_index()
        assert len(out) == len(ids) and out["segment"].notna().all()
        results.append(out)
    pd.testing.assert_frame_equal(results[0], results[1])


# ---------------------------------------------------------------------------------------------
# the cut-off computation against the definition, brute force in Python

def brute_force(freq: dict, rec: dict, rev: dict, n: int):
    """Scores and edges straight from the definition: sort every buyer by (value worst → best, id)."""
    buyers = [c for c in freq if freq[c] > 0]
    scores, edges = {}, {}
    for dim, key in (("R", lambda c: -rec[c]), ("F", lambda c: freq[c]), ("M", lambda c: rev[c])):
        order = sorted(buyers, key=lambda c: (key(c), c))
        s = {c: p * n // len(order) + 1 for p, c in enumerate(order)}
        scores[dim] = s
        lowest = {}
        for c in order:
            lowest.setdefault(s[c], key(c))
        edges[dim] = [(k, -v if dim == "R" else v) for k, v in sorted(lowest.items())]
    return scores, edges


def check_against_brute_force(ib, freq, rec, rev, n, name):
    df = pd.DataFrame({"customer_id": list(freq), "purchase_days": list(freq.values()),
                       "recency_days": pd.array([rec[c] for c in freq], dtype="Int64"),
                       "revenue": [float(rev[c]) for c in freq]})
    t = ib.create_table(name, df, overwrite=True)
    got, edges = scores_of(ib, t, RFMSpec(bins=n))
    want, want_edges = brute_force(freq, rec, rev, n)
    for dim, col in (("R", "r_score"), ("F", "f_score"), ("M", "m_score")):
        have = {c: int(v) for c, v in got[col].items() if v == v and v is not None}
        assert have == want[dim], dim
        assert [(int(k), float(v)) for k, v in zip(edges[dim]["score"], edges[dim]["value"])] == \
            [(k, float(v)) for k, v in want_edges[dim]], dim


def test_fewer_buyers_than_bins_leave_scores_empty(ib):
    # 3 buyers, 5 bins: positions 0, 1, 2 score 1, 2 and 4; two cut-offs (3 and 4) sit on the same customer
    freq, rec, rev = {"a": 1, "b": 2, "c": 3, "z": 0}, {"a": 9, "b": 5, "c": 1, "z": None}, {"a": 1, "b": 2, "c": 3,
                                                                                           "z": 0}
    df, edges = scores_of(ib, features(ib, freq, rec, rev, name="few"))
    assert df["f_score"].dropna().astype(int).to_dict() == {"a": 1, "b": 2, "c": 4}
    assert df["r_score"].dropna().astype(int).to_dict() == {"a": 1, "b": 2, "c": 4}
    assert edges["F"]["score"].tolist() == [1, 2, 4] and edges["F"]["value"].tolist() == [1, 2, 3]
    assert edges["R"]["value"].tolist() == [9, 5, 1]


def test_one_tie_group_split_by_every_cut_off(ib):
    # 10 buyers with the same frequency: the order is the id order, two per score
    ids = [f"c{i}" for i in (7, 3, 10, 1, 5, 2, 9, 4, 8, 6)]
    freq = {c: 2 for c in ids}
    df, edges = scores_of(ib, features(ib, freq, {c: 3 for c in ids}, {c: 1 for c in ids}, name="tie"))
    by_id = sorted(ids)                      # c1 c10 c2 c3 … (text order)
    assert df["f_score"].astype(int).to_dict() == {c: i // 2 + 1 for i, c in enumerate(by_id)}
    assert edges["F"]["value"].tolist() == [2, 2, 2, 2, 2]


@settings(max_examples=15, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 30), st.integers(-3, 12)), min_size=1, max_size=30),
       st.integers(2, 7))
def test_scores_and_edges_equal_the_definition(rows, n):
    ids = [f"id{(i * 7919) % 101}" + "x" * (i % 3) for i in range(len(rows))]   # text order ≠ insertion order
    freq = {c: r[0] for c, r in zip(ids, rows)}
    rec = {c: (r[1] if r[0] > 0 else None) for c, r in zip(ids, rows)}
    rev = {c: r[2] for c, r in zip(ids, rows)}
    check_against_brute_force(SHARED, freq, rec, rev, n, "bf")
