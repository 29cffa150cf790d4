"""Users, roles, sessions and login throttling in the operational store (mixin of ``Store``)."""

from __future__ import annotations

import sqlalchemy as sa

from tierwise.store.meta import metadata  # noqa: F401  (tables of this area are defined on it)


class AuthStore:
    engine: sa.Engine
