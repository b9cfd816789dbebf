"""bench/cpu_use.py: the machine's CPU by kind of process, read from /proc."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench import cpu_use

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="Linux /proc only")

BUSY = "import time\nend = time.process_time() + {seconds}\nwhile time.process_time() < end: pass\n"


def test_each_process_counts_in_the_group_its_command_line_names() -> None:
    busy = subprocess.Popen([sys.executable, "-c", BUSY.format(seconds=0.6), "scheduler"])
    idle = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(5)", "sandbox"])
    try:
        before = cpu_use.snapshot()
        assert before[os.getpid()][0] == cpu_use.OTHER
        assert before[busy.pid][0] == "scheduler"
        assert before[idle.pid][0] == "sandboxes"
        busy.wait(timeout=30)  # gone before the second snapshot: counted up to the first
        time.sleep(0.2)
        after = cpu_use.snapshot()
        assert busy.pid not in after
        assert after[idle.pid][1] - before[idle.pid][1] < 0.2  # asleep
    finally:
        busy.kill()
        idle.kill()
        busy.wait()
        idle.wait()


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
    started = subprocess.Popen([sys.executable, "-c", BUSY.format(seconds=1.0) + "time.sleep(30)"])
    try:
        waited = cpu_use.settle([started.pid], window=0.2, timeout=20)
        assert waited >= 0.8  # it burned a second of CPU first
        spent = cpu_use.snapshot()[started.pid][1]
        assert spent >= 0.95
        time.sleep(0.3)
        assert cpu_use.snapshot()[started.pid][1] - spent < 0.05  # settled: idle now
    finally:
        started.kill()
        started.wait()
