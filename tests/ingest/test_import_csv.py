"""CSV import: encodings, title rows, every rejection reason with exact counts and row numbers,
reconciliation, quarantine, refusal, modes, atomic visibility."""

from __future__ import annotations

import csv
import json
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tierwise.app.importing import import_table
from tierwise.errors import ColumnMappingError, ImportRejectedError, SourceReadError, UserInputError

# line numbers as a text editor shows them (header = line 1)
MESSY_TXN = (
    "交易流水号,客户号,交易日期,交易金额,产品代码,备注\n"      # 1
    'T1,000123,2024-01-05,"1,234.50",P1,a\n'                   # 2 ok
    "T2,000124,2024/1/5,¥99,P2,b\n"                             # 3 ok
    "T2,000124,2024/1/6,5,P2,c\n"                               # 4 duplicate_in_file
    "T3,999999,2024-01-07,5,P1,d\n"                             # 5 unknown_customer
    "T4,000125,2030-01-01,5,P1,e\n"                             # 6 future_date
    "T5,000125,2024-13-01,5,P1,f\n"                             # 7 unparseable (txn_time)
    "T6,,2024-01-01,5,P1,g\n"                                   # 8 missing_required (customer_id)
    "T7,000125,2024-01-01,(5.00),P1,h\n"                        # 9 ok: a return, kept (bank policy: keep)
    "T8,000125,2024-01-01\n"                                    # 10 too_few_fields
    "\n"                                                        # 11 blank: not a row
    "T9,000125,20240102,１２３４,P1,i\n"                        # 12 ok
    "T10,000126,1850-01-01,5,P1,j\n"                            # 13 implausible_date
    "T11,000126,2024年2月1日,12abc,P1,k\n"                       # 14 unparseable (amount)
    "T12,000126,45296,7,P1,l,extra\n"                           # 15 too_many_fields
    "T13,000126,2024-02-02,8,P1,m\n"                            # 16 ok
)
EXPECTED_REJECTS = {
    4: ("duplicate_in_file", "transaction_id"), 5: ("unknown_customer", "customer_id"),
    6: ("future_date", "txn_time"), 7: ("unparseable", "txn_time"), 8: ("missing_required", "customer_id"),
    10: ("too_few_fields", ""), 13: ("implausible_date", "txn_time"), 14: ("unparseable", "amount"),
    15: ("too_many_fields", ""),
}


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    p = tmp_path / name
    p.write_bytes(text.encode(encoding))
    return p


def read_quarantine(path: str) -> list[dict]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def accepted_rows(ws, table: str) -> list[dict]:
    """The imported rows, with their personal fields opened from the vault."""
    from tierwise.app.personal import personal_fields
    from tierwise.canonical import TABLES

    files = ws.data.table_files(table)
    rows = [r for f in files for r in pq.read_table(f).to_pylist()]
    if TABLES[table].personal_columns():
        key = TABLES[table].key[0]
        clear = {r[key]: r for r in personal_fields(ws, table=table).to_pylist()}
        rows = [{**r, **clear[r[key]]} for r in rows]
    return rows


def test_gbk_customers_with_title_row(ws, customers_file, today):
    rec = import_table(ws, "customers", str(customers_file), today=today)
    assert rec["source"]["encoding"] == "gb18030"
    assert rec["source"]["header_row"] == 2
    assert (rec["rows_read"], rec["accepted"], rec["rejected"]) == (4, 4, 0)
    rows = {r["customer_id"]: r for r in accepted_rows(ws, "customers")}
    assert sorted(rows) == ["000123", "000124", "000125", "000126"]  # leading zeros kept
    assert rows["000123"]["name"] == "张三"
    assert str(rows["000123"]["birthday"]) == "1980-02-29"
    assert str(rows["000125"]["birthday"]) == "1990-01-05"
    assert rows["000125"]["phone"] is None


@pytest.mark.parametrize("encoding, delim", [("utf-8", ","), ("utf-8-sig", "\t"), ("gbk", ";"), ("gb18030", "|")])
def test_encodings_and_delimiters(ws, customers_file, today, tmp_path, encoding, delim):
    import_table(ws, "customers", str(customers_file), today=today)
    text = "客户号{d}交易日期{d}交易金额\n000123{d}2024-01-05{d}1234.50\n000124{d}2024/1/5{d}99\n".format(d=delim)
    p = write(tmp_path, "t.csv", text, encoding)
    rec = import_table(ws, "transactions", str(p), today=today)
    assert rec["source"]["delimiter"] == delim
    assert (rec["accepted"], rec["rejected"]) == (2, 0)
    assert sorted(r["amount"] for r in accepted_rows(ws, "transactions")) == [Decimal("99.00"), Decimal("1234.50")]


