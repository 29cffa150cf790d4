"""The Excel export of a run: summary, segments, tiers with changes, upgrade candidates and tasks
per manager, data quality.

Personal fields (name, phone) are masked through :func:`tierwise.app.access.personal_view`,
the one way personal data leaves a workspace; there is no option to export them in clear.
Long lists are streamed into the workbook and split at Excel's row limit
(:mod:`tierwise.reports.workbook`). The file is replaced atomically and every export is
audited.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from datetime import date, datetime, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from tierwise.app.report import (atomic_file, labels_of, quality_section, resolve_locale, resolve_run,
                                 snapshot_policy)
from tierwise.app.workspace import Workspace
from tierwise.errors import UserInputError
from tierwise.i18n import t
from tierwise.reports import tables
from tierwise.reports.html import labeller
from tierwise.reports.workbook import EXCEL_MAX_ROWS, Col, Sheet, Styled, write_workbook
from tierwise.snapshots.store import SnapshotInfo, SnapshotStore

#: personal fields shown (masked) next to customer numbers
SHOWN_PERSONAL = ("name", "phone")
BATCH = 65_536


def _personal(ws: Workspace, ids: list[str], actor: str) -> dict[str, dict]:
    """Masked personal fields of ``ids`` (the export role sees every customer, never in clear)."""
    from tierwise.app.access import Principal, personal_view

    return personal_view(ws, Principal(username=actor, role="analyst"), ids, unmask=False)


def _rows(table: pa.Table, columns: list[str]) -> Iterator[tuple]:
    """Rows of ``table`` as tuples, a batch at a time."""
    for batch in table.select(columns).to_batches(max_chunksize=BATCH):
        yield from zip(*(batch.column(i).to_pylist() for i in range(len(columns))))


def summary_sheet(ws: Workspace, info: SnapshotInfo, customers: pa.Table, previous: pa.Table | None, policy,
                  locale: str, label) -> Sheet:
    tr = lambda key, **kw: t(key, locale, **kw)  # noqa: E731
    value_col = policy.abc.value if policy.abc.value in customers.column_names else None
    s = tables.run_summary(customers, previous, value_column=value_col,
                           metric_column="tier_metric" if "tier_metric" in customers.column_names else None)
    rows: list[tuple] = [
        (tr("export.workspace"), str(ws.root)), (tr("export.run"), info.run_id),
        (tr("export.as_of"), Styled(info.as_of, "date")),
        (tr("export.exported_at"), datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")),
        (tr("export.masked"), tr("export.masked_value", fields=", ".join(SHOWN_PERSONAL))),
        (tr("report.kpi.customers"), Styled(s["customers"], "int")),
    ]
    if s["previous_customers"] is not None:
        rows.append((tr("export.previous_customers"), Styled(s["previous_customers"], "int")))
    if "tier" in customers.column_names:
        rows += [(tr("report.kpi.upgrades"), Styled(s["upgrades"], "int")),
                 (tr("report.kpi.downgrades"), Styled(s["downgrades"], "int")),
                 (tr("report.kpi.watch"), Styled(s["watch"], "int"))]
        levels = [lv.id for lv in policy.tiers.levels]
        for r in reversed(tables.tier_counts(customers, levels)):
            rows.append((f"{tr('report.tier')}: {label('tier', r['tier'])}", Styled(r["customers"], "int")))
    if s["value"] is not None:
        rows.append((tr("report.kpi.value", column=value_col) + f" ({policy.currency})", Styled(s["value"], "money")))
    if s["revenue_month"] is not None:
        rows.append((tr("report.kpi.revenue_month") + f" ({policy.currency})", Styled(s["revenue_month"], "money")))
    return Sheet(tr("export.sheet.summary"), [Col(tr("export.item"), width=36), Col(tr("export.value"), "general",
                                                                                      width=30)], rows)


def segments_sheet(snaps: SnapshotStore, info: SnapshotInfo, policy, locale: str, label) -> Sheet:
    tr = lambda key: t(key, locale)  # noqa: E731
    folder = snaps.path(info.run_id) / "summaries"
    titles = {"rfm_segment": "RFM", "abc_class": "ABC", "lifecycle": tr("report.section.lifecycle"),
              "cluster": tr("report.clusters"), "lead_grade": tr("report.lead_grades")}
    titles.update({f"seg_{s.name}": (s.title.zh_CN if locale == "zh-CN" else s.title.en) if s.title else s.name
                   for s in policy.segments})
    cols = [Col(tr("export.classification")), Col(tr("segment")), Col(tr("export.label"), width=20),
            Col(tr("customers"), "int"), Col(tr("share"), "pct"), Col(tr("revenue"), "money"),
            Col(tr("revenue_share"), "pct"), Col(tr("aov"), "money"), Col(tr("median_recency_days"), "float"),
            Col("CLV", "money")]

    def rows():
        for path in sorted(folder.glob("*.parquet")) if folder.exists() else []:
            for r in pq.read_table(path).to_pylist():
                seg = str(r["segment"])
                yield (titles.get(path.stem, path.stem), seg, label(path.stem, seg), r["customers"], r["share"], r.get("revenue"),
                       r.get("revenue_share"), r.get("aov"), r.get("median_recency_days"), r.get("avg_clv"))
    return Sheet(tr("export.sheet.segments"), cols, rows())


def tiers_sheet(ws: Workspace, customers: pa.Table, locale: str, label, actor: str) -> Sheet | None:
    """Every customer's tier with the previous tier and the change; changes first."""
    if "tier" not in customers.column_names:
        return None
    tr = lambda key: t(key, locale)  # noqa: E731
    changed = pc.invert(pc.is_null(customers["tier_event"]))
    order = customers.append_column("_changed", pc.cast(changed, pa.int8())).sort_by(
        [("_changed", "descending"), ("customer_id", "ascending")])
    ids = order["customer_id"].to_pylist()
    people = _personal(ws, ids, actor)

    def rows():
        cols = ["customer_id", "manager_id", "branch_id", "tier", "tier_level_prev", "tier_event", "tier_status",
                "tier_metric", "watch_count"]
        have = [c for c in cols if c in order.column_names]
        for r in _rows(order, have):
            d = dict(zip(have, r))
            p = people.get(d["customer_id"], {})
            prev = d.get("tier_level_prev")
            yield (d["customer_id"], p.get("name"), d.get("manager_id"), d.get("branch_id"),
                   label("tier", d["tier"]), label("tier_level", prev) if prev is not None else None,
                   label("tier_event", d.get("tier_event")) if d.get("tier_event") else None,
                   label("tier_status", d.get("tier_status")), d.get("tier_metric"), d.get("watch_count"))
    cols = [Col(tr("export.customer_id")), Col(tr("export.name"), width=10), Col(tr("export.manager_id")),
            Col(tr("export.branch_id")), Col(tr("report.tier")), Col(tr("export.tier_prev")),
            Col(tr("export.event")), Col(tr("export.status")), Col(tr("export.metric"), "money"),
            Col(tr("export.watch_count"), "int")]
    return Sheet(tr("export.sheet.tiers"), cols, rows())


