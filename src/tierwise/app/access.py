"""Who may see and do what: roles, row-level access to customers, masking of personal fields.

Every application function behind the API and the pages takes a :class:`Principal` and
goes through this module, so pages, API and exports obey one rule:

* ``relationship_manager`` sees only the customers they own;
* ``branch_manager`` sees the customers of their branch;
* ``analyst`` and ``admin`` see every customer.

Ownership (customer → manager, branch) comes from ``tierwise.app.servicing.owners(ws)``
when that module exists (manager assignments live in the operational store); until then
from the current snapshot, or the imported customers table when there is no run yet.

A customer outside the principal's scope is reported as *not found* (404), exactly like a
customer that does not exist, so nobody learns which customer numbers exist elsewhere.
"""

from __future__ import annotations

import importlib
import importlib.util
import threading
import time
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute  # noqa: F401  (pa.compute)

from tierwise.canonical import TABLES
from tierwise.errors import NotFoundError, PermissionDeniedError
from tierwise.protect.mask import MASKS  # the one set of masking rules (also for exports and quarantine)

ALL_ROLES = frozenset({"admin", "analyst", "branch_manager", "relationship_manager"})
MANAGERS = frozenset({"branch_manager", "relationship_manager"})

#: action → roles allowed to do it (row-level scope applies on top)
PERMISSIONS: dict[str, frozenset[str]] = {
    "customers.read": ALL_ROLES,
    "customers.export": ALL_ROLES,
    "personal.unmask": MANAGERS,
    "overrides.read": ALL_ROLES,
    "overrides.request": MANAGERS,
    "overrides.decide": frozenset({"admin", "branch_manager"}),
    "runs.read": ALL_ROLES,
    "imports.read": frozenset({"admin", "analyst"}),
    "imports.upload": frozenset({"admin"}),
    "whatif.run": frozenset({"admin", "analyst"}),
    "campaigns.read": frozenset({"admin", "analyst", "branch_manager"}),
    "campaigns.write": frozenset({"admin", "analyst"}),
    "tasks.read": ALL_ROLES,
    "tasks.complete": MANAGERS,
    "users.manage": frozenset({"admin"}),
    "audit.read": frozenset({"admin"}),
}


@dataclass(frozen=True)
class Principal:
    """The person behind a request: user, role and the scope their role gives them."""

    username: str
    role: str
    manager_id: str | None = None
    branch_id: str | None = None
    user_id: int | None = None
    display_name: str | None = None
    locale: str | None = None
    must_change_password: bool = False

    @property
    def sees_all(self) -> bool:
        return self.role in ("admin", "analyst")

    def can(self, action: str) -> bool:
        return self.role in PERMISSIONS[action]

    @property
    def scope_key(self) -> tuple:
        """Principals with equal keys see the same customers (a cache key)."""
        if self.sees_all:
            return ("all",)
        if self.role == "branch_manager":
            return ("branch", self.branch_id)
        if self.role == "relationship_manager":
            return ("manager", self.manager_id)
        return ("none",)


def require(principal: Principal, action: str) -> None:
    """Raise :class:`PermissionDeniedError` unless the principal's role may do ``action``."""
    if not principal.can(action):
        raise PermissionDeniedError(f"the role '{principal.role}' may not {action.replace('.', ' ')}",
                                    hint="ask an administrator if you need this")


# ---------------------------------------------------------------------------- ownership
#: workspace → (key, owners table, {"manager"|"branch": {id: frozenset of customer ids}}, inputs)
_cache: dict[str, tuple[object, pa.Table, dict, tuple | None]] = {}
_lock = threading.Lock()
#: how long owners from the servicing module (assignments in the store) are reused
SERVICING_TTL = 2.0


_owners_fn: list = []


def _servicing_owners():
    if not _owners_fn:          # looked up once: find_spec and import cost more than the rest of a request
        if importlib.util.find_spec("tierwise.app.servicing") is None:
            _owners_fn.append(None)
        else:
            _owners_fn.append(getattr(importlib.import_module("tierwise.app.servicing"), "owners", None))
    return _owners_fn[0]


def _owner_inputs(ws) -> tuple | None:
    """A fingerprint of what ``servicing.owners`` reads: the customers table (the data area's state)
    and the assignments, whose every change appends to ``assignment_history`` (one indexed
    ``max``). None when it cannot be told: then the owners are recomputed."""
    from tierwise.app import query_engine

    import sqlalchemy as sa

    try:
        from tierwise.store.servicing import assignment_history
        with ws.store().engine.connect() as conn:
            seq = conn.execute(sa.select(sa.func.max(assignment_history.c.seq))).scalar()
    except (ImportError, sa.exc.SQLAlchemyError):        # no such table: recompute
        return None
    return query_engine.state_key(ws), seq


