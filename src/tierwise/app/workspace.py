"""A workspace: one self-contained folder holding a deployment's policy, data and state.

::

    DIR/
      workspace.yaml   settings (engine, store URL) — deployment, not business rules
      policy.yaml      the policy (business rules), validated on every use
      data/            imported canonical tables (see tierwise.ingest.batches)
      snapshots/       one immutable folder per evaluation run
      quarantine/      rejected rows of every import, with reasons
      scratch/         engine spill files and temporary files
      store.db         the operational store (SQLite by default)
"""

from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from tierwise.app.servicing_outbox import ChannelSettings
from tierwise.atomic import write_atomic
from tierwise.config.policy import Policy, load_policy
from tierwise.config.presets import render_preset
from tierwise.errors import ConcurrencyError, UserInputError, WorkspaceError
from tierwise.ingest.batches import DataArea
from tierwise.protect.keys import KeyRing, generate_key_file, load_keyring, read_key_file
from tierwise.store import Store, open_store

SETTINGS_FILE = "workspace.yaml"
POLICY_FILE = "policy.yaml"
AREAS = ("data", "snapshots", "quarantine", "scratch")


class SparkSettings(BaseModel):
    """Where a Spark evaluation runs (``engine: spark``)."""

    model_config = ConfigDict(extra="forbid")
    master: str = Field("local[*]", description="Spark master URL: local[N], spark://host:7077, yarn, k8s://…; "
                                               "an existing SparkSession in the process is reused")
    conf: dict[str, str] = Field(default_factory=dict,
                                 description="extra Spark settings, e.g. spark.driver.memory: 8g, "
                                             "spark.sql.shuffle.partitions: '400'")
    tables: dict[str, str] = Field(
        default_factory=dict,
        description="canonical tables read straight from the cluster instead of the workspace's imports: "
                    "table → a Spark table name (db.table) or a Parquet path/URI (hdfs://…, s3a://…). They must "
                    "hold the canonical column names and are not validated by tierwise import")

    @field_validator("tables")
    @classmethod
    def _canonical_names(cls, v: dict[str, str]) -> dict[str, str]:
        from tierwise.canonical import TABLES

        unknown = sorted(set(v) - set(TABLES))
        if unknown:
            raise ValueError(f"not canonical tables: {', '.join(unknown)} (expected {', '.join(TABLES)})")
        return v


class Settings(BaseModel):
    """``workspace.yaml``: where things run and are stored."""

    model_config = ConfigDict(extra="forbid")
    format: int = Field(1, description="workspace format version")
    engine: Literal["duckdb", "spark"] = Field(
        "duckdb", description="analytics engine: duckdb (embedded default) or spark (features, classifications "
                              "and tiers computed in a Spark session; see docs/deploy.md)")
    spark: SparkSettings = Field(default_factory=SparkSettings, description="Spark session (engine: spark)")
    store_url: str = Field("sqlite:///{workspace}/store.db",
                           description="SQLAlchemy URL of the operational store; {workspace} is the folder")
    threads: int | None = Field(None, ge=1, description="engine threads (default: all cores)")
    memory_limit: str | None = Field(None, description="engine memory limit such as '12GB' (default: 80 % of RAM)")
    channels: ChannelSettings = Field(default_factory=ChannelSettings,
                                      description="message channels: SMTP, webhook, SMS export (deployment settings)")
    key_file: str | None = Field(None, description="file holding the key that seals the personal fields; outside "
                                                   "the workspace (TIERWISE_KEY / TIERWISE_KEY_FILE override it)")


