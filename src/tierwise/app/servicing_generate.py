"""Generate service tasks for a day: read the snapshot, canonical tables and store state, call the pure
generator (:mod:`tierwise.servicing.plans`), and write new tasks, their outbox messages and the closing
of obsolete tasks in one transaction.

Runs after every ``tierwise run`` (for today) and daily (``tierwise tasks generate DIR [--on DATE]``).
Personal fields (name, birthday, phone, e-mail) are read here and nowhere below.
"""

from __future__ import annotations

import json
import time as _time
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from tierwise.app.personal import personal_fields
from tierwise.protect.vault import open_text, seal_text
from tierwise.app.workspace import Workspace
from tierwise.canonical import TABLES
from tierwise.config.servicing import CampaignStrategy
from tierwise.errors import PolicyError, TierwiseWarning, UserInputError
from tierwise.servicing.calendar import BusinessCalendar, calendar_from
from tierwise.servicing.messages import MessageTemplate
from tierwise.servicing.obsolete import OPEN_TASK_SCHEMA, obsolete
from tierwise.servicing.plans import CampaignPlan, Generator, Inputs, compile_templates
from tierwise.snapshots.store import SnapshotStore

#: the daily generation is taken to run at the start of the business day
DAY_START = time(8, 0)


class ServicingWarning(TierwiseWarning):
    """Task generation after a run failed; the run's snapshot is published all the same."""


def local_now(sv) -> datetime:
    """Now, as a naive local time in the policy's time zone (how servicing stores times)."""
    return datetime.now(ZoneInfo(sv.timezone)).replace(tzinfo=None, microsecond=0)


def business_calendar(sv, on: date) -> BusinessCalendar:
    c = sv.calendar
    try:
        return calendar_from(c.country, on.year - 2, on.year + 2, subdivision=c.subdivision, weekend=tuple(c.weekend),
                             extra_holidays=tuple(c.extra_holidays), extra_workdays=tuple(c.extra_workdays))
    except NotImplementedError:
        raise PolicyError(f"servicing → calendar → country: no public-holiday calendar for '{c.country}'",
                          hint="use an ISO country code such as CN, HK, US or GB, or leave it empty") from None


def read_canonical(ws: Workspace, table: str, columns: list[str], filter=None) -> pa.Table:
    """Columns of a canonical table (typed and empty when never imported)."""
    schema = TABLES[table].arrow_schema()
    files = ws.data.table_files(table)
    if not files:
        return schema.empty_table().select(columns)
    return ds.dataset(files, format="parquet", schema=schema).to_table(columns=columns, filter=filter)


def _labels(ws: Workspace, policy, run_id: str | None, locale: str) -> dict[str, str]:
    if policy.servicing.plan_by == "tier":
        return {lv.id: (lv.label.zh_CN if locale == "zh-CN" else lv.label.en) for lv in policy.tiers.levels}
    if run_id is None:
        return {}
    path = SnapshotStore(ws.snapshots).path(run_id) / "labels.json"
    if not path.exists():
        return {}
    labels = json.loads(path.read_text(encoding="utf-8")).get(policy.servicing.plan_by, {})
    return {k: v.get(locale, k) for k, v in labels.items()}


def _map(arr: pa.Array, mapping: dict[str, str]) -> pa.Array:
    if not mapping:
        return pc.cast(arr, pa.string())
    keys = pa.array(list(mapping), pa.string())
    idx = pc.index_in(pc.cast(arr, pa.string()), keys)
    return pc.coalesce(pa.array(list(mapping.values()), pa.string()).take(idx), pc.cast(arr, pa.string()))


def _snapshot_part(ws: Workspace, policy, on: date):
    """(snapshot info, its plan columns, the previous snapshot's churn warnings) in force on ``on``."""
    snaps = SnapshotStore(ws.snapshots)
    earlier = [s for s in snaps.in_force() if s.as_of <= on]
    if not earlier:
        return None, None, None
    cur = earlier[-1]
    plan_by = policy.servicing.plan_by
    import pyarrow.parquet as pq
    path = snaps.path(cur.run_id) / "customers.parquet"
    have = set(pq.read_schema(path).names)
    if plan_by not in have:
        raise PolicyError(f"servicing → plan_by: the snapshot {cur.run_id} has no column '{plan_by}'",
                          hint="use tier, lifecycle, rfm_segment, a seg_<name> or a maps_to column")
    cols = [c for c in dict.fromkeys(["customer_id", plan_by, "tier_since", "tier_event", "tier_level_prev",
                                      "churn_warnings"]) if c in have]
    snap = pq.read_table(path, columns=cols)
    prev = None
    if len(earlier) > 1:
        ppath = snaps.path(earlier[-2].run_id) / "customers.parquet"
        if "churn_warnings" in pq.read_schema(ppath).names:
            prev = pq.read_table(ppath, columns=["customer_id", "churn_warnings"])
    return cur, snap, prev