def owners(ws) -> pa.Table:
    """customer_id, manager_id, branch_id of every customer (cached per workspace state).

    When the cached entry is out of date, one thread recomputes it while concurrent requests
    keep using the previous one (no stampede under load); an unchanged table keeps its index,
    so the id sets (and caches keyed on them) stay the same objects. With the servicing
    module, the entry is checked every ``SERVICING_TTL`` seconds and recomputed only when its
    inputs changed (recomputing reads the whole customers table: 0.15 s at 1 M customers).
    """
    from tierwise.app import query_engine

    fn = _servicing_owners()
    key = ("servicing", int(time.monotonic() / SERVICING_TTL)) if fn else ("fallback", query_engine.state_key(ws))
    root = query_engine.root_key(ws)
    with _lock:
        hit = _cache.get(root)
        refresh = _refreshing.setdefault(root, threading.Lock())
    if hit and hit[0] == key:
        return hit[1]
    if hit is not None and hit[0][0] == key[0]:
        if not refresh.acquire(blocking=False):      # someone else refreshes: use the previous entry
            return hit[1]
    else:
        refresh.acquire()
    try:
        with _lock:
            hit = _cache.get(root)
        if hit and hit[0] == key:
            return hit[1]
        inputs = _owner_inputs(ws) if fn else None
        if hit is not None and inputs is not None and hit[3] == inputs:
            with _lock:
                _cache[root] = (key, hit[1], hit[2], inputs)
            return hit[1]
        table = fn(ws) if fn else query_engine.fallback_owners(ws)
        table = table.select(["customer_id", "manager_id", "branch_id"])
        if hit is not None and hit[1].equals(table):
            index = hit[2]
        else:
            index = {"manager": _group(table, "manager_id"), "branch": _group(table, "branch_id")}
        with _lock:
            _cache[root] = (key, table, index, inputs)
        return table
    finally:
        refresh.release()


_refreshing: dict[str, threading.Lock] = {}


def _group(table: pa.Table, col: str) -> dict[str, frozenset[str]]:
    g = table.filter(pa.compute.is_valid(table[col])).group_by(col).aggregate([("customer_id", "list")])
    return {k: frozenset(v) for k, v in zip(g[col].to_pylist(), g["customer_id_list"].to_pylist())}


def visible_ids(ws, principal: Principal) -> frozenset[str] | None:
    """The customers ``principal`` may see: ``None`` means every customer."""
    from tierwise.app import query_engine

    if principal.sees_all:
        return None
    owners(ws)
    index = _cache[query_engine.root_key(ws)][2]
    kind, value = principal.scope_key[0], principal.scope_key[-1]
    if kind in ("manager", "branch"):
        return index[kind].get(value, frozenset())
    return frozenset()


def can_see(ws, principal: Principal, customer_id: str) -> bool:
    ids = visible_ids(ws, principal)
    return ids is None or customer_id in ids


def require_customer(ws, principal: Principal, customer_id: str) -> None:
    """404 for a customer outside the principal's scope — the same answer as for one that does not exist."""
    if not can_see(ws, principal, customer_id):
        raise NotFoundError(f"no customer '{customer_id}'", hint="check the customer number")


# ---------------------------------------------------------------------------- masking
#: the customers' personal columns, as the canonical schema marks them
PERSONAL = tuple(c.name for c in TABLES["customers"].personal_columns())


def personal_view(ws, principal: Principal, customer_ids: list[str], *, unmask: bool = False,
                  origin: str | None = None) -> dict[str, dict]:
    """The personal fields of ``customer_ids`` as ``principal`` may see them: masked, or in clear.

    The one way personal fields leave the workspace (pages, API, exports). Customers outside
    the principal's scope are left out. Unmasking needs the ``personal.unmask`` permission and
    is audited with the customers it revealed.
    """
    from tierwise.app import query_engine

    if unmask:
        require(principal, "personal.unmask")
    ids = visible_ids(ws, principal)
    wanted = [c for c in dict.fromkeys(customer_ids) if ids is None or c in ids]
    rows = query_engine.personal_rows(ws, wanted)
    out = {}
    for r in rows:
        cid = r.pop("customer_id")
        out[cid] = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in r.items()} if unmask else \
            {k: MASKS[k](v) for k, v in r.items()}
    if unmask and out:
        ws.store().audit(principal.username, "personal.unmask", ",".join(sorted(out))[:256],
                         {"customers": sorted(out), "fields": list(PERSONAL)}, origin=origin)
    return out
