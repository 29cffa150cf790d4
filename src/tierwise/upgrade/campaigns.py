"""Campaign membership: a randomised control group, stratified and reproducible from its seed.

Within each stratum (by default tier × manager) the members are ordered by customer id,
shuffled with a generator seeded from the campaign seed and the stratum, and the first
``round(n × control_share)`` become the control group. The same seed, target and strata
always give the same groups; every stratum holds the control share up to rounding.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pyarrow as pa


def _stratum_seed(seed: int, stratum: str) -> int:
    digest = hashlib.sha256(f"{seed}|{stratum}".encode()).digest()
    return int.from_bytes(digest[:8], "little")


def assign_arms(members: pa.Table, *, control_share: float, seed: int, strata: tuple[str, ...]) -> pa.Table:
    """``customer_id``, ``arm`` (treatment | control) and ``stratum`` for every member.

    ``members`` has ``customer_id`` and the strata columns.
    """
    if not 0 <= control_share < 1:
        raise ValueError("control_share must be in [0, 1)")
    ids = members["customer_id"].to_pylist()
    keys = ["|".join(str(members[c][i].as_py()) for c in strata) if strata else "all" for i in range(len(ids))]
    by_stratum: dict[str, list[str]] = {}
    for cid, key in zip(ids, keys):
        by_stratum.setdefault(key, []).append(cid)
    arm: dict[str, str] = {}
    for key in sorted(by_stratum):
        group = sorted(by_stratum[key])
        order = np.random.default_rng(_stratum_seed(seed, key)).permutation(len(group))
        n_control = int(round(len(group) * control_share))
        for rank, j in enumerate(order):
            arm[group[j]] = "control" if rank < n_control else "treatment"
    return pa.table({"customer_id": ids, "arm": [arm[c] for c in ids], "stratum": keys})
