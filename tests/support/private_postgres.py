"""A PostgreSQL cluster of the test's own, on a free loopback port, that a fault test may stop,
restart and kill: never the shared server the rest of the suite uses.

It needs the server binaries (Debian's postgresql-15: ``/usr/lib/postgresql/*/bin``); callers
skip without them. ``initdb`` refuses to run as root (CI runs as root), so there the cluster is
made and run by the ``postgres`` user, in a folder of its own under the system's temp folder
(pytest's tmp folders are private to root).
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.processes import free_port


def server_binaries() -> Path | None:
    """The newest installed PostgreSQL server's bin folder, or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: p.split("/")[4])
    candidates = [Path(path).parent for path in found]
    return candidates[-1] if candidates else None


@dataclass
class PrivateCluster:
    bin: Path
    folder: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    @property
    def data(self) -> Path:
        return self.folder / "data"

    def _run(self, *args: str, timeout: float = 120) -> None:
        command = list(args)
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, check=False
        )
        if result.returncode != 0:
            log = (
                (self.folder / "server.log").read_text(errors="replace")[-3000:]
                if (self.folder / "server.log").exists()
                else ""
            )
            raise RuntimeError(f"{' '.join(args)} failed:\n{result.stderr}\n{log}")

    def init(self) -> None:
        self._run(
            str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres",
            "--auth=trust", "-E", "UTF8", "--no-sync",
        )  # fmt: skip

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        self._run(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options,
            "-l", str(self.folder / "server.log"), "-w", "-t", "60", "start",
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        """``fast`` ends every session (as a restart or a fail-over does); ``immediate`` is a
        crash (recovery on the next start)."""
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def outage(self, seconds: float, mode: str = "fast") -> None:
        """Stop the server, stay down ``seconds``, start it again."""
        self.stop(mode)
        time.sleep(seconds)
        self.start()


def private_cluster() -> PrivateCluster:
    """A new, started cluster (stop it and remove its folder with ``discard``)."""
    binaries = server_binaries()
    if binaries is None:
        raise FileNotFoundError("no PostgreSQL server binaries in /usr/lib/postgresql")
    folder = Path(tempfile.mkdtemp(prefix="spareflow-pg-"))
    folder.chmod(0o755)
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    cluster = PrivateCluster(binaries, folder, free_port())
    cluster.init()
    cluster.start()
    return cluster


def discard(cluster: PrivateCluster) -> None:
    with contextlib.suppress(RuntimeError):  # already down
        cluster.stop("immediate")
    shutil.rmtree(cluster.folder, ignore_errors=True)
