"""The HTML report of a run: read the snapshot(s), the store and the run record; write one file.

The numbers come from :mod:`tierwise.reports.tables`, the page from
:mod:`tierwise.reports.html`; this module only gathers the inputs, checks the value
model against later runs (a real holdout when earlier runs exist), writes the file
atomically and audits it.
"""

from __future__ import annotations

import inspect
import json
import math
import os
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from tierwise.app.history import migration_matrix
from tierwise.app.value import MODELS
from tierwise.app.workspace import Workspace
from tierwise.atomic import fsync_dir
from tierwise.config.policy import Policy, parse_policy
from tierwise.errors import UserInputError, did_you_mean
from tierwise.i18n import MESSAGES, t
from tierwise.reports import tables
from tierwise.reports.html import ReportData, render_report
from tierwise.snapshots.store import SnapshotInfo, SnapshotStore

SECTIONS = ("summary", "tiers", "migration", "rfm", "segments", "abc", "lifecycle", "clv", "validation",
            "candidates", "service", "quality")
#: snapshot columns the report reads (others are left on disk)
COLUMNS = ("customer_id", "tier", "tier_event", "tier_status", "tier_metric", "revenue", "gross_sales", "profit",
           "revenue_month", "r_score", "f_score", "abc_class", "lifecycle", "clv", "x", "t_x", "T",
           "purchase_days")
#: frequencies shown in the model check; the last bucket is open-ended
MAX_X = 7


# --------------------------------------------------------------------------- choosing the run
def resolve_run(ws: Workspace, run: str | None = None, as_of: str | date | None = None) -> SnapshotInfo:
    """The run named by id, or the run in force on an as-of date, or the current run."""
    if run and as_of:
        raise UserInputError("give --run or --as-of, not both")
    snaps = SnapshotStore(ws.snapshots)
    runs = snaps.in_force()
    if not runs:
        raise UserInputError(f"{ws.root}: no runs yet", hint=f"tierwise run {ws.root}")
    if as_of is not None:
        when = as_of if isinstance(as_of, date) else _date(str(as_of))
        hit = [s for s in runs if s.as_of == when]
        if not hit:
            raise UserInputError(f"no run as of {when}",
                                 hint=f"runs exist as of {', '.join(s.as_of.isoformat() for s in runs[-6:])}")
        return hit[0]
    info = snaps.find(run)
    if info is None:
        known = [s.run_id for s in snaps.index()]
        raise UserInputError(f"no run '{run}'", hint=did_you_mean(str(run), known) or f"runs: {', '.join(known[-6:])}")
    return info


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UserInputError(f"--as-of {text!r}: not a date", hint="use YYYY-MM-DD, e.g. 2024-12-31") from None


def snapshot_policy(snaps: SnapshotStore, info: SnapshotInfo) -> Policy:
    """The policy the run used (kept in its snapshot), not today's policy file."""
    return parse_policy((snaps.path(info.run_id) / "policy.yaml").read_text(encoding="utf-8"))


def read_customers(snaps: SnapshotStore, info: SnapshotInfo, columns=COLUMNS) -> pa.Table:
    path = snaps.path(info.run_id) / "customers.parquet"
    have = set(pq.read_schema(path).names)
    return pq.read_table(path, columns=[c for c in columns if c in have])


def labels_of(snaps: SnapshotStore, info: SnapshotInfo, policy: Policy) -> dict:
    """Segment labels of the run plus its tier labels: column → id → {locale: label}."""
    path = snaps.path(info.run_id) / "labels.json"
    labels = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    labels["tier"] = {lv.id: {"zh-CN": lv.label.zh_CN, "en": lv.label.en} for lv in policy.tiers.levels}
    kinds = {k: {loc: t(f"report.{k}", loc) for loc in ("zh-CN", "en")} for k in ("near", "potential")}
    labels["candidate_kind"] = {**kinds, "near+potential": {
        loc: f"{kinds['near'][loc]} + {kinds['potential'][loc]}" for loc in ("zh-CN", "en")}}
    labels["cluster"] = {str(i): {"zh-CN": f"第 {i} 类", "en": f"cluster {i}"} for i in range(100)}
    return labels


