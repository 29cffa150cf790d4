"""CPU per customer-API request in process, without HTTP: the application call and the whole ASGI app.

Measures, on the workspace built by ``build_workspace.py``, with ``time.process_time`` (CPU
time, steady on a shared machine where wall time is not):

1. ``app``: the application functions the endpoints call (``customer_360``, ``list_customers``)
   for a relationship manager, a branch manager and an analyst;
2. ``asgi``: the same requests through the whole FastAPI application (authentication, the
   route, JSON encoding, security headers), driven as ASGI calls on one event loop, so only
   uvicorn's HTTP parsing and the socket are left out.

``--profile`` prints the top functions of a cProfile of the 360 calls.

Usage: ``uv run python bench/web/profile_api.py --root /tmp/tierwise-bench-web/ws``
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import pstats
import random
import time
from pathlib import Path

PASSWORD = "bench-password-1"
PER_MANAGER, PER_BRANCH = 1000, 20_000
USERS = {"rm7": (7 * PER_MANAGER, 8 * PER_MANAGER), "bm1": (PER_BRANCH, 2 * PER_BRANCH), "analyst1": None}


def cid(i: int) -> str:
    return f"C{i:08d}"


def pick(rng: random.Random, span, n: int) -> str:
    return cid(rng.randrange(*span) if span else rng.randrange(n))


def cpu_ms(fn, k: int) -> float:
    t = time.process_time()
    for _ in range(k):
        fn()
    return round((time.process_time() - t) / k * 1000, 3)


def app_level(ws, n: int, k: int) -> dict:
    from tierwise.app import query_customers as qc
    from tierwise.app.auth import principal_of

    rng = random.Random(3)
    out = {}
    for user, span in USERS.items():
        p = principal_of(ws.store().get_user(username=user))
        qc.customer_360(ws, p, pick(rng, span, n))
        qc.list_customers(ws, p, limit=20)
        width = (span[1] - span[0]) if span else n
        out[user] = {
            "customer_360_ms": cpu_ms(lambda: qc.customer_360(ws, p, pick(rng, span, n)), k),
            "list_ms": cpu_ms(lambda: qc.list_customers(ws, p, limit=20, offset=rng.randrange(width - 20)), k),
        }
    return out


async def asgi_call(app, path: str, token: str) -> tuple[int, bytes]:
    """One GET through the ASGI app (what uvicorn would do after parsing the request)."""
    path, _, query = path.partition("?")
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": query.encode(), "root_path": "",
             "headers": [(b"host", b"127.0.0.1"), (b"authorization", f"Bearer {token}".encode())],
             "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000), "state": {}}
    sent: list[dict] = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)
    await app(scope, receive, send)
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


def asgi_level(root: Path, n: int, k: int, profile: bool) -> dict:
    from tierwise.app.auth import login
    from tierwise.app.workspace import open_workspace
    from tierwise.web.server import create_app

    ws = open_workspace(root)
    app = create_app(ws)
    rng = random.Random(4)
    out = {}

    async def run() -> None:
        for user, span in USERS.items():
            token = login(ws, user, PASSWORD, "127.0.0.1").token
            status, body = await asgi_call(app, f"/api/v1/customers/{pick(rng, span, n)}", token)
            assert status == 200, body[:300]
            width = (span[1] - span[0]) if span else n
            res = {}
            for kind, make in (("customer_360_ms", lambda: f"/api/v1/customers/{pick(rng, span, n)}"),
                               ("list_ms", lambda: f"/api/v1/customers?limit=20&offset={rng.randrange(width - 20)}")):
                await asgi_call(app, make(), token)
                t = time.process_time()
                for _ in range(k):
                    status, body = await asgi_call(app, make(), token)
                    assert status == 200, body[:300]
                res[kind] = round((time.process_time() - t) / k * 1000, 3)
            res["customer_360_bytes"] = len((await asgi_call(app, make_360(span), token))[1])
            out[user] = res
        if profile:
            token = login(ws, "rm7", PASSWORD, "127.0.0.1").token
            prof = cProfile.Profile()
            prof.enable()
            for _ in range(k):
                await asgi_call(app, make_360(USERS["rm7"]), token)
            prof.disable()
            pstats.Stats(prof).sort_stats("cumulative").print_stats(45)

    def make_360(span) -> str:
        return f"/api/v1/customers/{pick(rng, span, n)}"
    asyncio.run(run())
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", default="/tmp/tierwise-bench-web/ws")
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--requests", type=int, default=300)
    ap.add_argument("--profile", action="store_true")
    a = ap.parse_args()
    from tierwise.app.workspace import open_workspace

    t = time.perf_counter()
    c = time.process_time()
    ws = open_workspace(a.root)
    from tierwise.app import query_engine as qe
    qe.reader(ws).generation()
    load = {"wall_s": round(time.perf_counter() - t, 2), "cpu_s": round(time.process_time() - c, 2)}
    rss = next(int(x.split()[1]) for x in Path("/proc/self/status").read_text().splitlines()
               if x.startswith("VmRSS")) / 1024
    res = {"first_load": load, "rss_after_load_mib": round(rss), "app": app_level(ws, a.customers, a.requests),
           "asgi": asgi_level(Path(a.root), a.customers, a.requests, a.profile)}
    rss = next(int(x.split()[1]) for x in Path("/proc/self/status").read_text().splitlines()
               if x.startswith("VmRSS")) / 1024
    res["rss_end_mib"] = round(rss)
    print(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
