"""Users, roles, sessions and login throttling in the operational store (mixin of ``Store``).

Only hashes are stored: argon2 hashes of passwords (computed by :mod:`tierwise.app.users`)
and SHA-256 hashes of session tokens, so a copy of the database does not let anyone log
in. Times are UTC; SQLite returns them naive, :func:`utc` makes them aware again.
"""

from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa

from tierwise.store.meta import metadata

users = sa.Table(
    "users", metadata,
    sa.Column("user_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("username", sa.String(64), nullable=False, unique=True),
    sa.Column("display_name", sa.String(128)),
    sa.Column("password_hash", sa.String(256), nullable=False),
    sa.Column("role", sa.String(32), nullable=False),
    sa.Column("manager_id", sa.String(64)),          # relationship manager: whose customers
    sa.Column("branch_id", sa.String(64)),           # branch manager: which branch
    sa.Column("locale", sa.String(8)),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("must_change_password", sa.Boolean, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

sessions = sa.Table(
    "sessions", metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),     # sha256 of the cookie's token
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.user_id"), nullable=False, index=True),
    sa.Column("csrf_token", sa.String(64), nullable=False),
    sa.Column("client", sa.String(128)),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
)

login_attempts = sa.Table(
    "login_attempts", metadata,
    sa.Column("attempt_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("username", sa.String(64), nullable=False, index=True),
    sa.Column("client", sa.String(128), nullable=False, index=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("success", sa.Boolean, nullable=False),
)


def utc(value: datetime | None) -> datetime | None:
    """An aware UTC datetime (SQLite hands back naive ones)."""
    if value is None:
        return None
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def _norm(row) -> dict | None:
    if row is None:
        return None
    d = dict(row)
    for k in ("created_at", "updated_at", "last_seen", "expires_at", "at"):
        if k in d:
            d[k] = utc(d[k])
    return d


class AuthStore:
    engine: sa.Engine

    # ------------------------------------------------------------------ users
    def add_user(self, row: dict) -> int:
        with self.engine.begin() as conn:
            return int(conn.execute(users.insert().values(**row)).inserted_primary_key[0])

    def get_user(self, *, user_id: int | None = None, username: str | None = None) -> dict | None:
        q = sa.select(users)
        q = q.where(users.c.user_id == user_id) if user_id is not None else q.where(users.c.username == username)
        with self.engine.connect() as conn:
            return _norm(conn.execute(q).mappings().first())

    def list_users(self) -> list[dict]:
        with self.engine.connect() as conn:
            return [_norm(r) for r in conn.execute(sa.select(users).order_by(users.c.username)).mappings()]

    def update_user(self, user_id: int, **values) -> bool:
        values.setdefault("updated_at", datetime.now(timezone.utc))
        with self.engine.begin() as conn:
            return conn.execute(users.update().where(users.c.user_id == user_id).values(**values)).rowcount == 1

    # ------------------------------------------------------------------ sessions
    def add_session(self, row: dict) -> None:
        with self.engine.begin() as conn:
            conn.execute(sessions.insert().values(**row))

    def get_session(self, token_hash: str) -> dict | None:
        with self.engine.connect() as conn:
            return _norm(conn.execute(sa.select(sessions).where(sessions.c.token_hash == token_hash))
                         .mappings().first())

    def touch_session(self, token_hash: str, at: datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(sessions.update().where(sessions.c.token_hash == token_hash).values(last_seen=at))

    def delete_session(self, token_hash: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(sessions.delete().where(sessions.c.token_hash == token_hash))

    def delete_user_sessions(self, user_id: int) -> int:
        with self.engine.begin() as conn:
            return conn.execute(sessions.delete().where(sessions.c.user_id == user_id)).rowcount

    def purge_sessions(self, now: datetime) -> int:
        with self.engine.begin() as conn:
            return conn.execute(sessions.delete().where(sessions.c.expires_at < now)).rowcount

    # ------------------------------------------------------------------ login throttling
    def add_login_attempt(self, username: str, client: str, at: datetime, success: bool) -> None:
        with self.engine.begin() as conn:
            conn.execute(login_attempts.insert().values(username=username, client=client, at=at, success=success))

    def login_failures(self, since: datetime, *, username: str | None = None, client: str | None = None
                       ) -> tuple[int, datetime | None]:
        """Failed logins since ``since`` (for a user: only those after their last success) and the latest one."""
        cond = [login_attempts.c.at >= since]
        if username is not None:
            cond.append(login_attempts.c.username == username)
        if client is not None:
            cond.append(login_attempts.c.client == client)
        with self.engine.connect() as conn:
            if username is not None:
                last_ok = conn.execute(sa.select(sa.func.max(login_attempts.c.at))
                                       .where(*cond, login_attempts.c.success.is_(True))).scalar()
                if last_ok is not None:
                    cond.append(login_attempts.c.at > last_ok)
            n, latest = conn.execute(sa.select(sa.func.count(), sa.func.max(login_attempts.c.at))
                                     .where(*cond, login_attempts.c.success.is_(False))).one()
        return int(n), utc(latest)
