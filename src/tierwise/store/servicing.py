"""Manager assignments, tasks, outbox and deliveries, contact log (mixin of ``Store``)."""

from __future__ import annotations

import sqlalchemy as sa

from tierwise.store.meta import metadata  # noqa: F401  (tables of this area are defined on it)


class ServicingStore:
    engine: sa.Engine
