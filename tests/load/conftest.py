"""Load and fault tests: real processes on loopback over a scratch PostgreSQL database each.

They need ``SPAREFLOW_TEST_DATABASE_URL`` (any database on the server: the run creates its
own ``spareflow_load_<random>`` beside it, empties it before each test and drops it at the
end), skip cleanly without it, and are required under CI like every PostgreSQL test.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from bench.databases import scratch_database
from bench.harness import Stack, stack
from bootstrap import schema
from core.db import make_engine
from tests.conftest import postgres_url


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything in tests/load carries the ``load`` marker (``-m load`` / ``-m "not load"``)."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.load)


@pytest.fixture(scope="session")
def load_database() -> Iterator[str]:
    """One scratch database for the whole run, migrated once: creating is quick, but every
    DROP DATABASE costs PostgreSQL a checkpoint (seconds on a busy server)."""
    url = postgres_url()
    if not url:
        pytest.skip("load tests need SPAREFLOW_TEST_DATABASE_URL (a PostgreSQL server)")
    with scratch_database(url, "spareflow_load") as scratch:
        schema.upgrade(scratch)
        yield scratch


@pytest.fixture
def scratch_url(load_database: str) -> str:
    """The scratch database, emptied (every table but Alembic's) before the test."""
    engine = make_engine(load_database)
    try:
        with engine.begin() as connection:
            tables = connection.scalars(
                text(
                    "select quote_ident(tablename) from pg_tables where schemaname = "
                    "current_schema() and tablename <> 'alembic_version'"
                )
            ).all()
            connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    finally:
        engine.dispose()
    return load_database


@pytest.fixture
def load_stack(scratch_url: str, tmp_path: Path) -> Iterator[Stack]:
    with stack(scratch_url, tmp_path / "stack") as running:
        yield running


@pytest.fixture
def db(scratch_url: str) -> Iterator[Engine]:
    """A plain engine on the scratch database, for the test's own counting."""
    engine = make_engine(scratch_url)
    yield engine
    engine.dispose()
