"""``tierwise demo``: a workspace with generated data, imported through the real import path.

For the bank preset the data are written the way a Chinese core-banking system exports
them (GBK CSV, ``.xlsx`` with a title row, Chinese headers, mixed formats, a few bad
rows), so the demo shows the reconciliation and the quarantine at work.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tierwise.app.importing import import_table
from tierwise.app.workspace import init_workspace
from tierwise.canonical import TABLES
from tierwise.samples import EXTRA_TABLES, generate, write_english_csv
from tierwise.samples.export import write_bank_export

#: import order: customers first (the others refer to them)
ORDER = ("customers", "transactions", "balances", "holdings", "interactions", "leads")


def run_demo(directory: str | Path, *, preset: str = "bank", n_customers: int = 2000, seed: int = 7,
             on_import: Callable[[dict], None] | None = None) -> dict:
    """Create the demo workspace in ``directory``, generate ``n_customers`` and import everything."""
    root = Path(directory)
    ws = init_workspace(root, preset)
    inbox = root / "inbox"
    tables = generate(preset, n_customers, seed=seed)
    sources: dict[str, tuple[Path, str | None]] = {}
    if preset == "bank":
        n_rows = sum(t.num_rows for t in tables.values())
        manifest = write_bank_export(tables, inbox, seed=seed, n_bad=max(6, n_rows // 2000))
        for name, files in manifest.files.items():
            xlsx = [f for f in files if f.suffix == ".xlsx"]
            # customers through the Excel path; everything else through the GBK CSV path
            pick = xlsx[0] if (name == "customers" and xlsx) else files[0]
            sources[name] = (pick, None)
    else:
        written = write_english_csv({k: v for k, v in tables.items() if k not in EXTRA_TABLES}, inbox)
        sources = {name: (Path(p), None) for name, p in written.items()}
    results = []
    for name in ORDER:
        if name not in sources or name not in TABLES:
            continue
        path, sheet = sources[name]
        rec = import_table(ws, name, str(path), sheet=sheet, actor="demo")
        results.append(rec)
        if on_import:
            on_import(rec)
    return {
        "workspace": str(root), "preset": preset, "customers": n_customers,
        "imports": [{k: r[k] for k in ("import_id", "table", "rows_read", "accepted", "rejected",
                                        "rejected_by_reason")} | {"source": r["source"]["path"]} for r in results],
    }