def _last_contacts(ws: Workspace, policy, at: datetime) -> pa.Table:
    """customer_id → date of the latest contact: interactions of a contact kind, and the contact log."""
    from tierwise.engine import connect_duckdb

    files = ws.data.table_files("interactions")
    frames = []
    if files:
        con = connect_duckdb(ws.scratch)
        try:
            flist = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
            kinds = list(policy.features.contact_kinds)
            frames.append(con.sql(
                f"SELECT customer_id, CAST(max(interaction_time) AS DATE) AS d FROM read_parquet([{flist}]) "
                f"WHERE kind IN ({', '.join('?' * len(kinds))}) AND interaction_time <= ? GROUP BY customer_id",
                params=[*kinds, at]).to_arrow_table())
        finally:
            con.close()
    logged = ws.store().last_contacts(policy.servicing.contact_outcomes, at)
    if logged:
        frames.append(pa.table({"customer_id": pa.array(list(logged), pa.string()),
                                "d": pa.array([v.date() for v in logged.values()], pa.date32())}))
    if not frames:
        return pa.table({"customer_id": pa.array([], pa.string()), "last_contact": pa.array([], pa.date32())})
    both = pa.concat_tables([f.cast(pa.schema([("customer_id", pa.string()), ("d", pa.date32())])) for f in frames])
    return both.group_by("customer_id").aggregate([("d", "max")]).rename_columns(["customer_id", "last_contact"])


def _holdings(ws: Workspace, sv, on: date) -> pa.Table | None:
    if not (sv.maturity.enabled or sv.target_return.enabled):
        return None
    cols = ["customer_id", "product_id", "product_name", "product_type", "open_date", "maturity_date", "amount",
            "target_return", "status"]
    h = read_canonical(ws, "holdings", cols)
    current = pa.nulls(h.num_rows, pa.float64())
    if sv.target_return.enabled and h.num_rows and h["target_return"].null_count < h.num_rows \
            and ws.data.table_files("balances"):
        from tierwise.engine import connect_duckdb
        con = connect_duckdb(ws.scratch)
        try:
            flist = ", ".join("'" + f.replace("'", "''") + "'" for f in ws.data.table_files("balances"))
            latest = con.sql(
                f"SELECT customer_id, product_id, arg_max(balance, balance_date)::DOUBLE AS value "
                f"FROM read_parquet([{flist}]) WHERE balance_date <= ? GROUP BY ALL", params=[on]).to_arrow_table()
        finally:
            con.close()
        joined = h.append_column("_i", pa.array(np.arange(h.num_rows))).join(
            latest, ["customer_id", "product_id"], join_type="left outer").sort_by("_i")
        amount = pc.cast(joined["amount"], pa.float64())
        ratio = pc.subtract(pc.divide(joined["value"], pc.if_else(pc.greater(amount, 0), amount, None)), 1.0)
        h = joined.drop_columns(["_i", "value"])
        current = ratio
    return h.append_column("current_return", current)


