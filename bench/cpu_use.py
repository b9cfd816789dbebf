"""Where a measurement's CPU went: the whole machine's CPU time, by kind of process.

Read from ``/proc/<pid>/stat`` (user plus system time) for every process before and after a
step, so a ratio can be explained: how much of an event's cost was the web server, the
database, the appliers, the scheduler and sandboxes, the load tool. Processes that start or
end during a step count from when they were first seen; on a machine without ``/proc`` every
figure is 0. Linux only, like the rest of the runner.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections import Counter
from pathlib import Path

#: (what a process's command line contains, the group it counts in), first match wins.
GROUPS = (
    ("gunicorn", "web server"),
    ("apply-events", "appliers"),
    ("postgres", "PostgreSQL"),
    ("wrk", "wrk"),
    ("scheduler", "scheduler"),
    ("sandbox", "sandboxes"),
)
OTHER = "other (the runner, the rest)"
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _group(pid: str) -> str:
    with contextlib.suppress(OSError):
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        if not command:  # a kernel thread
            return ""
        for needle, group in GROUPS:
            if needle in command:
                return group
        return OTHER
    return ""


def snapshot() -> dict[int, tuple[str, float]]:
    """{pid: (group, CPU seconds so far)} for every process now."""
    found: dict[int, tuple[str, float]] = {}
    proc = Path("/proc")
    if not proc.is_dir():
        return found
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            # The command name may hold spaces and parentheses: split after its last ")".
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            group = _group(entry.name)
            if group:
                found[int(entry.name)] = (group, (int(fields[11]) + int(fields[12])) / _TICKS)
    return found


def used(before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]]) -> Counter[str]:
    """CPU seconds each group used between two snapshots."""
    spent: Counter[str] = Counter()
    for pid, (group, seconds) in after.items():
        spent[group] += seconds - (before[pid][1] if pid in before else 0.0)
    return spent


def settle(pids: list[int], most: float = 0.05, window: float = 0.5, timeout: float = 120) -> float:
    """Wait until these processes together use less than ``most`` of one CPU over ``window``
    seconds (started up: imports done, connections open), at most ``timeout`` seconds; how long
    it took. A process that boots while a baseline is measured would take CPU from it."""
    began = time.monotonic()

    def spent() -> float:
        now = snapshot()
        return sum(now[pid][1] for pid in pids if pid in now)

    last = spent()
    while time.monotonic() - began < timeout:
        time.sleep(window)
        current = spent()
        if current - last < most * window:
            break
        last = current
    return time.monotonic() - began