def candidates_sheet(ws: Workspace, snaps: SnapshotStore, info: SnapshotInfo, locale: str, label,
                     actor: str) -> Sheet | None:
    """Upgrade candidates per manager, best first within each manager."""
    path = snaps.path(info.run_id) / "candidates.parquet"
    if not path.exists():
        return None
    tr = lambda key: t(key, locale)  # noqa: E731
    cand = pq.read_table(path)
    cand = cand.append_column("_m", pc.fill_null(cand["manager_id"], "")).sort_by(
        [("_m", "ascending"), ("rank_in_manager", "ascending")])
    people = _personal(ws, cand["customer_id"].to_pylist(), actor)
    cols = ["manager_id", "rank_in_manager", "customer_id", "tier", "next_level", "tier_metric", "next_entry", "gap",
            "gap_share", "candidate_kind", "likelihood", "clv", "score", "rank"]

    def rows():
        for r in _rows(cand, cols):
            d = dict(zip(cols, r))
            p = people.get(d["customer_id"], {})
            yield (d["manager_id"], d["rank_in_manager"], d["customer_id"], p.get("name"), p.get("phone"),
                   label("tier", d["tier"]), label("tier_level", d["next_level"]), d["tier_metric"], d["next_entry"],
                   d["gap"], d["gap_share"], label("candidate_kind", d["candidate_kind"]), d["likelihood"], d["clv"],
                   d["score"], d["rank"])
    header = [Col(tr("export.manager_id")), Col(tr("export.rank_in_manager"), "int"), Col(tr("export.customer_id")),
              Col(tr("export.name"), width=10), Col(tr("export.phone"), width=14), Col(tr("report.tier")),
              Col(tr("report.next_tier")), Col(tr("export.metric"), "money"), Col(tr("report.next_tier") + " ≥",
                                                                                  "money"),
              Col(tr("report.gap"), "money"), Col(tr("export.gap_share"), "pct"), Col(tr("report.kind"), width=18),
              Col(tr("report.likelihood"), "pct"), Col("CLV", "money"), Col(tr("report.score"), "float"),
              Col(tr("report.rank"), "int")]
    return Sheet(tr("export.sheet.candidates"), header, rows())


#: task fields exported, in order; the message and note are left out (they may name the customer)
TASK_COLUMNS = (("manager_id", "text"), ("due_at", "datetime"), ("customer_id", "text"), ("name", "text"),
                ("type", "text"), ("rule", "text"), ("tier", "text"), ("priority", "int"), ("channel", "text"),
                ("status", "text"), ("outcome", "text"), ("closed_at", "datetime"), ("escalated_to", "text"),
                ("branch_id", "text"), ("task_id", "int"))


def _list_tasks():
    """The servicing area's ``list_tasks``, when that module exists."""
    try:
        from tierwise.app import servicing  # the servicing area's module; optional here
    except ImportError:
        return None
    return getattr(servicing, "list_tasks", None)


