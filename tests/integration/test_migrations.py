"""Migrations build the same schema as the models, on an empty SQLite file and PostgreSQL database."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from bench.databases import scratch_database
from bootstrap import schema
from bootstrap.schema import metadata
from core.db import make_engine

from ..conftest import postgres_url


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    base = postgres_url()
    if not base:
        pytest.skip("PostgreSQL tests need SPAREFLOW_TEST_DATABASE_URL")
    with scratch_database(base, "spareflow_migrate") as url:
        yield url


def test_upgrading_an_empty_database_gives_exactly_the_models_schema(empty_database: str) -> None:
    schema.upgrade(empty_database)
    engine = make_engine(empty_database)
    try:
        with engine.connect() as connection:
            # The trigram indexes of the RMA search exist only where PostgreSQL has pg_trgm
            # (migration 0023): the models cannot declare them, so they are left out here.
            context = MigrationContext.configure(
                connection,
                opts={"include_object": lambda obj, name, *_: not str(name).endswith("_trgm")},
            )
            differences = compare_metadata(context, metadata())
        assert differences == []
        if connection.dialect.name == "postgresql":
            assert {"ix_rmas_customer_email_trgm", "ix_rmas_customer_name_trgm"} <= {
                index["name"] for index in inspect(engine).get_indexes("rmas")
            }
        assert schema.current_revision(engine) is not None
        assert set(inspect(engine).get_table_names()) == set(metadata().tables) | {
            "alembic_version"
        }
    finally:
        engine.dispose()


def test_the_migrated_ledger_refuses_updates_and_deletes(empty_database: str) -> None:
    schema.upgrade(empty_database)
    engine = make_engine(empty_database)
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO locations (code, warehouse, bin, kind, description, active, created_at) "
                    "VALUES ('MAIN/A', 'MAIN', 'A', 'storage', '', true, CURRENT_TIMESTAMP)"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO parts (sku, sku_key, name, description, unit, unit_cost, reorder_point, "
                    "reorder_qty, safety_stock, active, created_at, updated_at) VALUES ('P', 'p', 'P', '', "
                    "'pcs', '0', 0, 0, 0, true, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO stock_moves (part_id, kind, qty, to_location_id, reason, actor, created_at) "
                    "VALUES (1, 'receipt', 5, 1, 'r', 'me', CURRENT_TIMESTAMP)"
                )
            )
        for statement in ("UPDATE stock_moves SET qty = 6", "DELETE FROM stock_moves"):
            with pytest.raises(Exception, match="append-only"), engine.begin() as connection:
                connection.execute(text(statement))
    finally:
        engine.dispose()


def test_downgrading_to_base_removes_everything(empty_database: str) -> None:
    schema.upgrade(empty_database)
    from alembic import command

    command.downgrade(schema.alembic_config(empty_database), "base")
    engine = make_engine(empty_database)
    try:
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    finally:
        engine.dispose()


def test_0014_adds_the_address_and_label_columns_and_takes_them_away_again(
    empty_database: str,
) -> None:
    """RMAs opened before 0014 keep their rows (no address, no label); the downgrade drops
    exactly the new columns and keeps the rows."""
    from alembic import command

    schema.upgrade(empty_database, "0013")
    engine = make_engine(empty_database)
    rma_columns = {"address_country", "address_street", "return_label_id", "return_label_refund"}
    replacement_columns = {"label_cost_minor", "label_provider", "label_id", "delivered_at"}

    def columns(table: str) -> set[str]:
        return {column["name"] for column in inspect(engine).get_columns(table)}

    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO rmas (number, status, customer_name, customer_email, vip, "
                    "channel, reason, description, resolution, priority, currency, refund_status, "
                    "refund_amount_minor, created_by, created_at, updated_at) VALUES "
                    "('RMA-20261205-0001', 'requested', 'Mia', 'mia@example.com', false, "
                    "'email', 'defective', '', 'refund', 'medium', 'usd', 'none', 2499, 'me', "
                    "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                )
            )
        assert not rma_columns & columns("rmas")
        schema.upgrade(empty_database)
        assert rma_columns <= columns("rmas")
        with engine.connect() as connection:
            row = connection.execute(text("SELECT address_country, return_label_id FROM rmas"))
            assert tuple(row.one()) == (None, None)
        assert replacement_columns <= columns("replacements")
        command.downgrade(schema.alembic_config(empty_database), "0013")
        assert not rma_columns & columns("rmas")
        assert not replacement_columns & columns("replacements")
        with engine.connect() as connection:
            kept = connection.execute(text("SELECT number, refund_amount_minor FROM rmas")).all()
        assert [tuple(row) for row in kept] == [("RMA-20261205-0001", 2499)]
    finally:
        engine.dispose()


def test_0015_adds_the_pickup_columns_and_takes_them_away_again(empty_database: str) -> None:
    """An RMA from before 0015 has no pickup; the downgrade drops exactly the pickup columns
    and keeps the row."""
    from alembic import command

    schema.upgrade(empty_database, "0014")
    engine = make_engine(empty_database)
    pickup_columns = {"pickup_starts_at", "pickup_ends_at", "pickup_id"}

    def columns() -> set[str]:
        return {column["name"] for column in inspect(engine).get_columns("rmas")}

    try:
        row = {
            "number": "RMA-20261205-0002",
            "status": "awaiting_pickup",
            "customer_name": "Mia",
            "customer_email": "mia@example.com",
            "vip": False,
            "channel": "email",
            "reason": "defective",
            "description": "",
            "resolution": "refund",
            "priority": "medium",
            "currency": "usd",
            "refund_status": "awaiting_pickup",
            "refund_amount_minor": 2499,
            "return_label_id": "lbl_1",
            "created_by": "me",
            "created_at": datetime(2026, 12, 5, tzinfo=UTC),
            "updated_at": datetime(2026, 12, 5, tzinfo=UTC),
        }
        names = ", ".join(row)
        values = ", ".join(f":{name}" for name in row)
        with engine.begin() as connection:
            connection.execute(text(f"INSERT INTO rmas ({names}) VALUES ({values})"), row)
        assert not pickup_columns & columns()
        schema.upgrade(empty_database, "0015")
        assert pickup_columns <= columns()
        with engine.connect() as connection:
            row = connection.execute(
                text(
                    "SELECT pickup_starts_at, pickup_ends_at, pickup_id, return_label_id FROM rmas"
                )
            )
            assert tuple(row.one()) == (None, None, None, "lbl_1")
        command.downgrade(schema.alembic_config(empty_database), "0014")
        assert not pickup_columns & columns()
        with engine.connect() as connection:
            kept = connection.execute(text("SELECT number, return_label_id FROM rmas")).all()
        assert [tuple(row) for row in kept] == [("RMA-20261205-0002", "lbl_1")]
    finally:
        engine.dispose()