def test_every_rejection_reason_exact_counts_and_rows(ws_with_customers, tmp_path, today):
    ws = ws_with_customers
    # 9 of 14 rows rejected: allow it so the batch commits and we can inspect both sides
    ws.policy_path.write_text(ws.policy_path.read_text(encoding="utf-8").replace(
        "max_reject_rate: 0.05", "max_reject_rate: 0.9"), encoding="utf-8")
    p = write(tmp_path, "txn.csv", MESSY_TXN)
    rec = import_table(ws, "transactions", str(p), today=today)
    assert rec["rows_read"] == 14   # 15 lines after the header, one of them blank
    assert rec["accepted"] == 5
    assert rec["rejected"] == 9
    assert rec["rows_read"] == rec["accepted"] + rec["rejected"]
    assert rec["rejected_by_reason"] == {
        "unparseable": 2, "duplicate_in_file": 1, "unknown_customer": 1, "future_date": 1,
        "missing_required": 1, "too_few_fields": 1, "implausible_date": 1, "too_many_fields": 1}
    assert rec["ignored_columns"] == ["备注"]
    q = read_quarantine(rec["quarantine"])
    got = {int(r["row"]): (r["reason"], r["column"]) for r in q}
    assert got == EXPECTED_REJECTS
    by_row = {int(r["row"]): r for r in q}
    assert by_row[7]["value"] == "2024-13-01" and by_row[7]["source_column"] == "交易日期"
    assert "expected" in by_row[7]["message"]
    assert by_row[14]["value"] == "12abc" and by_row[14]["备注"] == "k"
    assert by_row[10]["raw_line"] == "T8,000125,2024-01-01"
    assert by_row[15]["raw_line"] == "T12,000126,45296,7,P1,l,extra"
    ids = [r["transaction_id"] for r in accepted_rows(ws, "transactions")]
    assert ids == ["T1", "T2", "T7", "T9", "T13"]     # file order kept
    amounts = {r["transaction_id"]: r["amount"] for r in accepted_rows(ws, "transactions")}
    assert amounts["T7"] == Decimal("-5.00")          # kept as a return
    assert amounts["T9"] == Decimal("1234.00")        # full-width digits


def test_returns_rejected_when_policy_says_so(ws_with_customers, tmp_path, today):
    ws = ws_with_customers
    ws.policy_path.write_text(ws.policy_path.read_text(encoding="utf-8").replace(
        "returns: keep", "returns: reject").replace("max_reject_rate: 0.05", "max_reject_rate: 0.7"), encoding="utf-8")
    p = write(tmp_path, "t.csv", "客户号,交易日期,交易金额\n000123,2024-01-05,(5.00)\n000123,2024-01-06,5\n000123,2024-01-07,-1\n")
    rec = import_table(ws, "transactions", str(p), today=today)
    assert rec["rejected_by_reason"] == {"negative_amount": 2}
    assert rec["accepted"] == 1


def test_refused_import_changes_nothing(ws_with_customers, tmp_path, today):
    ws = ws_with_customers
    before = (ws.root / "data" / "manifest.json").read_text()
    p = write(tmp_path, "txn.csv", MESSY_TXN)
    with pytest.raises(ImportRejectedError) as info:
        import_table(ws, "transactions", str(p), today=today)
    rec = info.value.reconciliation
    assert rec["status"] == "refused" and rec["rejected"] == 9 and rec["accepted"] == 5
    assert "64.3%" in str(info.value) and "nothing was changed" in str(info.value)
    assert (ws.root / "data" / "manifest.json").read_text() == before
    assert ws.data.table_files("transactions") == []
    assert not (ws.root / "data" / "transactions").exists()
    assert len(read_quarantine(rec["quarantine"])) == 9
    actions = [e["action"] for e in ws.store().audit_entries()]
    assert actions[-1] == "import.refused"


def test_threshold_is_inclusive(ws_with_customers, tmp_path, today):
    ws = ws_with_customers
    rows = "".join(f"T{i},000123,2024-01-05,1\n" for i in range(19)) + "TX,000123,nodate,1\n"
    p = write(tmp_path, "t.csv", "交易流水号,客户号,交易日期,交易金额\n" + rows)
    rec = import_table(ws, "transactions", str(p), today=today)  # exactly 5 % rejected: allowed
    assert (rec["accepted"], rec["rejected"], rec["reject_rate"]) == (19, 1, 0.05)


