"""The README tables from ``bench/out/suite/results.json`` (``run.py --report``)."""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE.parent / "out" / "suite"
README = HERE / "README.md"
START, END = "<!-- results:start -->", "<!-- results:end -->"
PACKAGES = ("duckdb", "ibis-framework", "pandas", "polars", "numpy", "pyarrow", "scipy", "lifetimes")
CLASSIFY = ("tierwise", "hand", "pandas", "polars")
VALUE = ("tierwise-clv", "lifetimes", "pymc")
NAMES = {"tierwise": "tierwise", "hand": "hand SQL (DuckDB)", "pandas": "pandas script", "polars": "Polars (lazy)",
         "tierwise-clv": "tierwise (`models.clv`)", "lifetimes": "lifetimes", "pymc": "pymc-marketing `rfm_summary`"}


def machine() -> dict:
    model = ""
    try:
        model = re.search(r"Model name:\s*(.*)", subprocess.run(["lscpu"], capture_output=True, text=True).stdout
                          ).group(1).strip()
    except Exception:  # noqa: BLE001
        pass
    versions = {"python": platform.python_version()}
    for p in PACKAGES:
        try:
            versions[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            versions[p] = "not installed"
    pymc = sorted((OUT / "pymc-venv").glob("lib/python*/site-packages/pymc_marketing-*.dist-info"))
    versions["pymc-marketing"] = pymc[-1].name.removesuffix(".dist-info").split("-")[1] if pymc else "not installed"
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {"cpu": model, "cores": os.cpu_count(), "ram_gib": round(mem, 1), "platform": platform.platform(),
            "versions": versions, "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}


def _eq(e: dict | None) -> str:
    if not e:
        return "—"
    bad = e["mismatched_rows"]
    return f"yes (0 of {e['rows']:,})" if e["equal"] else f"**no** ({bad:,} mismatched rows of {e['rows']:,})"


def _steps(s: dict) -> str:
    return ", ".join(f"{k} {v:.1f}" for k, v in s.get("median_steps", {}).items())


def _loads(s: dict) -> str:
    return "; ".join(f"{x:g}" for x in s.get("loads", []))


def classification_table(sizes: dict) -> list[str]:
    rows = ["| size | engine | runs | seconds (median) | process s | peak RSS | × hand SQL | equal to tierwise "
            "| steps (median s) | load before each run |", "|---|---|---:|---:|---:|---:|---:|---|---|---|"]
    for label, s in sizes.items():
        eng = s["engines"]
        hand = eng.get("hand", {}).get("median_seconds")
        for e in CLASSIFY:
            v = eng.get(e)
            if v is None:
                continue
            if "skipped" in v:
                rows.append(f"| {label} | {NAMES[e]} | — | {v['skipped']} | | | | | | |")
                continue
            if "median_seconds" not in v:
                rows.append(f"| {label} | {NAMES[e]} | {v['runs']} | **failed**: {v['failed']} | | "
                            f"{v['peak_rss_gib']:.2f} GiB | | | | {_loads(v)} |")
                continue
            ratio = "1" if e == "hand" else (f"{v['median_seconds'] / hand:.2f}×" if hand else "—")
            eq = "(reference)" if e == "tierwise" else _eq(s.get("equality", {}).get(e))
            rows.append(f"| {label} | {NAMES[e]} | {v['ok']} | {v['median_seconds']:.2f} | "
                        f"{v['median_process_seconds']:.1f} | {v['peak_rss_gib']:.2f} GiB | {ratio} | {eq} | "
                        f"{_steps(v)} | {_loads(v)} |")
    return rows


def value_table(sizes: dict) -> list[str]:
    rows = ["| size | engine | runs | summary s | fit BG/NBD s | fit Gamma-Gamma s | predict s | whole job s "
            "| process s | peak RSS | equal to tierwise's summary | load before each run |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|"]
    for label, s in sizes.items():
        for e in VALUE:
            v = s["engines"].get(e)
            if v is None:
                continue
            if "skipped" in v:
                rows.append(f"| {label} | {NAMES[e]} | — | {v['skipped']} | | | | | | | | |")
                continue
            if "median_seconds" not in v:
                rows.append(f"| {label} | {NAMES[e]} | {v['runs']} | **failed**: {v['failed']} | | | | | | "
                            f"{v['peak_rss_gib']:.2f} GiB | | {_loads(v)} |")
                continue
            st = v["median_steps"]
            summ = st.get("summary", 0.0) + st.get("read", 0.0)
            cell = lambda k: f"{st[k]:.2f}" if k in st else "—"  # noqa: E731
            eq = "(reference)" if e == "tierwise-clv" else _eq(s.get("equality", {}).get(e))
            pr = s.get("equality", {}).get(e, {}).get("prediction_max_rel_diff")
            if pr:
                eq += "; predictions within " + ", ".join(f"{k} {x:.1e}" for k, x in pr.items())
            rows.append(f"| {label} | {NAMES[e]} | {v['ok']} | {summ:.2f} | {cell('fit BG/NBD')} | "
                        f"{cell('fit Gamma-Gamma')} | {cell('predict')} | {v['median_seconds']:.2f} | "
                        f"{v['median_process_seconds']:.1f} | {v['peak_rss_gib']:.2f} GiB | {eq} | {_loads(v)} |")
    return rows


def params_lines(sizes: dict) -> list[str]:
    out = []
    for label, s in sizes.items():
        for e in ("tierwise-clv", "lifetimes"):
            p = s["engines"].get(e, {}).get("params")
            if p:
                fmt = lambda d: ", ".join(f"{k} {v:.5g}" for k, v in d.items())  # noqa: E731
                out.append(f"- {label}, {NAMES[e]}: BG/NBD {fmt(p['bgnbd'])}; Gamma-Gamma {fmt(p['gamma_gamma'])} "
                           f"({p['customers']:,} customers, {p['repeat_buyers']:,} repeat buyers)")
    return out


def render(res: dict) -> str:
    sizes = res["sizes"]
    if not sizes:
        return "(no results yet)"
    m = next(iter(sizes.values()))["machine"]
    v = m["versions"]
    lines = [f"Machine: {m['cpu']}, {m['cores']} cores, {m['ram_gib']} GiB RAM ({m['platform']}). Versions: "
             + ", ".join(f"{k} {x}" for k, x in v.items()) + ".",
             "Measured: " + "; ".join(f"{k} at {s['machine']['date']}" for k, s in sizes.items())
             + f". DuckDB `memory_limit` {next(iter(sizes.values()))['memory_limit']} for the DuckDB engines; "
             f"RSS cap {next(iter(sizes.values()))['rss_cap_gib']:g} GiB for every engine.", "",
             "**Classification** (features → RFM quintiles → ABC → lifecycle), seconds inside the child "
             "(imports excluded; *process s* includes them):", "", *classification_table(sizes), "",
             "**Value models** (per-customer summary → BG/NBD + Gamma-Gamma fits → 30-day predictions); "
             "*summary s* includes reading the files:", "", *value_table(sizes), ""]
    pl = params_lines(sizes)
    if pl:
        lines += ["Fitted parameters (time in days):", "", *pl, ""]
    qc = [f"{k}: {s['engines']['pandas']['qcut_mismatches']}" for k, s in sizes.items()
          if s["engines"].get("pandas", {}).get("qcut_mismatches")]
    if qc:
        lines += ["Customers whose RFM bin the tutorial line `pd.qcut(rank, 5)` would change (per score): "
                  + "; ".join(qc) + ".", ""]
    clv = res.get("clv")
    if clv:
        lines += [f"**CLV fits on {clv['customers']:,} simulated customers** (`{clv['command']}`, one run, "
                  f"process {clv['process_seconds']:.0f} s, peak RSS {clv['peak_rss_gib']:.2f} GiB, load before "
                  f"{clv['load_before']}):", "", "```", clv["output"].strip(), "```", ""]
    return "\n".join(lines)


def write_readme() -> None:
    res = json.loads((OUT / "results.json").read_text()) if (OUT / "results.json").exists() else {"sizes": {}}
    text = README.read_text()
    if START not in text or END not in text:
        raise SystemExit(f"{README}: the markers {START} … {END} are missing")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    README.write_text(f"{head}{START}\n{render(res)}\n{END}{tail}")
    print(render(res))
