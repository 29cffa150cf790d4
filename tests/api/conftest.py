"""API fixtures: one bank workspace per test session (copied for tests that change it), clients per role."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from api.workspace import PASSWORD, USERS, build

with warnings.catch_warnings():     # starlette's notice about httpx, once at import
    warnings.simplefilter("ignore")
    import fastapi.testclient  # noqa: F401


@pytest.fixture(scope="session")
def base_root(tmp_path_factory) -> Path:
    return build(tmp_path_factory.mktemp("api") / "ws")


@pytest.fixture
def root(base_root, tmp_path) -> Path:
    """A private copy of the session workspace (for tests that change it)."""
    dst = tmp_path / "ws"
    shutil.copytree(base_root, dst)
    return dst


def make_client(root: Path, **kw):
    from fastapi.testclient import TestClient

    from tierwise.web.server import create_app
    return TestClient(create_app(root, **kw), raise_server_exceptions=False)


def bearer(client, username: str, password: str = PASSWORD) -> dict:
    r = client.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    client.cookies.clear()          # this helper authenticates with the header only
    return {"Authorization": f"Bearer {r.json()['token']}"}


@pytest.fixture(scope="session")
def shared_client(base_root):
    """One client on the session workspace, for read-only tests."""
    return make_client(base_root)


@pytest.fixture(scope="session")
def headers(shared_client) -> dict[str, dict]:
    """Bearer headers of every fixture user."""
    return {u: bearer(shared_client, u) for u in USERS}


@pytest.fixture(scope="session")
def snapshot(base_root):
    """The current run's customers, read directly (the independent answer)."""
    from tierwise.snapshots.store import SnapshotStore
    snaps = SnapshotStore(base_root / "snapshots")
    return pq.read_table(snaps.path(snaps.current().run_id) / "customers.parquet").to_pylist()


@pytest.fixture(scope="session")
def by_manager(snapshot) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for r in snapshot:
        out.setdefault(r["manager_id"], []).append(r["customer_id"])
    return {k: sorted(v) for k, v in out.items()}
