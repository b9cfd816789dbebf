"""Backing up and restoring the embedded SQLite database (``spareflow backup``/``restore``).

The backup is SQLite's online backup API: a page copy in one read transaction, so it is one
point in time while the app, the scheduler and the workers keep writing (WAL mode: readers
and writers do not wait for each other). The copy is checked
(``PRAGMA integrity_check``, an Alembic revision) before it takes the name asked for.

A restore checks the file the same way first, refuses to replace a database that a process has
open unless forced, keeps the replaced database beside it, and reports the row counts (the CLI
then runs the stock ledger check). PostgreSQL is backed up with pg_dump: docs/operations.md.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, MetaData, func, select
from sqlalchemy.engine import make_url


class BackupError(Exception):
    pass


@dataclass(frozen=True)
class Checked:
    path: Path
    revision: str
    tables: int


def sqlite_path(url: str) -> Path:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        raise BackupError(
            "This database is PostgreSQL: back it up with pg_dump and restore it with "
            "pg_restore (docs/operations.md, 'Backing up')."
        )
    if not parsed.database or parsed.database == ":memory:":
        raise BackupError("An in-memory database cannot be backed up.")
    return Path(parsed.database)


def backup(
    url: str, output: Path, *, progress: Callable[[int, int], None] | None = None
) -> Checked:
    """Copy the database at ``url`` to ``output`` online; returns what the copy holds."""
    source_path = sqlite_path(url)
    if not source_path.exists():
        raise BackupError(f"There is no database at {source_path}.")
    output = output.resolve()
    if output == source_path.resolve():
        raise BackupError("The backup cannot be the database itself.")
    partial = output.with_name(output.name + ".partial")
    partial.unlink(missing_ok=True)
    source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True, timeout=30)
    target = sqlite3.connect(partial)
    try:
        # 1024 pages a step: writers are held up only while a step copies.
        source.backup(
            target,
            pages=1024,
            progress=(lambda _s, left, total: progress(left, total)) if progress else None,
        )
        target.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
    finally:
        target.close()
        source.close()
    checked = check(partial)
    os.replace(partial, output)
    return Checked(output, checked.revision, checked.tables)


def check(path: Path) -> Checked:
    """Is ``path`` a whole spareflow database? (integrity check, a migration revision)."""
    if not path.is_file():
        raise BackupError(f"There is no file at {path}.")
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            verdict = connection.execute("PRAGMA integrity_check").fetchone()[0]
            if verdict != "ok":
                raise BackupError(f"{path} is damaged: {verdict}")
            tables = connection.execute(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
            ).fetchone()[0]
            try:
                row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
            except sqlite3.DatabaseError:
                row = None
        finally:
            connection.close()
    except sqlite3.DatabaseError as error:
        raise BackupError(f"{path} is not a SQLite database: {error}") from None
    if not row:
        raise BackupError(f"{path} is not a spareflow database (no migration revision).")
    return Checked(path, str(row[0]), int(tables))


def in_use(path: Path) -> bool:
    """Does a process have the database open? SQLite in WAL mode keeps ``<db>-shm`` while any
    connection is open (a crashed process leaves it behind: then ``--force``)."""
    if Path(f"{path}-shm").exists() or Path(f"{path}-wal").exists():
        return True
    if not path.exists():
        return False
    connection = sqlite3.connect(path, timeout=0)
    try:
        connection.execute("BEGIN EXCLUSIVE")
        connection.rollback()
        return False
    except sqlite3.OperationalError:
        return True
    finally:
        connection.close()


def restore(backup_file: Path, url: str, *, force: bool = False) -> tuple[Checked, Path | None]:
    """Put ``backup_file`` in place of the database at ``url``; returns what it holds and where
    the replaced database was kept (None when there was none)."""
    target = sqlite_path(url)
    checked = check(backup_file)
    if backup_file.resolve() == target.resolve():
        raise BackupError("The backup is the database itself.")
    if in_use(target) and not force:
        raise BackupError(
            f"The database {target} is in use (a process has it open): stop the app, the "
            "scheduler and the workers first, or restore with --force."
        )
    kept: Path | None = None
    if target.exists():
        kept = target.with_name(f"{target.name}.before-restore-{datetime.now(UTC):%Y%m%dT%H%M%S}")
        shutil.copy2(target, kept)
    source = sqlite3.connect(f"file:{backup_file}?mode=ro", uri=True)
    destination = sqlite3.connect(target, timeout=30)
    try:
        # Through SQLite, not a file copy: processes that still have it open (--force) see
        # either the old database or the restored one, never a half-written file.
        source.backup(destination)
    finally:
        destination.close()
        source.close()
    return checked, kept


def row_counts(engine: Engine, metadata: MetaData) -> dict[str, int]:
    """Rows in every table spareflow knows: the report after a backup or a restore."""
    counts: dict[str, int] = {}
    with engine.connect() as connection:
        for table in metadata.sorted_tables:
            counts[table.name] = int(
                connection.scalar(select(func.count()).select_from(table)) or 0
            )
    return counts
