"""Load on ``tierwise serve`` while ``tierwise run`` publishes a new snapshot (issue #11 item 6, #8).

What it does (all on loopback):

1. starts ``tierwise serve ROOT --due-every 0`` as a real process (uvicorn) on a free port;
2. logs in ``--sessions`` concurrent sessions (asyncio + httpx), spread over the given users (by
   default an admin, an analyst, a branch manager and two relationship managers), each looping over
   the customer list (random page), customer 360 of a customer in its scope, customer 360 of one
   *outside* it (must be 404), the dashboard (API and page) and the task list;
3. after ``--run-after`` seconds starts ``tierwise run ROOT --as-of DATE`` as a second process, which
   publishes a new snapshot (and generates its tasks) while the sessions go on, and keeps the load
   for ``--after-publish`` seconds once it is done;
4. checks every answer afterwards, against what it reads itself from the workspace (the customers'
   owners from the data area and the store's assignments, the published snapshot files):

   * **errors**: a 5xx, a transport error, or any status other than the one expected;
   * **leaks**: a customer, list item or task outside the session's scope, or a 200 for a customer
     outside it;
   * **torn answers**: an answer must name a published snapshot (old or new) and agree with it — each
     list item's and customer 360's tier equals that snapshot's row, the list total and the
     dashboard's customer count and tier pyramid equal the scope's counts in it, the 360's tier
     history ends with that snapshot and the dashboard's "previous" is the run before it.

The results (latency p50/p95/p99 per request kind, requests per second, errors, leaks, torn answers,
answers per snapshot, machine and load) print as JSON and go to ``--out``.

Usage::

    # a workspace of 2,000 customers with users (about 2 min), then the load
    uv run python bench/web/load_during_run.py --build /tmp/tw-load --customers 2000 --sessions 40 --seconds 60
    # an existing workspace whose users share one password
    uv run python bench/web/load_during_run.py --root WS --users admin1,analyst1,bm1,rm1,rm2 --password PW

``tests/web/test_load.py`` runs :func:`load_during_run` small (10 sessions, about 1 min) and asserts
zero errors, leaks and torn answers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import httpx
import pyarrow.parquet as pq

DEFAULT_USERS = ("admin1", "analyst1", "bm1", "rm1", "rm2")


# --------------------------------------------------------------------------- what each user may see
@dataclass
class Scope:
    """A user's customers, read from the workspace itself (not through the server's access layer)."""

    user: str
    role: str
    customers: frozenset[str] | None          # None: every customer
    managers: frozenset[str] | None

    def sees(self, customer_id: str) -> bool:
        return self.customers is None or customer_id in self.customers


def owners(root: Path) -> dict[str, tuple[str | None, str | None]]:
    """customer → (manager, branch): the store's assignment, else the customers table's columns."""
    from tierwise.app.workspace import open_workspace

    ws = open_workspace(root)
    out = {}
    for f in ws.data.table_files("customers"):
        for r in pq.read_table(f, columns=["customer_id", "manager_id", "branch_id"]).to_pylist():
            out[r["customer_id"]] = (r["manager_id"], r["branch_id"])
    with sqlite3.connect(f"file:{root / 'store.db'}?mode=ro", uri=True) as con:
        for cid, mid, bid in con.execute("SELECT customer_id, manager_id, branch_id FROM assignments"):
            out[cid] = (mid, bid)
    return out


def scopes(root: Path, users: list[str]) -> dict[str, Scope]:
    own = owners(root)
    with sqlite3.connect(f"file:{root / 'store.db'}?mode=ro", uri=True) as con:
        info = {u: (role, mid, bid) for u, role, mid, bid in con.execute(
            "SELECT username, role, manager_id, branch_id FROM users")}
    out = {}
    for u in users:
        role, mid, bid = info[u]
        if role in ("admin", "analyst"):
            out[u] = Scope(u, role, None, None)
        elif role == "branch_manager":
            ids = frozenset(c for c, (m, b) in own.items() if b == bid)
            out[u] = Scope(u, role, ids, frozenset(m for c, (m, b) in own.items() if b == bid))
        else:
            out[u] = Scope(u, role, frozenset(c for c, (m, _) in own.items() if m == mid), frozenset([mid]))
    return out


# --------------------------------------------------------------------------- the load
@dataclass
class Answer:
    user: str
    kind: str
    path: str
    status: int | None
    seconds: float
    at: float
    body: dict | list | None = None
    error: str | None = None
    customer: str | None = None


@dataclass
class Plan:
    root: Path
    users: list[str]
    password: str
    sessions: int = 10
    run_as_of: str = "2024-11-30"
    run_after: float = 3.0
    after_publish: float = 3.0
    max_seconds: float = 120.0
    think: float = 0.0          # seconds each session waits between its requests
    seed: int = 1
    weights: dict = field(default_factory=lambda: {"list": 30, "360": 30, "360_other": 10, "dashboard": 15,
                                                   "dashboard_page": 5, "tasks": 10})


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(root: Path, port: int, workers: int = 1) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "tierwise", "serve", str(root), "--port", str(port), "--due-every", "0"]
    if workers > 1:
        cmd += ["--workers", str(workers)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"tierwise serve exited with {proc.returncode}: {proc.stderr.read()}")
        try:
            if httpx.get(base + "/login", timeout=2).status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("tierwise serve did not answer within 90 s")


def stop_server(proc: subprocess.Popen) -> None:
    import signal

    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


async def session(base: str, user: str, plan: Plan, scope: Scope, everyone: list[str], stop: asyncio.Event,
                  rng: random.Random, out: list[Answer]) -> None:
    own = sorted(scope.customers) if scope.customers is not None else everyone
    others = [c for c in everyone if not scope.sees(c)]
    kinds = list(plan.weights)
    async with httpx.AsyncClient(base_url=base, timeout=60) as c:
        r = await c.post("/api/v1/auth/login", json={"username": user, "password": plan.password})
        r.raise_for_status()
        while not stop.is_set():
            kind = rng.choices(kinds, weights=[plan.weights[k] for k in kinds])[0]
            customer, expect = None, 200
            if kind == "list":
                path = f"/api/v1/customers?limit=20&offset={rng.randrange(max(1, len(own)))}"
            elif kind == "360":
                customer = rng.choice(own)
                path = f"/api/v1/customers/{customer}"
            elif kind == "360_other":
                if not others:
                    continue
                customer, expect = rng.choice(others), 404
                path = f"/api/v1/customers/{customer}"
            elif kind == "dashboard":
                path = "/api/v1/dashboard"
            elif kind == "dashboard_page":
                path = "/dashboard"
            else:
                path = "/api/v1/tasks?limit=50"
            t0 = time.perf_counter()
            try:
                resp = await c.get(path)
            except httpx.HTTPError as exc:
                out.append(Answer(user, kind, path, None, time.perf_counter() - t0, time.time(),
                                  error=f"{type(exc).__name__}: {exc}", customer=customer))
                continue
            dt = time.perf_counter() - t0
            body = resp.json() if resp.headers.get("content-type", "").startswith("application/json") else None
            err = None if resp.status_code == expect else f"status {resp.status_code}, expected {expect}"
            out.append(Answer(user, kind, path, resp.status_code, dt, time.time(), body, err, customer))
            if plan.think:
                await asyncio.sleep(plan.think)


async def drive(plan: Plan, base: str, scopes_: dict[str, Scope]) -> tuple[list[Answer], dict]:
    everyone = sorted(owners(plan.root))
    out: list[Answer] = []
    stop = asyncio.Event()
    rng = random.Random(plan.seed)
    tasks = [asyncio.create_task(session(base, plan.users[i % len(plan.users)], plan,
                                         scopes_[plan.users[i % len(plan.users)]], everyone, stop,
                                         random.Random(rng.random()), out))
             for i in range(plan.sessions)]
    t0 = time.time()
    await asyncio.sleep(plan.run_after)
    run = {"started": time.time() - t0}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tierwise", "run", str(plan.root), "--as-of", plan.run_as_of, "--json",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        stdout, stderr = await asyncio.wait_for(proc.communicate(), plan.max_seconds)
    except asyncio.TimeoutError:
        proc.kill()
        await proc.wait()
        stdout, stderr = b"", f"the run took longer than {plan.max_seconds} s under the load".encode()
    run.update(seconds=round(time.time() - t0 - run["started"], 2), returncode=proc.returncode,
               published_at=time.time())
    if proc.returncode == 0:
        run["run_id"] = json.loads(stdout)[0]["run_id"]
    else:
        run["stderr"] = stderr.decode(errors="replace")[-2000:]
    await asyncio.sleep(plan.after_publish)
    stop.set()
    done = await asyncio.gather(*tasks, return_exceptions=True)
    run["session_failures"] = [repr(d) for d in done if isinstance(d, BaseException)]
    run["load_seconds"] = round(time.time() - t0, 2)
    return out, run


# --------------------------------------------------------------------------- checking every answer
class Snapshots:
    """Published snapshots read from disk: rows by run, the runs in force in order."""

    def __init__(self, root: Path):
        from tierwise.snapshots.store import SnapshotStore, digest_of

        self.store = SnapshotStore(root / "snapshots")
        self.runs = {s.run_id: s for s in self.store.index()}
        for s in self.runs.values():      # every snapshot is complete: its digest verifies
            assert digest_of(self.store.path(s.run_id)) == s.digest, s.run_id
        self._rows: dict[str, dict] = {}

    def rows(self, run_id: str) -> dict[str, dict]:
        if run_id not in self._rows:
            t = pq.read_table(self.store.path(run_id) / "customers.parquet", columns=["customer_id", "tier"])
            self._rows[run_id] = {r["customer_id"]: r for r in t.to_pylist()}
        return self._rows[run_id]

    def before(self, run_id: str) -> str | None:
        """The run in force for the latest date before ``run_id``'s (the dashboard's "previous")."""
        me = self.runs[run_id]
        earlier = [s for s in self.store.in_force() if s.as_of < me.as_of]
        return earlier[-1].run_id if earlier else None


def check(answers: list[Answer], scopes_: dict[str, Scope], snaps: Snapshots) -> dict:
    """Errors, leaks and torn answers, each with a few examples."""
    problems: dict[str, list[str]] = defaultdict(list)
    by_run: Counter = Counter()

    def problem(kind: str, a: Answer, what: str) -> None:
        problems[kind].append(f"{a.user} {a.path}: {what}")

    for a in answers:
        sc = scopes_[a.user]
        if a.error:
            if a.kind == "360_other" and a.status == 200:
                problem("leaks", a, "a customer outside the scope answered 200")
            else:
                problem("errors", a, a.error)
            continue
        if not isinstance(a.body, dict) or "run_id" not in a.body:
            if a.kind == "tasks":
                for t in a.body or []:
                    other_manager = sc.managers is not None and t["manager_id"] not in sc.managers
                    if not sc.sees(t["customer_id"]) or other_manager:
                        problem("leaks", a, f"task {t['task_id']} of customer {t['customer_id']}")
            continue
        run_id, as_of = a.body["run_id"], a.body["as_of"]
        if run_id not in snaps.runs or snaps.runs[run_id].as_of.isoformat() != as_of:
            problem("torn", a, f"names no published snapshot: {run_id} / {as_of}")
            continue
        by_run[run_id] += 1
        rows = snaps.rows(run_id)
        if a.kind == "list":
            for item in a.body["items"]:
                cid = item["customer_id"]
                if not sc.sees(cid):
                    problem("leaks", a, f"list item {cid}")
                elif rows.get(cid, {}).get("tier") != item["tier"]:
                    problem("torn", a, f"{cid}: tier {item['tier']} is not {run_id}'s")
            expected = sum(1 for c in rows if sc.sees(c))
            if a.body["total"] != expected:
                problem("torn", a, f"total {a.body['total']} ≠ {expected} customers in scope in {run_id}")
        elif a.kind == "360":
            if not sc.sees(a.customer):
                problem("leaks", a, "answered for a customer outside the scope")
            elif a.body["snapshot"]["tier"] != rows[a.customer]["tier"]:
                problem("torn", a, f"tier {a.body['snapshot']['tier']} is not {run_id}'s")
            elif not a.body["history"] or a.body["history"][-1]["run_id"] != run_id:
                problem("torn", a, f"history ends with {a.body['history'][-1:]} not {run_id}")
        elif a.kind == "dashboard":
            in_scope = [r["tier"] for c, r in rows.items() if sc.sees(c)]
            if a.body["kpis"]["customers"]["value"] != len(in_scope):
                problem("torn", a, f"{a.body['kpis']['customers']['value']} customers ≠ {len(in_scope)} in {run_id}")
            counts = Counter(in_scope)
            if any(p["customers"] != counts.get(p["tier"], 0) for p in a.body["pyramid"]):
                problem("torn", a, f"pyramid {a.body['pyramid']} ≠ {dict(counts)}")
            prev = (a.body.get("previous") or {}).get("run_id")
            if prev != snaps.before(run_id):
                problem("torn", a, f"previous run {prev} ≠ {snaps.before(run_id)}")
    return {"problems": {k: len(v) for k, v in problems.items()},
            "examples": {k: v[:5] for k, v in problems.items()}, "answers_by_run": dict(by_run)}


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, int(round(q / 100 * len(xs) + 0.5)) - 1))]


def latency(answers: list[Answer]) -> dict:
    out = {}
    for kind in sorted({a.kind for a in answers}):
        xs = [a.seconds for a in answers if a.kind == kind and a.status is not None]
        if xs:
            out[kind] = {"n": len(xs), "p50_ms": round(statistics.median(xs) * 1000, 1),
                         "p95_ms": round(pct(xs, 95) * 1000, 1), "p99_ms": round(pct(xs, 99) * 1000, 1)}
    xs = [a.seconds for a in answers if a.status is not None]
    out["all"] = {"n": len(xs), "p50_ms": round(statistics.median(xs) * 1000, 1),
                  "p95_ms": round(pct(xs, 95) * 1000, 1), "p99_ms": round(pct(xs, 99) * 1000, 1)}
    return out


def environment() -> dict:
    from importlib import metadata
    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), platform.processor())
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "load_before": round(os.getloadavg()[0], 2),
            **{p: metadata.version(p) for p in ("fastapi", "uvicorn", "duckdb", "httpx")}}


def load_during_run(plan: Plan, workers: int = 1) -> dict:
    """Serve ``plan.root``, load it while a run publishes, check every answer; the figures."""
    env = environment()
    scopes_ = scopes(plan.root, plan.users)
    port = free_port()
    server = start_server(plan.root, port, workers)
    try:
        answers, run = asyncio.run(drive(plan, f"http://127.0.0.1:{port}", scopes_))
    finally:
        stop_server(server)
    snaps = Snapshots(plan.root)
    checked = check(answers, scopes_, snaps)
    span = max(a.at for a in answers) - min(a.at - a.seconds for a in answers) if answers else 0
    during = [a for a in answers if run["published_at"] - run["seconds"] <= a.at <= run["published_at"]]
    # when the new snapshot was first served, and where the slowest answers fall around it
    new = [a.at for a in answers if isinstance(a.body, dict) and a.body.get("run_id") == run.get("run_id")]
    switch = min(new) if new else run["published_at"]
    run["first_new_answer_s_before_run_end"] = round(run["published_at"] - switch, 2)
    run["slowest"] = [{"kind": a.kind, "ms": round(a.seconds * 1000), "status": a.status,
                       "started_s_after_first_new_answer": round(a.at - a.seconds - switch, 2)}
                      for a in sorted(answers, key=lambda a: -a.seconds)[:20]]
    return {"sessions": plan.sessions, "users": plan.users, "workers": workers, "run": run,
            "requests": len(answers), "seconds": round(span, 2),
            "req_per_s": round(len(answers) / span, 1) if span else 0,
            "requests_during_run": len(during), "latency": latency(answers), "latency_during_run": latency(during)
            if during else {}, **checked, "environment": env}


# --------------------------------------------------------------------------- a workspace to load
def build(root: Path, customers: int, password: str) -> list[str]:
    """A bank workspace (the web benchmark's template: runs as of 2024-09-30 and 10-31) and users:
    admin1, analyst1, bm1 (the largest branch) and rm1, rm2 (its two largest managers)."""
    sys.path.insert(0, str(Path(__file__).parent))
    from build_workspace import template

    from tierwise.app.users import add_user
    from tierwise.app.workspace import open_workspace

    template(root, customers)
    own = owners(root)
    branch = Counter(b for _, b in own.values()).most_common(1)[0][0]
    rms = [m for m, _ in Counter(m for m, b in own.values() if b == branch).most_common(2)]
    ws = open_workspace(root)
    for u, role, mid, bid in [("admin1", "admin", None, None), ("analyst1", "analyst", None, None),
                              ("bm1", "branch_manager", None, branch), ("rm1", "relationship_manager", rms[0], None),
                              ("rm2", "relationship_manager", rms[-1], None)]:
        add_user(ws, u, role, password=password, manager_id=mid, branch_id=bid, actor="bench")
    return list(DEFAULT_USERS)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", help="an existing workspace (copied to --build's folder first if both are given)")
    ap.add_argument("--build", help="build a fresh workspace in this folder (removed first)")
    ap.add_argument("--customers", type=int, default=2000)
    ap.add_argument("--users", default=",".join(DEFAULT_USERS))
    ap.add_argument("--password", default="bench-password-1")
    ap.add_argument("--sessions", type=int, default=40)
    ap.add_argument("--think", type=float, default=0.0, help="seconds between a session's requests")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--as-of", default="2024-11-30", help="the date the run publishes during the load")
    ap.add_argument("--run-after", type=float, default=5.0)
    ap.add_argument("--after-publish", type=float, default=10.0)
    ap.add_argument("--out", help="write the results as JSON here")
    a = ap.parse_args()
    if a.build:
        import shutil
        folder = Path(a.build)
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        root = folder / "ws"
        users = build(root, a.customers, a.password) if not a.root else a.users.split(",")
        if a.root:
            shutil.copytree(a.root, root, dirs_exist_ok=True)
    else:
        root, users = Path(a.root), a.users.split(",")
    date.fromisoformat(a.as_of)
    res = load_during_run(Plan(root, users, a.password, sessions=a.sessions, run_as_of=a.as_of,
                               run_after=a.run_after, after_publish=a.after_publish, think=a.think), a.workers)
    text = json.dumps(res, ensure_ascii=False, indent=1, default=str)
    print(text)
    if a.out:
        Path(a.out).write_text(text + "\n", encoding="utf-8")
    bad = sum(res["problems"].values()) + (res["run"]["returncode"] != 0)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
