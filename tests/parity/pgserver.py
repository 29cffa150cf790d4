"""A throw-away PostgreSQL server for the test session: initdb into a temporary folder, start, stop.

PostgreSQL refuses to run as root, so when the tests run as root (CI) the server runs as
an unprivileged system user (``postgres`` if present, else ``nobody``) via ``runuser`` /
``setpriv`` / ``su``; the data folder is chowned to that user.
"""

from __future__ import annotations

import glob
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path


class NoPostgres(RuntimeError):
    """No PostgreSQL server binaries on this machine."""


def find_bindir() -> Path:
    """The folder holding ``initdb`` and ``pg_ctl`` (PATH first, then /usr/lib/postgresql/*/bin, newest)."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(os.path.realpath(found)).parent
    def version(p: str) -> tuple[int, ...]:
        return tuple(int(x) for x in re.findall(r"\d+", p.split("/postgresql/")[1].split("/")[0])) or (0,)
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=version, reverse=True)
    for c in candidates:
        if os.access(c, os.X_OK) and os.access(Path(c).with_name("pg_ctl"), os.X_OK):
            return Path(c).parent
    raise NoPostgres("no PostgreSQL server binaries (initdb, pg_ctl) on PATH or in /usr/lib/postgresql/*/bin; "
                     "install them with `apt-get install -y postgresql` (.ci/run does this)")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_user_prefix(user: str | None) -> list[str]:
    if user is None:
        return []
    if shutil.which("runuser"):
        return ["runuser", "-u", user, "--"]
    if shutil.which("setpriv"):
        pw = pwd.getpwnam(user)
        return ["setpriv", f"--reuid={pw.pw_uid}", f"--regid={pw.pw_gid}", "--init-groups", "--"]
    return ["su", user, "-s", "/bin/sh", "-c", '"$0" "$@"', "--"]


@dataclass
class PostgresServer:
    bindir: Path
    root: Path
    port: int
    user: str | None          # system user the server runs as (None: the current user)
    superuser: str = "postgres"

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def log(self) -> Path:
        return self.root / "server.log"

    def _run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        cmd = [*_as_user_prefix(self.user), str(self.bindir / args[0]), *args[1:]]
        env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
        env.pop("PGDATA", None)
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=self.root)

    def _check(self, proc: subprocess.CompletedProcess, what: str) -> None:
        if proc.returncode != 0:
            log = self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""
            raise RuntimeError(f"PostgreSQL {what} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}\n{log}")

    def start(self) -> None:
        self._check(self._run("initdb", "-D", str(self.data), "-U", self.superuser, "--auth=trust",
                              "--encoding=UTF8", "--no-locale", "--no-sync"), "initdb")
        opts = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c timezone=UTC -c max_connections=20 "
                "-c shared_buffers=64MB")
        self._check(self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", opts, "-w", "-t", "60",
                              "start"), "start")

    def stop(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "30", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def connect_kwargs(self) -> dict:
        return {"host": "127.0.0.1", "port": self.port, "user": self.superuser, "database": "postgres"}


def start_server() -> PostgresServer:
    """Start a fresh server on a free 127.0.0.1 port (unix socket in its own folder); call ``stop()`` after."""
    bindir = find_bindir()
    root = Path(tempfile.mkdtemp(prefix="tierwise-pg-"))   # under /tmp: reachable by the server user
    user = None
    if os.geteuid() == 0:
        for candidate in ("postgres", "nobody"):
            try:
                pw = pwd.getpwnam(candidate)
            except KeyError:
                continue
            user = candidate
            os.chown(root, pw.pw_uid, pw.pw_gid)
            break
        else:
            raise RuntimeError("running as root and no unprivileged user (postgres, nobody) to run PostgreSQL as")
    server = PostgresServer(bindir, root, free_port(), user)
    try:
        server.start()
    except BaseException:
        server.stop()
        raise
    return server