# --------------------------------------------------------------------------- sections
def _plain(v):
    if isinstance(v, Decimal):
        return float(v)
    if isinstance(v, float) and math.isnan(v):
        return None
    return v


def segment_sections(snaps: SnapshotStore, info: SnapshotInfo, policy: Policy, locale: str) -> tuple[dict | None,
                                                                                                       list[dict]]:
    """The RFM segment summary, and the other summaries (rule segmentations, clusters, lead grades)."""
    folder = snaps.path(info.run_id) / "summaries"
    titles = {f"seg_{s.name}": (s.title.zh_CN if locale == "zh-CN" else s.title.en) if s.title else s.name
              for s in policy.segments}
    titles["cluster"] = t("report.clusters", locale)
    titles["lead_grade"] = t("report.lead_grades", locale)
    rfm, others = None, []
    for path in sorted(folder.glob("*.parquet")) if folder.exists() else []:
        column = path.stem
        rows = [{k: _plain(v) for k, v in r.items()} for r in pq.read_table(path).to_pylist()]
        entry = {"column": column, "title": titles.get(column, column), "rows": rows}
        if column == "rfm_segment":
            rfm = entry
        elif column not in ("abc_class", "lifecycle"):
            others.append(entry)
    return rfm, others


def tier_history(snaps: SnapshotStore, info: SnapshotInfo) -> list[dict]:
    """Customers per tier at every run in force up to this run's date."""
    out = []
    for s in snaps.in_force():
        if s.as_of > info.as_of:
            break
        path = snaps.path(s.run_id) / "customers.parquet"
        if "tier" not in pq.read_schema(path).names:
            continue
        out.append({"as_of": s.as_of.isoformat(), "run_id": s.run_id,
                    "tiers": tables.value_counts(pq.read_table(path, columns=["tier"]), "tier")})
    return out


def _model_of(record: dict):
    classes = {cls.__name__: cls for cls in MODELS.values()}
    state = record.get("transactions")
    if not state or state.get("model") not in classes:
        return None
    return classes[state["model"]].from_dict(state)


def _value_record(snaps: SnapshotStore, info: SnapshotInfo) -> dict | None:
    path = snaps.path(info.run_id) / "models.json"
    if not path.exists():
        return None
    return json.loads(path.read_text(encoding="utf-8")).get("value")


def _buyers(table: pa.Table) -> pa.Table:
    """Customers the value model was fitted on: at least one purchase day and a positive age."""
    pd_ = tables.floats(table, "purchase_days")
    T = tables.floats(table, "T")
    keep = np.nan_to_num(pd_) > 0
    keep &= np.isfinite(T) & (T > 0)
    return table.filter(pa.array(keep))


def model_validation(snaps: SnapshotStore, info: SnapshotInfo, customers: pa.Table) -> dict | None:
    """Predicted vs actual repeat purchases.

    With an earlier run (up to a year back; the earliest such run) whose value model was
    fitted, that run is the calibration period and this run's date the end of a true
    holdout: the earlier model predicts each of its buyers' repeat purchases up to each
    later run from their ``(x, t_x, T)`` then, and the actual count is the growth of
    ``x`` since. Without one, the in-sample fit: customers by ``x`` against the model's
    expected counts ``Σ P(X(T_i) = n)``.
    """
    record = _value_record(snaps, info)
    if record is None:
        return None
    if "error" in record or not record.get("transactions"):
        return {"kind": "error", "error": record.get("error", "no model"), "model": []}
    days = 7.0 if record.get("unit") == "W" else 1.0
    models = [{"name": record["transactions"]["model"], "params": record["transactions"]["params"],
               "log_likelihood": record["transactions"].get("metadata", {}).get("log_likelihood")}]
    if record.get("gamma_gamma"):
        gg = record["gamma_gamma"]
        models.append({"name": gg["model"], "params": gg["params"],
                       "log_likelihood": gg.get("metadata", {}).get("log_likelihood")})
    earlier = [s for s in snaps.in_force() if info.as_of - timedelta(days=366) <= s.as_of < info.as_of]
    for cal in earlier:
        cal_record = _value_record(snaps, cal)
        model = _model_of(cal_record) if cal_record and "error" not in cal_record else None
        if model is None:
            continue
        cal_days = 7.0 if cal_record.get("unit") == "W" else 1.0
        return {**_holdout(snaps, cal, info, model, cal_days), "model": models}
    model = _model_of(record)
    if model is None:
        return None
    return {**_in_sample(customers, model, days), "model": models}


