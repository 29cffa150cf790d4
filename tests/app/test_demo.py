"""The demo imports the messy Chinese bank export and rejects exactly the injected bad rows; every preset
runs the whole loop (runs, tasks, report, workbook)."""

from __future__ import annotations

import csv
import json
from collections import Counter

import pytest

from tierwise.app.demo import run_demo

# what each injected defect must be rejected as
KIND_TO_REASON = {
    "unknown_customer": "unknown_customer", "unparseable_date": "unparseable",
    "missing_customer_id": "missing_required", "future_date": "implausible_date",  # year + 100: past 2100
    "duplicate_transaction_id": "duplicate_in_file", "negative_balance": "negative_value",
}


@pytest.mark.slow
@pytest.mark.parametrize("preset", ["bank"])
def test_bank_demo_rejects_exactly_the_injected_rows(tmp_path, preset):
    summary = run_demo(tmp_path / "demo", preset=preset, n_customers=300, seed=3, months=0)
    manifest = json.loads((tmp_path / "demo-inbox" / "manifest.json").read_text(encoding="utf-8"))
    injected = Counter((b["table"], KIND_TO_REASON[b["kind"]]) for b in manifest["bad"])
    got = Counter()
    for imp in summary["imports"]:
        assert imp["rows_read"] == imp["accepted"] + imp["rejected"]
        for reason, n in imp["rejected_by_reason"].items():
            got[(imp["table"], reason)] += n
    assert got == injected
    # and row by row: the quarantine names the line of each bad row (data row + header line + 1)
    ws = tmp_path / "demo"
    for table in ("transactions", "balances"):
        expect = {(b["row"] + 2, KIND_TO_REASON[b["kind"]]) for b in manifest["bad"] if b["table"] == table}
        qfile = next((ws / "quarantine").glob(f"*-{table}.csv"))
        with open(qfile, encoding="utf-8-sig", newline="") as fh:
            rows = {(int(r["row"]), r["reason"]) for r in csv.DictReader(fh)}
        assert rows == expect
    assert [i["table"] for i in summary["imports"]] == ["customers", "transactions", "balances", "holdings",
                                                         "interactions"]
    assert summary["imports"][0]["source"].endswith(".xlsx")


@pytest.mark.parametrize("preset", ["retail", "realestate", "b2b", "distributor"])
def test_other_presets_import_clean_data(tmp_path, preset):
    summary = run_demo(tmp_path / "demo", preset=preset, n_customers=200, seed=1, months=0)
    assert summary["imports"] and all(i["rejected"] == 0 for i in summary["imports"]), summary
    assert summary["imports"][0]["table"] in ("customers",)


@pytest.mark.slow
@pytest.mark.parametrize("preset", ["bank", "retail", "realestate", "b2b", "distributor"])
def test_every_preset_runs_the_whole_loop(tmp_path, preset):
    import openpyxl

    from reports.htmlcheck import parse
    from tierwise.app.demo import month_ends
    from tierwise.app.status import latest_data_date
    from tierwise.app.workspace import open_workspace
    from tierwise.snapshots.store import SnapshotStore

    steps = []
    summary = run_demo(tmp_path / "demo", preset=preset, n_customers=150, seed=2, months=2,
                       on_step=lambda s, i, n: steps.append(s))
    ws = open_workspace(tmp_path / "demo")
    latest = latest_data_date(ws)
    assert [r["as_of"] for r in summary["runs"]] == [str(d) for d in month_ends(latest, 2)]
    assert summary["runs"][-1]["as_of"] == latest.isoformat()
    runs = SnapshotStore(ws.snapshots).in_force()
    assert [r.run_id for r in runs] == [r["run_id"] for r in summary["runs"]]
    html = (tmp_path / "demo" / "reports").joinpath(summary["report"].rsplit("/", 1)[1]).read_text(encoding="utf-8")
    p = parse(html)
    assert p.external == [] and p.big_scripts == 1 and "quality" in p.sections
    assert int(p.values["summary.customers"]) == summary["runs"][-1]["customers"]
    wb = openpyxl.load_workbook(summary["export"])
    has_tiers = bool(summary["runs"][-1]["tiers"])
    assert len(wb.sheetnames) == (6 if has_tiers else 4)    # tiers and candidates need a tier ladder
    for tier, n in summary["runs"][-1]["tiers"].items():
        assert int(p.values[f"tier.{tier}"]) == n
    assert steps[0] == "import" and steps[-2:] == ["report", "export"] and "runs" in steps
    assert summary["tasks"] is not None and "error" not in summary["tasks"], summary["tasks"]
    actions = [e["action"] for e in ws.store().audit_entries()]
    assert actions.count("run.published") == 2 and "report.written" in actions and "export.written" in actions


def test_month_ends_end_at_the_latest_data_date():
    from datetime import date

    from tierwise.app.demo import month_ends

    assert month_ends(date(2024, 12, 31), 12)[0] == date(2024, 1, 31)
    assert len(month_ends(date(2024, 12, 31), 12)) == 12
    assert month_ends(date(2024, 3, 10), 3) == [date(2024, 1, 31), date(2024, 2, 29), date(2024, 3, 10)]
    assert month_ends(date(2024, 1, 15), 1) == [date(2024, 1, 15)]


@pytest.mark.slow
def test_the_whole_bank_demo_leaves_no_phone_or_id_number_in_clear(tmp_path):
    """#11's check: the demo's generated customers carry phone and ID numbers; after the whole loop
    (import, runs, tasks with SMS greetings, report, Excel export) no file in the workspace holds one
    in clear — Parquet decompressed, SQLite rows, the XML inside the workbook included."""
    from app.test_personal import clear_hits
    from tierwise.app.personal import personal_fields
    from tierwise.app.workspace import open_workspace

    run_demo(tmp_path / "demo", preset="bank", n_customers=150, seed=3, months=2)
    ws = open_workspace(tmp_path / "demo")
    people = personal_fields(ws).to_pylist()
    planted = [p["phone"] for p in people if p["phone"]][:40] + [p["id_number"] for p in people if p["id_number"]][:40]
    assert len(planted) == 80
    assert clear_hits(tmp_path / "demo-inbox", planted[:1])      # the scan does find them in the sources
    assert clear_hits(tmp_path / "demo", planted) == []
