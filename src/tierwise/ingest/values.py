"""Parse text values as real exports write them, as SQL expressions over a text column.

Each parser returns an SQL expression for the parsed value; a value that is present
but does not parse yields NULL there, which validation turns into a located rejection.

Accepted forms
--------------
dates        ``2024-01-05``, ``2024/1/5``, ``20240105``, ``2024年1月5日``, ``2024.1.5``, with an
             optional time ``13:04[:05]``, and Excel serial day numbers (``45296``)
money        ``1234.5``, ``1,234.50``, ``¥1,234.50``, ``￥1234``, ``1234元``, ``(1,234.50)`` and
             ``-1234`` (negative), full-width digits ``１２３４``; rounded to cents
integers     ``12``, ``1,200``, ``12.0``
numbers      as integers, plus decimals and percentages (``4.5%`` → 0.045)
booleans     ``true/false``, ``yes/no``, ``y/n``, ``1/0``, ``是/否``, ``有/无``
ids, text    kept as text exactly (leading zeros stay); surrounding spaces trimmed
"""

from __future__ import annotations

FULL_WIDTH = "０１２３４５６７８９．，－＋（）／：％　"
HALF_WIDTH = "0123456789.,-+()/:% "

DATE_FORMATS = [
    "%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y年%m月%d日", "%Y.%m.%d",
    "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M",
    "%Y年%m月%d日 %H:%M:%S", "%Y年%m月%d日 %H:%M", "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S.%f",
]

#: what a person is told each kind expects, in both languages
EXPECTED = {
    "date": ("a date such as 2024-01-05, 2024/1/5, 20240105, 2024年1月5日 or an Excel date",
             "日期，如 2024-01-05、2024/1/5、20240105、2024年1月5日 或 Excel 日期"),
    "timestamp": ("a date or date-time such as 2024-01-05 13:04:05",
                  "日期或时间，如 2024-01-05 13:04:05"),
    "money": ("an amount such as 1234.50, 1,234.50, ¥1,234.50 or (1,234.50)",
              "金额，如 1234.50、1,234.50、¥1,234.50 或 (1,234.50)"),
    "integer": ("a whole number such as 12", "整数，如 12"),
    "number": ("a number such as 3.5 or 4.5%", "数字，如 3.5 或 4.5%"),
    "boolean": ("yes/no, true/false, 1/0 or 是/否", "是/否、true/false 或 1/0"),
}


def clean(col_sql: str) -> str:
    """Trimmed text with full-width digits and punctuation made half-width; empty → NULL.

    Plain ASCII text (as many bytes as characters) skips the translation, and if it neither
    starts nor ends with a space it is returned as it is (see :func:`text`).
    """
    general = (f"nullif(trim(CASE WHEN strlen({col_sql}) = length({col_sql}) THEN {col_sql} "
               f"ELSE translate({col_sql}, '{FULL_WIDTH}', '{HALF_WIDTH}') END), '')")
    return f"CASE WHEN {_plain_ascii(col_sql)} THEN {col_sql} ELSE {general} END"


def text(raw: str) -> str:
    """Ids and free text: trimmed only (no translation, so names keep their own characters)."""
    return f"CASE WHEN {_plain_ascii(raw)} THEN {raw} ELSE nullif(trim({raw}), '') END"


def _plain_ascii(v: str) -> str:
    # SQL, true when ``nullif(trim(v), '')`` is ``v`` itself. ``trim`` removes the Unicode space
    # separators (Zs) at both ends, and the only ASCII one is the space: so ASCII text that is
    # not empty and has no space at either end is left as it is. Testing this is cheaper than
    # trimming, which copies every string.
    return f"(strlen({v}) = length({v}) AND {v} <> '' AND {v} NOT LIKE ' %' AND {v} NOT LIKE '% ')"


def _strip_number(v: str) -> str:
    # currency marks, thousands separators and spaces go; a trailing minus becomes a leading one
    s = f"regexp_replace({v}, '[¥￥$€£,\\s]|元|RMB|CNY|USD', '', 'g')"
    return s


def money(v: str) -> str:
    """Exact DECIMAL(18,2) from a cleaned text expression ``v``.

    A plain number casts directly; only other forms (thousands separators, currency
    marks, parentheses, a trailing minus) go through the slower normalisation.
    """
    plain = f"CASE WHEN regexp_full_match({v}, '[-+]?[0-9]+(\\.[0-9]+)?') THEN try_cast({v} AS DECIMAL(18,2)) END"
    return f"coalesce({plain}, {_money_slow(v)})"


def _money_slow(v: str) -> str:
    s = _strip_number(v)
    neg_paren = f"regexp_matches({s}, '^\\(.*\\)$')"
    inner = f"CASE WHEN {neg_paren} THEN '-' || trim({s}, '()') ELSE {s} END"
    trailing = f"CASE WHEN regexp_matches({inner}, '^[0-9.]+-$') THEN '-' || rtrim({inner}, '-') ELSE {inner} END"
    checked = f"CASE WHEN regexp_matches({trailing}, '^[-+]?([0-9]+\\.?[0-9]*|\\.[0-9]+)$') THEN {trailing} END"
    return f"try_cast(try_cast({checked} AS DECIMAL(38,6)) AS DECIMAL(18,2))"


