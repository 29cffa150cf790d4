"""Messages through real channels on loopback: an SMTP server (aiosmtpd) and an HTTP server in a thread.
A failing channel is retried and nothing is ever sent twice."""

from __future__ import annotations

import email
import email.policy
import json
import socket
import threading
from datetime import date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml

from tierwise.app.importing import import_table
from tierwise.app.servicing import compliance, list_tasks
from tierwise.app.servicing_generate import generate_tasks
from tierwise.app.servicing_outbox import export_sms, send_outbox
from tierwise.app.workspace import open_workspace

CUSTOMERS = """customer_id,name,phone,email,birthday,open_date,manager_id,branch_id
A1,周一,13900000001,a1@example.com,1970-03-12,2010-01-01,M1,B1
A2,吴二,13900000002,a2@example.com,1985-03-14,2024-03-08,M1,B1
A3,郑三,13900000003,,1990-03-13,2011-01-01,M1,B1
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp():
    from aiosmtpd.controller import Controller

    class Handler:
        def __init__(self):
            self.messages = []

        async def handle_DATA(self, server, session, envelope):
            self.messages.append((envelope.rcpt_tos, envelope.content.decode("utf-8", "replace")))
            return "250 OK"

    h = Handler()
    ctl = Controller(h, hostname="127.0.0.1", port=free_port())
    ctl.start()
    yield ctl, h
    ctl.stop()


@pytest.fixture
def webhook():
    state = {"fail_first": 0, "requests": [], "keys": set()}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            state["requests"].append((self.headers["Idempotency-Key"], body))
            if len(state["requests"]) <= state["fail_first"]:
                self.send_response(503)
                self.end_headers()
                return
            state["keys"].add(self.headers["Idempotency-Key"])
            self.send_response(200)
            self.end_headers()

        def log_message(self, *a):
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}/hook", state
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def shop(make_workspace, tmp_path, smtp, webhook):
    ws = make_workspace("bank")
    pol = ws.policy_path.read_text(encoding="utf-8")
    pol = pol.replace("greeting: {template: birthday_greeting, channel: sms", "greeting: {template: birthday_greeting, "
                                                                          "channel: email", 1)
    pol = pol.replace("{id: welcome, template: onboarding_welcome, channel: sms", "{id: welcome, template: "
                                                                                  "onboarding_welcome, channel: webhook", 1)
    ws.policy_path.write_text(pol, encoding="utf-8")
    settings = yaml.safe_load((ws.root / "workspace.yaml").read_text(encoding="utf-8"))
    settings["channels"] = {"smtp": {"host": "127.0.0.1", "port": smtp[0].port, "sender": "bank@example.com"},
                            "webhook": {"url": webhook[0], "timeout": 5}, "max_attempts": 3,
                            "retry_delays_seconds": [0, 0]}
    (ws.root / "workspace.yaml").write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
    (tmp_path / "c.csv").write_text(CUSTOMERS, encoding="utf-8")
    ws = open_workspace(ws.root)
    import_table(ws, "customers", str(tmp_path / "c.csv"), today=date(2024, 3, 10))
    generate_tasks(ws, date(2024, 3, 10))
    return ws


def test_email_and_webhook_are_sent_once_each(shop, smtp, webhook):
    ws, (_, handler), (_, state) = shop, smtp, webhook
    # 12 March: A1's greeting is due at 09:00; A2's welcome was due when she opened; A3 has no e-mail
    res = send_outbox(ws, now=datetime(2024, 3, 12, 9, 0))
    assert res == {"sent": 2, "retry": 0, "failed": 0}
    assert len(handler.messages) == 1 and handler.messages[0][0] == ["a1@example.com"]
    mail = email.message_from_string(handler.messages[0][1], policy=email.policy.default)
    assert "周一" in mail.get_content() and mail["X-Tierwise-Idempotency-Key"] == "birthday:A1:2024|email"
    assert [k for k, _ in state["requests"]] == ["onboarding:welcome:A2|webhook"]
    assert state["requests"][0][1]["customer_id"] == "A2" and "吴二" in state["requests"][0][1]["body"]
    # sending again, and generating again, sends nothing more
    generate_tasks(ws, date(2024, 3, 12))
    assert send_outbox(ws, now=datetime(2024, 3, 12, 10, 0)) == {"sent": 0, "retry": 0, "failed": 0}
    assert len(handler.messages) == 1 and len(state["requests"]) == 1
    # 13 March: A3 has no address: failed at once, not retried
    assert send_outbox(ws, now=datetime(2024, 3, 13, 9, 0)) == {"sent": 0, "retry": 0, "failed": 1}
    failed = ws.store().list_outbox(status="failed")
    assert [m["customer_id"] for m in failed] == ["A3"] and failed[0]["attempts"] == 1
    # a sent greeting completes its task on the day: compliance counts it
    done = [t for t in list_tasks(ws, status="done") if t["rule"] == "birthday.greeting"]
    assert [(t["customer_id"], t["outcome"]) for t in done] == [("A1", "sent")]
    total = compliance(ws, by="manager", as_of=date(2024, 3, 13), since=date(2024, 3, 1))[-1]
    assert (total["birthdays"], total["birthdays_on_day"]) == (2, 1)


def test_a_failing_webhook_is_retried_and_never_doubles(shop, webhook):
    ws, (_, state) = shop, webhook
    state["fail_first"] = 2
    res = send_outbox(ws, channel="webhook", now=datetime(2024, 3, 12, 9, 0))
    assert res == {"sent": 1, "retry": 0, "failed": 0}
    assert len(state["requests"]) == 3 and state["keys"] == {"onboarding:welcome:A2|webhook"}
    (msg,) = ws.store().list_outbox(channel="webhook")
    assert msg["status"] == "sent" and msg["attempts"] == 3
    assert [d["status"] for d in ws.store().list_deliveries(msg["message_id"])] == ["error", "error", "sent"]
    assert send_outbox(ws, channel="webhook", now=datetime(2024, 3, 12, 9, 5))["sent"] == 0
    assert len(state["requests"]) == 3


def test_a_dead_webhook_gives_up_after_max_attempts(shop, webhook):
    ws, (_, state) = shop, webhook
    state["fail_first"] = 99
    assert send_outbox(ws, channel="webhook", now=datetime(2024, 3, 12, 9, 0)) == {"sent": 0, "retry": 0, "failed": 1}
    assert len(state["requests"]) == 3


def test_a_claimed_message_is_not_sent_by_a_second_sender(shop, webhook):
    ws, (_, state) = shop, webhook
    (msg,) = ws.store().list_outbox(channel="webhook")
    assert ws.store().claim_message(msg["message_id"], datetime(2024, 3, 12, 9, 0))   # another sender took it
    assert send_outbox(ws, channel="webhook", now=datetime(2024, 3, 12, 9, 0))["sent"] == 0
    assert state["requests"] == []


def test_sms_export_is_atomic_and_once(make_workspace, tmp_path):
    ws = make_workspace("bank")
    (tmp_path / "c.csv").write_text(CUSTOMERS, encoding="utf-8")
    import_table(ws, "customers", str(tmp_path / "c.csv"), today=date(2024, 3, 10))
    generate_tasks(ws, date(2024, 3, 10))
    res = export_sms(ws, tmp_path / "sms.csv", now=datetime(2024, 3, 12, 9, 0))
    text = (tmp_path / "sms.csv").read_text(encoding="utf-8-sig").splitlines()
    assert res["exported"] == 2 and text[0] == "idempotency_key,customer_id,phone,message,send_after"
    assert sorted(line.split(",")[1] for line in text[1:]) == ["A1", "A2"]
    assert export_sms(ws, tmp_path / "sms2.csv", now=datetime(2024, 3, 12, 9, 0))["exported"] == 0
