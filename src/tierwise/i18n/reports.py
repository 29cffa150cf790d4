"""User-facing text of the reports area: key → (en, zh-CN)."""

MESSAGES: dict[str, tuple[str, str]] = {}
