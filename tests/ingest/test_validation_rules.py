"""Which reason wins when a row breaks several rules, worked out by hand row by row.

Per-row checks come first (missing, unparseable, implausible, future, negative); among rows
that pass them, a repeated key rejects the later copies (``duplicate_in_file``), then a key
imported before (``duplicate_existing``), then an unknown customer. A row that fails a
per-row check is not the "first occurrence" of its key. An empty single key means no key;
in a composite key an empty part is a value like any other.
"""

from __future__ import annotations

from decimal import Decimal

from tierwise.app.importing import import_table

from .test_import_csv import accepted_rows, read_quarantine, write


def _lenient(ws) -> None:
    ws.policy_path.write_text(ws.policy_path.read_text(encoding="utf-8").replace(
        "max_reject_rate: 0.05", "max_reject_rate: 0.9"), encoding="utf-8")


def test_transaction_reasons_in_order_of_precedence(ws_with_customers, tmp_path, today):
    ws = ws_with_customers
    _lenient(ws)
    first = write(tmp_path, "a.csv", "交易流水号,客户号,交易日期,交易金额\nT1,000123,2024-01-05,1\n")
    assert import_table(ws, "transactions", str(first), today=today)["accepted"] == 1
    text = (
        "交易流水号,客户号,交易日期,交易金额\n"  # 1
        "T1,000123,2024-01-06,1\n"              # 2 duplicate_existing (first valid T1 of this file)
        "T5,999999,2024-01-06,1\n"              # 3 unknown_customer (first valid T5)
        "T5,000123,2024-01-06,1\n"              # 4 duplicate_in_file (a later T5)
        "T6,000124,2024-13-01,1\n"              # 5 unparseable: so not the first T6
        "T6,000124,2024-01-07,1\n"              # 6 accepted: the first valid T6
        "T6,000124,2024-01-08,1\n"              # 7 duplicate_in_file
        "T1,999999,2024-01-06,1\n"              # 8 duplicate_in_file, before existing and unknown
        ",000124,2024-01-09,1\n"                # 9 accepted: no id, no duplicate check
        ",000124,2024-01-09,1\n"                # 10 accepted as well
        "T7,999999,2030-01-01,1\n"              # 11 future_date, before unknown_customer
        "T8,000125,2024-01-10,1,x\n"            # 12 too_many_fields
        "T9,000125,2024-01-10,-2\n"             # 13 accepted (returns are kept)
    )
    rec = import_table(ws, "transactions", str(write(tmp_path, "b.csv", text)), today=today)
    assert (rec["rows_read"], rec["accepted"], rec["rejected"]) == (12, 4, 8)
    assert rec["rejected_by_reason"] == {"duplicate_in_file": 3, "duplicate_existing": 1, "unknown_customer": 1,
                                         "unparseable": 1, "future_date": 1, "too_many_fields": 1}
    q = {int(r["row"]): (r["reason"], r["column"], r["source_column"], r["value"])
         for r in read_quarantine(rec["quarantine"])}
    assert q == {
        2: ("duplicate_existing", "transaction_id", "交易流水号", "T1"),
        3: ("unknown_customer", "customer_id", "客户号", "999999"),
        4: ("duplicate_in_file", "transaction_id", "交易流水号", "T5"),
        5: ("unparseable", "txn_time", "交易日期", "2024-13-01"),
        7: ("duplicate_in_file", "transaction_id", "交易流水号", "T6"),
        8: ("duplicate_in_file", "transaction_id", "交易流水号", "T1"),
        11: ("future_date", "txn_time", "交易日期", "2030-01-01"),
        12: ("too_many_fields", "", "", ""),
    }
    new = [(r["transaction_id"], str(r["txn_time"].date()), r["amount"]) for r in accepted_rows(ws, "transactions")][1:]
    assert new == [("T6", "2024-01-07", Decimal("1.00")), (None, "2024-01-09", Decimal("1.00")),
                   (None, "2024-01-09", Decimal("1.00")), ("T9", "2024-01-10", Decimal("-2.00"))]


def test_composite_key_duplicates_compare_parsed_values_and_empty_parts(ws_with_customers, tmp_path, today):
    ws = ws_with_customers
    _lenient(ws)
    text = (
        "customer_id,balance_date,product_id,balance\n"  # 1
        "000123,2024-01-31,P1,100\n"    # 2 accepted
        "000123,2024-01-31,P1,200\n"    # 3 duplicate_in_file
        "000123,2024-01-31,,100\n"      # 4 accepted: the product is empty
        "000123,2024-01-31, ,50\n"      # 5 duplicate_in_file: an empty part equals an empty part
        "000123,2024/1/31,P2,5\n"       # 6 accepted
        "000123,20240131,P2,5\n"        # 7 duplicate_in_file: the same date, written differently
        "000124,2024-01-31,P1,-5\n"     # 8 negative_value: so not the first of its key
        "000124,2024-01-31,P1,\"1,234.50\"\n"  # 9 accepted
        "999999,2024-01-31,P1,1\n"      # 10 unknown_customer
        " 000124 ,2024-01-31,P1,7\n"    # 11 duplicate_in_file: ids are trimmed before they are compared
    )
    rec = import_table(ws, "balances", str(write(tmp_path, "bal.csv", text)), today=today)
    assert (rec["rows_read"], rec["accepted"], rec["rejected"]) == (10, 4, 6)
    q = {int(r["row"]): (r["reason"], r["value"]) for r in read_quarantine(rec["quarantine"])}
    assert q == {3: ("duplicate_in_file", "000123"), 5: ("duplicate_in_file", "000123"),
                 7: ("duplicate_in_file", "000123"), 8: ("negative_value", "-5"),
                 10: ("unknown_customer", "999999"), 11: ("duplicate_in_file", "000124")}
    got = [(r["customer_id"], str(r["balance_date"]), r["product_id"], r["balance"])
           for r in accepted_rows(ws, "balances")]
    assert got == [("000123", "2024-01-31", "P1", Decimal("100.00")), ("000123", "2024-01-31", None, Decimal("100.00")),
                   ("000123", "2024-01-31", "P2", Decimal("5.00")), ("000124", "2024-01-31", "P1", Decimal("1234.50"))]
