"""Engine set-up: SQLite in WAL mode with foreign keys; URLs normalised to psycopg 3."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from bootstrap.schema import metadata
from core.db import make_engine, normalise_url


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
