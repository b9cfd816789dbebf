"""Real processes on loopback for tests: spareflow under gunicorn or waitress, as it runs for
users, and its CLI (free ports and stopping what was started: bench/processes.py)."""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.processes import BIN, free_port, gunicorn_command, spareflow_command, stop
from core.crypto import SecretBox
from tests.conftest import RETURN_ADDRESS

#: One Fernet key for every server the tests start (made once per test process).
SERVER_ENCRYPTION_KEY = SecretBox.generate_key()


def spareflow_env(tmp_path: Path, database_url: str | None = None) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url or f"sqlite:///{tmp_path / 'server.db'}",
        "SECRET_KEY": "server-test-secret",
        "SPAREFLOW_INSTANCE_PATH": str(tmp_path / "instance"),
        "SPAREFLOW_LOG_LEVEL": "WARNING",
        "SPAREFLOW_RETURNS_ADDRESS": json.dumps(RETURN_ADDRESS),
        # A real key, as in production: stored carrier and two-factor secrets are sealed.
        "SPAREFLOW_ENCRYPTION_KEYS": SERVER_ENCRYPTION_KEY,
    }


def spareflow(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    result = subprocess.run(
        [str(BIN / "spareflow"), *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, f"spareflow {' '.join(args)} failed:\n{result.stderr}"
    return result.stdout


def wait_until_up(base_url: str, process: subprocess.Popen[bytes], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{base_url}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"{base_url} did not come up in {seconds}s")


@contextmanager
def running(command: list[str], env: dict[str, str], port: int) -> Iterator[str]:
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base_url, process)
        yield base_url
    finally:
        stop(process)


def gunicorn(env: dict[str, str], workers: int = 2) -> tuple[list[str], int]:
    port = free_port()
    return gunicorn_command(port, workers), port


def waitress(env: dict[str, str]) -> tuple[list[str], int]:
    port = free_port()
    return spareflow_command("serve", "--port", str(port)), port