def _campaigns(ws: Workspace, sv, locale: str, on: date) -> tuple[list[CampaignPlan], set[int]]:
    store = ws.store()
    plans, active = [], set()
    for c in store.list_campaigns():
        if c["status"] != "started" or c["ends_on"] < on:
            continue
        active.add(c["campaign_id"])
        where = f"campaign {c['campaign_id']} → strategy"
        try:
            strat = CampaignStrategy.model_validate(json.loads(c["strategy"] or "{}"))
        except (ValueError, TypeError) as exc:
            raise UserInputError(f"{where}: {str(exc).splitlines()[0] if str(exc) else exc}",
                                 hint='write e.g. {"task": {"template": {"zh-CN": "…", "en": "…"}, "due_days": 5}}') \
                from None
        task = strat.task
        d = sv.campaigns
        tpl_ref = task.template if task and task.template is not None else d.template
        if isinstance(tpl_ref, str):
            if tpl_ref not in sv.templates:
                raise UserInputError(f"{where} → task → template: no template '{tpl_ref}' in the policy")
            t = sv.templates[tpl_ref]
            text, name = (t.zh_CN if locale == "zh-CN" else t.en), tpl_ref
        else:
            text, name = (tpl_ref.zh_CN if locale == "zh-CN" else tpl_ref.en), f"campaign {c['campaign_id']}"
        template = MessageTemplate(name, text, kind="campaign", where=where)
        step = d.model_copy(update={k: v for k, v in {"channel": task and task.channel,
                                                      "priority": task and task.priority}.items() if v})
        members = [m["customer_id"] for m in store.campaign_members(c["campaign_id"]) if m["arm"] == "treatment"]
        plans.append(CampaignPlan(c["campaign_id"], c["name"], c["starts_on"], c["ends_on"], members, template, step,
                                  (task.due_days if task and task.due_days else d.due_days)))
    return plans, active


def build_inputs(ws: Workspace, policy, on: date, at: datetime) -> tuple[Inputs, set[int]]:
    """Everything the generator reads for ``on``, joined into its input tables."""
    from tierwise.app.servicing import manager_names, owners

    sv = policy.servicing
    locale = policy.locale
    cust = read_canonical(ws, "customers", ["customer_id", "open_date"])
    # names, contacts and birthdays come from the sealed vault (tierwise.app.personal), only here
    people = personal_fields(ws, columns=["name", "phone", "email", "birthday"])
    cust = cust.join(people, "customer_id", join_type="left outer").sort_by("customer_id")
    own = owners(ws)
    cust = cust.join(own, "customer_id", join_type="left outer")
    names = manager_names(ws)
    cust = cust.append_column("manager_name", pc.coalesce(_map(cust["manager_id"], names), cust["manager_id"]))
    info, snap, prev = _snapshot_part(ws, policy, on)
    labels = _labels(ws, policy, info.run_id if info else None, locale)
    if snap is not None:
        snap = snap.rename_columns(["plan" if c == sv.plan_by else c for c in snap.column_names])
        cust = cust.join(snap, "customer_id", join_type="left outer")
    for col, typ in (("plan", pa.string()), ("tier_since", pa.int64()), ("tier_event", pa.string()),
                     ("tier_level_prev", pa.int64()), ("churn_warnings", pa.string())):
        if col not in cust.column_names:
            cust = cust.append_column(col, pa.nulls(cust.num_rows, typ))
    if sv.plan_by == "tier" and policy.tiers.levels:   # not evaluated yet: the lowest tier
        cust = cust.set_column(cust.column_names.index("plan"), "plan",
                               pc.fill_null(pc.cast(cust["plan"], pa.string()), policy.tiers.levels[0].id))
    ids = [lv.id for lv in policy.tiers.levels]
    prev_id = pa.array(ids + [None], pa.string()).take(pc.fill_null(cust["tier_level_prev"], len(ids))) \
        if ids else pa.nulls(cust.num_rows, pa.string())
    cust = cust.append_column("previous_label", _map(prev_id, labels))
    cust = cust.append_column("plan_label", _map(cust["plan"], labels))
    cust = cust.join(_last_contacts(ws, policy, at), "customer_id", join_type="left outer")
    churn_new = cust["churn_warnings"]
    if prev is not None:
        p = prev.rename_columns(["customer_id", "churn_prev"])
        cust = cust.join(p, "customer_id", join_type="left outer")
        churn_new = _new_codes(cust["churn_warnings"], cust["churn_prev"])
    cust = cust.append_column("churn_new", pc.cast(churn_new, pa.string()))
    cust = cust.rename_columns(["plan_since" if c == "tier_since" else c for c in cust.column_names])
    cust = cust.sort_by("customer_id")
    surveys = None
    if sv.alerts.enabled and sv.alerts.survey_kinds:
        since = at - timedelta(days=sv.alerts.lookback_days)
        f = (pc.field("kind").isin(list(sv.alerts.survey_kinds)) & (pc.field("interaction_time") > pa.scalar(
            since, pa.timestamp("us"))) & (pc.field("interaction_time") <= pa.scalar(at, pa.timestamp("us"))))
        surveys = read_canonical(ws, "interactions", ["customer_id", "interaction_time", "kind", "score"], filter=f)
    campaigns, active = _campaigns(ws, sv, locale, on)
    inp = Inputs(on=on, at=at, customers=cust, holdings=_holdings(ws, sv, on), surveys=surveys, campaigns=campaigns,
                 snapshot_as_of=info.as_of if info else None, locale=locale)
    return inp, active


