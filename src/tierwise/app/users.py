"""Users and roles: add, list, change, disable, reset passwords; the first admin of a workspace.

Passwords are hashed with argon2id (``argon2-cffi``). A password set by someone else (a new
user, a reset, the first admin) is a one-time password: the user must change it at their
first login. Every change is audited.

Roles
-----
``admin``                 users and policy; every customer (masked)
``analyst``               every customer (masked), read-only
``branch_manager``        the customers of their branch (``branch_id``); approves overrides
``relationship_manager``  only their own customers (``manager_id``)
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timezone
from pathlib import Path

from argon2 import PasswordHasher

from tierwise.app.workspace import Workspace
from tierwise.errors import NotFoundError, UserInputError, did_you_mean

ROLES = ("admin", "analyst", "branch_manager", "relationship_manager")
USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{2,64}$")
MIN_PASSWORD = 10
FIRST_ADMIN = "admin"

hasher = PasswordHasher()

#: one-time passwords created in this process, by workspace folder, until a shell has shown them
_ONE_TIME: dict[str, str] = {}


def one_time_password() -> str:
    """A random password that is easy to type: 4 groups of 4 letters and digits."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    return "-".join("".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(4))


def check_password(password: str, username: str | None = None) -> None:
    """Refuse passwords that are too short, or equal to the username."""
    if len(password) < MIN_PASSWORD:
        raise UserInputError(f"the password is too short ({len(password)} characters)",
                             hint=f"use at least {MIN_PASSWORD} characters")
    if username and password.strip().lower() == username.lower():
        raise UserInputError("the password must not be the username")


def _public(u: dict) -> dict:
    return {k: v for k, v in u.items() if k != "password_hash"}


def _validate(role: str, manager_id: str | None, branch_id: str | None) -> None:
    if role not in ROLES:
        raise UserInputError(f"unknown role '{role}'", hint=did_you_mean(role, ROLES) or f"roles: {', '.join(ROLES)}")
    if role == "relationship_manager" and not manager_id:
        raise UserInputError("a relationship manager needs a manager id (the customers' manager_id)",
                             hint="--manager-id RM00001")
    if role == "branch_manager" and not branch_id:
        raise UserInputError("a branch manager needs a branch id (the customers' branch_id)",
                             hint="--branch-id BR001")


def add_user(ws: Workspace, username: str, role: str, *, password: str | None = None,
             manager_id: str | None = None, branch_id: str | None = None, display_name: str | None = None,
             locale: str | None = None, actor: str = "cli") -> tuple[dict, str | None]:
    """Create a user; without ``password`` a one-time password is made and returned (shown once)."""
    if not USERNAME.match(username or ""):
        raise UserInputError(f"invalid username '{username}'",
                             hint="2–64 letters, digits or . _ @ - (no spaces)")
    _validate(role, manager_id, branch_id)
    if locale not in (None, "zh-CN", "en"):
        raise UserInputError(f"unknown locale '{locale}'", hint="zh-CN or en")
    store = ws.store()
    if store.get_user(username=username) is not None:
        raise UserInputError(f"user '{username}' already exists", hint="choose another name, or reset-password")
    temporary = password is None
    if temporary:
        password = one_time_password()
    else:
        check_password(password, username)
    now = datetime.now(timezone.utc)
    uid = store.add_user({"username": username, "display_name": display_name, "password_hash": hasher.hash(password),
                          "role": role, "manager_id": manager_id if role == "relationship_manager" else None,
                          "branch_id": branch_id if role == "branch_manager" else None, "locale": locale,
                          "active": True, "must_change_password": temporary, "created_at": now, "updated_at": now})
    store.audit(actor, "user.add", username, {"user_id": uid, "role": role, "manager_id": manager_id,
                                              "branch_id": branch_id})
    return _public(store.get_user(user_id=uid)), (password if temporary else None)


def get_user(ws: Workspace, username: str) -> dict:
    u = ws.store().get_user(username=username)
    if u is None:
        known = [x["username"] for x in ws.store().list_users()]
        raise NotFoundError(f"no user '{username}'", hint=did_you_mean(username, known) or "tierwise users list")
    return u


def list_users(ws: Workspace) -> list[dict]:
    return [_public(u) for u in ws.store().list_users()]


def update_user(ws: Workspace, username: str, *, role: str | None = None, manager_id: str | None = None,
                branch_id: str | None = None, display_name: str | None = None, actor: str = "cli") -> dict:
    """Change a user's role or scope; their sessions end (the new scope applies at the next login)."""
    u = get_user(ws, username)
    role = role or u["role"]
    manager_id = manager_id if manager_id is not None else u["manager_id"]
    branch_id = branch_id if branch_id is not None else u["branch_id"]
    _validate(role, manager_id, branch_id)
    if u["role"] == "admin" and role != "admin":
        _keep_an_admin(ws, u)
    changes = {"role": role, "manager_id": manager_id if role == "relationship_manager" else None,
               "branch_id": branch_id if role == "branch_manager" else None}
    if display_name is not None:
        changes["display_name"] = display_name
    store = ws.store()
    store.update_user(u["user_id"], **changes)
    store.delete_user_sessions(u["user_id"])
    store.audit(actor, "user.update", username, {"before": {k: u[k] for k in changes}, "after": changes})
    return _public(store.get_user(user_id=u["user_id"]))


def _keep_an_admin(ws: Workspace, u: dict) -> None:
    admins = [x for x in ws.store().list_users() if x["role"] == "admin" and x["active"] and x["user_id"] != u["user_id"]]
    if not admins:
        raise UserInputError(f"'{u['username']}' is the last active admin",
                             hint="make another user admin first")


def set_active(ws: Workspace, username: str, active: bool, *, actor: str = "cli") -> dict:
    """Disable (ending every session of the user) or enable a user."""
    u = get_user(ws, username)
    if not active and u["role"] == "admin":
        _keep_an_admin(ws, u)
    store = ws.store()
    store.update_user(u["user_id"], active=active)
    ended = store.delete_user_sessions(u["user_id"]) if not active else 0
    store.audit(actor, "user.enable" if active else "user.disable", username, {"sessions_ended": ended})
    return _public(store.get_user(user_id=u["user_id"]))


def reset_password(ws: Workspace, username: str, *, actor: str = "cli") -> str:
    """A new one-time password (to be changed at the next login); every session of the user ends."""
    u = get_user(ws, username)
    password = one_time_password()
    store = ws.store()
    store.update_user(u["user_id"], password_hash=hasher.hash(password), must_change_password=True)
    store.delete_user_sessions(u["user_id"])
    store.audit(actor, "user.reset_password", username)
    return password


def create_first_admin(ws: Workspace) -> str:
    """The workspace's first user, ``admin``, with a one-time password (kept until a shell shows it)."""
    _, password = add_user(ws, FIRST_ADMIN, "admin", actor="system")
    _ONE_TIME[str(Path(ws.root).resolve())] = password
    return password


def take_one_time_password(root: str | Path) -> str | None:
    """The first admin's one-time password created by this process for ``root`` (once; then forgotten)."""
    return _ONE_TIME.pop(str(Path(root).resolve()), None)
