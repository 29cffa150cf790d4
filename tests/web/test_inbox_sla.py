"""The inbox's SLA countdown on real alert tasks made by the churn-warning path (issue #8, #7 item 4).

The API tests' bank workspace gets two real generations: the daily one for 2024-11-01 (the day after
the 2024-10-31 run: churn warnings new since 2024-09-30 become alerts due 24 hours after 08:00 on
2024-11-01, long overdue now), and a ``run`` as of today, whose post-run generation turns today's new
churn warnings into alerts due 24 hours from now. The inbox page must show each alert's countdown as
its due time minus the moment of the request (negative and marked late once overdue), and the
page's script must keep counting down in Chromium.
"""

from __future__ import annotations

import re
import shutil
import threading
import time
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pyarrow.parquet as pq
import pytest

from api.workspace import PASSWORD, USERS
from web.conftest import ARGS, free_port

pytestmark = pytest.mark.slow
ZONE = ZoneInfo("Asia/Shanghai")      # the bank preset's servicing time zone: task times are local


def local_now() -> datetime:
    return datetime.now(ZONE).replace(tzinfo=None)


def new_churn(ws, run_id: str, previous_run_id: str) -> dict[str, set[str]]:
    """customer → churn codes in ``run_id``'s snapshot that were not in the previous one (read here)."""
    def codes(rid):
        t = pq.read_table(ws.snapshots / rid / "customers.parquet", columns=["customer_id", "churn_warnings"])
        return {r["customer_id"]: set(filter(None, (r["churn_warnings"] or "").split(","))) for r in t.to_pylist()}

    now, before = codes(run_id), codes(previous_run_id)
    wanted = set(ws.policy().servicing.alerts.churn_codes)
    return {c: (v - before.get(c, set())) & wanted for c, v in now.items() if (v - before.get(c, set())) & wanted}


@pytest.fixture(scope="module")
def alerts(base_root, tmp_path_factory):
    """A copy of the workspace with the two generations, served by uvicorn on loopback."""
    import uvicorn

    from tierwise.app.run import run_evaluation
    from tierwise.app.servicing_generate import generate_tasks
    from tierwise.app.workspace import open_workspace
    from tierwise.snapshots.store import SnapshotStore
    from tierwise.web.server import create_app

    root = tmp_path_factory.mktemp("sla") / "ws"
    shutil.copytree(base_root, root)
    ws = open_workspace(root)
    generate_tasks(ws, date(2024, 11, 1), actor="test")
    today = local_now().date()
    rec = run_evaluation(ws, today, actor="test")
    assert rec["servicing"]["on"] == today.isoformat(), rec["servicing"]
    snaps = {s.as_of: s.run_id for s in SnapshotStore(ws.snapshots).in_force()}
    expected = {
        "late": (new_churn(ws, snaps[date(2024, 10, 31)], snaps[date(2024, 9, 30)]), date(2024, 10, 31)),
        "fresh": (new_churn(ws, rec["run_id"], snaps[date(2024, 10, 31)]), today),
    }
    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(create_app(root), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not srv.started:
        assert time.time() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", ws, expected
    srv.should_exit = True
    thread.join(10)


def alert_tasks(ws, as_of: date) -> list[dict]:
    return [t for t in ws.store().find_tasks(type="alert", status="open", limit=None)
            if t["task_key"].startswith("alert:churn:") and t["task_key"].endswith(":" + as_of.isoformat())]


def user_of(manager_id: str) -> str:
    return next(u for u, (role, mid, _) in USERS.items() if mid == manager_id)


@pytest.mark.parametrize("which", ["fresh", "late"])
def test_inbox_shows_the_countdown_of_a_real_churn_alert(alerts, which):
    base, ws, expected = alerts
    churn, as_of = expected[which]
    tasks = alert_tasks(ws, as_of)
    # the alerts are exactly the customers with new churn warnings, due the policy's SLA after generation
    assert churn and {t["customer_id"] for t in tasks} == set(churn)
    sla = timedelta(hours=ws.policy().servicing.alerts.sla_hours)
    generated_at = datetime.combine(date(2024, 11, 1), datetime.min.time().replace(hour=8)) if which == "late" \
        else None
    for t in tasks:
        assert t["due_at"] - (generated_at or t["created_at"]) == sla
    task = min(tasks, key=lambda t: t["task_id"])
    with httpx.Client(base_url=base) as c:
        page = c.get("/login")
        r = c.post("/login", data={"username": user_of(task["manager_id"]), "password": PASSWORD,
                                   "csrf_token": page.cookies["tw_login_csrf"]})
        assert r.status_code == 303
        t0 = local_now()
        html = c.get("/inbox").text
        t1 = local_now()
    m = re.search(rf'<div class="sla( late)?" data-sla-seconds="(-?\d+)" data-testid="sla-{task["task_id"]}">\s*'
                  rf'SLA <span class="clock">([^<]*)</span>', html)
    assert m, f"no countdown for task {task['task_id']}"
    late, seconds, clock = bool(m.group(1)), int(m.group(2)), m.group(3)
    # the countdown is the due time minus the moment the page was made
    assert int((task["due_at"] - t1).total_seconds()) - 1 <= seconds <= int((task["due_at"] - t0).total_seconds()) + 1
    assert late == (which == "late") == (seconds < 0)
    s = abs(seconds)
    days, hours, minutes = s // 86400, s % 86400 // 3600, s % 3600 // 60
    assert clock == ("-" if seconds < 0 else "") + (f"{days}d " if days else "") + f"{hours:02d}:{minutes:02d}"
    if which == "fresh":
        assert 23 * 3600 < seconds <= 24 * 3600


def test_the_countdown_ticks_in_the_browser(alerts, chromium):
    from playwright.sync_api import sync_playwright

    base, ws, expected = alerts
    task = min(alert_tasks(ws, expected["fresh"][1]), key=lambda t: t["task_id"])
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=ARGS)
        try:
            page = browser.new_page(locale="zh-CN")
            page.goto(f"{base}/login")
            page.fill("input[name=username]", user_of(task["manager_id"]))
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(re.compile(r".*/dashboard$"))
            page.goto(f"{base}/inbox")
            el = page.locator(f"[data-testid=sla-{task['task_id']}]")
            given = int(el.get_attribute("data-sla-seconds"))

            def left() -> int:
                h, m, s = (int(x) for x in el.locator(".clock").inner_text().split(":"))
                return h * 3600 + m * 60 + s

            first = left()
            time.sleep(2.5)
            second = left()
        finally:
            browser.close()
    assert given - 2 <= first <= given          # the script starts from the server's figure …
    assert 1 <= first - second <= 4              # … and counts down, second by second