def tasks_sheet(ws: Workspace, locale: str, label, actor: str) -> Sheet:
    """Service tasks per manager (by due time), or a line saying there are none."""
    title = t("export.sheet.tasks", locale)
    list_tasks = _list_tasks()
    tasks: list[dict] = []
    if list_tasks is not None:
        kw = {"limit": None} if "limit" in inspect.signature(list_tasks).parameters else {}
        tasks = list_tasks(ws, **kw)
    if not tasks:
        return Sheet(title, [Col(t("export.item", locale), width=40)], [(t("export.no_tasks", locale),)])
    tasks = sorted(tasks, key=lambda r: (str(r.get("manager_id") or ""), str(r.get("due_at") or ""),
                                         r.get("task_id") or 0))
    people = _personal(ws, [r["customer_id"] for r in tasks if r.get("customer_id")], actor)

    def value(r: dict, col: str, kind: str):
        if col == "name":
            return people.get(r.get("customer_id"), {}).get("name")
        v = r.get(col)
        if kind == "datetime" and isinstance(v, str):
            return datetime.fromisoformat(v)
        if col == "tier":
            return label("tier", v)
        return v
    cols = [Col(t(f"export.task.{c}", locale), k if k != "datetime" else "datetime") for c, k in TASK_COLUMNS]
    return Sheet(title, cols, ([value(r, c, k) for c, k in TASK_COLUMNS] for r in tasks))


def quality_sheet(ws: Workspace, record: dict, locale: str) -> Sheet:
    tr = lambda key, **kw: t(key, locale, **kw)  # noqa: E731
    q = quality_section(ws, record)
    reasons = sorted({r for i in q["imports"] for r in i["rejected_by_reason"]})
    cols = [Col(tr("table")), Col(tr("report.import")), Col(tr("report.source"), width=30),
            Col(tr("export.sha256"), width=20), Col(tr("rows_read"), "int"), Col(tr("accepted"), "int"),
            Col(tr("rejected"), "int"), Col(tr("export.reject_rate"), "pct")] + \
        [Col(tr("export.reason", reason=tr(f"reason.{r}")), "int") for r in reasons]
    rows = [(i["table"], i["import_id"], i["source"], i["sha256"], i["rows_read"], i["accepted"], i["rejected"],
             i["reject_rate"], *[i["rejected_by_reason"].get(r, 0) for r in reasons]) for i in q["imports"]]
    return Sheet(tr("export.sheet.quality"), cols, rows)


def export_labels(labels: dict, policy, locale: str) -> dict:
    """Labels of the export's coded columns (tier levels by index, events, statuses)."""
    out = dict(labels)
    out["tier_level"] = {str(i): {"zh-CN": lv.label.zh_CN, "en": lv.label.en} for i, lv in
                         enumerate(policy.tiers.levels)}
    zh = {"upgrade": "升级", "downgrade": "降级", "watch": "关注", "recovered": "恢复", "new": "新客户",
          "normal": "正常", "pending": "待生效"}
    out["tier_event"] = out["tier_status"] = {k: {"zh-CN": v, "en": k} for k, v in zh.items()}
    return out


def write_export(ws: Workspace, *, run: str | None = None, as_of: str | date | None = None, lang: str | None = None,
                 out: str | Path | None = None, actor: str = "cli", max_rows: int = EXCEL_MAX_ROWS,
                 progress=None) -> dict:
    """Write the run's workbook (default: the current run) and audit it; return what was written."""
    step = progress or (lambda s: None)
    locale = resolve_locale(ws, lang)
    info = resolve_run(ws, run, as_of)
    path = Path(out) if out else ws.root / "exports" / f"export-{info.as_of.isoformat()}-{info.run_id}.xlsx"
    if path.suffix.lower() != ".xlsx":
        raise UserInputError(f"--out {path}: the export is an .xlsx workbook", hint=f"use {path.with_suffix('.xlsx')}")
    step("read")
    snaps = SnapshotStore(ws.snapshots)
    policy = snapshot_policy(snaps, info)
    label = labeller(export_labels(labels_of(snaps, info, policy), policy, locale), locale)
    customers = snaps.read(info.run_id)
    prev = snaps.before(info.as_of)
    previous = snaps.read(prev.run_id, "customers") if prev else None
    sheets = [summary_sheet(ws, info, customers, previous, policy, locale, label),
              segments_sheet(snaps, info, policy, locale, label),
              tiers_sheet(ws, customers, locale, label, actor),
              candidates_sheet(ws, snaps, info, locale, label, actor),
              tasks_sheet(ws, locale, label, actor),
              quality_sheet(ws, snaps.meta(info.run_id), locale)]
    step("write")
    ws.scratch.mkdir(exist_ok=True)
    with atomic_file(path) as fh:
        written = write_workbook(fh, [s for s in sheets if s is not None], max_rows=max_rows,
                                 tmpdir=str(ws.scratch))
    size = path.stat().st_size
    ws.store().audit(actor, "export.written", str(path), {
        "run_id": info.run_id, "as_of": info.as_of.isoformat(), "lang": locale, "bytes": size,
        "sheets": written, "personal_fields": "masked"})
    return {"path": str(path), "run_id": info.run_id, "as_of": info.as_of.isoformat(), "lang": locale,
            "bytes": size, "sheets": written}
