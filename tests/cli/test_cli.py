"""The command line through its real entry point (subprocesses): output, --json, exit codes, errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

CUSTOMERS = "客户号,客户姓名,出生日期\n000123,张三,1980/2/29\n000124,李四,19900105\n"


def tw(*args: str, env_lang: str | None = "en") -> subprocess.CompletedProcess:
    import os
    env = dict(os.environ)
    if env_lang:
        env["TIERWISE_LANG"] = env_lang
    return subprocess.run([sys.executable, "-m", "tierwise", *args], capture_output=True, text=True, env=env)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("cli")
    ws = root / "ws"
    res = tw("init", str(ws), "--preset", "bank")
    assert res.returncode == 0, res.stderr
    assert "workspace created" in res.stdout
    (root / "c.csv").write_bytes(CUSTOMERS.encode("gbk"))
    return ws


def test_import_json_reconciliation(workspace):
    res = tw("import", str(workspace), "customers", str(workspace.parent / "c.csv"), "--json")
    assert res.returncode == 0, res.stderr
    rec = json.loads(res.stdout)
    assert (rec["rows_read"], rec["accepted"], rec["rejected"]) == (2, 2, 0)
    assert rec["source"]["encoding"] == "gb18030"


def test_status_json(workspace):
    res = tw("status", str(workspace), "--json")
    assert res.returncode == 0, res.stderr
    info = json.loads(res.stdout)
    assert info["tables"]["customers"]["rows"] == 2 and info["preset"] == "bank"


def test_refused_import_exit_code_3_and_reasons(workspace):
    bad = workspace.parent / "t.csv"
    bad.write_text("客户号,交易日期,交易金额\n000123,nodate,1\n000999,2024-01-01,1\n", encoding="utf-8")
    res = tw("import", str(workspace), "transactions", str(bad))
    assert res.returncode == 3
    assert "Traceback" not in res.stderr
    assert "import refused" in res.stderr and "nothing was changed" in res.stderr
    assert "unparseable" in res.stdout and "unknown_customer" in res.stdout


@pytest.mark.parametrize("args, code, text", [
    (("init", "X", "--preset", "bnak"), 2, "did you mean 'bank'?"),
    (("import", "NOWS", "customers", "f.csv"), 2, "no such folder"),
    (("import", "{ws}", "custmers", "f.csv"), 2, "did you mean 'customers'?"),
    (("import", "{ws}", "customers", "/no/such.csv"), 2, "file not found"),
    (("import", "{ws}", "customers", "f.csv", "--mode", "merge"), 2, "unknown import mode"),
    (("frobnicate",), 2, "No such command"),
])
def test_user_errors_are_messages_not_tracebacks(workspace, tmp_path, args, code, text):
    args = tuple(a.replace("{ws}", str(workspace)).replace("X", str(tmp_path / "x")).replace("NOWS", str(tmp_path / "nows"))
                 for a in args)
    res = tw(*args)
    assert res.returncode == code, (res.stdout, res.stderr)
    assert text in res.stderr + res.stdout
    assert "Traceback" not in res.stderr


def test_chinese_output(workspace):
    res = tw("status", str(workspace), env_lang="zh-CN")
    assert res.returncode == 0 and "工作区" in res.stdout


def test_help_on_every_command():
    for cmd in ("init", "import", "status", "demo"):
        res = tw(cmd, "--help")
        assert res.returncode == 0 and "Usage" in res.stdout
