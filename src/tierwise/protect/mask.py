"""Masking of personal values for display, exports and quarantine files — the one set of rules.

>>> mask_value("phone", "13812345678"), mask_value("id_number", "110101199003071234")
('138****5678', '110***********1234')
>>> mask_value("name", "张三丰"), mask_value("name", "Li Lei")
('张**', 'L*****')
>>> mask_value("phone", None) is None
True
"""

from __future__ import annotations

import re


def mask_phone(v: str | None) -> str | None:
    """Keep the first 3 and last 4 digits.

    >>> mask_phone("13812345678")
    '138****5678'
    """
    if not v:
        return v
    s = str(v)
    return s[:3] + "*" * max(len(s) - 7, 1) + s[-4:] if len(s) > 7 else "*" * len(s)


def mask_id_number(v: str | None) -> str | None:
    """Keep the first 3 and last 4 characters.

    >>> mask_id_number("110101199003071234")
    '110***********1234'
    """
    if not v:
        return v
    s = str(v)
    return s[:3] + "*" * (len(s) - 7) + s[-4:] if len(s) > 7 else "*" * len(s)


def mask_name(v: str | None) -> str | None:
    """Keep the first character (the family name).

    >>> mask_name("张三"), mask_name("欧阳娜娜"), mask_name("Li")
    ('张*', '欧***', 'L*')
    """
    if not v:
        return v
    s = str(v)
    return s[0] + "*" * max(len(s) - 1, 1)


def mask_email(v: str | None) -> str | None:
    """Keep the first character of the local part and the domain.

    >>> mask_email("zhang.san@example.com")
    'z***@example.com'
    """
    if not v:
        return v
    local, _, domain = str(v).partition("@")
    return (local[:1] + "***") + ("@" + domain if domain else "")


def mask_address(v: str | None) -> str | None:
    """Keep the first 6 characters (province and city).

    >>> mask_address("北京市朝阳区建国路88号")
    '北京市朝阳区****'
    """
    if not v:
        return v
    return str(v)[:6] + "****"


def mask_birthday(v) -> str | None:
    """Keep the year only.

    >>> from datetime import date
    >>> mask_birthday(date(1990, 3, 7))
    '1990-**-**'
    """
    if v is None:
        return None
    return str(v)[:4] + "-**-**"


#: personal column → its mask; any other personal column (free-text notes) keeps its first character
MASKS = {"name": mask_name, "phone": mask_phone, "id_number": mask_id_number, "email": mask_email,
         "address": mask_address, "birthday": mask_birthday}


def mask_value(kind: str, value):
    """Mask one value of the personal column ``kind``."""
    return MASKS.get(kind, mask_name)(value)


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
    return _LONG_DIGITS.sub(lambda m: mask_id_number(m.group(0)), text)
