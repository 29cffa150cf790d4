"""`tierwise report` and `tierwise export` through the real entry point (subprocesses)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

from reports.htmlcheck import parse
from reports.workspace import demo_workspace


def tw(*args: str) -> subprocess.CompletedProcess:
    import os
    env = dict(os.environ, TIERWISE_LANG="en")
    return subprocess.run([sys.executable, "-m", "tierwise", *args], capture_output=True, text=True, env=env)


@pytest.fixture(scope="module")
def ws(tmp_path_factory) -> Path:
    return demo_workspace(tmp_path_factory)


def test_report_json_and_file(ws, tmp_path):
    out = tmp_path / "r.html"
    res = tw("report", str(ws), "--lang", "en", "--out", str(out), "--json")
    assert res.returncode == 0, res.stderr
    r = json.loads(res.stdout)
    assert r["path"] == str(out) and r["run_id"] == "run-000003" and r["lang"] == "en"
    assert r["bytes"] == out.stat().st_size
    p = parse(out.read_text(encoding="utf-8"))
    assert p.external == [] and "summary" in p.sections


def test_report_default_path_and_chinese_text(ws):
    res = tw("report", str(ws), "--as-of", "2024-11-30", "--lang", "zh-CN")
    assert res.returncode == 0, res.stderr
    path = ws / "reports" / "report-2024-11-30-run-000002-zh-CN.html"
    assert "报告已生成" in res.stdout and str(path) in res.stdout.replace("\n", "")
    assert "管理摘要" in path.read_text(encoding="utf-8")


def test_export_json_and_workbook(ws, tmp_path):
    out = tmp_path / "e.xlsx"
    res = tw("export", str(ws), "--as-of", "2024-12-31", "--out", str(out), "--json")
    assert res.returncode == 0, res.stderr
    r = json.loads(res.stdout)
    wb = openpyxl.load_workbook(out)
    assert [s["sheet"] for s in r["sheets"]] == wb.sheetnames
    assert r["run_id"] == "run-000003"


@pytest.mark.parametrize("args, message", [
    (("report", "{ws}", "--run", "run-00003"), "did you mean 'run-000003'"),
    (("report", "{ws}", "--as-of", "2024-02-30"), "not a date"),
    (("report", "{ws}", "--lang", "de"), "use zh-CN or en"),
    (("export", "{ws}", "--as-of", "2019-12-31"), "no run as of 2019-12-31"),
    (("export", "{ws}", "--out", "x.csv"), ".xlsx workbook"),
    (("report", "{missing}"), "no such folder"),
])
def test_mistakes_exit_2_with_a_message(ws, tmp_path, args, message):
    res = tw(*(a.format(ws=ws, missing=tmp_path / "nope") for a in args))
    assert res.returncode == 2, res.stderr
    assert message in res.stderr.replace("\n", " ") and "Traceback" not in res.stderr


def test_help_lists_the_options():
    for cmd, opts in (("report", ("--run", "--as-of", "--lang", "--out", "--json")),
                      ("export", ("--as-of", "--out", "--json"))):
        res = tw(cmd, "--help")
        assert res.returncode == 0 and all(o in res.stdout for o in opts)


@pytest.mark.slow
def test_demo_runs_the_loop_and_says_where_the_files_are(tmp_path):
    res = tw("demo", str(tmp_path / "d"), "--customers", "150", "--months", "2")
    assert res.returncode == 0, res.stderr
    text = res.stdout.replace("\n", "")
    report = next((tmp_path / "d" / "reports").glob("report-*.html"))
    workbook = next((tmp_path / "d" / "exports").glob("export-*.xlsx"))
    assert str(report) in text and str(workbook) in text
    assert f"tierwise serve {tmp_path / 'd'}" in text and "xdg-open" in text
    assert "Reconciliation" in res.stdout                        # the imports' reconciliations are shown
    res = tw("demo", str(tmp_path / "j"), "--customers", "150", "--months", "1", "--json")
    summary = json.loads(res.stdout)
    assert len(summary["runs"]) == 1 and Path(summary["report"]).exists() and Path(summary["export"]).exists()
