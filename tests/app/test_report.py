"""The HTML report of a real workspace (300 bank customers, three monthly runs), every number
recomputed here from the snapshots and the store with pandas or by hand."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from reports.htmlcheck import parse
from reports.workspace import demo_workspace
from tierwise.app.report import report_data, resolve_run, write_report
from tierwise.app.workspace import open_workspace
from tierwise.errors import UserInputError
from tierwise.models.clv import BetaGeoModel
from tierwise.snapshots.store import SnapshotStore


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = demo_workspace(tmp_path_factory)
    ws = open_workspace(root)
    out = {}
    for lang in ("zh-CN", "en"):
        r = write_report(ws, lang=lang, actor="tester")
        html = Path(r["path"]).read_text(encoding="utf-8")
        out[lang] = (r, html, parse(html))
    return ws, out


def _snap(ws, i: int) -> pd.DataFrame:
    snaps = SnapshotStore(ws.snapshots)
    return snaps.read(snaps.in_force()[i].run_id).to_pandas()


def _num(v: str) -> float:
    return float(v)


def test_report_has_every_section_and_is_self_contained(built):
    ws, out = built
    for lang, (r, html, p) in out.items():
        assert r["run_id"] == "run-000003" and r["lang"] == lang
        assert r["sections"] == ["summary", "tiers", "migration", "rfm", "segments", "abc", "lifecycle", "clv",
                                 "validation", "candidates", "service", "quality"]
        assert r["validation"] == "holdout"
        assert p.external == [] and p.big_scripts == 1
        assert "<link" not in html
        assert html.count('class="plotly-graph-div"') >= 10
    zh, en = "".join(out["zh-CN"][2].text), "".join(out["en"][2].text)
    assert "管理摘要" in zh and "等级迁移" in zh and "数据质量" in zh and "周期维护达标率" in zh
    assert "Executive summary" in en and "Tier migration" in en and "cadence met" in en
    assert "金卡" in zh and "Gold" in en


def test_summary_and_tier_counts_equal_the_snapshot(built):
    ws, out = built
    cur, prev = _snap(ws, -1), _snap(ws, -2)
    v = out["en"][2].values
    assert int(v["summary.customers"]) == len(cur)
    for tier, n in cur["tier"].value_counts().items():
        assert int(v[f"tier.{tier}"]) == n
    assert int(v["summary.upgrades"]) == (cur["tier_event"] == "upgrade").sum()
    assert int(v["summary.downgrades"]) == (cur["tier_event"] == "downgrade").sum()
    assert _num(v["summary.value"]) == pytest.approx(float(cur["gross_sales"].astype(float).sum()))
    assert _num(v["summary.revenue_month"]) == pytest.approx(float(cur["revenue_month"].astype(float).sum()))
    assert _num(v["summary.metric"]) == pytest.approx(cur["tier_metric"].sum())
    # the history table: every run's tier counts
    for i, s in enumerate(SnapshotStore(ws.snapshots).in_force()):
        counts = _snap(ws, i)["tier"].value_counts()
        for tier, n in counts.items():
            assert int(v[f"history.{s.as_of.isoformat()}.{tier}"]) == n
    assert len(prev) == len(cur)


def test_migration_cells_equal_a_hand_count(built):
    ws, out = built
    cur, prev = _snap(ws, -1), _snap(ws, -2)
    pairs = prev[["customer_id", "tier"]].merge(cur[["customer_id", "tier"]], on="customer_id", how="outer",
                                                 suffixes=("_a", "_b")).fillna("(none)")
    hand: dict = {}
    for a, b in zip(pairs["tier_a"], pairs["tier_b"]):
        hand[(a, b)] = hand.get((a, b), 0) + 1
    v = out["en"][2].values
    cells = {k: int(x) for k, x in v.items() if k.startswith("migration.")}
    assert len(cells) == 36                         # five tiers and "(none)", squared
    for key, n in cells.items():
        _, a, b = key.split(".")
        assert n == hand.get((a, b), 0), key
    assert sum(cells.values()) == len(pairs)
    assert any(a != b and n for (a, b), n in hand.items())   # the fixture really has movements


def test_pareto_share_and_abc_classes_equal_pandas(built):
    ws, out = built
    cur = _snap(ws, -1)
    value = cur["gross_sales"].astype(float)
    top = math.ceil(0.2 * len(cur))
    share = value.sort_values(ascending=False).iloc[:top].sum() / value.sum()
    v = out["en"][2].values
    assert _num(v["pareto.top20_share"]) == pytest.approx(share)
    for cls, n in cur["abc_class"].value_counts().items():
        assert int(v[f"abc.{cls}"]) == n
        assert _num(v[f"abc_value.{cls}"]) == pytest.approx(value[cur["abc_class"] == cls].sum())


def test_rfm_grid_lifecycle_and_clv_equal_pandas(built):
    ws, out = built
    cur = _snap(ws, -1)
    data = report_data(ws, resolve_run(ws), "en")
    scored = cur.dropna(subset=["r_score", "f_score"])
    grid = pd.crosstab(scored["r_score"], scored["f_score"]).reindex(index=range(1, 6), columns=range(1, 6),
                                                                     fill_value=0)
    assert data.rfm["grid"]["counts"] == grid.to_numpy().tolist()
    v = out["en"][2].values
    for stage, n in cur["lifecycle"].value_counts().items():
        assert int(v[f"lifecycle.{stage}"]) == n
    clv = cur["clv"].dropna()
    assert int(v["clv.with_clv"]) == len(clv)
    assert _num(v["clv.total"]) == pytest.approx(clv.sum())
    assert _num(v["clv.p50"]) == pytest.approx(np.percentile(clv, 50))
    for seg, n in cur["rfm_segment"].value_counts().items():
        assert int(v[f"seg.rfm_segment.{seg}"]) == n


def test_holdout_is_the_first_runs_model_against_later_purchases(built):
    """Recomputed here: the calibration run's fitted BG/NBD, its buyers' (x, t_x, T), and their x later."""
    ws, out = built
    snaps = SnapshotStore(ws.snapshots)
    runs = snaps.in_force()
    first, last = _snap(ws, 0), _snap(ws, -1)
    state = json.loads((snaps.path(runs[0].run_id) / "models.json").read_text())["value"]["transactions"]
    model = BetaGeoModel.from_dict(state)
    buyers = first[(first["purchase_days"] > 0) & (first["T"] > 0)]
    later = last.set_index("customer_id")["x"].reindex(buyers["customer_id"]).to_numpy()
    actual = np.clip(later - buyers["x"].to_numpy(), 0, None).sum()
    weeks = (runs[-1].as_of - runs[0].as_of).days / 7
    predicted = model.expected_purchases(weeks, buyers["x"], buyers["t_x"] / 7, buyers["T"] / 7).sum()
    v = out["en"][2].values
    assert _num(v["validation.actual_total"]) == pytest.approx(actual)
    assert _num(v["validation.predicted_total"]) == pytest.approx(predicted, rel=1e-9)
    assert actual > 0
    # frequency buckets: x = 0 … 6 and 7+, each a mean over its customers
    x0 = np.minimum(buyers["x"].to_numpy(), 7)
    grown = np.clip(later - buyers["x"].to_numpy(), 0, None)
    for b in np.unique(x0):
        assert _num(v[f"freq_actual.{b}"]) == pytest.approx(grown[x0 == b].mean())


def test_the_first_run_has_the_in_sample_fit(built):
    ws, _ = built
    data = report_data(ws, resolve_run(ws, "run-000001"), "en")
    val = data.validation
    assert val["kind"] == "in_sample" and data.migration is None
    first = _snap(ws, 0)
    buyers = first[(first["purchase_days"] > 0) & (first["T"] > 0)]
    assert sum(r["actual"] for r in val["frequency"]) == len(buyers) == val["buyers"]
    assert sum(r["predicted"] for r in val["frequency"]) == pytest.approx(len(buyers))
    state = json.loads((SnapshotStore(ws.snapshots).path("run-000001") / "models.json").read_text())
    model = BetaGeoModel.from_dict(state["value"]["transactions"])
    expect0 = model.probability_of_n_purchases(0, buyers["T"].to_numpy() / 7).sum()
    assert val["frequency"][0]["predicted"] == pytest.approx(expect0)
    assert val["frequency"][0]["actual"] == (buyers["x"] == 0).sum()


def test_data_quality_is_the_imports_of_the_run(built):
    ws, out = built
    v = out["zh-CN"][2].values
    record = SnapshotStore(ws.snapshots).meta("run-000003")
    used = {i for ids in record["data"].values() for i in ids}
    imports = [i for i in ws.store().list_imports() if i["import_id"] in used]
    assert len(imports) == 5
    for imp in imports:
        iid = imp["import_id"]
        assert int(v[f"import.{iid}.rows_read"]) == imp["rows_read"]
        assert int(v[f"import.{iid}.accepted"]) == imp["accepted"]
        assert int(v[f"import.{iid}.rejected"]) == imp["rejected"]
        reasons = json.loads(imp["reconciliation"])["rejected_by_reason"]
        for reason, n in reasons.items():
            assert int(v[f"import.{iid}.reason.{reason}"]) == n
    # the demo's injected bad rows are in there
    assert sum(i["rejected"] for i in imports) > 0


def test_reports_are_audited(built):
    ws, out = built
    entries = [e for e in ws.store().audit_entries() if e["action"] == "report.written"]
    paths = {e["target"] for e in entries}
    assert {out["zh-CN"][0]["path"], out["en"][0]["path"]} <= paths
    detail = json.loads(entries[-1]["detail"])
    assert detail["run_id"] == "run-000003" and detail["bytes"] == Path(entries[-1]["target"]).stat().st_size
    assert entries[-1]["actor"] == "tester"
    assert ws.store().verify_audit() == (True, None)


def test_choosing_the_run_and_mistakes(built, tmp_path):
    ws, _ = built
    snaps = SnapshotStore(ws.snapshots)
    second = snaps.in_force()[1]
    r = write_report(ws, as_of=second.as_of.isoformat(), lang="en", out=tmp_path / "r.html")
    assert r["run_id"] == second.run_id and Path(r["path"]).exists()
    with pytest.raises(UserInputError, match="no run as of 2023-01-31"):
        write_report(ws, as_of="2023-01-31")
    with pytest.raises(UserInputError, match="not a date"):
        write_report(ws, as_of="31/12/2024")
    with pytest.raises(UserInputError, match="not both"):
        write_report(ws, run="run-000001", as_of="2024-12-31")
    with pytest.raises(UserInputError) as exc:
        write_report(ws, run="run-00001")
    assert "run-000001" in exc.value.hint
    with pytest.raises(UserInputError, match="HTML"):
        write_report(ws, out=tmp_path / "r.pdf")
    with pytest.raises(UserInputError, match="zh-CN or en"):
        write_report(ws, lang="fr")
    assert not (tmp_path / "r.pdf").exists() and not list(tmp_path.glob("_*.tmp"))


def test_service_compliance_comes_from_the_servicing_module(built):
    """The demo generated the tasks due by the last run; the section shows their compliance per manager."""
    from tierwise.app.servicing import compliance

    ws, out = built
    rows = compliance(ws, as_of=SnapshotStore(ws.snapshots).current().as_of)
    v = out["en"][2].values
    assert rows and rows[-1]["key"] == "*"
    for i, row in enumerate(rows):
        for col in ("cadence_due", "overdue", "open", "done"):
            assert int(v[f"service.{i}.{col}"]) == row[col]
    assert v[f"service.{len(rows) - 1}.key"] == "total"
