"""Validate a staged source against its canonical table: every row accepted or rejected with a reason.

Two passes over the staging table, both single SQL statements:

1. per-row checks, first failure wins, in this order: ``missing_required``,
   ``unparseable``, ``implausible_date``, ``future_date``, ``negative_amount`` /
   ``negative_value``;
2. checks against other rows, on rows that passed pass 1: ``duplicate_in_file`` (the
   later copies of a key), ``duplicate_existing`` (the key was imported before),
   ``unknown_customer`` (not in the customers table).

The result table ``<stage>_checked`` has the canonical columns (typed), ``_rec`` and, for
rejected rows, ``_reason``, ``_column`` (canonical), ``_source_column`` and ``_value``
(the original text).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from tierwise.canonical import Table
from tierwise.i18n import REASONS
from tierwise.ingest import values as V
from tierwise.ingest.mapping import ColumnMapping

def q(name: str) -> str:
    """Quote an identifier for SQL."""
    return '"' + str(name).replace('"', '""') + '"'


def sql_str(s: str) -> str:
    return "'" + str(s).replace("'", "''") + "'"


@dataclass
class Check:
    reason: str
    column: str
    condition: str  # SQL, true when the row fails


def row_checks(table: Table, mapping: ColumnMapping, *, returns: str, today: date,
               future_tolerance_days: int, min_year: int, max_year: int) -> tuple[list[str], list[Check]]:
    """Select expressions for the typed columns, and the ordered per-row checks."""
    selects, checks = [], {"missing_required": [], "unparseable": [], "implausible_date": [],
                           "future_date": [], "negative": []}
    latest = today + timedelta(days=future_tolerance_days)
    for col in table.columns:
        src = mapping.columns.get(col.name)
        if src is None:
            selects.append(f"CAST(NULL AS {col.sql_type}) AS {q(col.name)}")
            continue
        cleaned, parsed = V.parse(col.kind, q(src))
        selects += [f"{parsed} AS {q(col.name)}", f"{cleaned} AS {q('_txt_' + col.name)}",
                    f"CAST({q(src)} AS VARCHAR) AS {q('_src_' + col.name)}"]
        c, t = q(col.name), q("_txt_" + col.name)
        if col.required:
            checks["missing_required"].append(Check("missing_required", col.name, f"{t} IS NULL"))
        if col.kind in V.PARSERS:
            checks["unparseable"].append(Check("unparseable", col.name, f"{t} IS NOT NULL AND {c} IS NULL"))
        if col.kind in ("date", "timestamp"):
            checks["implausible_date"].append(Check(
                "implausible_date", col.name, f"year({c}) < {min_year} OR year({c}) > {max_year}"))
            if not col.future_ok:
                checks["future_date"].append(Check(
                    "future_date", col.name, f"CAST({c} AS DATE) > DATE '{latest.isoformat()}'"))
        if col.non_negative:
            is_amount = table.name == "transactions" and col.name == "amount"
            if is_amount and returns == "keep":
                continue
            checks["negative"].append(Check("negative_amount" if is_amount else "negative_value", col.name, f"{c} < 0"))
    ordered = [chk for group in checks.values() for chk in group]
    return selects, ordered


def first_failure(checks: list[Check], mapping: ColumnMapping) -> tuple[str, str, str, str]:
    """CASE expressions giving reason, canonical column, source column and original text of the first failure."""
    if not checks:
        null = "CAST(NULL AS VARCHAR)"
        return null, null, null, null

    def case(value_of) -> str:
        return "CASE " + " ".join(f"WHEN {c.condition} THEN {value_of(c)}" for c in checks) + " END"

    return (case(lambda c: sql_str(c.reason)), case(lambda c: sql_str(c.column)),
            case(lambda c: sql_str(mapping.columns[c.column])),
            case(lambda c: q("_src_" + c.column)))


def build_checked(con, stage: str, table: Table, mapping: ColumnMapping, *, returns: str, today: date,
                  future_tolerance_days: int, min_year: int, max_year: int,
                  existing_sql: str | None, customers_sql: str | None) -> str:
    """Create ``<stage>_checked``; return its name.

    ``existing_sql`` is a query over the rows already in the table (for duplicate keys);
    ``customers_sql`` a query over the current customers (for unknown ids).
    """
    selects, checks = row_checks(table, mapping, returns=returns, today=today,
                                 future_tolerance_days=future_tolerance_days, min_year=min_year, max_year=max_year)
    reason, column, source_column, value = first_failure(checks, mapping)
    # one statement: typed columns and per-row checks are inlined (pipelined), and only the
    # narrow result (typed columns and the reason) is materialised
    pass1 = (f"WITH typed AS (SELECT _rec, {', '.join(selects)} FROM {stage}), "
             f"pass1 AS MATERIALIZED (SELECT _rec, {', '.join(q(c.name) for c in table.columns)}, {reason} AS _reason, "
             f"{column} AS _column, {source_column} AS _source_column, {value} AS _value FROM typed) ")

    key = [k for k in table.key if k in mapping.columns]
    full_key = len(key) == len(table.key) and key
    stage2_cases, joins = [], []
    if full_key:
        key_cols = ", ".join(q(k) for k in key)
        # a single optional key column (transaction_id) that is empty means "no key";
        # in a composite key an empty part is a value like any other (NULLs compare equal)
        key_present = " AND ".join(f"{q(k)} IS NOT NULL" for k in key) if len(key) == 1 else "TRUE"
        # the first occurrence of each repeated key among valid rows (a hash aggregate, no sort);
        # later rows with that key are duplicates
        on_dup = " AND ".join(f"p.{q(k)} IS NOT DISTINCT FROM d.{q(k)}" for k in key)
        joins.append(f"LEFT JOIN (SELECT {key_cols}, min(_rec) AS _first FROM pass1 WHERE _reason IS NULL "
                     f"AND {key_present} GROUP BY {key_cols} HAVING count(*) > 1) d ON {on_dup}")
        stage2_cases.append(("d._first IS NOT NULL AND p._rec > d._first", "duplicate_in_file", key[0]))
        if existing_sql:
            on = " AND ".join(f"p.{q(k)} IS NOT DISTINCT FROM e.{q(k)}" for k in key)
            joins.append(f"LEFT JOIN (SELECT DISTINCT {key_cols}, TRUE AS _hit FROM ({existing_sql})) e ON {on}")
            stage2_cases.append(("e._hit", "duplicate_existing", key[0]))
    if table.customer_ref and customers_sql:
        joins.append(f"LEFT JOIN (SELECT customer_id, TRUE AS _known FROM ({customers_sql})) c "
                     f"ON p.customer_id = c.customer_id")
        stage2_cases.append(("c._known IS NULL", "unknown_customer", "customer_id"))
    if not stage2_cases:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {stage}_checked AS {pass1} SELECT * FROM pass1")
        return f"{stage}_checked"

    def case(pick) -> str:
        return ("CASE WHEN p._reason IS NOT NULL THEN " + pick(None) + " "
                + " ".join(f"WHEN {cond} THEN {pick((r, col))}" for cond, r, col in stage2_cases) + " END")

    cols = [c.name for c in table.columns]
    reason2 = case(lambda rc: "p._reason" if rc is None else sql_str(rc[0]))
    column2 = case(lambda rc: "p._column" if rc is None else sql_str(rc[1]))
    source2 = case(lambda rc: "p._source_column" if rc is None else sql_str(mapping.columns[rc[1]]))
    value2 = case(lambda rc: "p._value" if rc is None else f"CAST(p.{q(rc[1])} AS VARCHAR)")
    con.execute(f"""CREATE OR REPLACE TEMP TABLE {stage}_checked AS {pass1}
        SELECT p._rec, {', '.join('p.' + q(c) for c in cols)},
               {reason2} AS _reason, {column2} AS _column, {source2} AS _source_column, {value2} AS _value
        FROM pass1 p {' '.join(joins)}""")
    return f"{stage}_checked"


def message_sql(table: Table) -> str:
    """SQL CASE giving an English message for each rejection, including what was expected."""
    parts = []
    for col in table.columns:
        if col.kind in V.EXPECTED:
            exp = V.EXPECTED[col.kind][0]
            parts.append(f"WHEN _reason = 'unparseable' AND _column = {sql_str(col.name)} "
                         f"THEN {sql_str('expected ' + exp)}")
    generic = " ".join(f"WHEN _reason = {sql_str(r)} THEN {sql_str(en)}" for r, (en, _) in REASONS.items())
    return f"CASE {' '.join(parts)} {generic} ELSE _reason END"
