"""The Excel export of a real workspace read back with openpyxl: sheets, numbers against the
snapshot, formats, masking of personal fields, the split at a (small, injected) row limit, audit."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pyarrow.parquet as pq
import pytest

from reports.workspace import demo_workspace
from tierwise.app.export import write_export
from tierwise.app.workspace import open_workspace
from tierwise.errors import UserInputError
from tierwise.snapshots.store import SnapshotStore


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    ws = open_workspace(demo_workspace(tmp_path_factory))
    r = write_export(ws, lang="en", actor="tester")
    return ws, r, openpyxl.load_workbook(r["path"])


def _rows(sheet) -> list[dict]:
    header = [c.value for c in sheet[1]]
    return [dict(zip(header, (c.value for c in row))) for row in sheet.iter_rows(min_row=2)]


def test_sheets_and_layout(exported):
    ws, r, wb = exported
    assert wb.sheetnames == ["Summary", "Segments", "Tiers", "Upgrade candidates", "Tasks", "Data quality"]
    assert [s["sheet"] for s in r["sheets"]] == wb.sheetnames
    for sheet in wb:
        assert sheet.freeze_panes == "A2"
        assert sheet.auto_filter.ref == f"A1:{sheet.cell(1, sheet.max_column).column_letter}{sheet.max_row}"
        assert sheet["A1"].font.bold
    assert Path(r["path"]).name == "export-2024-12-31-run-000003.xlsx"


def test_summary_and_tiers_equal_the_snapshot(exported):
    ws, r, wb = exported
    snaps = SnapshotStore(ws.snapshots)
    cur = snaps.read("run-000003").to_pandas()
    summary = {row["item"]: row["value"] for row in _rows(wb["Summary"])}
    assert summary["Customers"] == len(cur) and summary["run"] == "run-000003"
    assert summary["Upgrades"] == (cur["tier_event"] == "upgrade").sum()
    assert summary["tier: Gold"] == (cur["tier"] == "gold").sum()
    tiers = _rows(wb["Tiers"])
    assert len(tiers) == len(cur) == r["sheets"][2]["rows"]
    changed = cur["tier_event"].notna().sum()
    assert changed > 0
    assert all(t["change"] for t in tiers[:changed]) and not any(t["change"] for t in tiers[changed:])
    labels = {"standard": "Standard", "gold": "Gold", "platinum": "Platinum", "diamond": "Diamond",
              "private": "Private banking"}
    by_id = cur.set_index("customer_id")
    for t in tiers:
        row = by_id.loc[t["customer"]]
        assert t["tier"] == labels[row["tier"]]
        assert t["tier metric"] == pytest.approx(row["tier_metric"])
    sheet = wb["Tiers"]
    assert sheet["I2"].number_format == "#,##0.00" and sheet["J2"].number_format == "#,##0"


def test_candidates_per_manager_best_first(exported):
    ws, r, wb = exported
    cand = pq.read_table(SnapshotStore(ws.snapshots).path("run-000003") / "candidates.parquet").to_pandas()
    rows = _rows(wb["Upgrade candidates"])
    assert len(rows) == len(cand) > 0
    keys = [(x["manager"] or "", x["rank (manager)"]) for x in rows]
    assert keys == sorted(keys)
    for m, group in cand.groupby("manager_id"):
        assert [x["customer"] for x in rows if x["manager"] == m] == \
            group.sort_values("rank_in_manager")["customer_id"].tolist()
    sheet = wb["Upgrade candidates"]
    assert sheet["K2"].number_format == "0.0%" and sheet["J2"].number_format == "#,##0.00"


def test_personal_fields_are_masked(exported):
    from tierwise.app.query_engine import personal_rows

    ws, r, wb = exported
    ids = [x["customer"] for x in _rows(wb["Upgrade candidates"])]
    clear = {p["customer_id"]: p for p in personal_rows(ws, ids)}
    assert len(clear) == len(ids)
    seen_names = 0
    for x in _rows(wb["Upgrade candidates"]):
        real = clear[x["customer"]]
        assert x["name"] != real["name"] and x["name"][0] == real["name"][0] and set(x["name"][1:]) == {"*"}
        assert x["phone"] == real["phone"][:3] + "****" + real["phone"][-4:]
        seen_names += 1
    assert seen_names == len(ids)
    everything = {str(c.value) for sheet in wb for row in sheet.iter_rows() for c in row if c.value is not None}
    assert not any(p["name"] in everything or p["phone"] in everything for p in clear.values())
    assert all("message" not in str(c.value) for c in wb["Tasks"][1])     # messages name the customer


def test_tasks_per_manager_and_data_quality(exported):
    from tierwise.app.servicing import list_tasks

    ws, r, wb = exported
    tasks = list_tasks(ws, limit=None)
    rows = _rows(wb["Tasks"])
    assert len(rows) == len(tasks) > 0
    assert [x["manager"] for x in rows] == sorted(x["manager"] for x in rows)
    assert sorted(x["task"] for x in rows) == sorted(t["task_id"] for t in tasks)
    quality = _rows(wb["Data quality"])
    imports = {i["import_id"]: i for i in ws.store().list_imports()}
    assert len(quality) == 5
    for q in quality:
        imp = imports[q["import"]]
        assert (q["rows read"], q["accepted"], q["rejected"]) == (imp["rows_read"], imp["accepted"], imp["rejected"])
        reasons = json.loads(imp["reconciliation"])["rejected_by_reason"]
        assert sum(v for k, v in q.items() if k.startswith("rejected: ")) == sum(reasons.values())


def test_export_is_audited(exported):
    ws, r, wb = exported
    entry = [e for e in ws.store().audit_entries() if e["action"] == "export.written"][-1]
    assert entry["target"] == r["path"] and entry["actor"] == "tester"
    detail = json.loads(entry["detail"])
    assert detail["personal_fields"] == "masked" and detail["sheets"] == r["sheets"]


def test_long_sheets_split_at_the_row_limit(exported, tmp_path):
    ws, _, _ = exported
    r = write_export(ws, lang="zh-CN", out=tmp_path / "small.xlsx", max_rows=101)
    tiers = [s for s in r["sheets"] if s["sheet"].startswith("客户等级")]
    assert [s["sheet"] for s in tiers] == ["客户等级", "客户等级 (2)", "客户等级 (3)"]
    assert [s["rows"] for s in tiers] == [100, 100, 100]
    wb = openpyxl.load_workbook(r["path"])
    ids = [row[0].value for name in ("客户等级", "客户等级 (2)", "客户等级 (3)") for row in wb[name].iter_rows(min_row=2)]
    assert len(ids) == len(set(ids)) == 300
    assert [c.value for c in wb["客户等级 (3)"][1]] == [c.value for c in wb["客户等级"][1]]


def test_export_as_of_and_mistakes(exported, tmp_path):
    ws, _, _ = exported
    first = SnapshotStore(ws.snapshots).in_force()[0]
    r = write_export(ws, as_of=first.as_of, out=tmp_path / "first.xlsx")
    assert r["run_id"] == first.run_id
    with pytest.raises(UserInputError, match=".xlsx"):
        write_export(ws, out=tmp_path / "x.csv")
    with pytest.raises(UserInputError, match="no run as of"):
        write_export(ws, as_of="2020-01-31")