@dataclass
class Workspace:
    root: Path
    settings: Settings
    _store: Store | None = field(default=None, repr=False, compare=False)

    # -------------------------------------------------------------- paths
    @property
    def policy_path(self) -> Path:
        return self.root / POLICY_FILE

    @property
    def data(self) -> DataArea:
        return DataArea(self.root / "data")

    @property
    def quarantine(self) -> Path:
        return self.root / "quarantine"

    @property
    def scratch(self) -> Path:
        return self.root / "scratch"

    @property
    def snapshots(self) -> Path:
        return self.root / "snapshots"

    def policy(self) -> Policy:
        return load_policy(self.policy_path)

    def compute(self):
        """The engine session the settings name (see :mod:`tierwise.engine.compute`); close it after use."""
        from tierwise.engine.compute import open_compute

        s = self.settings
        return open_compute(s.engine, scratch=self.scratch, threads=s.threads, memory_limit=s.memory_limit,
                            spark_master=s.spark.master, spark_conf=s.spark.conf, spark_tables=s.spark.tables)

    def external_tables(self) -> dict[str, str]:
        """Canonical tables the engine reads from outside the workspace (Spark tables by name or paths)."""
        return dict(self.settings.spark.tables) if self.settings.engine == "spark" else {}

    def keyring(self, extra: list[str | Path] | None = None) -> KeyRing:
        """The keys that seal and open this workspace's personal fields (see :mod:`tierwise.protect.keys`)."""
        return load_keyring(self.settings.key_file, self.root, extra=extra)

    def store(self) -> Store:
        """The operational store, opened (and its schema created) once per workspace object."""
        if self._store is None:
            self._store = open_store(self.settings.store_url.replace("{workspace}", str(self.root.resolve())))
        return self._store

    @contextmanager
    def lock(self, what: str):
        """Exclusive lock for commands that write (import, run): one writer at a time."""
        path = self.root / ".lock"
        fh = open(path, "a+")
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.close()
            raise ConcurrencyError(f"{self.root}: another tierwise command is writing to this workspace",
                                   hint=f"wait for it to finish, then run {what} again") from None
        try:
            fh.seek(0)
            fh.truncate()
            fh.write(f"{os.getpid()} {what}\n")
            fh.flush()
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
            fh.close()


def init_workspace(path: str | Path, preset: str, *, force: bool = False, engine: str = "duckdb",
                   spark_master: str | None = None) -> Workspace:
    """Create a workspace folder from a preset, computing on ``engine`` (see :class:`Settings`)."""
    root = Path(path)
    policy_text = render_preset(preset)  # validates the preset name first
    from tierwise.engine.compute import ENGINES

    if engine not in ENGINES:
        from tierwise.errors import did_you_mean

        hint = did_you_mean(engine, list(ENGINES))
        raise WorkspaceError(f"unknown engine '{engine}'",
                             hint=(hint + "; " if hint else "") + "engines: " + ", ".join(ENGINES))
    if root.exists() and any(root.iterdir()) and not force:
        if (root / SETTINGS_FILE).exists():
            raise WorkspaceError(f"{root}: already a tierwise workspace",
                                 hint="use it as it is, or choose another folder")
        raise WorkspaceError(f"{root}: folder is not empty", hint="choose a new or empty folder")
    root.mkdir(parents=True, exist_ok=True)
    for area in AREAS:
        (root / area).mkdir(exist_ok=True)
    # the key that seals personal fields lives beside the folder, never inside it
    key_path = root.resolve().parent / f"{root.resolve().name}.key"
    if key_path.exists():
        read_key_file(key_path)  # re-initialising a folder keeps its key (it must still be a valid key)
    else:
        generate_key_file(key_path)
    settings = Settings(key_file=str(key_path), engine=engine,
                        spark=SparkSettings(**({"master": spark_master} if spark_master else {})))
    write_settings(root, settings)
    (root / POLICY_FILE).write_text(policy_text, encoding="utf-8")
    ws = Workspace(root, settings)
    store = ws.store()
    store.audit("system", "workspace.init", str(root), {"preset": preset})
    from tierwise.app.users import create_first_admin   # the first admin, with a one-time password
    create_first_admin(ws)
    return ws


def write_settings(root: Path, settings: Settings) -> None:
    """Write ``workspace.yaml`` atomically."""
    write_atomic(root / SETTINGS_FILE, "# tierwise workspace settings (deployment). Business rules live in "
                 "policy.yaml.\n" + yaml.safe_dump(settings.model_dump(), allow_unicode=True, sort_keys=False))


def open_workspace(path: str | Path) -> Workspace:
    """Open an existing workspace; a clear error if the folder is not one."""
    root = Path(path)
    settings_path = root / SETTINGS_FILE
    if not settings_path.exists():
        if not root.exists():
            raise WorkspaceError(f"{root}: no such folder", hint=f"create it with: tierwise init {root} --preset bank")
        raise WorkspaceError(f"{root}: not a tierwise workspace (no {SETTINGS_FILE})",
                             hint=f"create one with: tierwise init {root} --preset bank")
    try:
        raw = yaml.safe_load(settings_path.read_text(encoding="utf-8")) or {}
        settings = Settings.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '(top level)'}: {e['msg']}"
                             + (f" (got {e['input']!r})" if isinstance(e.get("input"), (str, int, float)) else "")
                             for e in exc.errors())
        raise UserInputError(f"{settings_path}: invalid settings: {problems}") from None
    except yaml.YAMLError as exc:
        raise UserInputError(f"{settings_path}: invalid settings: {exc}") from None
    for area in AREAS:
        (root / area).mkdir(exist_ok=True)
    return Workspace(root, settings)
