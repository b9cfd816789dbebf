"""Backups and restores (issue #23): SQLite's online backup while stock is being received,
``spareflow restore`` checking the file, refusing a database in use and verifying what it
restored, and the PostgreSQL drill of docs/operations.md (pg_dump -Fc, pg_restore, verify)."""

from __future__ import annotations

import shutil
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest
from flask.cli import ScriptInfo
from sqlalchemy import text

from bench.databases import create_database, drop_database, scratch_database
from bootstrap import schema
from core import backup as backups
from core.clock import SystemClock
from core.db import make_engine, make_session_factory
from inventory.commands import ReceiveStock
from inventory.services import InventoryService
from tests.conftest import postgres_url
from web import create_app
from web.cli import main


def migrated_inventory(url: str) -> tuple[Any, InventoryService]:
    schema.upgrade(url)
    engine = make_engine(url)
    inventory = InventoryService(make_session_factory(engine), SystemClock())
    inventory.create_location(code="MAIN/A-01-01")
    inventory.create_part(sku="FAN-80", name="Cooling fan 80mm")
    return engine, inventory


def receive(inventory: InventoryService, n: int) -> None:
    inventory.receive(
        "tester", ReceiveStock(sku="FAN-80", location="MAIN/A-01-01", qty=1, reference=f"PO-{n}")
    )


def cli(url: str, *args: str) -> Any:
    app = create_app(
        {"TESTING": True, "SECRET_KEY": "x", "LOG_LEVEL": "WARNING", "DATABASE_URL": url}
    )
    try:
        return app.test_cli_runner().invoke(
            main, list(args), obj=ScriptInfo(create_app=lambda: app)
        )
    finally:
        app.extensions["spareflow"].engine.dispose()


def count(url: str, table: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.scalar(text(f"SELECT count(*) FROM {table}")) or 0)
    finally:
        engine.dispose()


# --- SQLite ----------------------------------------------------------------------------------


def test_an_online_backup_is_consistent_while_stock_is_being_received(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'live.db'}"
    engine, inventory = migrated_inventory(url)
    for n in range(50):  # some pages to copy
        receive(inventory, n)
    stop = threading.Event()
    written: list[int] = []

    def keep_receiving() -> None:
        n = 1000
        while not stop.is_set():
            receive(inventory, n)
            written.append(n)
            n += 1

    writer = threading.Thread(target=keep_receiving)
    writer.start()
    try:
        while len(written) < 5:
            stop.wait(0.01)
        backups_taken = [backups.backup(url, tmp_path / f"backup-{i}.db") for i in range(3)]
        during = len(written)
        while len(written) < during + 5:  # the app kept writing while and after we copied
            stop.wait(0.01)
    finally:
        stop.set()
        writer.join()
    engine.dispose()
    sizes = []
    for taken in backups_taken:
        copy_url = f"sqlite:///{taken.path}"
        assert taken.revision == schema.code_head()
        copy_engine = make_engine(copy_url)
        copy = InventoryService(make_session_factory(copy_engine), SystemClock())
        assert copy.verify_levels() == []  # the levels and the ledger are one point in time
        counts = backups.row_counts(copy_engine, schema.metadata())
        copy_engine.dispose()
        assert counts["stock_levels"] == 1
        sizes.append(counts["stock_moves"])
    assert 50 < sizes[0] <= sizes[1] <= sizes[2] < count(url, "stock_moves")


def test_restore_checks_the_file_refuses_a_database_in_use_and_verifies(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'spareflow.db'}"
    engine, inventory = migrated_inventory(url)
    for n in range(3):
        receive(inventory, n)
    engine.dispose()
    made = cli(url, "backup", "--output", str(tmp_path / "nightly.db"))
    assert made.exit_code == 0, made.output
    assert "stock_moves" in made.output and "Backed up to" in made.output

    engine = make_engine(url)
    inventory = InventoryService(make_session_factory(engine), SystemClock())
    receive(inventory, 99)  # after the backup: the restore takes it away
    with engine.connect():  # the app is running
        refused = cli(url, "restore", str(tmp_path / "nightly.db"))
        assert refused.exit_code == 1
        assert "in use" in refused.output
        assert count(url, "stock_moves") == 4
    engine.dispose()

    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"not a database" * 100)
    bad = cli(url, "restore", str(garbage))
    assert bad.exit_code == 1 and "not a SQLite database" in bad.output
    assert cli(url, "restore", str(tmp_path / "missing.db")).exit_code != 0

    restored = cli(url, "restore", str(tmp_path / "nightly.db"))
    assert restored.exit_code == 0, restored.output
    assert "Stock levels match the ledger." in restored.output
    assert [line.split() for line in restored.output.splitlines() if "stock_moves" in line] == [
        ["stock_moves", "3"]
    ]
    assert "kept at" in restored.output
    assert count(url, "stock_moves") == 3
    assert cli(url, "stock", "verify").exit_code == 0


def test_restore_with_force_replaces_a_database_in_use(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'spareflow.db'}"
    engine, inventory = migrated_inventory(url)
    receive(inventory, 1)
    backups.backup(url, tmp_path / "b.db")
    receive(inventory, 2)
    with engine.connect():
        forced = cli(url, "restore", "--force", str(tmp_path / "b.db"))
        assert forced.exit_code == 0, forced.output
    receive(inventory, 3)  # the running app goes on with the restored database
    engine.dispose()
    assert count(url, "stock_moves") == 2


def test_backup_of_postgresql_points_at_pg_dump(tmp_path: Path) -> None:
    result = cli("postgresql://nobody@127.0.0.1:9/x", "backup", "--output", str(tmp_path / "b"))
    assert result.exit_code == 1 and "pg_dump" in result.output


# --- the PostgreSQL drill (docs/operations.md) ----------------------------------------------


@pytest.mark.skipif(not shutil.which("pg_dump"), reason="pg_dump is not installed")
def test_the_postgresql_restore_drill(tmp_path: Path) -> None:
    server = postgres_url()
    if not server:
        pytest.skip("no PostgreSQL configured")
    with scratch_database(server, "drill_source") as source:
        engine, inventory = migrated_inventory(source)
        for n in range(5):
            receive(inventory, n)
        engine.dispose()
        dump = tmp_path / "spareflow.dump"
        # The commands of docs/operations.md, "Restoring PostgreSQL".
        subprocess.run(
            [_tool("pg_dump"), "--format=custom", "--no-owner", f"--file={dump}", _libpq(source)],
            check=True,
        )
        name = f"drill_restored_{tmp_path.name[-12:].replace('-', '_').lower()}"
        restored = create_database(server, name, replace=True)
        try:
            subprocess.run(
                [
                    _tool("pg_restore"),
                    "--no-owner",
                    "--exit-on-error",
                    f"--dbname={_libpq(restored)}",
                    str(dump),
                ],
                check=True,
            )
            verify = cli(restored, "stock", "verify")
            assert verify.exit_code == 0, verify.output
            assert "Stock levels match the ledger." in verify.output
            assert cli(restored, "db", "current").output.strip() == schema.code_head()
            for table in ("stock_moves", "stock_levels", "parts", "locations"):
                assert count(restored, table) == count(source, table), table
            assert count(restored, "stock_moves") == 5
        finally:
            drop_database(server, name)


def _tool(name: str) -> str:
    found = shutil.which(name)
    assert found, f"{name} is not installed"
    return found


def _libpq(url: str) -> str:
    """A SQLAlchemy URL as libpq takes it (no driver name)."""
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
