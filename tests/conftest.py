"""Shared fixtures: real workspaces in temporary folders, a fixed reference date."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

TODAY = date(2024, 6, 1)


@pytest.fixture
def today() -> date:
    return TODAY


@pytest.fixture
def make_workspace(tmp_path: Path):
    """Factory: a fresh workspace from a preset in a new subfolder of tmp_path."""
    from tierwise.app.workspace import init_workspace

    counter = {"n": 0}

    def make(preset: str = "bank"):
        counter["n"] += 1
        return init_workspace(tmp_path / f"ws{counter['n']}", preset)

    return make


@pytest.fixture
def ws(make_workspace):
    return make_workspace("bank")


def in_ci() -> bool:
    import os

    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="session")
def pg_server():
    """One real PostgreSQL server for the whole test session (tests/parity/pgserver.py).

    Fails in CI, skips locally when no server binaries are installed."""
    from parity.pgserver import NoPostgres, start_server

    try:
        server = start_server()
    except NoPostgres as exc:
        if in_ci():
            pytest.fail(f"these tests need PostgreSQL: {exc}", pytrace=False)
        pytest.skip(str(exc))
    yield server
    server.stop()


@pytest.fixture
def pg_url(pg_server, request) -> str:
    """A SQLAlchemy URL of a new, empty PostgreSQL database on the session's server."""
    import re

    import psycopg

    kw = pg_server.connect_kwargs()
    name = "t_" + re.sub(r"[^a-z0-9]+", "_", request.node.name.lower())[:40] + f"_{id(request) % 100000}"
    with psycopg.connect(host=kw["host"], port=kw["port"], user=kw["user"], dbname=kw["database"],
                         autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"postgresql+psycopg://{kw['user']}@{kw['host']}:{kw['port']}/{name}"


@pytest.fixture(scope="session")
def chromium() -> str:
    """The path of Debian's Chromium for the browser tests (fails in CI, skips locally when missing)."""
    import shutil

    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        msg = "Debian's chromium is not installed (apt-get install -y chromium fonts-noto-cjk; .ci/run does)"
        if in_ci():
            pytest.fail(msg, pytrace=False)
        pytest.skip(msg)
    return path


@pytest.fixture(scope="session")
def spark(tmp_path_factory):
    """The one local SparkSession of the test session, shared by every suite (fails in CI, skips locally
    without Java)."""
    import os
    import shutil

    java_home = os.environ.get("JAVA_HOME")
    if not shutil.which("java") and not (java_home and Path(java_home, "bin", "java").exists()):
        msg = "Spark needs Java 17: `apt-get install -y openjdk-17-jre-headless` (.ci/run does this)"
        if in_ci():
            pytest.fail(msg, pytrace=False)
        pytest.skip(msg)
    from tierwise.engine.backends import spark_session

    # C1-only JIT: a short-lived JVM running many small, different queries spends much of its CPU in the C2
    # compiler otherwise (measured: about a third less wall time for the Spark parity suite)
    session = spark_session(master="local[2]", shuffle_partitions=4, driver_memory="1g",
                            scratch=tmp_path_factory.mktemp("spark"), app_name="tierwise-tests",
                            java_options="-XX:TieredStopAtLevel=1 -XX:ReservedCodeCacheSize=256m")
    yield session
    session.stop()


@pytest.fixture(scope="session", autouse=True)
def _bytecode_cache_for_subprocesses():
    """Subprocesses (the CLI, the server, fault tests) keep compiled modules in a private cache.

    With ``PYTHONDONTWRITEBYTECODE`` set (as on some CI machines) every interpreter a test starts
    recompiles about 4,000 modules: seconds per command. A cache outside the venv changes nothing a
    command does.
    """
    import os
    import tempfile

    if os.environ.pop("PYTHONDONTWRITEBYTECODE", None):
        os.environ.setdefault("PYTHONPYCACHEPREFIX",
                              str(Path(tempfile.gettempdir()) / f"tierwise-pycache-{os.getuid()}"))
    yield
