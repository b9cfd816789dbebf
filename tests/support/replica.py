"""A private PostgreSQL primary and a streaming-replication standby on loopback, for tests.

Both clusters live in a temporary folder (never the shared server): ``initdb`` the primary,
``pg_basebackup -R`` the standby from it, start both on free ports. ``initdb`` refuses to run
as root (CI runs as root): then every server command runs as ``postgres`` through ``runuser``
and that user is given the folder. :func:`server_binaries` is None where the PostgreSQL server
binaries are not installed (the only reason the tests that use this skip).
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg


def server_binaries() -> Path | None:
    """The folder of ``initdb``, ``pg_ctl`` and ``pg_basebackup``, newest version first."""
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if all(
            os.access(Path(folder) / tool, os.X_OK)
            for tool in ("initdb", "pg_ctl", "pg_basebackup")
        ):
            return Path(folder)
    found = shutil.which("initdb")
    return Path(found).parent if found and shutil.which("pg_basebackup") else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class Pair:
    primary_port: int
    standby_port: int

    def url(self, port: int, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{port}/{database}"

    def wait_for_replay(self, database: str = "postgres", timeout: float = 20) -> None:
        """Until the standby has replayed everything the primary has written so far."""
        with psycopg.connect(self.url(self.primary_port, database), autocommit=True) as primary:
            lsn = primary.execute("SELECT pg_current_wal_lsn()").fetchone()[0]  # type: ignore[index]
        deadline = time.monotonic() + timeout
        with psycopg.connect(self.url(self.standby_port, database), autocommit=True) as standby:
            while time.monotonic() < deadline:
                row = standby.execute(
                    "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [lsn]
                ).fetchone()
                if row and row[0]:
                    return
                time.sleep(0.05)
        raise TimeoutError("the standby did not catch up")


@contextlib.contextmanager
def primary_and_standby(binaries: Path) -> Iterator[Pair]:
    as_root = os.geteuid() == 0
    prefix = ["runuser", "-u", "postgres", "--"] if as_root else []
    folder = Path(tempfile.mkdtemp(prefix="spareflow-replica-"))
    if as_root:
        shutil.chown(folder, "postgres", "postgres")
    primary, standby, sockets = folder / "primary", folder / "standby", str(folder)
    pair = Pair(_free_port(), _free_port())

    def run(*args: str) -> None:
        subprocess.run([*prefix, *args], check=True, capture_output=True, timeout=60)

    def options(port: int) -> str:
        return (
            f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c shared_buffers=16MB"
        )

    started: list[Path] = []
    try:
        run(str(binaries / "initdb"), "-D", str(primary), "-U", "postgres", "--auth=trust",
            "--no-sync", "-E", "UTF8", "--locale=C")  # fmt: skip
        run(str(binaries / "pg_ctl"), "-D", str(primary), "-o", options(pair.primary_port),
            "-l", str(folder / "primary.log"), "-w", "start")  # fmt: skip
        started.append(primary)
        run(str(binaries / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(pair.primary_port),
            "-U", "postgres", "-D", str(standby), "-R", "-X", "stream", "-c", "fast",
            "--no-sync")  # fmt: skip
        run(str(binaries / "pg_ctl"), "-D", str(standby), "-o", options(pair.standby_port),
            "-l", str(folder / "standby.log"), "-w", "start")  # fmt: skip
        started.append(standby)
        yield pair
    finally:
        for data in reversed(started):
            with contextlib.suppress(subprocess.SubprocessError):
                run(str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(folder, ignore_errors=True)
