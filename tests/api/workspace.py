"""A small bank workspace for the API and browser tests: 4 managers in 2 branches, 2 monthly runs, users.

Built through the real paths (sample generator → Parquet → import → runs). The generator puts
about 300 customers with each manager, so the fixture spreads the customers over four
managers itself: RM00001 and RM00002 in BR001, RM00003 and RM00004 in BR002.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from tierwise.app.demo import ORDER
from tierwise.app.importing import import_table
from tierwise.app.run import run_evaluation
from tierwise.app.users import add_user
from tierwise.app.workspace import init_workspace, open_workspace
from tierwise.canonical import TABLES
from tierwise.samples import generate

MANAGERS = {"RM00001": "BR001", "RM00002": "BR001", "RM00003": "BR002", "RM00004": "BR002"}
RUNS = (date(2024, 9, 30), date(2024, 10, 31))
PASSWORD = "correct-horse-9"
#: username → (role, manager_id, branch_id)
USERS = {
    "admin1": ("admin", None, None),
    "analyst1": ("analyst", None, None),
    "bm1": ("branch_manager", None, "BR001"),
    "bm2": ("branch_manager", None, "BR002"),
    "rm1": ("relationship_manager", "RM00001", None),
    "rm2": ("relationship_manager", "RM00002", None),
    "rm3": ("relationship_manager", "RM00003", None),
    "rm4": ("relationship_manager", "RM00004", None),
}


def build(root: Path, n: int = 240, seed: int = 11, store_url: str | None = None) -> Path:
    ws = init_workspace(root, "bank")
    if store_url:                     # the operational store elsewhere (PostgreSQL)
        settings = root / "workspace.yaml"
        text = settings.read_text(encoding="utf-8")
        settings.write_text(text.replace("store_url: sqlite:///{workspace}/store.db", f"store_url: {store_url}"),
                            encoding="utf-8")
        ws = open_workspace(root)
        assert ws.settings.store_url == store_url
    policy = ws.policy_path
    policy.write_text(policy.read_text(encoding="utf-8").replace("clusters:\n  enabled: true",
                                                                 "clusters:\n  enabled: false"), encoding="utf-8")
    tables = generate("bank", n, seed=seed)
    cust = tables["customers"]
    managers = list(MANAGERS)
    mids = [managers[i % 4] for i in range(cust.num_rows)]
    cust = cust.set_column(cust.schema.get_field_index("manager_id"), "manager_id", pa.array(mids, pa.string()))
    cust = cust.set_column(cust.schema.get_field_index("branch_id"), "branch_id",
                           pa.array([MANAGERS[m] for m in mids], pa.string()))
    tables["customers"] = cust
    inbox = root / "inbox"
    inbox.mkdir()
    for name in ORDER:
        if name in tables and name in TABLES:
            path = inbox / f"{name}.parquet"
            pq.write_table(tables[name], path)
            import_table(ws, name, str(path), actor="fixture", today=date(2025, 1, 1))
    for d in RUNS:
        run_evaluation(ws, d)
    for username, (role, mid, bid) in USERS.items():
        add_user(ws, username, role, password=PASSWORD, manager_id=mid, branch_id=bid, actor="fixture")
    return root
