"""Workspace creation and opening."""

from __future__ import annotations

import pytest

from tierwise.app.workspace import AREAS, init_workspace, open_workspace
from tierwise.errors import ConcurrencyError, WorkspaceError


@pytest.mark.parametrize("preset", ["bank", "retail", "realestate", "b2b", "distributor"])
def test_init_creates_a_self_contained_workspace(tmp_path, preset):
    ws = init_workspace(tmp_path / "w", preset)
    for area in AREAS:
        assert (ws.root / area).is_dir()
    assert (ws.root / "policy.yaml").exists() and (ws.root / "workspace.yaml").exists()
    assert (ws.root / "store.db").exists()
    assert ws.policy().preset == preset
    assert [e["action"] for e in ws.store().audit_entries()] == ["workspace.init", "user.add"]  # the first admin
    # the key that seals personal fields is beside the workspace, owner-only, and named in the settings
    key = tmp_path / "w.key"
    assert key.is_file() and (key.stat().st_mode & 0o777) == 0o600
    assert ws.settings.key_file == str(key.resolve())
    assert not any(p.suffix == ".key" for p in ws.root.rglob("*"))


def test_init_refuses_existing_workspace_and_non_empty_folder(tmp_path):
    init_workspace(tmp_path / "w", "bank")
    with pytest.raises(WorkspaceError, match="already a tierwise workspace"):
        init_workspace(tmp_path / "w", "bank")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "x.txt").write_text("x")
    with pytest.raises(WorkspaceError, match="not empty"):
        init_workspace(tmp_path / "other", "bank")


def test_open_non_workspace(tmp_path):
    with pytest.raises(WorkspaceError, match="no such folder"):
        open_workspace(tmp_path / "missing")
    with pytest.raises(WorkspaceError, match="not a tierwise workspace"):
        open_workspace(tmp_path)


def test_one_writer_at_a_time(ws):
    with ws.lock("import"):
        with pytest.raises(ConcurrencyError, match="another tierwise command"):
            with ws.lock("run"):
                pass
    with ws.lock("run"):  # released
        pass


def test_audit_chain_detects_tampering(ws):
    store = ws.store()
    store.audit("alice", "override.request", "C1", {"tier": "金卡"})
    store.audit("bob", "override.approve", "C1")
    assert store.verify_audit() == (True, None)
    import sqlalchemy as sa
    with store.engine.begin() as c:
        c.execute(sa.text("UPDATE audit_log SET actor = 'mallory' WHERE seq = 2"))
    assert store.verify_audit() == (False, 2)


def test_engine_is_a_setting_chosen_at_init(tmp_path):
    ws = init_workspace(tmp_path / "spark-ws", "bank", engine="spark", spark_master="spark://head:7077")
    again = open_workspace(tmp_path / "spark-ws")
    assert (again.settings.engine, again.settings.spark.master) == ("spark", "spark://head:7077")
    assert ws.settings == again.settings
    # a typo is refused before anything is created, with a hint
    with pytest.raises(WorkspaceError, match="unknown engine 'sprak'") as err:
        init_workspace(tmp_path / "typo", "bank", engine="sprak")
    assert "spark" in (err.value.hint or "")
    assert not (tmp_path / "typo").exists()
    # and a hand-edited settings file with an unknown engine is a clear error too
    (tmp_path / "spark-ws" / "workspace.yaml").write_text(
        (tmp_path / "spark-ws" / "workspace.yaml").read_text(encoding="utf-8").replace("engine: spark",
                                                                                       "engine: hadoop"),
        encoding="utf-8")
    from tierwise.errors import UserInputError

    with pytest.raises(UserInputError, match=r"workspace.yaml: invalid settings: engine: Input should be 'duckdb' or 'spark' \(got 'hadoop'\)$"):
        open_workspace(tmp_path / "spark-ws")
