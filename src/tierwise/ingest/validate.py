"""Validate a staged source against its canonical table: every row accepted or rejected with a reason.

Per-row checks, first failure wins, in this order: ``missing_required``,
``unparseable``, ``implausible_date``, ``future_date``, ``negative_amount`` /
``negative_value``; then checks against other rows, on rows that passed those:
``duplicate_in_file`` (the later copies of a key), ``duplicate_existing`` (the key was
imported before), ``unknown_customer`` (not in the customers table).

The result ``<stage>_checked`` has the canonical columns (typed), ``_rec`` and, for
rejected rows, ``_reason``, ``_column`` (canonical), ``_source_column`` and ``_value``
(the original text).

How it is computed (the costs are per row, so they are kept few):

1. one statement parses every column and runs the per-row checks and the customer check
   into ``<stage>_typed``: the typed columns, a small failure code ``_f`` and, for rows
   failing a per-row check, the original text. Each column is parsed by its fast parser
   (:data:`values.FAST`) and only the values it leaves go through the general parser;
2. duplicate keys (in the file, and against earlier imports) are looked up in that table
   and the few rows they reject land in ``<stage>_dups``;
3. ``<stage>_checked`` is a view that decodes the failure code into the reason, columns
   and value.
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


@dataclass
class Parsed:
    """How one mapped column is parsed, as layers of SQL over internal names.

    ``cleaned`` reads the raw column ``_s<i>``; ``fast`` (if any) reads ``_c<i>``; the value
    is ``coalesce(_f<i>, general(_r<i>))`` where ``_r<i>`` is the cleaned text only where the
    fast parser gave nothing, so the general parser's shared sub-expressions run on NULLs.
    """

    name: str
    index: int
    kind: str
    cleaned: str
    fast: str | None
    general: str | None


def parse_plan(table: Table, mapping: ColumnMapping) -> list[Parsed]:
    plans = []
    for i, col in enumerate(table.columns):
        if col.name not in mapping.columns:
            continue
        raw = f"_s{i}"
        if col.kind in V.PARSERS:
            fast = V.FAST.get(col.kind)
            plans.append(Parsed(col.name, i, col.kind, V.clean(raw), fast and fast(f"_c{i}"),
                                V.PARSERS[col.kind](f"_r{i}" if fast else f"_c{i}")))
        else:
            plans.append(Parsed(col.name, i, col.kind, V.text(raw), None, None))
    return plans


def row_checks(table: Table, mapping: ColumnMapping, *, returns: str, today: date,
               future_tolerance_days: int, min_year: int, max_year: int) -> list[Check]:
    """The ordered per-row checks, over ``_c<i>`` (cleaned text) and ``_v<i>`` (parsed value)."""
    checks: dict[str, list[Check]] = {"missing_required": [], "unparseable": [], "implausible_date": [],
                                      "future_date": [], "negative": []}
    latest = today + timedelta(days=future_tolerance_days)
    for i, col in enumerate(table.columns):
        if col.name not in mapping.columns:
            continue
        c, t = f"_v{i}", f"_c{i}"
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
    return [chk for group in checks.values() for chk in group]


def _typed_sql(stage: str, table: Table, mapping: ColumnMapping, checks: list[Check], customers_sql: str | None,
               unknown_code: int) -> str:
    """The statement that parses and checks every row (step 1 of the module docstring)."""
    plans = parse_plan(table, mapping)
    index = {c.name: i for i, c in enumerate(table.columns)}
    raws = [f"{q(mapping.columns[p.name])} AS _s{p.index}" for p in plans]
    l1 = f"SELECT _rec, {', '.join(raws + [f'{p.cleaned} AS _c{p.index}' for p in plans])} FROM {stage}"
    fast = [p for p in plans if p.fast]
    l2 = f"SELECT *, {', '.join(f'{p.fast} AS _f{p.index}' for p in fast)} FROM ({l1})" if fast else l1
    l3 = (f"SELECT *, {', '.join(f'CASE WHEN _f{p.index} IS NULL THEN _c{p.index} END AS _r{p.index}' for p in fast)} "
          f"FROM ({l2})") if fast else l2
    values = []
    for p in plans:
        if p.fast:
            values.append(f"coalesce(_f{p.index}, {p.general}) AS _v{p.index}")
        elif p.general:
            values.append(f"{p.general} AS _v{p.index}")
        else:
            values.append(f"_c{p.index} AS _v{p.index}")
    l4 = (f"SELECT _rec, {', '.join([f'_s{p.index}' for p in plans] + [f'_c{p.index}' for p in plans] + values)} "
          f"FROM ({l3})")
    fail = ("CASE " + " ".join(f"WHEN {c.condition} THEN {k}" for k, c in enumerate(checks, 1)) + " END"
            if checks else "CAST(NULL AS UTINYINT)")
    value_of = ("CASE _fail " + " ".join(f"WHEN {k} THEN _s{index[c.column]}" for k, c in enumerate(checks, 1))
                + " END" if checks else "CAST(NULL AS VARCHAR)")
    typed = ", ".join(f"_v{p.index} AS {q(p.name)}" for p in plans)
    l5 = f"SELECT _rec, {typed}, {', '.join(f'_s{p.index}' for p in plans)}, {fail} AS _fail FROM ({l4})"
    code = "_fail"
    if customers_sql:
        # a mark join: the customers' ids are hashed once; no row is multiplied
        code = (f"CASE WHEN _fail IS NOT NULL THEN _fail "
                f"WHEN customer_id IN (SELECT customer_id FROM ({customers_sql})) THEN NULL ELSE {unknown_code} END")
    names = ", ".join(q(p.name) for p in plans)
    return (f"CREATE OR REPLACE TEMP TABLE {stage}_typed AS SELECT _rec, {names}, "
            f"CAST({code} AS UTINYINT) AS _f, {value_of} AS _value FROM ({l5})")


def build_checked(con, stage: str, table: Table, mapping: ColumnMapping, *, returns: str, today: date,
                  future_tolerance_days: int, min_year: int, max_year: int,
                  existing_sql: str | None, customers_sql: str | None) -> str:
    """Create ``<stage>_checked``; return its name.

    ``existing_sql`` is a query over the rows already in the table (for duplicate keys);
    ``customers_sql`` a query over the current customers (for unknown ids).
    """
    checks = row_checks(table, mapping, returns=returns, today=today,
                        future_tolerance_days=future_tolerance_days, min_year=min_year, max_year=max_year)
    n = len(checks)
    dup_code, existing_code, unknown_code = n + 1, n + 2, n + 3
    # failure codes 1..n: the per-row checks in order; then the checks against other rows
    reasons = [*((c.reason, c.column) for c in checks)]
    key = [k for k in table.key if k in mapping.columns]
    full_key = len(key) == len(table.key) and key
    customer_check = bool(table.customer_ref and customers_sql)
    if full_key:
        reasons += [("duplicate_in_file", key[0]), ("duplicate_existing", key[0])]
    else:
        reasons += [("", ""), ("", "")]
    reasons.append(("unknown_customer", "customer_id"))
    con.execute(_typed_sql(stage, table, mapping, checks, customers_sql if customer_check else None, unknown_code))

    if full_key:
        key_cols = ", ".join(q(k) for k in key)
        # a single optional key column (transaction_id) that is empty means "no key";
        # in a composite key an empty part is a value like any other (NULLs compare equal)
        key_present = " AND ".join(f"{q(k)} IS NOT NULL" for k in key) if len(key) == 1 else "TRUE"
        candidate = lambda t: f"({t}._f IS NULL OR {t}._f = {unknown_code})"  # noqa: E731  (passed the per-row checks)
        on = lambda a, b: " AND ".join(f"{a}.{q(k)} IS NOT DISTINCT FROM {b}.{q(k)}" for k in key)  # noqa: E731
        # the first occurrence of each repeated key among valid rows; later rows with that key are
        # duplicates. Repeats are rare: first find the keys whose 64-bit hash repeats (an aggregate
        # over integers, not text), then compare the few rows with those hashes exactly.
        h = f"hash({key_cols})"
        parts = [f"WITH cand AS MATERIALIZED (SELECT _rec, {key_cols} FROM {stage}_typed x "
                 f"WHERE {candidate('x')} AND {key_present} AND {h} IN (SELECT {h} FROM {stage}_typed x "
                 f"WHERE {candidate('x')} AND {key_present} GROUP BY ALL HAVING count(*) > 1)) "
                 f"SELECT c._rec, {dup_code} AS _g FROM cand c JOIN (SELECT {key_cols}, min(_rec) AS _first FROM cand "
                 f"GROUP BY {key_cols} HAVING count(*) > 1) d ON {on('c', 'd')} WHERE c._rec > d._first"]
        if existing_sql:
            parts.append(f"SELECT p._rec, {existing_code} AS _g FROM {stage}_typed p JOIN "
                         f"(SELECT DISTINCT {key_cols} FROM ({existing_sql})) e ON {on('p', 'e')} WHERE {candidate('p')}")
        con.execute(f"CREATE OR REPLACE TEMP TABLE {stage}_dups AS SELECT _rec, min(_g) AS _g "
                    f"FROM ({' UNION ALL '.join(f'({p})' for p in parts)}) GROUP BY _rec")
        # the rejected copies are few: write their codes into the table, so readers need no join
        con.execute(f"UPDATE {stage}_typed SET _f = r._g FROM {stage}_dups r WHERE {stage}_typed._rec = r._rec")

    def lookup(values: list[str]) -> str:
        # only rejected rows look their code up (a CASE evaluates its branch on those rows alone)
        return f"CASE WHEN _code IS NOT NULL THEN [{', '.join(sql_str(v) for v in values)}][_code] END"

    cols = [f"t.{q(c.name)}" if c.name in mapping.columns else f"CAST(NULL AS {c.sql_type}) AS {q(c.name)}"
            for c in table.columns]
    key_value = f"CAST(t.{q(key[0])} AS VARCHAR)" if full_key else "NULL"
    value = (f"CASE _code WHEN {dup_code} THEN {key_value} WHEN {existing_code} THEN {key_value} "
             f"WHEN {unknown_code} THEN {'CAST(t.customer_id AS VARCHAR)' if customer_check else 'NULL'} "
             f"ELSE t._value END")
    con.execute(f"""CREATE OR REPLACE TEMP VIEW {stage}_checked AS
        SELECT t._rec, {', '.join(cols)},
               {lookup([r for r, _ in reasons])} AS _reason, {lookup([c for _, c in reasons])} AS _column,
               {lookup([mapping.columns.get(c, '') for _, c in reasons])} AS _source_column, {value} AS _value
        FROM (SELECT *, _f AS _code FROM {stage}_typed) t""")
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
