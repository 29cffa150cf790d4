"""Data-driven customer clusters: k-means on standardised features, k chosen by silhouette.

Assumptions and choices
-----------------------
* Numeric features are standardised (z-scores); money-like features listed in ``log``
  are ``log1p``-transformed first, so a few very large customers do not form clusters of
  their own. Missing numeric values are imputed with the training median.
* Categorical features are one-hot encoded and scaled by ``1/√2`` so that two customers
  differing in one category are as far apart as one standard deviation on a numeric
  feature.
* ``k`` is fixed, or chosen in ``k_range`` by the highest silhouette score, computed on
  a seeded sample of at most ``silhouette_sample`` customers to bound the cost.
* Cluster ids are stable between runs: :meth:`CustomerClusters.align_to` matches the new
  centroids to the previous run's centroids (Hungarian assignment on the distance
  between them) and renumbers, so "cluster 2" keeps meaning the same kind of customer.

The estimator follows the scikit-learn contract (hyperparameters in the constructor,
learned state ending in ``_``, ``fit`` returns ``self``) and saves as plain parameters.
"""

from __future__ import annotations

from contextlib import nullcontext

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score
from threadpoolctl import threadpool_limits

from tierwise.errors import NotFittedError, UserInputError

ONE_HOT_SCALE = 1 / np.sqrt(2)


