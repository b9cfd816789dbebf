"""Engine set-up: SQLite in WAL mode with foreign keys; URLs normalised to psycopg 3."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from bootstrap.schema import metadata
from core.audit import record
from core.clock import FrozenClock
from core.db import (
    UnitOfWork,
    make_engine,
    make_session_factory,
    normalise_url,
    one_connection,
    only_read,
)
from inventory.commands import ReceiveStock
from inventory.models import Part, sku_key
from inventory.services import InventoryService
from tests.support.fresh_databases import empty_postgres, sqlite_with_schema


def test_sqlite_runs_in_wal_mode_with_foreign_keys_enforced(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    metadata().create_all(engine)
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO stock_levels (part_id, location_id, on_hand, reserved) "
                "VALUES (41, 42, 1, 0)"
            )
        )
    engine.dispose()


@pytest.mark.parametrize(
    "url",
    [
        "postgres://u:p@db.example/spareflow",
        "postgresql://u:p@db.example/spareflow",
        "postgresql+psycopg://u:p@db.example/spareflow",
    ],
)
def test_postgresql_urls_use_psycopg_3(url: str) -> None:
    assert normalise_url(url).drivername == "postgresql+psycopg"


def test_sqlite_urls_are_left_alone() -> None:
    assert normalise_url("sqlite:///x.db").drivername == "sqlite"


# --- the tests' own empty databases (tests/support/fresh_databases.py) ---------------------


def _row_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {
            table.name: connection.scalar(select(func.count()).select_from(table)) or 0
            for table in metadata().sorted_tables
        }


def _fill(engine: Engine) -> None:
    """Rows in many tables, the append-only ledger and audit log among them."""
    inventory = InventoryService(
        make_session_factory(engine), FrozenClock(datetime(2026, 1, 5, tzinfo=UTC))
    )
    inventory.create_supplier(code="ACME", name="Acme Parts")
    inventory.create_location(code="MAIN/A-01-01")
    inventory.create_part(sku="ABC-1", name="Fan", supplier="ACME")
    inventory.receive(
        "tester", ReceiveStock(sku="ABC-1", location="MAIN/A-01-01", qty=3, reference="PO-1")
    )
    with Session(engine) as session:
        record(session, at=datetime(2026, 1, 5, tzinfo=UTC), actor="tester", action="part.created")
        session.commit()


def test_a_copied_sqlite_schema_is_the_schema_create_all_builds(tmp_path: Path) -> None:
    built = make_engine(f"sqlite:///{tmp_path / 'built.db'}")
    metadata().create_all(built)
    copied = make_engine(sqlite_with_schema(tmp_path / "copied.db"))
    query = text("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name")
    with built.connect() as a, copied.connect() as b:
        assert a.execute(query).all() == b.execute(query).all()
        assert b.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    _fill(copied)  # a copy is a database of its own: the template stays empty
    assert not any(_row_counts(make_engine(sqlite_with_schema(tmp_path / "again.db"))).values())
    built.dispose()
    copied.dispose()


def test_emptying_postgres_leaves_every_table_empty_and_identities_at_one(
    postgres_engine: Engine,
) -> None:
    empty_postgres(postgres_engine)
    _fill(postgres_engine)
    assert sum(_row_counts(postgres_engine).values()) > 5
    empty_postgres(postgres_engine)
    assert not any(_row_counts(postgres_engine).values())
    _fill(postgres_engine)
    with postgres_engine.connect() as connection:
        assert connection.scalar(text("SELECT min(id) FROM stock_moves")) == 1
        assert connection.scalar(text("SELECT min(id) FROM audit_log")) == 1
        assert connection.scalar(text("SELECT min(id) FROM parts")) == 1
    # The ledger's append-only trigger was off only while it was emptied.
    with pytest.raises(DBAPIError, match="append-only"), postgres_engine.begin() as connection:
        connection.execute(text("DELETE FROM stock_moves"))
    empty_postgres(postgres_engine)


# --- PostgreSQL: a pooled connection is pinged only after it sat idle ------------------------


@pytest.fixture
def pinged_engine(monkeypatch: pytest.MonkeyPatch) -> Any:
    """A fresh engine on the test database with one pooled connection, whose pings are
    counted (``engine.pings``)."""
    from tests.conftest import postgres_url

    url = postgres_url()
    if not url:
        pytest.skip("PostgreSQL tests need SPAREFLOW_TEST_DATABASE_URL")
    engine = make_engine(url, pool_size=1, max_overflow=0)
    pings: list[int] = []
    real_ping = engine.dialect.do_ping

    def counted_ping(dbapi_connection: Any) -> bool:
        pings.append(1)
        return real_ping(dbapi_connection)

    monkeypatch.setattr(engine.dialect, "do_ping", counted_ping)
    engine.pings = pings  # type: ignore[attr-defined]
    yield engine
    engine.dispose()


def backend_of(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(text("SELECT pg_backend_pid()")))


def terminate(engine: Engine, pid: int) -> None:
    admin = make_engine(engine.url)
    try:
        with admin.connect() as connection:
            connection.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid})
    finally:
        admin.dispose()


def test_a_connection_back_in_the_pool_a_moment_ago_is_not_pinged_again(
    pinged_engine: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import core.db

    monkeypatch.setattr(
        core.db, "PING_AFTER_IDLE_SECONDS", 60.0
    )  # a slow machine: still "a moment"
    first = backend_of(pinged_engine)  # a new connection: just opened, alive
    for _ in range(5):
        assert backend_of(pinged_engine) == first  # the same connection, reused at once
    assert pinged_engine.pings == []


def test_a_connection_idle_past_the_window_is_pinged_and_a_dead_one_replaced(
    pinged_engine: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import core.db

    first = backend_of(pinged_engine)
    monkeypatch.setattr(core.db, "PING_AFTER_IDLE_SECONDS", 0.0)  # every checkout is "idle"
    assert backend_of(pinged_engine) == first
    assert len(pinged_engine.pings) == 1  # pinged, alive, kept
    terminate(pinged_engine, first)  # the server ends it while it waits in the pool
    second = backend_of(pinged_engine)  # the ping finds it dead: a new one, no error
    assert second != first
    # The dead one, then its replacement: with a window of 0 even a new connection is "idle".
    assert len(pinged_engine.pings) == 3


def test_a_connection_that_died_inside_the_window_fails_once_then_the_pool_is_renewed(
    pinged_engine: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import core.db

    monkeypatch.setattr(core.db, "PING_AFTER_IDLE_SECONDS", 60.0)
    first = backend_of(pinged_engine)
    terminate(pinged_engine, first)
    with pytest.raises(DBAPIError) as failed, pinged_engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    assert failed.value.connection_invalidated  # a disconnect: the web layer answers 503
    assert backend_of(pinged_engine) != first
    assert pinged_engine.pings == []


# --- PostgreSQL: a unit of work that only read ends with COMMIT -------------------------------


@pytest.fixture
def one_connection_engine(postgres_engine: Engine) -> Any:
    """An engine with a single pooled connection on the tests' schema, emptied afterwards."""
    engine = make_engine(postgres_engine.url, pool_size=1, max_overflow=0)
    yield engine
    engine.dispose()
    empty_postgres(postgres_engine)


