"""The report in a real browser (Debian's headless Chromium): every chart is drawn without network."""

from __future__ import annotations

import subprocess

import pytest

from tierwise.reports.html import render_report

from .test_html import _data

def _run(chromium: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                           "--virtual-time-budget=10000", *args], capture_output=True, text=True, timeout=120)


@pytest.mark.slow
@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_chromium_draws_every_chart(tmp_path, locale, chromium):
    page = tmp_path / "report.html"
    page.write_text(render_report(_data(), locale), encoding="utf-8")
    dom = _run(chromium, "--dump-dom", page.as_uri()).stdout
    charts = dom.count('class="plotly-graph-div')
    assert charts == 4
    assert dom.count("plotly-graph-div js-plotly-plot") == charts   # Plotly drew each one
    assert dom.count('class="main-svg"') >= charts
    shot = tmp_path / "report.png"
    _run(chromium, "--window-size=1280,3000", f"--screenshot={shot}", page.as_uri())
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 50_000
