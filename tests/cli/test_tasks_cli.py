"""The servicing commands end to end through the CLI entry point (JSON output, errors without tracebacks)."""

from __future__ import annotations

import json
from datetime import date

from tierwise.app.importing import import_table
from tierwise.cli.main import main

CUSTOMERS = """customer_id,name,phone,email,birthday,open_date,manager_id,branch_id
K1,甲,1,k1@x.cn,1970-03-12,2010-01-01,M1,B1
K2,乙,2,k2@x.cn,1985-07-01,2010-01-01,M2,B1
"""


def run(capsys, *args) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    cap = capsys.readouterr()
    return code, cap.out, cap.err


def test_cli_assign_generate_list_complete_compliance(make_workspace, tmp_path, capsys):
    ws = make_workspace("bank")
    (tmp_path / "c.csv").write_text(CUSTOMERS, encoding="utf-8")
    import_table(ws, "customers", str(tmp_path / "c.csv"), today=date(2024, 3, 10))
    d = ws.root
    (tmp_path / "m.csv").write_text("客户经理编号,姓名,网点,上级\nM1,赵,B1,M9\nM2,钱,B1,M9\nM9,孙,B1,\n",
                                    encoding="utf-8")
    code, out, _ = run(capsys, "managers", "import", d, tmp_path / "m.csv", "--json")
    assert code == 0 and json.loads(out)["added"] == 3
    code, out, _ = run(capsys, "assign", d, "--by", "ops", "--json")
    assert code == 0 and json.loads(out) == {"assigned": 2, "by_rule": {"initial": 2}, "unassigned": 0}
    code, out, _ = run(capsys, "managers", "unassigned", d, "--json")
    assert json.loads(out) == []
    code, out, _ = run(capsys, "tasks", "generate", d, "--on", "2024-03-10", "--json")
    assert code == 0 and json.loads(out)["created"] >= 2
    code, out, _ = run(capsys, "tasks", "list", d, "--customer", "K1", "--type", "cadence", "--json")
    (task,) = json.loads(out)
    code, out, _ = run(capsys, "tasks", "complete", d, task["task_id"], "--outcome", "sold:FUND-1", "--by", "M1",
                       "--json")
    assert code == 0 and json.loads(out)["outcome"] == "sold:FUND-1"
    code, out, err = run(capsys, "tasks", "complete", d, task["task_id"], "--outcome", "reached", "--by", "M1")
    assert code == 2 and "already done" in err and "Traceback" not in err
    code, out, err = run(capsys, "tasks", "complete", d, task["task_id"], "--outcome", "reachd", "--by", "M1")
    assert code == 2 and "did you mean 'reached'" in err
    code, out, _ = run(capsys, "tasks", "compliance", d, "--by", "branch", "--as-of", "2024-03-31", "--json")
    rows = json.loads(out)
    assert [r["key"] for r in rows] == ["B1", "*"]
    code, out, _ = run(capsys, "outbox", "list", d, "--json")
    assert code == 0 and isinstance(json.loads(out), list)
    code, out, _ = run(capsys, "tasks", "export", d, "--out", tmp_path / "t.xlsx", "--status", "all")
    assert code == 0 and (tmp_path / "t.xlsx").exists()
    code, out, _ = run(capsys, "managers", "leave", d, "M1", "--by", "hr", "--json")
    assert code == 0 and json.loads(out)["unassigned"] == 0


def test_managers_file_errors_are_located(make_workspace, tmp_path, capsys):
    ws = make_workspace("bank")
    (tmp_path / "m.csv").write_text("manager_id,name,capacity,active\nM1,赵,-3,1\nM1,钱,,maybe\n", encoding="utf-8")
    code, _, err = run(capsys, "managers", "import", ws.root, tmp_path / "m.csv")
    assert code == 2
    assert "m.csv:2: capacity: '-3' is not a positive number" in err
    assert "m.csv:3: manager_id: 'M1' already on line 2" in err
    assert ws.store().list_managers() == []
