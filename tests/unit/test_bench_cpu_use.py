"""bench/cpu_use.py: the machine's CPU by kind of process, read from /proc."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench import cpu_use

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="Linux /proc only")

BUSY = "import time\nend = time.process_time() + {seconds}\nwhile time.process_time() < end: pass\n"
READY = "print('ready', flush=True)\n"


@contextlib.contextmanager
def started(code: str, *name: str) -> Iterator[subprocess.Popen[str]]:
    """A Python child that has finished exec (until then /proc shows no command line for it,
    and a snapshot taken in that moment rightly leaves it out); killed on the way out."""
    with subprocess.Popen(
        [sys.executable, "-c", READY + code, *name], stdout=subprocess.PIPE, text=True
    ) as child:
        try:
            assert child.stdout is not None and child.stdout.readline() == "ready\n"
            yield child
        finally:
            child.kill()


def test_each_process_counts_in_the_group_its_command_line_names() -> None:
    with (
        started(BUSY.format(seconds=0.6), "scheduler") as busy,
        started("import time; time.sleep(5)", "sandbox") as idle,
    ):
        before = cpu_use.snapshot()
        assert before[os.getpid()][0] == cpu_use.OTHER
        assert before[busy.pid][0] == "scheduler"
        assert before[idle.pid][0] == "sandboxes"
        busy.wait(timeout=30)  # gone before the second snapshot: counted up to the first
        time.sleep(0.2)
        after = cpu_use.snapshot()
        assert busy.pid not in after
        assert after[idle.pid][1] - before[idle.pid][1] < 0.2  # asleep


def test_used_adds_up_each_groups_cpu_between_two_snapshots() -> None:
    before = {1: ("web server", 10.0), 2: ("web server", 5.0), 3: ("PostgreSQL", 1.0)}
    after = {
        1: ("web server", 10.5),
        2: ("web server", 5.25),
        3: ("PostgreSQL", 1.5),
        4: ("appliers", 0.75),  # started in between: counted from zero
    }
    assert cpu_use.used(before, after) == {"web server": 0.75, "PostgreSQL": 0.5, "appliers": 0.75}


def test_settle_waits_until_the_processes_have_finished_starting_up() -> None:
    with started(BUSY.format(seconds=1.0) + "time.sleep(30)") as booting:
        waited = cpu_use.settle([booting.pid], window=0.2, timeout=20)
        assert waited >= 0.8  # it burned a second of CPU first
        spent = cpu_use.snapshot()[booting.pid][1]
        assert spent >= 0.95
        time.sleep(0.3)
        assert cpu_use.snapshot()[booting.pid][1] - spent < 0.05  # settled: idle now