def _holdout(snaps: SnapshotStore, cal: SnapshotInfo, end: SnapshotInfo, model, days: float) -> dict:
    base = _buyers(read_customers(snaps, cal, ("customer_id", "x", "t_x", "T", "purchase_days")))
    x0 = tables.floats(base, "x")
    t_x0 = tables.floats(base, "t_x") / days
    T0 = tables.floats(base, "T") / days
    later = [s for s in snaps.in_force() if cal.as_of < s.as_of <= end.as_of]
    track = [{"as_of": cal.as_of.isoformat(), "actual": 0.0, "predicted": 0.0}]
    ids = pd.Index(base["customer_id"].to_pylist())
    actual = predicted = None
    for s in later:
        now = read_customers(snaps, s, ("customer_id", "x"))
        xs = pd.Series(tables.floats(now, "x"), index=now["customer_id"].to_pylist()).reindex(ids).to_numpy()
        grown = np.where(np.isfinite(xs), np.maximum(xs - x0, 0.0), 0.0)
        horizon = (s.as_of - cal.as_of).days / days
        pred = np.asarray(model.expected_purchases(horizon, x0, t_x0, T0), dtype="float64")
        track.append({"as_of": s.as_of.isoformat(), "actual": float(grown.sum()), "predicted": float(pred.sum())})
        actual, predicted = grown, pred
    bucket = np.minimum(x0, MAX_X)
    freq = []
    for b in range(MAX_X + 1):
        mask = bucket == b
        if mask.any():
            freq.append({"x": b, "open_ended": b == MAX_X, "customers": int(mask.sum()),
                         "actual": float(actual[mask].mean()), "predicted": float(predicted[mask].mean())})
    a, p = float(actual.sum()), float(predicted.sum())
    return {"kind": "holdout", "calibration_run": cal.run_id, "calibration_as_of": cal.as_of.isoformat(),
            "holdout_end": end.as_of.isoformat(), "buyers": int(base.num_rows), "actual_total": a,
            "predicted_total": p, "error": (p - a) / a if a else 0.0, "frequency": freq, "tracking": track}


def _in_sample(customers: pa.Table, model, days: float) -> dict:
    b = _buyers(customers)
    x = tables.floats(b, "x")
    T = tables.floats(b, "T") / days
    freq, expected_below = [], 0.0
    for n in range(MAX_X):
        e = float(np.sum(model.probability_of_n_purchases(n, T)))
        expected_below += e
        freq.append({"x": n, "open_ended": False, "customers": int((x == n).sum()), "actual": int((x == n).sum()),
                     "predicted": e})
    rest = int((x >= MAX_X).sum())
    freq.append({"x": MAX_X, "open_ended": True, "customers": rest, "actual": rest,
                 "predicted": float(len(x) - expected_below)})
    return {"kind": "in_sample", "buyers": int(b.num_rows), "frequency": freq, "tracking": None}