def _new_codes(now: pa.ChunkedArray, before: pa.ChunkedArray) -> pa.Array:
    """Codes in ``now`` (comma-separated) that were not in ``before``."""
    out = []
    for a, b in zip(now.to_pylist(), before.to_pylist()):
        if not a:
            out.append(None)
            continue
        old = set((b or "").split(","))
        new = [c for c in a.split(",") if c not in old]
        out.append(",".join(new) or None)
    return pa.array(out, pa.string())


def generate_tasks(ws: Workspace, on: date | None = None, *, at: datetime | None = None, actor: str = "system",
                   progress: Callable[[str], None] | None = None) -> dict:
    """Generate (and close) tasks for ``on`` (default: today in the policy's time zone); idempotent."""
    step = progress or (lambda s: None)
    policy = ws.policy()
    sv = policy.servicing
    if not sv.enabled:
        raise UserInputError("servicing is not enabled in this workspace's policy",
                             hint="set servicing → enabled: true in policy.yaml (see docs/policy.md)")
    now = local_now(sv)
    on = on or now.date()
    at = at or (now if on == now.date() else datetime.combine(on, DAY_START))
    timings: dict[str, float] = {}
    t0 = _time.perf_counter()

    def lap(name: str) -> None:
        nonlocal t0
        timings[name] = round(_time.perf_counter() - t0, 3)
        t0 = _time.perf_counter()

    step("read")
    cal = business_calendar(sv, on)
    templates = compile_templates(sv, policy.locale)
    inp, active_campaigns = build_inputs(ws, policy, on, at)
    lap("read")
    step("generate")
    g = Generator(inp, sv, cal, templates)
    from tierwise.servicing.plans import generate
    fresh = generate(inp, sv, cal, templates)
    store = ws.store()
    open_cols = store.open_task_columns()
    open_tasks = pa.table({k: open_cols[k] for k in OPEN_TASK_SCHEMA.names}, schema=OPEN_TASK_SCHEMA)
    closures = obsolete(open_tasks, g, fresh, active_campaigns)
    lap("generate")
    step("write")
    rows, messages = _rows(fresh, on, now, ws.keyring() if fresh.num_rows else None)
    counts = store.write_generation(rows, closures, messages, at=at)
    lap("write")
    escalated = escalate_overdue(ws, at, policy=policy, actor=actor)
    result = {"on": on.isoformat(), "at": at.isoformat(), "snapshot_as_of": inp.snapshot_as_of,
              "candidates": fresh.num_rows, **counts, "escalated": escalated, "timings": timings,
              "by_type": {d["values"]: d["counts"] for d in fresh["type"].value_counts().to_pylist()}
              if fresh.num_rows else {}}
    store.audit(actor, "tasks.generate", on.isoformat(), {k: result[k] for k in ("created", "closed", "queued",
                                                                                 "escalated")})
    return result


def _rows(fresh: pa.Table, on: date, now: datetime, ring=None) -> tuple[list[dict], list[dict]]:
    """Store rows of the generated tasks and the outbox messages of those sent automatically.

    Rendered messages and recipients hold personal data (names, phone numbers, e-mail addresses):
    they are sealed with the workspace key before they reach the store (``ring``; the servicing
    modules open them again for the people and channels allowed to use them)."""
    n = fresh.num_rows
    cols = {c: fresh[c].to_pylist() for c in fresh.column_names}
    if ring is not None and n:
        keys = cols["task_key"]
        idem = [f"{k}|{c}" for k, c in zip(keys, cols["channel"])]
        cols["recipient"] = [seal_text(ring, v, f"outbox.recipient|{i}") for v, i in zip(cols["recipient"], idem)]
        cols["body"] = [seal_text(ring, v, f"outbox.body|{i}") for v, i in zip(cols["message"], idem)]
        cols["message"] = [seal_text(ring, v, f"tasks.message|{k}") for v, k in zip(cols["message"], keys)]
    else:
        cols["body"] = cols["message"]
    rows = [{"task_key": cols["task_key"][i], "type": cols["type"][i], "rule": cols["rule"][i],
             "customer_id": cols["customer_id"][i], "manager_id": cols["manager_id"][i],
             "branch_id": cols["branch_id"][i], "tier": cols["tier"][i], "due_at": cols["due_at"][i],
             "priority": cols["priority"][i], "channel": cols["channel"][i], "status": "open",
             "message": cols["message"][i], "ref": cols["ref"][i], "anchor": cols["anchor"][i], "created_on": on,
             "created_at": now} for i in range(n)]
    messages = [{"idempotency_key": f"{cols['task_key'][i]}|{cols['channel'][i]}", "task_key": cols["task_key"][i],
                 "channel": cols["channel"][i], "customer_id": cols["customer_id"][i],
                 "recipient": cols["recipient"][i], "subject": cols["rule"][i], "body": cols["body"][i],
                 "send_after": cols["due_at"][i], "status": "pending", "attempts": 0,
                 "next_attempt_at": cols["due_at"][i], "created_at": now}
                for i in range(n) if cols["channel"][i] != "none"]
    return rows, messages


