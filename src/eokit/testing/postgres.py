"""A throwaway PostgreSQL (with PostGIS) for tests and benchmarks: initdb into a temporary folder,
started on a free loopback port, stopped and removed when the block exits.

Uses the server binaries on PATH or Debian's ``/usr/lib/postgresql/*/bin``; when running as root the
server runs as the ``postgres`` user (PostgreSQL refuses root).
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from eokit.errors import EokitError

__all__ = ["PostgresUnavailable", "local_postgres"]


class PostgresUnavailable(EokitError, RuntimeError):
    """PostgreSQL or PostGIS is not installed here (tests skip with this reason)."""


def _bindir() -> Path:
    found = shutil.which("pg_ctl")
    if found:
        return Path(os.path.realpath(found)).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if not candidates:
        raise PostgresUnavailable("no PostgreSQL server binaries (pg_ctl) on this machine")
    return Path(candidates[-1]).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def local_postgres(*, user: str = "eokit") -> Iterator[str]:
    """Run a private PostgreSQL server; yield its DSN (``postgresql://eokit@127.0.0.1:PORT/postgres``)."""
    bindir = _bindir()
    share = subprocess.run([str(bindir / "pg_config"), "--sharedir"], capture_output=True, text=True)
    sharedir = Path(share.stdout.strip()) if share.returncode == 0 else None
    if sharedir is None or not (sharedir / "extension" / "postgis.control").exists():
        raise PostgresUnavailable("PostGIS is not installed for this PostgreSQL (Debian: postgresql-NN-postgis-3)")
    prefix: list[str] = []
    folder = Path(tempfile.mkdtemp(prefix="eokit-pg-"))
    if os.geteuid() == 0:
        if shutil.which("runuser") is None:
            raise PostgresUnavailable("running as root without runuser: cannot start PostgreSQL as another user")
        prefix = ["runuser", "-u", "postgres", "--"]
        shutil.chown(folder, "postgres", "postgres")
    data, port = folder / "data", _free_port()

    def run(*args: str) -> None:
        proc = subprocess.run([*prefix, *args], capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            raise PostgresUnavailable(f"{Path(args[0]).name} failed: {(proc.stderr or proc.stdout)[-500:]}")

    try:
        run(
            str(bindir / "initdb"), "-D", str(data), "-U", user, "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"
        )
        options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
        run(str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(folder / "log"), "-w", "start")
        try:
            yield f"postgresql://{user}@127.0.0.1:{port}/postgres"
        finally:
            with contextlib.suppress(PostgresUnavailable, subprocess.TimeoutExpired):
                run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
