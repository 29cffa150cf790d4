"""The report in a real browser (Debian's headless Chromium): every chart is drawn without network."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tierwise.reports.html import render_report

from .test_html import _data

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _chromium(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                           "--virtual-time-budget=10000", *args], capture_output=True, text=True, timeout=120)


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium fonts-noto-cjk)")
@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_chromium_draws_every_chart(tmp_path, locale):
    page = tmp_path / "report.html"
    page.write_text(render_report(_data(), locale), encoding="utf-8")
    dom = _chromium("--dump-dom", page.as_uri()).stdout
    charts = dom.count('class="plotly-graph-div')
    assert charts == 4
    assert dom.count("plotly-graph-div js-plotly-plot") == charts   # Plotly drew each one
    assert dom.count('class="main-svg"') >= charts
    shot = tmp_path / "report.png"
    _chromium("--window-size=1280,3000", f"--screenshot={shot}", page.as_uri())
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 50_000
