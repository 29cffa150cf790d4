"""Web benchmark: page latency (customer 360, dashboard) and a bounded API load run on loopback.

Starts ``tierwise serve`` (one uvicorn worker) on a free loopback port against the workspace
built by ``build_workspace.py`` and measures, as seen by an HTTP client on the same machine:

1. **pages**: ``/customers/{id}`` (customer 360) and ``/dashboard`` for a relationship manager, a
   branch manager and an analyst, ``--page-requests`` sequential requests each after one warm-up
   (the first dashboard of a scope computes its aggregates; it is reported separately);
2. **load**: ``--concurrency`` clients, each with its own session of a role (relationship
   managers, branch managers, analysts), for ``--seconds`` seconds against the customer API:
   80 % customer 360 (``/api/v1/customers/{id}``) of a customer in the session's scope, 15 %
   the list (``/api/v1/customers?limit=20&offset=…``), 5 % a customer *outside* the scope, which
   must answer 404. Every answer is checked for leaks: a customer 360 or list item of another
   manager (branch) fails the run.

Usage: ``uv run python bench/web/run_bench.py --root /tmp/tierwise-bench-web/ws``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

PASSWORD = "bench-password-1"
PER_MANAGER, PER_BRANCH = 1000, 20_000


def cid(i: int) -> str:
    return f"C{i:08d}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, int(round(q / 100 * len(xs) + 0.5)) - 1))]


def summary(xs: list[float]) -> dict:
    return {"n": len(xs), "median_ms": round(statistics.median(xs) * 1000, 1), "p95_ms": round(pct(xs, 95) * 1000, 1),
            "p99_ms": round(pct(xs, 99) * 1000, 1), "max_ms": round(max(xs) * 1000, 1)}


class Role:
    """A user and the customer index range it may see."""

    def __init__(self, user: str, lo: int | None, hi: int | None, n: int):
        self.user, self.lo, self.hi, self.n = user, lo, hi, n

    def own(self, rng: random.Random) -> int:
        return rng.randrange(self.lo, self.hi) if self.lo is not None else rng.randrange(self.n)

    def other(self, rng: random.Random) -> int | None:
        if self.lo is None:
            return None
        while True:
            i = rng.randrange(self.n)
            if not self.lo <= i < self.hi:
                return i

    def visible(self, customer_id: str) -> bool:
        i = int(customer_id[1:])
        return self.lo is None or self.lo <= i < self.hi


def roles(n: int, k_rm: int = 100, k_bm: int = 10) -> list[Role]:
    out = [Role(f"rm{m}", m * PER_MANAGER, (m + 1) * PER_MANAGER, n) for m in range(k_rm)]
    out += [Role(f"bm{b}", b * PER_BRANCH, (b + 1) * PER_BRANCH, n) for b in range(k_bm)]
    out += [Role(u, None, None, n) for u in ("analyst1", "analyst2")]
    return out


def login(base: str, user: str) -> httpx.Client:
    c = httpx.Client(base_url=base, timeout=60)
    r = c.post("/api/v1/auth/login", json={"username": user, "password": PASSWORD})
    r.raise_for_status()
    return c


def timed(c: httpx.Client, path: str, expect: int = 200) -> float:
    t = time.perf_counter()
    r = c.get(path)
    dt = time.perf_counter() - t
    if r.status_code != expect:
        raise AssertionError(f"{path}: {r.status_code} {r.text[:300]}")
    return dt


def pages(base: str, n: int, k: int) -> dict:
    rng = random.Random(1)
    out = {}
    for role in (Role("rm7", 7 * PER_MANAGER, 8 * PER_MANAGER, n), Role("bm1", 1 * PER_BRANCH, 2 * PER_BRANCH, n),
                 Role("analyst1", None, None, n)):
        c = login(base, role.user)
        first = timed(c, "/dashboard")
        dash = [timed(c, "/dashboard") for _ in range(k)]
        timed(c, f"/customers/{cid(role.own(rng))}")
        c360 = [timed(c, f"/customers/{cid(role.own(rng))}") for _ in range(k)]
        api360 = [timed(c, f"/api/v1/customers/{cid(role.own(rng))}") for _ in range(k)]
        out[role.user] = {"dashboard_first_s": round(first, 2), "dashboard": summary(dash),
                          "customer_360_page": summary(c360), "customer_360_api": summary(api360)}
        c.close()
    return out


async def load(base: str, n: int, concurrency: int, seconds: float) -> dict:
    all_roles = roles(n, min(100, n // PER_MANAGER), min(10, n // PER_BRANCH))
    lat: list[float] = []
    leaks: list[str] = []
    errors: list[str] = []
    counts = {"360": 0, "list": 0, "outside": 0}

    async def worker(w: int) -> None:
        rng = random.Random(w)
        role = all_roles[w % len(all_roles)]
        async with httpx.AsyncClient(base_url=base, timeout=30) as c:
            r = await c.post("/api/v1/auth/login", json={"username": role.user, "password": PASSWORD})
            r.raise_for_status()
            await start.wait()
            while time.perf_counter() < stop_at:
                x = rng.random()
                if x < 0.80:
                    kind, path, expect = "360", f"/api/v1/customers/{cid(role.own(rng))}", 200
                elif x < 0.95:
                    span = (role.hi - role.lo) if role.lo is not None else n
                    kind, path, expect = "list", f"/api/v1/customers?limit=20&offset={rng.randrange(span - 20)}", 200
                else:
                    other = role.other(rng)
                    if other is None:
                        continue
                    kind, path, expect = "outside", f"/api/v1/customers/{cid(other)}", 404
                t = time.perf_counter()
                r = await c.get(path)
                lat.append(time.perf_counter() - t)
                counts[kind] += 1
                if r.status_code != expect:
                    (leaks if kind == "outside" and r.status_code == 200 else errors).append(
                        f"{role.user} {path}: {r.status_code}")
                    continue
                if kind == "360" and not role.visible(r.json()["customer_id"]):
                    leaks.append(f"{role.user} got {r.json()['customer_id']}")
                elif kind == "list":
                    items = r.json()["items"]
                    bad = [i["customer_id"] for i in items if not role.visible(i["customer_id"])]
                    if bad or not items:
                        leaks.append(f"{role.user} list: {bad[:3]} (items {len(items)})")

    start = asyncio.Event()
    stop_at = float("inf")
    tasks = [asyncio.create_task(worker(w)) for w in range(concurrency)]
    await asyncio.sleep(3)                 # logins done
    stop_at = time.perf_counter() + seconds
    t0 = time.perf_counter()
    start.set()
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - t0
    return {"concurrency": concurrency, "seconds": round(elapsed, 1), "requests": len(lat),
            "requests_per_s": round(len(lat) / elapsed, 1), **summary(lat), "by_kind": counts,
            "sessions": {"relationship_managers": min(concurrency, 100), "roles": sorted({r.user[:2] for r in
                                                                                         all_roles[:concurrency]})},
            "leaks": leaks[:10], "n_leaks": len(leaks), "errors": errors[:10], "n_errors": len(errors)}


def environment() -> dict:
    from importlib import metadata
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(os.sysconf("SC_PAGE_SIZE") *
                                                                    os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
            "python": platform.python_version(), "load_before": os.getloadavg()[0],
            **{p: metadata.version(p) for p in ("fastapi", "uvicorn", "duckdb", "starlette", "httpx")}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", default="/tmp/tierwise-bench-web/ws")
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--page-requests", type=int, default=100)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--out", default=None, help="write the results as JSON here")
    a = ap.parse_args()
    env = environment()
    port = free_port()
    exe = Path(sys.executable).with_name("tierwise")
    server = subprocess.Popen([str(exe), "serve", a.root, "--port", str(port), "--due-every", "0"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                if httpx.get(base + "/login", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        t = time.perf_counter()
        c = login(base, "analyst1")
        timed(c, f"/api/v1/customers/{cid(0)}")
        first_request = round(time.perf_counter() - t, 2)
        res = {"environment": env, "first_request_s": first_request, "pages": pages(base, a.customers,
                                                                                   a.page_requests)}
        res["load"] = asyncio.run(load(base, a.customers, a.concurrency, a.seconds))
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
    text = json.dumps(res, indent=2, ensure_ascii=False)
    print(text)
    if a.out:
        Path(a.out).write_text(text + "\n", encoding="utf-8")
    ok = res["load"]["n_leaks"] == 0 and res["load"]["n_errors"] == 0
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
