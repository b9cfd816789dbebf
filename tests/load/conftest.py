"""Load and fault tests: real processes on loopback over a scratch PostgreSQL database each.

They need ``SPAREFLOW_TEST_DATABASE_URL`` (any database on the server: each test creates its
own ``spareflow_load_<random>`` beside it and drops it afterwards), skip cleanly without it,
and are required under CI like every PostgreSQL test.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from core.db import make_engine
from tests.conftest import postgres_url
from tests.load.harness import Stack, scratch_database, stack


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything in tests/load carries the ``load`` marker (``-m load`` / ``-m "not load"``)."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.load)


@pytest.fixture
def scratch_url() -> Iterator[str]:
    url = postgres_url()
    if not url:
        pytest.skip("load tests need SPAREFLOW_TEST_DATABASE_URL (a PostgreSQL server)")
    with scratch_database(url) as scratch:
        yield scratch


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