def test_append_rejects_keys_imported_before(ws_with_customers, tmp_path, today):
    ws = ws_with_customers
    p1 = write(tmp_path, "a.csv", "交易流水号,客户号,交易日期,交易金额\nT1,000123,2024-01-05,1\nT2,000123,2024-01-06,2\n")
    import_table(ws, "transactions", str(p1), today=today)
    p2 = write(tmp_path, "b.csv", "交易流水号,客户号,交易日期,交易金额\n" + "".join(
        f"N{i},000124,2024-01-07,3\n" for i in range(30)) + "T2,000123,2024-01-06,2\n")
    rec = import_table(ws, "transactions", str(p2), today=today)
    assert rec["rejected_by_reason"] == {"duplicate_existing": 1}
    assert len(accepted_rows(ws, "transactions")) == 32


def test_replace_mode_replaces_customers(ws_with_customers, tmp_path, today):
    ws = ws_with_customers
    p = write(tmp_path, "c.csv", "customer_id,name\nC9,Ann\n")
    rec = import_table(ws, "customers", str(p), today=today)
    assert rec["mode"] == "replace"
    assert [r["customer_id"] for r in accepted_rows(ws, "customers")] == ["C9"]
    assert len(ws.data.manifest().history) == 2  # the old batch stays on disk for lineage


def test_transactions_before_customers_is_a_clear_error(ws, tmp_path, today):
    p = write(tmp_path, "t.csv", "客户号,交易日期,交易金额\n1,2024-01-01,1\n")
    with pytest.raises(UserInputError, match="before customers"):
        import_table(ws, "transactions", str(p), today=today)


def test_missing_required_column_names_headers_and_hint(ws_with_customers, tmp_path, today):
    p = write(tmp_path, "t.csv", "客户号,交易日,交易金额\n000123,2024-01-01,1\n")
    with pytest.raises(ColumnMappingError) as info:
        import_table(ws_with_customers, "transactions", str(p), today=today)
    msg = str(info.value)
    assert "'txn_time'" in msg and "交易日" in msg and "policy.yaml" in msg


def test_user_header_added_to_policy_is_used(ws_with_customers, tmp_path, today):
    ws = ws_with_customers
    text = ws.policy_path.read_text(encoding="utf-8").replace("txn_time: [", "txn_time: [记账日, ", 1)
    ws.policy_path.write_text(text, encoding="utf-8")
    p = write(tmp_path, "t.csv", "客户号,记账日,交易金额\n000123,2024-01-01,1\n")
    assert import_table(ws, "transactions", str(p), today=today)["accepted"] == 1


@pytest.mark.parametrize("content, match", [
    (b"", "empty"),
    ("客户号,金额\n".encode("utf-16"), "neither UTF-8 nor GBK|cannot read"),
])
def test_unreadable_files_are_clean_errors(ws, tmp_path, today, content, match):
    p = tmp_path / "bad.csv"
    p.write_bytes(content)
    with pytest.raises((SourceReadError, ColumnMappingError), match=match):
        import_table(ws, "customers", str(p), today=today)


def test_missing_file(ws, today):
    with pytest.raises(SourceReadError, match="not found"):
        import_table(ws, "customers", "/no/such/file.csv", today=today)


def test_reconciliation_is_stored_and_audited(ws_with_customers):
    ws = ws_with_customers
    rows = ws.store().list_imports()
    assert len(rows) == 1 and rows[0]["accepted"] == 4 and rows[0]["status"] == "committed"
    rec = json.loads((ws.data.batch_dir("customers", "imp-000001") / "reconciliation.json").read_text())
    assert rec["rows_read"] == 4
    ok, broken = ws.store().verify_audit()
    assert ok and broken is None


def test_store_record_recovered_after_a_kill_between_commit_and_record(ws_with_customers, tmp_path, today):
    import sqlalchemy as sa

    from tierwise.app.importing import recover_import_records

    ws = ws_with_customers
    store = ws.store()
    with store.engine.begin() as c:            # as if the process died right after the manifest switch
        c.execute(sa.text("DELETE FROM imports"))
    assert store.list_imports() == []
    assert recover_import_records(ws) == ["imp-000001"]
    assert store.list_imports()[0]["accepted"] == 4
    assert store.audit_entries()[-1]["action"] == "import.recovered"
    assert recover_import_records(ws) == []      # idempotent
