"""The demo imports the messy Chinese bank export and rejects exactly the injected bad rows."""

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
    summary = run_demo(tmp_path / "demo", preset=preset, n_customers=300, seed=3)
    manifest = json.loads((tmp_path / "demo" / "inbox" / "manifest.json").read_text(encoding="utf-8"))
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
    summary = run_demo(tmp_path / "demo", preset=preset, n_customers=200, seed=1)
    assert summary["imports"] and all(i["rejected"] == 0 for i in summary["imports"]), summary
    assert summary["imports"][0]["table"] in ("customers",)