def service_section(ws: Workspace, info: SnapshotInfo, locale: str) -> dict | None:
    """Service compliance from :mod:`tierwise.app.servicing`, when that module exists and has data."""
    try:
        from tierwise.app import servicing  # written by the servicing area; optional here
    except ImportError:
        return None
    compliance = getattr(servicing, "compliance", None)
    if compliance is None:
        return None
    params = inspect.signature(compliance).parameters
    kw = {k: v for k, v in (("as_of", info.as_of), ("run", info.run_id), ("locale", locale)) if k in params}
    table = normalise_rows(compliance(ws, **kw))
    if table is None:
        return None
    table["columns"] = [c for c in table["columns"] if c != "by"]
    table["titles"] = {c: t(f"report.svc.{c}", locale) if f"report.svc.{c}" in MESSAGES else c
                       for c in table["columns"]}
    for row in table["rows"]:
        if row.get("key") == "*":
            row["key"] = t("report.svc.total", locale)
    return table


def normalise_rows(result) -> dict | None:
    """A table-like result (rows, a dict with ``rows``, an Arrow table or a DataFrame) as columns and rows."""
    if result is None:
        return None
    note = None
    if isinstance(result, dict):
        note = result.get("note")
        result = result.get("rows", result.get("by_tier", result.get("items", [])))
    if hasattr(result, "to_pylist"):
        result = result.to_pylist()
    elif hasattr(result, "to_dict"):
        result = result.to_dict("records")
    rows = [dict(r) for r in result]
    if not rows:
        return None
    columns = list(dict.fromkeys(k for r in rows for k in r))
    return {"columns": columns, "rows": rows, "note": note}


def quality_section(ws: Workspace, record: dict) -> dict:
    """The imports that formed the run's data (its record names them), with their reconciliations."""
    used = {i for ids in record.get("data", {}).values() for i in ids}
    rows = []
    for imp in ws.store().list_imports():
        if imp["import_id"] not in used:
            continue
        rec = json.loads(imp["reconciliation"])
        rows.append({"table": imp["table_name"], "import_id": imp["import_id"], "source": imp["source"],
                     "source_name": Path(imp["source"]).name, "sha256": imp["source_sha256"],
                     "rows_read": imp["rows_read"], "accepted": imp["accepted"], "rejected": imp["rejected"],
                     "reject_rate": (imp["rejected"] / imp["rows_read"]) if imp["rows_read"] else 0.0,
                     "rejected_by_reason": rec.get("rejected_by_reason", {}), "created_at": str(imp["created_at"])})
    return {"data_version": record.get("data_version"), "imports": rows}


