"""Clean-up at the end of a test process's run: scratch databases and folders it made once.

Run by ``pytest_sessionfinish`` (tests/conftest.py), not by ``atexit``: under pytest-xdist the
``atexit`` handlers of a worker did not reliably run, and runs left their workers' databases on
the PostgreSQL server and their demo sites in the temporary folder. By the time the hook runs,
the session's fixtures are torn down. The newest clean-up runs first, as ``atexit`` would.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

_clean_ups: list[Callable[[], Any]] = []


def at_run_end(clean_up: Callable[..., Any], *args: Any) -> None:
    """Call ``clean_up(*args)`` when this process's test run ends."""
    _clean_ups.append(functools.partial(clean_up, *args))


def clean_up_the_run() -> None:
    while _clean_ups:
        _clean_ups.pop()()
