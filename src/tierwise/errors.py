"""The one error hierarchy of tierwise.

Every error a user can cause is a :class:`TierwiseError`. Its message says what is
wrong, where (file, row, column, or policy path) and how to fix it. Shells (CLI, API,
web) map these classes to exit codes and HTTP status in one place each; they never
show a traceback for a ``TierwiseError``.

Input errors also subclass :class:`ValueError`, as ibis and scikit-learn do, so callers
that already catch ``ValueError`` keep working.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class TierwiseError(Exception):
    """Base class of every error tierwise raises on purpose."""

    #: process exit code used by the CLI for this kind of error
    exit_code: int = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\n  hint: {self.hint}"
        return self.message


class UserInputError(TierwiseError, ValueError):
    """Something the user gave us (a file, an argument, a setting) is wrong."""

    exit_code = 2


class PolicyError(UserInputError):
    """The policy file is invalid; the message lists each problem with its path."""


class WorkspaceError(UserInputError):
    """A workspace folder is missing, incomplete, or not a tierwise workspace."""


class ImportRejectedError(UserInputError):
    """An import was refused as a whole (for example too many rejected rows).

    ``reconciliation`` carries the counts so a shell can still print them.
    """

    exit_code = 3

    def __init__(self, message: str, *, reconciliation: dict | None = None, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.reconciliation = reconciliation


class SourceReadError(UserInputError):
    """A source file or table cannot be read at all (not found, wrong format, bad encoding)."""


class ColumnMappingError(UserInputError):
    """Source columns cannot be mapped onto a canonical table (missing required columns)."""


class ConvergenceError(TierwiseError, RuntimeError):
    """A model fit did not converge; the message names what to try."""

    exit_code = 4


class NotFittedError(TierwiseError, AttributeError):
    """A model was used before ``fit`` (scikit-learn's contract)."""


class ConcurrencyError(TierwiseError):
    """Another process holds the workspace lock."""

    exit_code = 5


class NotFoundError(UserInputError):
    """A thing does not exist — or exists but is outside what the person may see (never told apart)."""


class AuthenticationError(TierwiseError):
    """Not logged in, a wrong password, or an expired session."""

    exit_code = 7


class LoginThrottledError(AuthenticationError):
    """Too many failed logins for a user or from an address; locked out for a while."""


class PermissionDeniedError(TierwiseError):
    """The person's role does not allow this action (or a CSRF check failed)."""

    exit_code = 7


class TierwiseWarning(UserWarning):
    """Base class of every warning tierwise emits (warnings are classes, never prints)."""


class DataQualityWarning(TierwiseWarning):
    """Data were accepted but look suspicious (for example many returns)."""


def did_you_mean(value: str, choices: Iterable[str]) -> str | None:
    """Return a ``did you mean 'x'?`` hint for ``value`` among ``choices``, or None.

    >>> did_you_mean("bnak", ["bank", "retail"])
    "did you mean 'bank'?"
    >>> did_you_mean("zzz", ["bank"]) is None
    True
    """
    matches = difflib.get_close_matches(value, list(choices), n=1, cutoff=0.6)
    return f"did you mean '{matches[0]}'?" if matches else None


class StorageError(TierwiseError):
    """The disk is full, or a folder is read-only or not writable: nothing was half-written."""

    exit_code = 8


_FULL = ("no space left on device", "disk quota exceeded", "database or disk is full", "disk is full")
_READ_ONLY = ("read-only file system", "readonly database", "read-only database", "permission denied",
              "operation not permitted")


def storage_error(exc: BaseException) -> StorageError | None:
    """A :class:`StorageError` that explains ``exc`` if it is a full disk or an unwritable folder, else None.

    Engines report these differently (``OSError`` with an errno, Arrow and DuckDB IO exceptions,
    SQLite's "database or disk is full" through SQLAlchemy), so this looks at the errno, then at
    the messages along the exception's cause chain.

    >>> import errno
    >>> storage_error(OSError(errno.ENOSPC, "No space left on device", "/ws/data/x.parquet")).message
    'the disk is full: cannot write /ws/data/x.parquet'
    >>> storage_error(ValueError("bad")) is None
    True
    """
    import errno as _errno

    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        where = getattr(e, "filename", None)
        where = f" {where}" if where else ""
        code = getattr(e, "errno", None)
        text = str(e).lower()
        if code in (_errno.ENOSPC, _errno.EDQUOT) or any(s in text for s in _FULL):
            return StorageError(f"the disk is full: cannot write{where or ' the workspace'}",
                                hint="free some space (or move the workspace) and run the command again; "
                                     "what was already committed is intact")
        if code in (_errno.EROFS, _errno.EACCES, _errno.EPERM) or any(s in text for s in _READ_ONLY):
            return StorageError(f"cannot write{where or ' to the workspace'}: the folder is read-only or not "
                                "writable by this user",
                                hint="check the folder's permissions and mount options; nothing was changed")
        e = e.__cause__ or e.__context__
    return None
