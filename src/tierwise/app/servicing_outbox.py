"""Sending the outbox: an SMS-platform export (CSV or xlsx), e-mail over SMTP, a JSON webhook.

Delivery is **at most once** per message, and every attempt is recorded:

1. a due message is *claimed* first: a compare-and-set from ``pending`` to ``sending`` in its own
   transaction, so two senders running at once can never both take it;
2. it is sent, carrying its idempotency key (the e-mail's ``Message-ID`` and an
   ``X-Tierwise-Idempotency-Key`` header; the webhook's ``Idempotency-Key`` header and JSON field),
   so a receiver can drop a repeat;
3. the outcome is recorded after: ``sent`` (its task is done, outcome ``sent``), ``pending`` again with
   the next retry time, or ``failed`` after ``max_attempts``.

A process killed between 1 and 3 leaves the message ``sending``: it is never sent again by itself
(it may have gone out); ``tierwise outbox list --status sending`` shows such messages for a person to
check.

Channel settings (SMTP host and port, webhook URL, export folder) are **deployment settings** in
``workspace.yaml`` (``channels:``), not policy: they differ between a test and a production install
of the same policy, and passwords are named by environment variable, never written in a file.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import smtplib
import urllib.error
import urllib.request
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from tierwise.atomic import write_atomic
from tierwise.errors import UserInputError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SmtpSettings(_Strict):
    host: str = Field(description="SMTP server")
    port: int = Field(25, ge=1, le=65535)
    starttls: bool = Field(False, description="upgrade the connection with STARTTLS")
    ssl: bool = Field(False, description="connect with TLS from the start (port 465)")
    username: str | None = None
    password_env: str | None = Field(None, description="name of the environment variable holding the password")
    sender: str = Field("tierwise@localhost", description="From address")
    timeout: float = Field(10, gt=0)


class WebhookSettings(_Strict):
    url: str = Field(description="URL the JSON is POSTed to")
    timeout: float = Field(10, gt=0)
    headers: dict[str, str] = Field(default_factory=dict, description="extra HTTP headers")


class SmsSettings(_Strict):
    folder: str = Field("outbox", description="folder (relative to the workspace) for SMS export files")
    format: str = Field("csv", pattern="^(csv|xlsx)$", description="csv (UTF-8 with BOM) or xlsx")


class ChannelSettings(_Strict):
    """``channels:`` in workspace.yaml."""

    smtp: SmtpSettings | None = None
    webhook: WebhookSettings | None = None
    sms: SmsSettings = Field(default_factory=SmsSettings)
    max_attempts: int = Field(3, ge=1, le=20, description="attempts before a message is marked failed")
    retry_delays_seconds: list[float] = Field([60, 300, 1800], description="wait before attempt 2, 3, …")


def _channels(ws) -> ChannelSettings:
    return ws.settings.channels


def _retry_at(cs: ChannelSettings, attempts: int, now: datetime) -> datetime | None:
    if attempts >= cs.max_attempts:
        return None
    delays = cs.retry_delays_seconds or [0]
    return now + timedelta(seconds=delays[min(attempts - 1, len(delays) - 1)])


def message_id(key: str) -> str:
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@tierwise>"


def send_email(cs: ChannelSettings, msg: dict) -> str:
    s = cs.smtp
    if s is None:
        raise _Permanent("no SMTP server configured (workspace.yaml → channels → smtp)")
    if not msg["recipient"]:
        raise _Permanent("the customer has no e-mail address")
    em = EmailMessage()
    em["From"], em["To"] = s.sender, msg["recipient"]
    em["Subject"] = msg["subject"] or "tierwise"
    em["Message-ID"] = message_id(msg["idempotency_key"])
    em["X-Tierwise-Idempotency-Key"] = msg["idempotency_key"]
    em.set_content(msg["body"])
    cls = smtplib.SMTP_SSL if s.ssl else smtplib.SMTP
    with cls(s.host, s.port, timeout=s.timeout) as smtp:
        if s.starttls:
            smtp.starttls()
        if s.username:
            smtp.login(s.username, os.environ.get(s.password_env or "", ""))
        refused = smtp.send_message(em)
    if refused:
        raise _Permanent(f"recipient refused: {refused}")
    return f"smtp {s.host}:{s.port} accepted {em['Message-ID']}"


def send_webhook(cs: ChannelSettings, msg: dict) -> str:
    w = cs.webhook
    if w is None:
        raise _Permanent("no webhook configured (workspace.yaml → channels → webhook)")
    payload = {k: msg[k] for k in ("idempotency_key", "task_key", "customer_id", "channel", "recipient", "subject",
                                   "body")}
    payload["send_after"] = msg["send_after"].isoformat()
    req = urllib.request.Request(w.url, data=json.dumps(payload, ensure_ascii=False).encode("utf-8"), method="POST",
                                 headers={"Content-Type": "application/json; charset=utf-8",
                                          "Idempotency-Key": msg["idempotency_key"], **w.headers})
    with urllib.request.urlopen(req, timeout=w.timeout) as resp:
        return f"HTTP {resp.status}"


class _Permanent(Exception):
    """A failure retrying cannot fix (no address, no channel configured)."""


SENDERS = {"email": send_email, "webhook": send_webhook}


def send_outbox(ws, *, channel: str | None = None, now: datetime | None = None, limit: int = 10_000,
                clock=None) -> dict:
    """Send every due e-mail and webhook message (SMS goes through :func:`export_sms`); retries that are
    due again within this call are attempted in it. Returns counts."""
    from tierwise.app.servicing_generate import local_now

    if channel not in (None, "email", "webhook"):
        raise UserInputError(f"outbox send --channel {channel}: use email or webhook (SMS: tierwise outbox export)")
    policy = ws.policy()
    cs = _channels(ws)
    store = ws.store()
    tick = clock or (lambda: now or local_now(policy.servicing))
    counts = {"sent": 0, "retry": 0, "failed": 0}
    for _ in range(cs.max_attempts):
        due = [m for m in store.due_messages(tick(), channel, limit) if m["channel"] in SENDERS]
        if not due:
            break
        ring = ws.keyring()
        for m in due:
            t = tick()
            if not store.claim_message(m["message_id"], t):
                continue                                   # another sender has it
            m = opened(ring, m)
            attempts = m["attempts"] + 1
            try:
                detail = SENDERS[m["channel"]](cs, m)
                ok, retry = True, None
            except _Permanent as exc:
                detail, ok, retry = str(exc), False, None
            except (OSError, smtplib.SMTPException, urllib.error.URLError, ValueError) as exc:
                detail, ok = f"{type(exc).__name__}: {exc}", False
                retry = _retry_at(cs, attempts, t)
            status = store.record_delivery(m["message_id"], ok=ok, detail=detail, at=tick(), retry_at=retry)
            counts["sent" if status == "sent" else "retry" if status == "pending" else "failed"] += 1
    counts["retry"] = len([m for m in store.list_outbox(status="pending", channel=channel, limit=None)
                           if m["channel"] in SENDERS and m["attempts"] > 0])
    return counts


def export_sms(ws, path: str | Path | None = None, *, now: datetime | None = None, fmt: str | None = None) -> dict:
    """Write every due SMS to one file for the SMS platform (atomically) and mark them sent."""
    from tierwise.app.servicing_generate import local_now

    cs = _channels(ws)
    store = ws.store()
    now = now or local_now(ws.policy().servicing)
    fmt = fmt or (Path(path).suffix.lstrip(".") if path else cs.sms.format)
    if fmt not in ("csv", "xlsx"):
        raise UserInputError(f"SMS export format '{fmt}': use csv or xlsx")
    due = [m for m in store.due_messages(now, "sms", 1_000_000)]
    claimed = [m for m in due if store.claim_message(m["message_id"], now)]
    if claimed:  # the SMS platform's file holds numbers and texts in clear: it is an audited export
        ring = ws.keyring()
        claimed = [opened(ring, m) for m in claimed]
    if not claimed:
        return {"exported": 0, "path": None}
    out = Path(path) if path else ws.root / cs.sms.folder / f"sms-{now:%Y%m%d-%H%M%S}.{fmt}"
    out.parent.mkdir(parents=True, exist_ok=True)
    header = ["idempotency_key", "customer_id", "phone", "message", "send_after"]
    rows = [[m["idempotency_key"], m["customer_id"], m["recipient"] or "", m["body"], m["send_after"].isoformat()]
            for m in claimed]
    try:
        if fmt == "csv":
            buf = io.StringIO()
            w = csv.writer(buf)
            w.writerow(header)
            w.writerows(rows)
            write_atomic(out, "\ufeff" + buf.getvalue())
        else:
            import xlsxwriter
            tmp = out.with_name(f"_{out.name}.tmp")
            wb = xlsxwriter.Workbook(str(tmp))
            ws_ = wb.add_worksheet("sms")
            for r, vals in enumerate([header, *rows]):
                ws_.write_row(r, 0, vals)
            wb.close()
            os.replace(tmp, out)
    except OSError as exc:
        for m in claimed:
            store.record_delivery(m["message_id"], ok=False, detail=f"export failed: {exc}", at=now,
                                  retry_at=_retry_at(cs, m["attempts"] + 1, now))
        raise UserInputError(f"{out}: cannot write the SMS export: {exc}") from None
    for m in claimed:
        store.record_delivery(m["message_id"], ok=True, detail=f"exported to {out}", at=now, retry_at=None)
    store.audit("system", "export.personal", str(out), {"kind": "sms", "messages": len(claimed)})
    return {"exported": len(claimed), "path": str(out)}


def list_outbox(ws, *, status: str | None = None, channel: str | None = None, limit: int | None = 100) -> list[dict]:
    """Outbox messages for operators: text opened, recipients masked."""
    from tierwise.protect.mask import mask_value

    rows = ws.store().list_outbox(status, channel, limit)
    ring = ws.keyring() if rows else None
    out = []
    for r in rows:
        r = opened(ring, r)
        r["recipient"] = mask_value("email" if "@" in (r["recipient"] or "") else "phone", r["recipient"])
        out.append({k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in r.items()})
    return out


def opened(ring, m: dict) -> dict:
    """An outbox row with its sealed recipient and body opened (see ``servicing_generate._rows``)."""
    from tierwise.protect.vault import open_text

    m = dict(m)
    key = m["idempotency_key"]
    m["recipient"] = open_text(ring, m.get("recipient"), f"outbox.recipient|{key}")
    m["body"] = open_text(ring, m.get("body"), f"outbox.body|{key}")
    return m
