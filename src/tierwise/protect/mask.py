"""Masking of personal values for display and exports.

>>> mask_value("phone", "13812345678")
'138****5678'
>>> mask_value("id_number", "110101199003071234")
'110***********1234'
>>> mask_value("name", "张三丰"), mask_value("name", "Li Lei")
('张**', 'L*****')
>>> mask_value("email", "li.lei@example.com")
'l*****@example.com'
>>> mask_value("birthday", "1990-03-07"), mask_value("address", "北京市朝阳区建国路88号")
('1990-**-**', '北京市*********')
>>> mask_value("phone", None) is None
True
"""

from __future__ import annotations

import re


def _keep(s: str, head: int, tail: int) -> str:
    if len(s) <= head + tail:
        return s[:1] + "*" * (len(s) - 1) if len(s) > 1 else "*"
    return s[:head] + "*" * (len(s) - head - tail) + (s[-tail:] if tail else "")


def mask_value(kind: str, value) -> str | None:
    """Mask one value of a personal column (``kind`` is the canonical column name)."""
    if value is None:
        return None
    s = str(value)
    if not s:
        return s
    if kind == "phone":
        digits = re.sub(r"\D", "", s)
        return _keep(digits, 3, 4) if len(digits) >= 7 else "*" * len(s)
    if kind == "id_number":
        return _keep(s, 3, 4)
    if kind == "email" and "@" in s:
        user, domain = s.split("@", 1)
        return _keep(user, 1, 0) + "@" + domain
    if kind == "birthday":
        return s[:4] + "-**-**" if len(s) >= 4 else "*" * len(s)
    if kind == "address":
        return _keep(s, 3, 0)
    return _keep(s, 1, 0)  # name, note and anything else: first character only


_LONG_DIGITS = re.compile(r"\d{17}[\dXx]|\d{11,}")


def mask_free_text(text: str | None) -> str | None:
    """Mask what looks like a mobile phone, ID or card number inside free text: runs of eleven or
    more digits, and 18-character ID numbers ending in X. Shorter numbers (customer numbers,
    amounts, dates) stay readable.

    >>> mask_free_text("C001,000125,张三,13812345678,11010119900307123X,2024-01-05,12345.60")
    'C001,000125,张三,138****5678,110***********123X,2024-01-05,12345.60'
    """
    if text is None:
        return None
    return _LONG_DIGITS.sub(lambda m: _keep(m.group(0), 3, 4), text)
