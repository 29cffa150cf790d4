"""A real server (uvicorn on 127.0.0.1, free port, in a thread) and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import warnings

import pytest

with warnings.catch_warnings():     # starlette's notice about httpx, once at import
    warnings.simplefilter("ignore")
    import fastapi.testclient  # noqa: F401

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    import uvicorn

    from api.workspace import build
    from tierwise.web.server import create_app

    root = build(tmp_path_factory.mktemp("web") / "ws")
    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(create_app(root), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not srv.started:
        if time.time() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", root
    srv.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def browser(chromium):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def shot():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> None:
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    return take


@pytest.fixture(scope="session")
def base_root(tmp_path_factory) -> Path:
    """The API tests' bank workspace (4 managers, 2 runs, users), built once for this suite."""
    from api.workspace import build
    return build(tmp_path_factory.mktemp("webws") / "ws")