def integer(v: str) -> str:
    s = _strip_number(v)
    checked = f"CASE WHEN regexp_matches({s}, '^[-+]?[0-9]+(\\.0*)?$') THEN regexp_replace({s}, '\\.0*$', '') END"
    return f"try_cast({checked} AS BIGINT)"


def number(v: str) -> str:
    s = _strip_number(v)
    pct = f"regexp_matches({s}, '%$')"
    body = f"rtrim({s}, '%')"
    checked = f"CASE WHEN regexp_matches({body}, '^[-+]?([0-9]+\\.?[0-9]*|\\.[0-9]+)([eE][-+]?[0-9]+)?$') THEN {body} END"
    return f"(try_cast({checked} AS DOUBLE) / CASE WHEN {pct} THEN 100.0 ELSE 1.0 END)"


def boolean(v: str) -> str:
    return (f"CASE lower({v}) WHEN 'true' THEN true WHEN 'yes' THEN true WHEN 'y' THEN true WHEN '1' THEN true "
            f"WHEN '是' THEN true WHEN '有' THEN true WHEN 'false' THEN false WHEN 'no' THEN false "
            f"WHEN 'n' THEN false WHEN '0' THEN false WHEN '否' THEN false WHEN '无' THEN false END")


def timestamp(v: str) -> str:
    """TIMESTAMP from the date formats above, or an Excel serial day number (1900 system)."""
    return f"coalesce({_common_dates(v)}, {_any_date(v)})"


def _common_dates(v: str) -> str:
    # the common shapes parse with their one format; only other text tries the whole list
    return (f"CASE WHEN regexp_full_match({v}, '[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}( [0-9]{{2}}:[0-9]{{2}}:[0-9]{{2}})?') "
            f"THEN try_cast({v} AS TIMESTAMP) "
            f"WHEN regexp_full_match({v}, '[0-9]{{4}}/[0-9]{{1,2}}/[0-9]{{1,2}}') THEN try_strptime({v}, '%Y/%m/%d') "
            f"WHEN regexp_full_match({v}, '[0-9]{{4}}-[0-9]{{1,2}}-[0-9]{{1,2}}') THEN try_strptime({v}, '%Y-%m-%d') "
            f"WHEN regexp_full_match({v}, '[0-9]{{8}}') THEN try_strptime({v}, '%Y%m%d') END")


def _any_date(v: str) -> str:
    fmts = ", ".join(f"'{f}'" for f in DATE_FORMATS)
    serial = (f"CASE WHEN regexp_matches({v}, '^[0-9]{{1,5}}(\\.[0-9]+)?$') AND try_cast({v} AS DOUBLE) >= 1 "
              f"THEN TIMESTAMP '1899-12-30' + to_microseconds(CAST(round(try_cast({v} AS DOUBLE) * 86400000000) AS BIGINT)) END")
    return f"coalesce(try_strptime({v}, [{fmts}]), {serial})"


def date(v: str) -> str:
    return f"CAST({timestamp(v)} AS DATE)"


PARSERS = {"money": money, "integer": integer, "number": number, "boolean": boolean,
           "timestamp": timestamp, "date": date}


def parse(kind: str, raw_col: str) -> tuple[str, str]:
    """(cleaned text expression, parsed value expression) for a source column of ``kind``."""
    if kind in ("id", "text", "category"):
        cleaned = text(raw_col)
        return cleaned, cleaned
    cleaned = clean(raw_col)
    return cleaned, PARSERS[kind](cleaned)


# ----------------------------------------------------------------------------- fast paths
# A fast parser handles the shapes real exports mostly use with one cheap cast. It is
# exact where it answers: a non-NULL fast value is the value the general parser above
# gives for the same text; where it answers NULL, the general parser decides. Validation
# runs the general parser only on the values the fast one left (see ``validate``), so
# its many regular expressions cost nothing on the common shapes.

def _fast_money(v: str) -> str:
    # ``1234.5`` / ``-1234.50``: the general parser's own first step. ``1,234.50``: with at
    # most two decimals the value is exact, so one cast equals the general path's two.
    return (f"CASE WHEN regexp_full_match({v}, '[-+]?[0-9]+(\\.[0-9]+)?') THEN try_cast({v} AS DECIMAL(18,2)) "
            f"WHEN regexp_full_match({v}, '-?[0-9]{{1,3}}(,[0-9]{{3}})+(\\.[0-9]{{1,2}})?') "
            f"THEN try_cast(replace({v}, ',', '') AS DECIMAL(18,2)) END")


def _fast_integer(v: str) -> str:
    # up to 18 digits always fit a BIGINT; the general path would cast the same text
    return f"CASE WHEN regexp_full_match({v}, '-?[0-9]{{1,18}}') THEN try_cast({v} AS BIGINT) END"


def _fast_number(v: str) -> str:
    # the general path casts the same text and divides by 1.0, which changes no double
    return f"CASE WHEN regexp_full_match({v}, '-?[0-9]{{1,18}}(\\.[0-9]{{1,18}})?') THEN try_cast({v} AS DOUBLE) END"


FAST = {"money": _fast_money, "integer": _fast_integer, "number": _fast_number,
        "timestamp": _common_dates, "date": lambda v: f"CAST({_common_dates(v)} AS DATE)"}
