"""The migrations that claim to be online (``online = True`` in the migration module) are run
while the release before them still serves: that release's code must work on the new schema.

For each one, the previous release is the main branch just before the merge that brought the
migration (``git log --first-parent``), checked out with ``git worktree add`` into a temporary
folder: its own models, queries and services, not a frozen copy that could drift from what was
shipped. A database is migrated up to that migration with the current scripts, and the old code,
in a process of its own (its folder first on ``sys.path``), seeds users, stock and RMAs through
its services, drains its outbox, recomputes reorder points and reads every column of every
table it maps. A column dropped or renamed, a NOT NULL column without a default, a narrowed
CHECK, fails it.

The migrations and the releases before them never change once merged, so a run checks the
newest ``NEWEST`` claims (what a new migration adds), all in one database migrated step by step
(the older releases' rows stay, as they would); ``SPAREFLOW_TEST_ALL_ONLINE_MIGRATIONS=1`` checks
every claim (about ten seconds each).

Needs the repository's history (a plain ``git clone`` has it; a shallow one does not: then
the test skips, saying so).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.databases import scratch_database
from bootstrap import schema
from tests.conftest import postgres_url

ROOT = Path(__file__).resolve().parents[2]
VERSIONS = ROOT / "migrations" / "versions"

NEWEST = 2

#: Run by the previous release's code, against the schema the migration made.
OLD_RELEASE_AT_WORK = r"""
import sys
from pathlib import Path

old, url, step = Path(sys.argv[1]).resolve(), sys.argv[2], int(sys.argv[3])
import core
assert Path(core.__file__).resolve().is_relative_to(old), f"not the old code: {core.__file__}"

from sqlalchemy import select

from bench.harness import authorised_returns, seeding_services, stock_parts, tokens
from bootstrap import schema
from web import scheduler

services = seeding_services(url)
try:
    if step == 0:
        tokens(services)
    sku = f"OLD{step}-1"
    stock_parts(services, {sku: 5, f"OLD{step}-2": 0})
    authorised_returns(services, 2, prefix=f"OLD{step}T", sku=sku)
    authorised_returns(services, 1, prefix=f"OLD{step}L", sku=sku, with_tracking=False)
    scheduler.drain_outbox(services)
    scheduler.recompute_reorder_points(services)
    with services.session_factory() as session:
        for table in schema.metadata().sorted_tables:
            session.execute(select(table)).all()
finally:
    services.close()
print("old release ok")
"""


def online_migrations() -> list[str]:
    claimed = []
    for path in sorted(VERSIONS.glob("[0-9]*.py")):
        if "\nonline = True" in path.read_text():
            claimed.append(path.stem)
    return claimed


def git(*args: str) -> str:
    command = shutil.which("git")
    if command is None:
        raise FileNotFoundError("git")
    result = subprocess.run(
        [command, "-C", str(ROOT), *args], capture_output=True, text=True, timeout=60, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)}: {result.stderr}")
    return result.stdout.strip()


def release_before(migration: str) -> str | None:
    """The main branch just before the merge (or commit) that brought ``migration``."""
    try:
        if git("rev-parse", "--is-shallow-repository") == "true":
            return None
        brought = git(
            "log", "--first-parent", "--format=%H", "--", f"migrations/versions/{migration}.py"
        ).splitlines()
    except (RuntimeError, FileNotFoundError):
        return None
    return f"{brought[-1]}^" if brought else None


@pytest.fixture
def database(tmp_path: Path) -> Iterator[str]:
    url = postgres_url()
    if not url:
        yield f"sqlite:///{tmp_path / 'online.db'}"
        return
    with scratch_database(url, "spareflow_online") as scratch:
        yield scratch


def test_some_migrations_claim_to_be_online() -> None:
    assert {"0021_loan18", "0022_plan19"} <= set(online_migrations())


def checked() -> list[str]:
    claimed = online_migrations()
    return claimed if os.environ.get("SPAREFLOW_TEST_ALL_ONLINE_MIGRATIONS") else claimed[-NEWEST:]


def test_the_release_before_each_online_migration_runs_on_its_schema(
    database: str, tmp_path: Path
) -> None:
    for step, migration in enumerate(checked()):
        previous = release_before(migration)
        if previous is None:
            pytest.skip("needs the repository's history (a full git clone, not a shallow one)")
        old = tmp_path / f"release-before-{migration}"
        git("worktree", "add", "--detach", str(old), previous)
        try:
            assert not (old / "migrations" / "versions" / f"{migration}.py").exists()
            schema.upgrade(database, migration)
            env = {
                **os.environ,
                "PYTHONPATH": str(old),
                "SPAREFLOW_INSTANCE_PATH": str(tmp_path / "instance"),
            }
            ran = subprocess.run(
                [sys.executable, "-c", OLD_RELEASE_AT_WORK, str(old), database, str(step)],
                cwd=old,
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
            assert ran.returncode == 0, f"{migration}:\n{ran.stdout}{ran.stderr}"
            assert "old release ok" in ran.stdout
        finally:
            git("worktree", "remove", "--force", str(old))
