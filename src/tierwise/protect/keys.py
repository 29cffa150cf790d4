"""Encryption keys: 256-bit AES keys kept outside the workspace, identified by a short id.

Where the key comes from, first match wins:

1. ``TIERWISE_KEY``: the key itself, base64 (for containers and schedulers with a secret store);
2. ``TIERWISE_KEY_FILE``: a path to a key file;
3. the workspace setting ``key_file`` (``tierwise init`` creates ``<workspace>.key`` beside the
   folder, readable by its owner only).

A key file inside the workspace is refused: the key must never travel with the data.

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> k = generate_key_file(d / "ws.key")
>>> len(k.secret), len(k.key_id)
(32, 16)
>>> load_keyring(d / "ws.key", d / "ws", env={}).current == k
True
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from tierwise.errors import UserInputError

KEY_ENV = "TIERWISE_KEY"
KEY_FILE_ENV = "TIERWISE_KEY_FILE"


class KeyProblem(UserInputError):
    """The encryption key is missing, malformed, misplaced, or not the one the data were sealed with."""


@dataclass(frozen=True)
class Key:
    secret: bytes = field(repr=False)

    @property
    def key_id(self) -> str:
        """A public fingerprint of the key (safe to store beside the data)."""
        return hashlib.sha256(b"tierwise-key-id\0" + self.secret).hexdigest()[:16]


@dataclass
class KeyRing:
    """The key to seal with, and every key that may open (the current one, and during a
    rotation the previous one)."""

    current: Key
    others: list[Key] = field(default_factory=list)
    source: str = ""

    def by_id(self, key_id: str) -> Key:
        for k in (self.current, *self.others):
            if k.key_id == key_id:
                return k
        raise KeyProblem(f"the personal data were sealed with key {key_id}, but the key in use ({self.source}) "
                         f"is {self.current.key_id}",
                         hint="point TIERWISE_KEY_FILE or the workspace's key_file at the right key file; "
                              "without it personal fields (and ages, which come from birthdays) cannot be read")


def _decode(text: str, where: str) -> Key:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise KeyProblem(f"{where}: not a tierwise key (expected 32 bytes in base64)",
                         hint="create one with: tierwise key generate FILE")
    return Key(raw)


def read_key_file(path: str | Path) -> Key:
    p = Path(path)
    if not p.is_file():
        raise KeyProblem(f"{p}: key file not found",
                         hint="restore it from where you keep your keys, or set TIERWISE_KEY_FILE; "
                              "a new key cannot open data sealed with the old one")
    return _decode(p.read_text(encoding="ascii", errors="replace"), str(p))


def generate_key_file(path: str | Path) -> Key:
    """Create a new random key in ``path`` (mode 0600); refuses to overwrite."""
    p = Path(path)
    if p.exists():
        raise KeyProblem(f"{p}: already exists", hint="keys are never overwritten; choose another file name")
    p.parent.mkdir(parents=True, exist_ok=True)
    key = Key(os.urandom(32))
    fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(base64.b64encode(key.secret).decode("ascii") + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    return key


def load_keyring(key_file: str | Path | None, workspace: Path, *, env: Mapping[str, str] | None = None,
                 extra: list[str | Path] | None = None) -> KeyRing:
    """The key ring for a workspace (see the module docstring for the order of sources)."""
    env = os.environ if env is None else env
    if env.get(KEY_ENV):
        ring = KeyRing(_decode(env[KEY_ENV], KEY_ENV), source=KEY_ENV)
    else:
        path = env.get(KEY_FILE_ENV) or key_file
        if not path:
            raise KeyProblem(f"{workspace}: no encryption key configured for the personal fields",
                             hint=f"set {KEY_FILE_ENV}, or key_file in {workspace}/workspace.yaml "
                                  "(tierwise key generate FILE makes one)")
        p = Path(path).expanduser()
        if p.resolve().is_relative_to(workspace.resolve()):
            raise KeyProblem(f"{p}: the key file is inside the workspace it protects",
                             hint="move it outside the workspace folder (and keep a copy somewhere safe)")
        ring = KeyRing(read_key_file(p), source=str(p))
    for other in extra or []:
        ring.others.append(read_key_file(other))
    return ring