def prepared_on_the_server(session: Session) -> int:
    return int(session.scalar(text("SELECT count(*) FROM pg_prepared_statements")) or 0)


def test_read_only_units_of_work_keep_the_connections_prepared_statements(
    one_connection_engine: Engine,
) -> None:
    """psycopg prepares a statement run five times on a connection, but forgets them all at a
    ROLLBACK: read-only use cases that rolled back meant nothing was ever prepared."""
    factory = make_session_factory(one_connection_engine)
    count_parts = select(func.count()).select_from(Part)
    for _ in range(8):  # past psycopg's prepare_threshold (5), one use case after another
        with UnitOfWork(factory) as uow:
            assert uow.session.scalar(count_parts) == 0
    with UnitOfWork(factory) as uow:
        assert uow.session.scalar(count_parts) == 0
        assert prepared_on_the_server(uow.session) >= 1


def new_part(sku: str, name: str) -> Part:
    at = datetime(2026, 1, 5, tzinfo=UTC)
    return Part(sku=sku, sku_key=sku_key(sku), name=name, created_at=at, updated_at=at)


def test_prepared_statements_can_be_turned_off_for_a_pooler_that_cannot_keep_them(
    postgres_engine: Engine,
) -> None:
    engine = make_engine(postgres_engine.url, prepared_statements=False, pool_size=1)
    try:
        factory = make_session_factory(engine)
        for _ in range(8):
            with UnitOfWork(factory) as uow:
                assert uow.session.scalar(select(func.count()).select_from(Part)) == 0
        with UnitOfWork(factory) as uow:
            assert prepared_on_the_server(uow.session) == 0
    finally:
        engine.dispose()


def test_a_unit_of_work_left_without_commit_after_a_write_still_rolls_back(
    one_connection_engine: Engine,
) -> None:
    factory = make_session_factory(one_connection_engine)
    with UnitOfWork(factory) as uow:
        uow.session.add(new_part("KEEP-1", "Fan"))
        uow.commit()
    with UnitOfWork(factory) as uow:  # a statement of its own, not a SELECT
        uow.session.execute(update(Part).values(name="changed by a statement"))
    with UnitOfWork(factory) as uow:  # an ORM change, sent by a flush
        uow.session.scalars(select(Part)).one().name = "changed and flushed"
        uow.session.flush()
    with UnitOfWork(factory) as uow:  # changes the ORM holds but has not sent
        uow.session.scalars(select(Part)).one().name = "changed in memory"
        uow.session.add(new_part("NEW-1", "Pump"))
    with UnitOfWork(factory) as uow, pytest.raises(RuntimeError):  # an error after reading
        uow.session.scalars(select(Part)).one()
        raise RuntimeError("the use case failed")
    with one_connection_engine.connect() as connection:
        rows = connection.execute(select(Part.__table__.c.sku, Part.__table__.c.name)).all()
    assert [tuple(row) for row in rows] == [("KEEP-1", "Fan")]


def test_a_write_on_the_requests_held_connection_is_rolled_back_and_a_read_committed(
    one_connection_engine: Engine,
) -> None:
    """An API request's use cases share one connection (``one_connection``): a write left
    uncommitted there is still rolled back; the read-only use case after it commits."""
    factory = make_session_factory(one_connection_engine)
    with UnitOfWork(factory) as uow:
        uow.session.add(new_part("KEEP-1", "Fan"))
        uow.commit()
    with one_connection(one_connection_engine):
        with UnitOfWork(factory) as uow:
            uow.session.execute(update(Part).values(name="changed, never committed"))
            assert not only_read(uow.session)
        with UnitOfWork(factory) as uow:
            assert uow.session.scalars(select(Part.name)).one() == "Fan"
            assert only_read(uow.session)
    with one_connection_engine.connect() as connection:
        assert connection.scalar(select(Part.__table__.c.name)) == "Fan"
