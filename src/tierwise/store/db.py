"""Schema and access of the operational store.

The audit log is append-only: rows are only ever inserted; each row carries the hash
of the previous row, so any later edit or deletion breaks the chain (``verify_audit``).
"""

from __future__ import annotations

import hashlib
import json
import socket
from datetime import date, datetime, timezone

import sqlalchemy as sa

from tierwise.store.auth import AuthStore
from tierwise.store.meta import metadata
from tierwise.store.servicing import ServicingStore

imports = sa.Table(
    "imports", metadata,
    sa.Column("import_id", sa.String(32), primary_key=True),
    sa.Column("table_name", sa.String(32), nullable=False),
    sa.Column("mode", sa.String(16), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("source_sha256", sa.String(64)),
    sa.Column("rows_read", sa.BigInteger, nullable=False),
    sa.Column("accepted", sa.BigInteger, nullable=False),
    sa.Column("rejected", sa.BigInteger, nullable=False),
    sa.Column("reconciliation", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

audit_log = sa.Table(
    "audit_log", metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("actor", sa.String(128), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("target", sa.String(256)),
    sa.Column("detail", sa.Text),
    sa.Column("origin", sa.String(128)),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)


overrides = sa.Table(
    "overrides", metadata,
    sa.Column("override_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("customer_id", sa.String(64), nullable=False, index=True),
    sa.Column("kind", sa.String(8), nullable=False),          # pin | floor | ceiling
    sa.Column("tier", sa.String(64), nullable=False),         # level id
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("starts_on", sa.Date, nullable=False),
    sa.Column("expires_on", sa.Date, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),       # requested | approved | rejected | revoked
    sa.Column("requested_by", sa.String(128), nullable=False),
    sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("decided_by", sa.String(128)),
    sa.Column("decided_at", sa.DateTime(timezone=True)),
    sa.Column("decision_note", sa.Text),
)

runs = sa.Table(
    "runs", metadata,
    sa.Column("run_id", sa.String(32), primary_key=True),
    sa.Column("as_of", sa.Date, nullable=False, index=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("policy_hash", sa.String(64), nullable=False),
    sa.Column("data_version", sa.Integer, nullable=False),
    sa.Column("digest", sa.String(64)),
    sa.Column("record", sa.Text, nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
)


campaigns = sa.Table(
    "campaigns", metadata,
    sa.Column("campaign_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("target_kind", sa.String(16), nullable=False),     # segment | candidates | rule
    sa.Column("target", sa.Text, nullable=False),
    sa.Column("strategy", sa.Text, nullable=False),               # JSON: tasks and messages for servicing
    sa.Column("starts_on", sa.Date, nullable=False),
    sa.Column("ends_on", sa.Date, nullable=False),
    sa.Column("control_share", sa.Float, nullable=False),
    sa.Column("seed", sa.BigInteger, nullable=False),
    sa.Column("strata", sa.String(200), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),           # draft | started
    sa.Column("start_run_id", sa.String(32)),
    sa.Column("created_by", sa.String(128), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

campaign_members = sa.Table(
    "campaign_members", metadata,
    sa.Column("campaign_id", sa.Integer, sa.ForeignKey("campaigns.campaign_id"), primary_key=True),
    sa.Column("customer_id", sa.String(64), primary_key=True),
    sa.Column("arm", sa.String(16), nullable=False),
    sa.Column("stratum", sa.String(200), nullable=False),
)


def _row_hash(prev: str, at: str, actor: str, action: str, target: str | None, detail: str | None,
              origin: str | None) -> str:
    payload = json.dumps([prev, at, actor, action, target, detail, origin], ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


class Store(AuthStore, ServicingStore):
    """Access to the operational database (one per workspace).

    Each area keeps its tables and methods in its own module (``store/auth.py``,
    ``store/servicing.py``) as a mixin over the same ``engine`` and ``metadata``."""

    def __init__(self, engine: sa.Engine):
        self.engine = engine

    def create_schema(self) -> None:
        metadata.create_all(self.engine)

    # ------------------------------------------------------------------ imports
    def record_import(self, rec: dict) -> None:
        row = {
            "import_id": rec["import_id"], "table_name": rec["table"], "mode": rec["mode"],
            "status": rec["status"], "source": rec["source"]["path"], "source_sha256": rec["source"].get("sha256"),
            "rows_read": rec["rows_read"], "accepted": rec["accepted"], "rejected": rec["rejected"],
            "reconciliation": json.dumps(rec, ensure_ascii=False, default=str),
            "created_at": datetime.fromisoformat(rec["finished_at"]),
        }
        with self.engine.begin() as conn:
            exists = conn.execute(sa.select(imports.c.import_id).where(imports.c.import_id == row["import_id"])).first()
            if not exists:
                conn.execute(imports.insert().values(**row))

    def import_ids(self) -> set[str]:
        with self.engine.connect() as conn:
            return {r[0] for r in conn.execute(sa.select(imports.c.import_id))}

    def list_imports(self) -> list[dict]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(imports).order_by(imports.c.created_at)).mappings().all()
        return [dict(r) for r in rows]

    # ------------------------------------------------------------------ runs
    def record_run(self, rec: dict) -> None:
        as_of = rec["as_of"] if isinstance(rec["as_of"], date) else date.fromisoformat(rec["as_of"])
        row = {"run_id": rec["run_id"], "as_of": as_of, "status": "published", "policy_hash": rec["policy_hash"],
               "data_version": rec["data_version"], "digest": rec["digest"],
               "record": json.dumps(rec, ensure_ascii=False, default=str), "finished_at": datetime.now(timezone.utc)}
        with self.engine.begin() as conn:
            if not conn.execute(sa.select(runs.c.run_id).where(runs.c.run_id == rec["run_id"])).first():
                conn.execute(runs.insert().values(**row))

    def list_runs(self) -> list[dict]:
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(sa.select(runs).order_by(runs.c.as_of, runs.c.run_id)).mappings()]

    # ------------------------------------------------------------------ overrides
    def add_override(self, row: dict) -> int:
        with self.engine.begin() as conn:
            return int(conn.execute(overrides.insert().values(**row)).inserted_primary_key[0])

    def get_override(self, override_id: int) -> dict | None:
        with self.engine.connect() as conn:
            r = conn.execute(sa.select(overrides).where(overrides.c.override_id == override_id)).mappings().first()
        return dict(r) if r else None

    def decide_override(self, override_id: int, status: str, by: str, note: str | None,
                        expect_status: str = "requested") -> bool:
        """Set the decision if the override is still in ``expect_status`` (compare-and-set)."""
        with self.engine.begin() as conn:
            res = conn.execute(overrides.update()
                               .where(overrides.c.override_id == override_id, overrides.c.status == expect_status)
                               .values(status=status, decided_by=by, decided_at=datetime.now(timezone.utc),
                                       decision_note=note))
            return res.rowcount == 1

    def list_overrides(self, customer_id: str | None = None, status: str | None = None) -> list[dict]:
        q = sa.select(overrides).order_by(overrides.c.override_id)
        if customer_id:
            q = q.where(overrides.c.customer_id == customer_id)
        if status:
            q = q.where(overrides.c.status == status)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(q).mappings()]

    # ------------------------------------------------------------------ campaigns
    def add_campaign(self, row: dict) -> int:
        with self.engine.begin() as conn:
            return int(conn.execute(campaigns.insert().values(**row)).inserted_primary_key[0])

    def get_campaign(self, campaign_id: int) -> dict | None:
        with self.engine.connect() as conn:
            r = conn.execute(sa.select(campaigns).where(campaigns.c.campaign_id == campaign_id)).mappings().first()
        return dict(r) if r else None

    def list_campaigns(self) -> list[dict]:
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(sa.select(campaigns).order_by(campaigns.c.campaign_id)).mappings()]

    def start_campaign(self, campaign_id: int, run_id: str, members: list[dict]) -> None:
        """Freeze the membership and mark the campaign started, in one transaction."""
        with self.engine.begin() as conn:
            res = conn.execute(campaigns.update().where(campaigns.c.campaign_id == campaign_id,
                                                        campaigns.c.status == "draft")
                               .values(status="started", start_run_id=run_id))
            if res.rowcount != 1:
                raise RuntimeError("campaign is not a draft")
            if members:
                conn.execute(campaign_members.insert(), [{"campaign_id": campaign_id, **m} for m in members])

    def campaign_members(self, campaign_id: int) -> list[dict]:
        with self.engine.connect() as conn:
            q = sa.select(campaign_members).where(campaign_members.c.campaign_id == campaign_id)
            return [dict(r) for r in conn.execute(q).mappings()]

    # ------------------------------------------------------------------ audit
    def audit(self, actor: str, action: str, target: str | None = None, detail: dict | str | None = None,
              origin: str | None = None) -> None:
        """Append one audit record, chained to the previous one."""
        at = datetime.now(timezone.utc).isoformat()
        detail_s = detail if isinstance(detail, str) or detail is None else json.dumps(detail, ensure_ascii=False,
                                                                                      default=str)
        origin = origin or f"cli@{socket.gethostname()}"
        with self.engine.begin() as conn:
            last = conn.execute(sa.select(audit_log.c.hash).order_by(audit_log.c.seq.desc()).limit(1)).first()
            prev = last[0] if last else "0" * 64
            h = _row_hash(prev, at, actor, action, target, detail_s, origin)
            conn.execute(audit_log.insert().values(at=datetime.fromisoformat(at), actor=actor, action=action,
                                                   target=target, detail=detail_s, origin=origin,
                                                   prev_hash=prev, hash=h))

    def audit_entries(self) -> list[dict]:
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(sa.select(audit_log).order_by(audit_log.c.seq)).mappings()]

    def verify_audit(self) -> tuple[bool, int | None]:
        """(True, None) if the chain is intact, else (False, seq of the first broken record)."""
        prev = "0" * 64
        for row in self.audit_entries():
            at = row["at"]
            at_s = (at if at.tzinfo else at.replace(tzinfo=timezone.utc)).isoformat()
            expect = _row_hash(prev, at_s, row["actor"], row["action"], row["target"], row["detail"], row["origin"])
            if row["prev_hash"] != prev or row["hash"] != expect:
                return False, row["seq"]
            prev = row["hash"]
        return True, None


def open_store(url: str) -> Store:
    """Open (and create if needed) the store at a SQLAlchemy URL."""
    engine = sa.create_engine(url)
    if url.startswith("sqlite"):
        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _):  # pragma: no cover - trivial
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA busy_timeout=10000")
            cur.close()
    store = Store(engine)
    store.create_schema()
    return store
