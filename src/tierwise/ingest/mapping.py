"""Match a source's headers to canonical columns, using the policy's header lists."""

from __future__ import annotations

from dataclasses import dataclass

from tierwise.canonical import Table
from tierwise.errors import ColumnMappingError, did_you_mean
from tierwise.ingest.sources import normalise_header


@dataclass
class ColumnMapping:
    """``columns`` maps canonical column → source header; ``ignored`` lists unused source headers."""

    columns: dict[str, str]
    ignored: list[str]


def map_columns(table: Table, source_headers: list[str], headers_for: dict[str, list[str]],
                source_name: str) -> ColumnMapping:
    """Map source headers onto ``table``'s columns.

    Each canonical column takes the first of its known headers present in the source
    (in the order the policy lists them). A source header serves one column only.
    Missing required columns raise :class:`ColumnMappingError` with the headers found
    and a did-you-mean hint.

    >>> from tierwise.canonical import TABLES
    >>> m = map_columns(TABLES["transactions"], ["客户号", "交易日期", "交易金额", "备注"],
    ...                 {"customer_id": ["客户号"], "txn_time": ["交易日期"], "amount": ["交易金额"]}, "t.csv")
    >>> m.columns
    {'customer_id': '客户号', 'txn_time': '交易日期', 'amount': '交易金额'}
    >>> m.ignored
    ['备注']
    """
    by_norm: dict[str, str] = {}
    for h in source_headers:
        by_norm.setdefault(normalise_header(h), h)
    used: set[str] = set()
    columns: dict[str, str] = {}
    # required columns choose first, so an optional column cannot take their header
    for col in sorted(table.columns, key=lambda c: not c.required):
        for alias in headers_for.get(col.name, [col.name]):
            src = by_norm.get(normalise_header(alias))
            if src is not None and src not in used:
                columns[col.name] = src
                used.add(src)
                break
    missing = [c.name for c in table.required_columns() if c.name not in columns]
    if missing:
        unused = [h for h in source_headers if h not in used]
        parts = []
        for name in missing:
            aliases = headers_for.get(name, [name])
            guess = next((g for a in aliases if (g := did_you_mean(a, unused))), None)
            parts.append(f"'{name}' (known headers: {', '.join(aliases[:6])}{', …' if len(aliases) > 6 else ''})"
                         + (f" — {guess.replace('did you mean', 'is it')}" if guess else ""))
        raise ColumnMappingError(
            f"{source_name}: required column{'s' if len(missing) > 1 else ''} of table '{table.name}' not found: "
            + "; ".join(parts) + f". The file's headers are: {', '.join(map(str, source_headers)) or '(none)'}",
            hint=f"add your header to policy.yaml under columns → {table.name} → {missing[0]}",
        )
    ordered = {c.name: columns[c.name] for c in table.columns if c.name in columns}
    return ColumnMapping(ordered, [h for h in source_headers if h not in used])
