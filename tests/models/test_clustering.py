"""Clusters: recover planted groups, choose k by silhouette, stable ids between runs, save/load."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from tierwise.errors import NotFittedError, UserInputError
from tierwise.models.clustering import CustomerClusters


def blobs(seed: int, n: int = 300) -> tuple[pd.DataFrame, np.ndarray]:
    """Three planted customer groups: small frequent buyers, big rare buyers, dormant ones."""
    rng = np.random.default_rng(seed)
    truth = np.repeat([0, 1, 2], n // 3)
    centers = np.array([[20.0, 200.0, 5.0], [2.0, 20000.0, 30.0], [0.5, 50.0, 300.0]])
    freq = rng.normal(centers[truth, 0], 0.6 + 0.1 * centers[truth, 0])
    spend = np.exp(rng.normal(np.log(centers[truth, 1]), 0.2))
    recency = rng.normal(centers[truth, 2], 3 + 0.05 * centers[truth, 2])
    channel = np.where(truth == 0, "app", np.where(truth == 1, "branch", rng.choice(["app", "branch"], n)))
    df = pd.DataFrame({"freq": freq, "spend": spend, "recency": recency, "channel": channel})
    order = rng.permutation(n)
    return df.iloc[order].reset_index(drop=True), truth[order]


def same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    pairs = set(zip(a.tolist(), b.tolist()))
    return len(pairs) == len(set(a.tolist())) == len(set(b.tolist()))


def test_recovers_planted_groups_and_chooses_k_by_silhouette():
    X, truth = blobs(1)
    m = CustomerClusters(numeric=("freq", "spend", "recency"), log=("spend",), k_range=(2, 6)).fit(X)
    assert m.k_ == 3
    assert max(m.silhouettes_, key=m.silhouettes_.get) == 3
    assert same_partition(m.labels_, truth)
    prof = m.profile(X)
    assert prof["customers"].sum() == len(X) and sorted(prof["customers"]) == [100, 100, 100]
    big = prof.loc[prof["mean_spend"].idxmax()]
    assert big["mean_spend"] == pytest.approx(20000, rel=0.1)


def test_stable_ids_across_runs():
    X1, truth1 = blobs(1)
    X2, truth2 = blobs(2)          # similar data, different sample and row order
    m1 = CustomerClusters(numeric=("freq", "spend", "recency"), log=("spend",), k=3, random_state=1).fit(X1)
    m2 = CustomerClusters(numeric=("freq", "spend", "recency"), log=("spend",), k=3, random_state=99).fit(X2)
    m2.align_to(m1.centroids_, m1.cluster_ids_)
    # the cluster id of each planted group is the same in both runs
    id1 = {t: int(np.bincount(m1.labels_[truth1 == t]).argmax()) for t in range(3)}
    id2 = {t: int(np.bincount(m2.labels_[truth2 == t]).argmax()) for t in range(3)}
    assert id1 == id2


def test_new_cluster_gets_a_new_id():
    X, _ = blobs(3)
    m2 = CustomerClusters(numeric=("freq", "spend", "recency"), log=("spend",), k=3).fit(X)
    m3 = CustomerClusters(numeric=("freq", "spend", "recency"), log=("spend",), k=4).fit(X)
    ids = m3.align_to(m2.centroids_, m2.cluster_ids_)
    assert sorted(ids.tolist()) == [0, 1, 2, 3]


def test_categorical_one_hot_and_predict_and_roundtrip():
    X, truth = blobs(4)
    m = CustomerClusters(numeric=("freq", "recency"), categorical=("channel",), k=3).fit(X)
    assert same_partition(m.predict(X), m.labels_)
    again = CustomerClusters.from_dict(json.loads(json.dumps(m.to_dict())))
    np.testing.assert_array_equal(again.predict(X), m.predict(X))
    assert "top_channel" in m.profile(X).columns


def test_deterministic_and_input_not_mutated():
    X, _ = blobs(5)
    before = X.copy()
    a = CustomerClusters(numeric=("freq", "spend"), k=3).fit(X).labels_
    b = CustomerClusters(numeric=("freq", "spend"), k=3).fit(X).labels_
    np.testing.assert_array_equal(a, b)
    pd.testing.assert_frame_equal(X, before)


def test_errors():
    with pytest.raises(NotFittedError):
        CustomerClusters(numeric=("freq",)).predict(pd.DataFrame({"freq": [1.0]}))
    with pytest.raises(UserInputError, match="not found"):
        CustomerClusters(numeric=("nope",)).fit(pd.DataFrame({"freq": [1.0, 2.0]}))
