"""Print the Markdown rows for bench/results.md from bench/out/classify/results.json (latest entry per size and engine).

Run: ``.venv/bin/python bench/classify/report.py``
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import generate as gen  # noqa: E402

NAMES = {"tierwise": "tierwise (current src)", "hand": "hand-written DuckDB SQL", "proposal": "proposal.py (suggested)"}


def main() -> None:
    hist = json.loads((gen.OUT / "results.json").read_text())
    latest: dict[tuple[str, str], dict] = {}
    for s in hist:
        for e, r in s["engines"].items():
            rec = {**r, "meta": s["meta"], "repeats": s["repeats"]}
            if e == "tierwise" and "compare" in s:          # first version of run.py kept it at the top
                rec.setdefault("compare_with_hand", s["compare"])
            latest[(s["size"], e)] = rec
    print("| size | customers | engine | runs | seconds (median) | process s | peak RSS | × hand | equal to hand | "
          "steps (median s) | load (1/5/15 min) before each run |")
    print("|---|---:|---|---:|---:|---:|---:|---:|---|---|---|")
    order = {"1M": 0, "10M": 1, "100M": 2}
    for (size, e), r in sorted(latest.items(), key=lambda kv: (order.get(kv[0][0], 9), list(NAMES).index(kv[0][1]))):
        hand = latest.get((size, "hand"))
        ratio = f"{r['median_seconds'] / hand['median_seconds']:.2f}" if hand and e != "hand" else "—"
        cmp = r.get("compare_with_hand")
        eq = "—" if e == "hand" else ("yes" if cmp and cmp["equal"] else ("NO" if cmp else "n/a"))
        steps = ", ".join(f"{k} {v:.1f}" for k, v in r["median_steps"].items() if k != "build")
        print(f"| {size} | {r['meta']['customers']:,} | {NAMES[e]} | {len(r['runs'])} | {r['median_seconds']:.1f} | "
              f"{r['median_process_seconds']:.1f} | {r['peak_rss_gib']:.2f} GiB | {ratio} | {eq} | {steps} | "
              f"{'; '.join(r['loads'])} |")


if __name__ == "__main__":
    main()