def escalate_overdue(ws: Workspace, now: datetime, *, policy=None, actor: str = "system") -> int:
    """Escalate every open alert past its due time to the owner's manager (``reports_to``), once each."""
    from tierwise.app.servicing import managers as list_managers

    policy = policy or ws.policy()
    ap = policy.servicing.alerts
    if not (ap.enabled and ap.escalate):
        return 0
    store = ws.store()
    bosses = {m["manager_id"]: m for m in list_managers(ws)}
    overdue = [t for t in store.overdue_alerts(now) if (bosses.get(t["manager_id"]) or {}).get("reports_to")]
    if not overdue:
        return 0
    rows = [{"task_id": t["task_id"], "to": bosses[t["manager_id"]]["reports_to"]} for t in overdue]
    new: dict[int, dict] = {}
    if ap.escalation is not None:
        t = policy.servicing.templates[ap.escalation.template]
        tpl = MessageTemplate(ap.escalation.template, t.zh_CN if policy.locale == "zh-CN" else t.en, kind="escalation")
        ids = sorted({t["customer_id"] for t in overdue})
        people = personal_fields(ws, ids, columns=["name"]).to_pylist()
        names = {p["customer_id"]: p["name"] for p in people}
        ring = ws.keyring()
        for task, r in zip(overdue, rows):
            owner = bosses[task["manager_id"]]
            msg = tpl.render(name=names.get(task["customer_id"]) or task["customer_id"], tier=task["tier"] or "",
                             manager=owner.get("name") or task["manager_id"], branch=task["branch_id"] or "",
                             customer_id=task["customer_id"], date=now.date().isoformat(),
                             reason=open_text(ring, task["message"], f"tasks.message|{task['task_key']}"))
            msg = seal_text(ring, msg, f"tasks.message|escalation:{task['task_id']}")
            new[task["task_id"]] = {
                "task_key": f"escalation:{task['task_id']}", "type": "escalation", "rule": "alert.escalation",
                "customer_id": task["customer_id"], "manager_id": r["to"],
                "branch_id": (bosses.get(r["to"]) or {}).get("branch_id"), "tier": task["tier"],
                "due_at": now + timedelta(hours=ap.sla_hours), "priority": ap.escalation.priority,
                "channel": "none", "status": "open", "message": msg, "ref": str(task["task_id"]),
                "anchor": now.date(), "created_on": now.date(), "created_at": now}
    done = store.escalate_tasks(rows, now, new)
    for r in done:
        store.audit(actor, "task.escalate", str(r["task_id"]), {"to": r["to"], "at": now.isoformat()})
    return len(done)


def generate_after_run(ws: Workspace, as_of: date, *, actor: str = "run", today: date | None = None) -> dict:
    """Generation at the end of a run, for today (or the run's date if later). It never undoes the run: a
    failure is reported in the result and warned about, and the next ``tierwise tasks generate`` catches up."""
    import warnings

    from tierwise.errors import TierwiseError

    try:
        policy = ws.policy()
        on = max(today or local_now(policy.servicing).date(), as_of)
        res = generate_tasks(ws, on, actor=actor)
        return {k: res[k] for k in ("on", "created", "closed", "queued", "escalated")}
    except (TierwiseError, OSError, ValueError, RuntimeError) as exc:
        warnings.warn(ServicingWarning(f"task generation after the run failed ({exc}); the snapshot is published; "
                                       f"run: tierwise tasks generate {ws.root}"), stacklevel=2)
        return {"error": str(exc)}