# --------------------------------------------------------------------------- assembling
def report_data(ws: Workspace, info: SnapshotInfo, locale: str) -> ReportData:
    """Every section's numbers for the run ``info``."""
    snaps = SnapshotStore(ws.snapshots)
    policy = snapshot_policy(snaps, info)
    record = snaps.meta(info.run_id)
    customers = read_customers(snaps, info)
    prev_info = snaps.before(info.as_of)
    previous = read_customers(snaps, prev_info) if prev_info else None
    has = customers.column_names
    levels = [lv.id for lv in policy.tiers.levels] if policy.tiers.enabled and "tier" in has else []
    value_col = policy.abc.value if policy.abc.value in has else None
    data = ReportData(
        meta={"run_id": info.run_id, "as_of": info.as_of.isoformat(), "policy": policy.name,
              "currency": policy.currency, "preset": policy.preset, "workspace": str(ws.root),
              "generated": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")},
        labels=labels_of(snaps, info, policy), levels=levels)
    data.summary = tables.run_summary(customers, previous, value_column=value_col,
                                      metric_column="tier_metric" if levels else None)
    if levels:
        data.summary["metric_column"] = policy.tiers.metric
        data.tier_counts = tables.tier_counts(customers, levels)
        data.history = tier_history(snaps, info)
        if prev_info is not None:
            try:
                data.migration = migration_matrix(ws, prev_info.run_id, info.run_id)
            except UserInputError:
                data.migration = None
    rfm_rows, data.segments = segment_sections(snaps, info, policy, locale)
    if "r_score" in has and "f_score" in has:
        data.rfm = {"grid": tables.rfm_grid(customers, policy.rfm.monetary, policy.rfm.bins),
                    "monetary": policy.rfm.monetary, "bins": policy.rfm.bins, "segments": rfm_rows}
    if "abc_class" in has and value_col:
        data.pareto = {**tables.pareto(customers, value_col), "column": value_col}
    if "lifecycle" in has:
        data.lifecycle = tables.lifecycle_funnel(customers)
    if "clv" in has and customers["clv"].null_count < customers.num_rows:
        data.clv = tables.clv_distribution(customers, levels or None)
    if "x" in has:
        data.validation = model_validation(snaps, info, customers)
    cand_path = snaps.path(info.run_id) / "candidates.parquet"
    if cand_path.exists():
        data.candidates = tables.candidate_summary(pq.read_table(cand_path))
    data.service = service_section(ws, info, locale)
    data.quality = quality_section(ws, record)
    return data


@contextmanager
def atomic_file(path: Path):
    """A binary file handle whose content replaces ``path`` only when the block ends without error."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"_{path.name}.tmp")
    fh = open(tmp, "wb")
    try:
        yield fh
        fh.flush()
        os.fsync(fh.fileno())
        fh.close()
        os.replace(tmp, path)
        fsync_dir(path.parent)
    except BaseException:
        fh.close()
        tmp.unlink(missing_ok=True)
        raise


def resolve_locale(ws: Workspace, lang: str | None) -> str:
    if lang is None:
        return ws.policy().locale
    if lang.lower() in ("zh", "zh-cn", "zh_cn", "cn"):
        return "zh-CN"
    if lang.lower() in ("en", "en-us", "en-gb"):
        return "en"
    raise UserInputError(f"--lang {lang!r}: use zh-CN or en", hint=did_you_mean(lang, ["zh-CN", "en"]))


def write_report(ws: Workspace, *, run: str | None = None, as_of: str | date | None = None,
                 lang: str | None = None, out: str | Path | None = None, actor: str = "cli",
                 progress=None) -> dict:
    """Write the HTML report of a run (default: the current one) and audit it; return a summary."""
    step = progress or (lambda s: None)
    locale = resolve_locale(ws, lang)
    info = resolve_run(ws, run, as_of)
    step("read")
    data = report_data(ws, info, locale)
    step("render")
    html = render_report(data, locale)
    path = Path(out) if out else ws.root / "reports" / f"report-{info.as_of.isoformat()}-{info.run_id}-{locale}.html"
    if path.suffix.lower() not in (".html", ".htm"):
        raise UserInputError(f"--out {path}: the report is an HTML file", hint=f"use {path.with_suffix('.html')}")
    step("write")
    body = html.encode("utf-8")
    with atomic_file(path) as fh:
        fh.write(body)
    sections = [s for s in SECTIONS if _has(data, s)]
    ws.store().audit(actor, "report.written", str(path), {"run_id": info.run_id, "as_of": info.as_of.isoformat(),
                                                          "lang": locale, "bytes": len(body), "sections": sections})
    return {"path": str(path), "run_id": info.run_id, "as_of": info.as_of.isoformat(), "lang": locale,
            "bytes": len(body), "sections": sections,
            "validation": data.validation["kind"] if data.validation else None}


def _has(data: ReportData, section: str) -> bool:
    value = {"summary": data.summary, "tiers": data.tier_counts, "migration": data.migration, "rfm": data.rfm,
             "segments": data.segments, "abc": data.pareto, "lifecycle": data.lifecycle, "clv": data.clv,
             "validation": data.validation, "candidates": data.candidates, "service": data.service,
             "quality": data.quality and data.quality["imports"]}[section]
    return bool(value)
