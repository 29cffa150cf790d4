"""User-facing text of the trust area: key → (en, zh-CN)."""

MESSAGES: dict[str, tuple[str, str]] = {}
