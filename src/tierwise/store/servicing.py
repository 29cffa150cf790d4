"""Managers, assignments, tasks, outbox and deliveries, contact log (mixin of ``Store``).

Times of this area (due, created, closed, sent, contact times) are naive local times in the
policy's time zone (``servicing → timezone``): due times are wall-clock business times, and
comparing like with like keeps SLA and on-the-day checks exact.

Idempotency is in the schema: a task's ``task_key`` and an outbox message's
``idempotency_key`` are unique, and inserts skip rows whose key exists, so generating twice
never duplicates anything. State changes (complete, close, claim, escalate) are
compare-and-set updates on the expected status.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

import sqlalchemy as sa

from tierwise.store.meta import metadata

managers = sa.Table(
    "managers", metadata,
    sa.Column("manager_id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("branch_id", sa.String(64)),
    sa.Column("reports_to", sa.String(64)),
    sa.Column("capacity", sa.Float),
    sa.Column("tiers", sa.String(400)),                       # comma-separated plan values served; empty = all
    sa.Column("email", sa.String(200)),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("source", sa.String(16), nullable=False),       # file | derived | cli
    sa.Column("updated_at", sa.DateTime, nullable=False),
)

assignments = sa.Table(
    "assignments", metadata,
    sa.Column("customer_id", sa.String(64), primary_key=True),
    sa.Column("manager_id", sa.String(64), nullable=False, index=True),
    sa.Column("branch_id", sa.String(64)),
    sa.Column("rule", sa.String(32), nullable=False),         # initial | balanced | manual | reassigned
    sa.Column("assigned_at", sa.DateTime, nullable=False),
)

assignment_history = sa.Table(
    "assignment_history", metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("customer_id", sa.String(64), nullable=False, index=True),
    sa.Column("from_manager", sa.String(64)),
    sa.Column("to_manager", sa.String(64), nullable=False),
    sa.Column("rule", sa.String(32), nullable=False),
    sa.Column("reason", sa.Text),
    sa.Column("actor", sa.String(128), nullable=False),
    sa.Column("at", sa.DateTime, nullable=False),
)

tasks = sa.Table(
    "tasks", metadata,
    sa.Column("task_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("task_key", sa.String(255), nullable=False, unique=True),
    sa.Column("type", sa.String(32), nullable=False),
    sa.Column("rule", sa.String(64), nullable=False),
    sa.Column("customer_id", sa.String(64), nullable=False, index=True),
    sa.Column("manager_id", sa.String(64)),
    sa.Column("branch_id", sa.String(64)),
    sa.Column("tier", sa.String(64)),
    sa.Column("due_at", sa.DateTime, nullable=False),
    sa.Column("priority", sa.SmallInteger, nullable=False),
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("status", sa.String(8), nullable=False),        # open | done | closed
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("ref", sa.String(255)),                         # rule-specific reference (product, tier, campaign …)
    sa.Column("anchor", sa.Date),                             # the date the task is about (birthday, maturity …)
    sa.Column("created_on", sa.Date, nullable=False),         # generation date that created it
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("closed_at", sa.DateTime),
    sa.Column("outcome", sa.String(64)),
    sa.Column("close_reason", sa.String(64)),
    sa.Column("closed_by", sa.String(128)),
    sa.Column("note", sa.Text),
    sa.Column("escalated_to", sa.String(64)),
    sa.Column("escalated_at", sa.DateTime),
    sa.Index("ix_tasks_status_due", "status", "due_at"),
    sa.Index("ix_tasks_manager_status", "manager_id", "status"),
)

outbox = sa.Table(
    "outbox", metadata,
    sa.Column("message_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("idempotency_key", sa.String(300), nullable=False, unique=True),
    sa.Column("task_key", sa.String(255), nullable=False, index=True),
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("customer_id", sa.String(64), nullable=False),
    sa.Column("recipient", sa.String(300)),
    sa.Column("subject", sa.String(300)),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("send_after", sa.DateTime, nullable=False),
    sa.Column("status", sa.String(12), nullable=False),       # pending | sending | sent | failed
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", sa.DateTime, nullable=False),
    sa.Column("claimed_at", sa.DateTime),
    sa.Column("sent_at", sa.DateTime),
    sa.Column("last_error", sa.Text),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Index("ix_outbox_status_next", "status", "next_attempt_at"),
)

deliveries = sa.Table(
    "deliveries", metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("message_id", sa.Integer, nullable=False, index=True),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("status", sa.String(12), nullable=False),       # sent | error
    sa.Column("detail", sa.Text),
    sa.Column("at", sa.DateTime, nullable=False),
)

contacts = sa.Table(
    "contacts", metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("customer_id", sa.String(64), nullable=False, index=True),
    sa.Column("contact_at", sa.DateTime, nullable=False),
    sa.Column("manager_id", sa.String(64)),
    sa.Column("channel", sa.String(32)),
    sa.Column("outcome", sa.String(64), nullable=False),
    sa.Column("source", sa.String(64), nullable=False),       # contact-log file name or task:<id>
    sa.Column("task_id", sa.Integer),
    sa.UniqueConstraint("customer_id", "contact_at", "manager_id", "channel", name="uq_contacts"),
)

TASK_COLUMNS = tuple(c.name for c in tasks.columns)


class ServicingStore:
    engine: sa.Engine

    def _insert_ignore(self, table: sa.Table):
        """INSERT that skips rows whose unique key exists (SQLite and PostgreSQL)."""
        if self.engine.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        return insert(table).on_conflict_do_nothing()

    # ------------------------------------------------------------------ managers
    def upsert_managers(self, rows: list[dict]) -> dict:
        """Insert or update managers by id; returns {'added': n, 'updated': n}."""
        added = updated = 0
        with self.engine.begin() as conn:
            known = {r[0] for r in conn.execute(sa.select(managers.c.manager_id))}
            for r in rows:
                if r["manager_id"] in known:
                    conn.execute(managers.update().where(managers.c.manager_id == r["manager_id"]).values(**r))
                    updated += 1
                else:
                    conn.execute(managers.insert().values(**r))
                    known.add(r["manager_id"])
                    added += 1
        return {"added": added, "updated": updated}

    def list_managers(self) -> list[dict]:
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(sa.select(managers).order_by(managers.c.manager_id)).mappings()]

    def get_manager(self, manager_id: str) -> dict | None:
        with self.engine.connect() as conn:
            r = conn.execute(sa.select(managers).where(managers.c.manager_id == manager_id)).mappings().first()
        return dict(r) if r else None

    def set_manager_active(self, manager_id: str, active: bool, at: datetime) -> bool:
        with self.engine.begin() as conn:
            res = conn.execute(managers.update().where(managers.c.manager_id == manager_id,
                                                       managers.c.active == (not active))
                               .values(active=active, updated_at=at))
            return res.rowcount == 1

    # ------------------------------------------------------------------ assignments
    def assignment_columns(self) -> tuple[list, list, list]:
        """(customer ids, manager ids, branch ids) of every current assignment."""
        with self.engine.connect() as conn:
            rows = conn.exec_driver_sql("SELECT customer_id, manager_id, branch_id FROM assignments").fetchall()
        if not rows:
            return [], [], []
        c, m, b = zip(*rows)
        return list(c), list(m), list(b)

    def apply_assignments(self, changes: list[dict], *, actor: str, at: datetime, reason: str | None = None,
                          move_open_tasks: bool = True) -> int:
        """Set the owner of each customer in ``changes`` ({customer_id, manager_id, branch_id, rule,
        from_manager}), keep the history, and move their open tasks to the new owner — one transaction."""
        if not changes:
            return 0
        with self.engine.begin() as conn:
            ids = [c["customer_id"] for c in changes]
            for i in range(0, len(ids), 50_000):
                conn.execute(assignments.delete().where(assignments.c.customer_id.in_(ids[i:i + 50_000])))
            conn.execute(assignments.insert(), [
                {"customer_id": c["customer_id"], "manager_id": c["manager_id"], "branch_id": c.get("branch_id"),
                 "rule": c["rule"], "assigned_at": at} for c in changes])
            conn.execute(assignment_history.insert(), [
                {"customer_id": c["customer_id"], "from_manager": c.get("from_manager"), "to_manager": c["manager_id"],
                 "rule": c["rule"], "reason": reason, "actor": actor, "at": at} for c in changes])
            if move_open_tasks:
                moved = [c for c in changes if c.get("from_manager") and c["from_manager"] != c["manager_id"]]
                if moved:
                    conn.execute(tasks.update().where(tasks.c.customer_id == sa.bindparam("cid"),
                                                      tasks.c.status == "open")
                                 .values(manager_id=sa.bindparam("mid"), branch_id=sa.bindparam("bid")),
                                 [{"cid": c["customer_id"], "mid": c["manager_id"], "bid": c.get("branch_id")}
                                  for c in moved])
        return len(changes)

    def assignment_history(self, customer_id: str | None = None) -> list[dict]:
        q = sa.select(assignment_history).order_by(assignment_history.c.seq)
        if customer_id:
            q = q.where(assignment_history.c.customer_id == customer_id)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(q).mappings()]

    # ------------------------------------------------------------------ tasks
    def open_task_columns(self) -> dict[str, list]:
        """Columns of every open task (for finding obsolete ones)."""
        cols = ("task_id", "task_key", "type", "rule", "customer_id", "manager_id", "ref", "anchor", "due_at")
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(*[tasks.c[c] for c in cols]).where(tasks.c.status == "open")).fetchall()
        return {c: [r[i] for r in rows] for i, c in enumerate(cols)}

    def write_generation(self, new_tasks: list[dict], closures: list[dict], messages: list[dict], *,
                         at: datetime) -> dict:
        """In one transaction: insert new tasks and their outbox messages (skipping existing keys) and close
        obsolete tasks ({task_id, reason}). Returns the counts."""
        with self.engine.begin() as conn:
            before = conn.execute(sa.select(sa.func.count()).select_from(tasks)).scalar_one()
            for i in range(0, len(new_tasks), 100_000):
                conn.execute(self._insert_ignore(tasks), new_tasks[i:i + 100_000])
            created = conn.execute(sa.select(sa.func.count()).select_from(tasks)).scalar_one() - before
            mbefore = conn.execute(sa.select(sa.func.count()).select_from(outbox)).scalar_one()
            for i in range(0, len(messages), 100_000):
                conn.execute(self._insert_ignore(outbox), messages[i:i + 100_000])
            queued = conn.execute(sa.select(sa.func.count()).select_from(outbox)).scalar_one() - mbefore
            closed = 0
            if closures:
                res = conn.execute(tasks.update().where(tasks.c.task_id == sa.bindparam("tid"), tasks.c.status == "open")
                                   .values(status="closed", close_reason=sa.bindparam("reason"),
                                           closed_at=sa.bindparam("closed"), closed_by="system"),
                                   [{"tid": c["task_id"], "reason": c["reason"], "closed": c.get("at") or at}
                                    for c in closures])
                closed = max(res.rowcount, 0)
        return {"created": created, "queued": queued, "closed": closed}

    def get_task(self, task_id: int) -> dict | None:
        with self.engine.connect() as conn:
            r = conn.execute(sa.select(tasks).where(tasks.c.task_id == task_id)).mappings().first()
        return dict(r) if r else None

    def task_by_key(self, task_key: str) -> dict | None:
        with self.engine.connect() as conn:
            r = conn.execute(sa.select(tasks).where(tasks.c.task_key == task_key)).mappings().first()
        return dict(r) if r else None

    def find_tasks(self, *, manager_ids: set[str] | None = None, customer_id: str | None = None,
                   status: str | None = None, type: str | None = None, due_before: datetime | None = None,
                   limit: int | None = 100, offset: int = 0) -> list[dict]:
        q = sa.select(tasks)
        if manager_ids is not None:
            q = q.where(sa.or_(tasks.c.manager_id.in_(sorted(manager_ids)),
                               tasks.c.escalated_to.in_(sorted(manager_ids))))
        if customer_id is not None:
            q = q.where(tasks.c.customer_id == customer_id)
        if status is not None:
            q = q.where(tasks.c.status == status)
        if type is not None:
            q = q.where(tasks.c.type == type)
        if due_before is not None:
            q = q.where(tasks.c.due_at < due_before)
        q = q.order_by(tasks.c.due_at, tasks.c.priority, tasks.c.task_id).offset(offset)
        if limit is not None:
            q = q.limit(limit)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(q).mappings()]

    def close_task(self, task_id: int, *, status: str, outcome: str | None, reason: str | None, actor: str,
                   at: datetime, note: str | None = None) -> bool:
        """Complete (status done) or close one open task; False if it is not open (compare-and-set)."""
        with self.engine.begin() as conn:
            res = conn.execute(tasks.update().where(tasks.c.task_id == task_id, tasks.c.status == "open")
                               .values(status=status, outcome=outcome, close_reason=reason, closed_by=actor,
                                       closed_at=at, note=note))
            return res.rowcount == 1

    def escalate_tasks(self, rows: list[dict], at: datetime, new_tasks: dict[int, dict]) -> list[dict]:
        """Mark open tasks ({task_id, to}) escalated, once each (compare-and-set), and add the escalation
        task of each one escalated now — one transaction. Returns the rows escalated now."""
        done = []
        with self.engine.begin() as conn:
            for r in rows:
                res = conn.execute(tasks.update().where(tasks.c.task_id == r["task_id"], tasks.c.status == "open",
                                                        tasks.c.escalated_at.is_(None))
                                   .values(escalated_to=r["to"], escalated_at=at))
                if res.rowcount == 1:
                    done.append(r)
                    if r["task_id"] in new_tasks:
                        conn.execute(self._insert_ignore(tasks), [new_tasks[r["task_id"]]])
        return done

    def overdue_alerts(self, now: datetime) -> list[dict]:
        q = (sa.select(tasks).where(tasks.c.type == "alert", tasks.c.status == "open", tasks.c.due_at < now,
                                    tasks.c.escalated_at.is_(None)).order_by(tasks.c.task_id))
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(q).mappings()]

    def task_facts(self, since: datetime, until: datetime) -> list[tuple]:
        """(type, rule, manager_id, branch_id, tier, due_at, status, closed_at, outcome, close_reason, anchor) of
        tasks due in [since, until) or still open, for compliance reports."""
        cols = ("type", "rule", "manager_id", "branch_id", "tier", "due_at", "status", "closed_at", "outcome",
                "close_reason", "anchor")
        q = sa.select(*[tasks.c[c] for c in cols]).where(
            sa.or_(sa.and_(tasks.c.due_at >= since, tasks.c.due_at < until), tasks.c.status == "open"))
        with self.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(q)]

    # ------------------------------------------------------------------ outbox
    def due_messages(self, now: datetime, channel: str | None = None, limit: int = 1000) -> list[dict]:
        q = sa.select(outbox).where(outbox.c.status == "pending", outbox.c.send_after <= now,
                                    outbox.c.next_attempt_at <= now)
        if channel:
            q = q.where(outbox.c.channel == channel)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(q.order_by(outbox.c.message_id).limit(limit)).mappings()]

    def claim_message(self, message_id: int, now: datetime) -> bool:
        """Take a pending message for sending (compare-and-set): only one sender ever gets it."""
        with self.engine.begin() as conn:
            res = conn.execute(outbox.update().where(outbox.c.message_id == message_id, outbox.c.status == "pending")
                               .values(status="sending", claimed_at=now, attempts=outbox.c.attempts + 1))
            return res.rowcount == 1

    def record_delivery(self, message_id: int, *, ok: bool, detail: str | None, at: datetime,
                        retry_at: datetime | None, task_key: str | None = None) -> str:
        """Record one attempt and the message's new state: sent, pending again (retry) or failed.
        A sent message completes its task (outcome ``sent``)."""
        with self.engine.begin() as conn:
            msg = conn.execute(sa.select(outbox).where(outbox.c.message_id == message_id)).mappings().one()
            status = "sent" if ok else ("pending" if retry_at is not None else "failed")
            conn.execute(deliveries.insert().values(message_id=message_id, attempt=msg["attempts"],
                                                    channel=msg["channel"], status="sent" if ok else "error",
                                                    detail=detail, at=at))
            conn.execute(outbox.update().where(outbox.c.message_id == message_id, outbox.c.status == "sending")
                         .values(status=status, sent_at=at if ok else None, last_error=None if ok else detail,
                                 next_attempt_at=retry_at or msg["next_attempt_at"]))
            if ok:
                conn.execute(tasks.update().where(tasks.c.task_key == msg["task_key"], tasks.c.status == "open")
                             .values(status="done", outcome="sent", closed_at=at, closed_by="outbox"))
        return status

    def list_outbox(self, status: str | None = None, channel: str | None = None, limit: int | None = 100) -> list[dict]:
        q = sa.select(outbox).order_by(outbox.c.message_id)
        if status:
            q = q.where(outbox.c.status == status)
        if channel:
            q = q.where(outbox.c.channel == channel)
        if limit:
            q = q.limit(limit)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(q).mappings()]

    def list_deliveries(self, message_id: int | None = None) -> list[dict]:
        q = sa.select(deliveries).order_by(deliveries.c.seq)
        if message_id is not None:
            q = q.where(deliveries.c.message_id == message_id)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(q).mappings()]

    # ------------------------------------------------------------------ contacts
    def add_contacts(self, rows: list[dict], closes: Iterable[dict] = ()) -> int:
        """Insert contacts (skipping ones already logged) and complete the cadence tasks they close
        ({task_id, outcome, at, actor}) — one transaction. Returns the number of new contacts."""
        with self.engine.begin() as conn:
            before = conn.execute(sa.select(sa.func.count()).select_from(contacts)).scalar_one()
            if rows:
                conn.execute(self._insert_ignore(contacts), rows)
            added = conn.execute(sa.select(sa.func.count()).select_from(contacts)).scalar_one() - before
            for c in closes:
                conn.execute(tasks.update().where(tasks.c.task_id == c["task_id"], tasks.c.status == "open")
                             .values(status="done", outcome=c["outcome"], close_reason="contacted",
                                     closed_by=c["actor"], closed_at=c["at"]))
        return added

    def last_contacts(self, outcomes: list[str], until: datetime) -> dict[str, datetime]:
        """customer → time of the latest logged contact with a counting outcome up to ``until``."""
        q = (sa.select(contacts.c.customer_id, sa.func.max(contacts.c.contact_at))
             .where(contacts.c.outcome.in_(outcomes), contacts.c.contact_at <= until)
             .group_by(contacts.c.customer_id))
        with self.engine.connect() as conn:
            return {r[0]: r[1] for r in conn.execute(q)}

    def list_contacts(self, customer_id: str | None = None) -> list[dict]:
        q = sa.select(contacts).order_by(contacts.c.contact_at, contacts.c.seq)
        if customer_id:
            q = q.where(contacts.c.customer_id == customer_id)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(q).mappings()]


def as_date(v) -> date | None:
    """A stored date or datetime as a date."""
    if v is None:
        return None
    return v.date() if isinstance(v, datetime) else v
