"""The operational store: what people and processes change (imports, audit log; later users,
overrides, tasks). SQLAlchemy Core; a SQLite file by default, PostgreSQL in production."""

from tierwise.store.db import Store, open_store

__all__ = ["Store", "open_store"]
