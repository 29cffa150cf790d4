"""User-facing text of the servicing area: key → (en, zh-CN)."""

MESSAGES: dict[str, tuple[str, str]] = {}
