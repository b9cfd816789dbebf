"""Real processes for the benchmarks and the tests: spareflow's CLI, free loopback ports,
and stopping or killing what was started."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

#: Where the installed commands are (spareflow, gunicorn), beside this Python.
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def stop(process: subprocess.Popen[bytes], seconds: float = 15) -> None:
    """Terminate, then kill what does not end within ``seconds``."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def kill(process: subprocess.Popen[bytes]) -> None:
    """kill -9: no clean-up, no finally blocks, no commit."""
    if process.poll() is None:
        os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=15)


def spareflow_command(*args: str) -> list[str]:
    return [str(BIN / "spareflow"), *args]


def gunicorn_command(
    port: int, workers: int, *extra: str, app: str = "web:create_app()"
) -> list[str]:
    """gunicorn serving ``app`` on loopback ``port`` (``extra``: more gunicorn options)."""
    return [str(BIN / "gunicorn"), "-w", str(workers), "-b", f"127.0.0.1:{port}", *extra, app]