class CustomerClusters:
    """k-means clusters of customers with a profile a person can name.

    Parameters
    ----------
    numeric : numeric feature columns
    categorical : categorical feature columns (one-hot encoded)
    log : numeric columns to ``log1p`` before standardising (clipped at 0)
    k : number of clusters, or None to choose in ``k_range`` by silhouette
    k_range : (low, high) inclusive range searched when ``k`` is None
    random_state : seed of k-means and of the silhouette sample
    silhouette_sample : at most this many customers score each candidate k
    n_init : k-means restarts
    """

    def __init__(self, numeric=(), categorical=(), log=(), k=None, k_range=(2, 8), random_state=0,
                 silhouette_sample=5_000, n_init=4):
        self.numeric = numeric
        self.categorical = categorical
        self.log = log
        self.k = k
        self.k_range = k_range
        self.random_state = random_state
        self.silhouette_sample = silhouette_sample
        self.n_init = n_init

    # ------------------------------------------------------------------ design matrix
    def _design(self, X: pd.DataFrame, fitting: bool) -> np.ndarray:
        missing = [c for c in (*self.numeric, *self.categorical) if c not in X.columns]
        if missing:
            raise UserInputError(f"clusters: feature column(s) {missing} not found; have {list(X.columns)}")
        parts = []
        if self.numeric:
            num = X[list(self.numeric)].astype("float64").to_numpy(copy=True)
            for j, c in enumerate(self.numeric):
                if c in self.log:
                    num[:, j] = np.log1p(np.clip(num[:, j], 0, None))
            if fitting:
                self.medians_ = np.nanmedian(num, axis=0)
                self.medians_ = np.where(np.isnan(self.medians_), 0.0, self.medians_)
            num = np.where(np.isnan(num), self.medians_, num)
            if fitting:
                self.means_ = num.mean(axis=0)
                sd = num.std(axis=0)
                self.scales_ = np.where(sd > 0, sd, 1.0)
            parts.append((num - self.means_) / self.scales_)
        if self.categorical:
            if fitting:
                self.categories_ = {c: sorted(map(str, X[c].fillna("∅").astype(str).unique())) for c in self.categorical}
            for c in self.categorical:
                vals = X[c].fillna("∅").astype(str).to_numpy()
                cats = self.categories_[c]
                parts.append((vals[:, None] == np.array(cats)[None, :]).astype("float64") * ONE_HOT_SCALE)
        if not parts:
            raise UserInputError("clusters: give at least one numeric or categorical feature")
        return np.hstack(parts)

    # ------------------------------------------------------------------ fit / predict
    def fit(self, X: pd.DataFrame, y=None) -> CustomerClusters:
        Z = self._design(X, fitting=True)
        n = len(Z)
        lo, hi = (self.k, self.k) if self.k else self.k_range
        if n < 2 or lo < 2 or hi < lo:
            raise UserInputError(f"clusters: need at least 2 customers and 2 ≤ k (got n={n}, k in {lo}..{hi})")
        hi = min(hi, n - 1)
        lo = min(lo, hi)  # fewer customers than the smallest k asked for: as many clusters as possible
        rng = np.random.default_rng(self.random_state)
        sample = rng.choice(n, size=min(n, self.silhouette_sample), replace=False) if n > self.silhouette_sample \
            else np.arange(n)
        self.silhouettes_ = {}
        best = None
        # silhouettes cost O(sample²), so they are scored on at most 5,000 customers; and small fits run k-means
        # on one OpenMP thread, whose pool otherwise spins against other processes on a busy machine. Measured on
        # 2 cores at load 7-9, a 20,000-customer bank run: the cluster step went from 71 s (56 s of it
        # silhouettes on 20,000 customers, 14 s k-means) to 5.5 s.
        threads = threadpool_limits(1, user_api="openmp") if n < 100_000 else nullcontext()
        with threads:
            fits = {k: KMeans(n_clusters=k, n_init=self.n_init, random_state=self.random_state).fit(Z)
                    for k in range(lo, hi + 1)}
        for k, km in fits.items():
            labels = km.labels_[sample]
            score = float(silhouette_score(Z[sample], labels)) if len(set(labels)) > 1 else -1.0
            self.silhouettes_[k] = score
            if best is None or score > best[0] + 1e-12:
                best = (score, k, km)
        _, self.k_, km = best
        self.centroids_ = km.cluster_centers_.copy()
        self.cluster_ids_ = np.arange(self.k_)
        self.labels_ = km.labels_.copy()
        return self

    def _check(self) -> None:
        if not hasattr(self, "centroids_"):
            raise NotFittedError("CustomerClusters is not fitted yet; call fit(X) first")

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Nearest-centroid cluster id of each row."""
        self._check()
        Z = self._design(X, fitting=False)
        d = ((Z[:, None, :] - self.centroids_[None, :, :]) ** 2).sum(axis=2)
        return self.cluster_ids_[d.argmin(axis=1)]

    # ------------------------------------------------------------------ stable ids
    def align_to(self, previous_centroids: np.ndarray, previous_ids: np.ndarray | None = None) -> np.ndarray:
        """Renumber clusters to match the previous run's centroids; return the new ``cluster_ids_``.

        Each new centroid takes the id of the previous centroid it is matched to
        (Hungarian assignment on squared distance, in the same design space). Clusters
        without a counterpart (k grew) take the next unused ids; ids of vanished clusters
        are not reused, so ids may have gaps.
        """
        self._check()
        prev = np.asarray(previous_centroids, dtype="float64")
        prev_ids = np.arange(len(prev)) if previous_ids is None else np.asarray(previous_ids)
        cost = ((self.centroids_[:, None, :] - prev[None, :, :]) ** 2).sum(axis=2)
        rows, cols = linear_sum_assignment(cost)
        ids = np.full(self.k_, -1)
        ids[rows] = prev_ids[cols]
        nxt = int(prev_ids.max()) + 1 if len(prev_ids) else 0
        for i in range(self.k_):
            if ids[i] < 0:
                ids[i], nxt = nxt, nxt + 1
        old = self.cluster_ids_
        self.labels_ = ids[np.searchsorted(old, self.labels_)] if np.all(np.diff(old) > 0) else \
            np.array([ids[list(old).index(x)] for x in self.labels_])
        self.cluster_ids_ = ids
        return ids

    # ------------------------------------------------------------------ profile
    def profile(self, X: pd.DataFrame, labels: np.ndarray | None = None) -> pd.DataFrame:
        """Per cluster: size, share, mean of each numeric feature, and the most common category."""
        self._check()
        labels = self.labels_ if labels is None else labels
        df = X.copy()
        df["cluster"] = labels
        g = df.groupby("cluster")
        out = pd.DataFrame({"customers": g.size()})
        out["share"] = out["customers"] / len(df)
        for c in self.numeric:
            out[f"mean_{c}"] = g[c].mean()
        for c in self.categorical:
            top = g[c].agg(lambda s: s.fillna("∅").astype(str).value_counts().idxmax())
            share = g[c].agg(lambda s: s.fillna("∅").astype(str).value_counts(normalize=True).iloc[0])
            out[f"top_{c}"], out[f"top_{c}_share"] = top, share
        return out.reset_index()

    # ------------------------------------------------------------------ persistence
    def to_dict(self) -> dict:
        """Parameters and learned state as plain JSON-able data (never a pickle)."""
        self._check()
        d = {"params": {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.get_params().items()},
             "k_": int(self.k_), "centroids_": self.centroids_.tolist(), "cluster_ids_": self.cluster_ids_.tolist(),
             "silhouettes_": {str(k): v for k, v in self.silhouettes_.items()}}
        if self.numeric:
            d |= {"medians_": self.medians_.tolist(), "means_": self.means_.tolist(), "scales_": self.scales_.tolist()}
        if self.categorical:
            d["categories_"] = self.categories_
        return d

    @classmethod
    def from_dict(cls, d: dict) -> CustomerClusters:
        m = cls(**{k: (tuple(v) if isinstance(v, list) else v) for k, v in d["params"].items()})
        m.k_, m.centroids_, m.cluster_ids_ = d["k_"], np.array(d["centroids_"]), np.array(d["cluster_ids_"])
        m.silhouettes_ = {int(k): v for k, v in d["silhouettes_"].items()}
        for key in ("medians_", "means_", "scales_"):
            if key in d:
                setattr(m, key, np.array(d[key]))
        if "categories_" in d:
            m.categories_ = d["categories_"]
        return m

    def get_params(self, deep: bool = True) -> dict:
        return {"numeric": self.numeric, "categorical": self.categorical, "log": self.log, "k": self.k,
                "k_range": self.k_range, "random_state": self.random_state,
                "silhouette_sample": self.silhouette_sample, "n_init": self.n_init}
