"""User-facing text of the web area: key → (en, zh-CN)."""

MESSAGES: dict[str, tuple[str, str]] = {}
