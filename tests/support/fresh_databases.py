"""Empty databases for each test, made cheaply (docs/testing.md, "How the suite stays fast").

SQLite: the schema is built once per test process (``create_all`` into a template file) and
each test gets a byte-for-byte copy of that file; building it costs about a fifth of a second
of disk syncs, copying it two milliseconds.

PostgreSQL: the schema is built once per worker (``postgres_engine`` in tests/conftest.py), and
:func:`empty_postgres` empties it after each test. It used to ``TRUNCATE`` every table, which
makes PostgreSQL create new files for all 40-odd tables and their indexes (a second and a half
on a busy server); now it deletes the rows of only the tables that have any and restarts only
the sequences that were used, which leaves the database in the same state: every table empty,
every identity starting again at 1.
"""

from __future__ import annotations

import functools
import shutil
import tempfile
from pathlib import Path

from sqlalchemy import Engine, text

from bootstrap.schema import metadata
from core.db import make_engine
from tests.support.run_end import at_run_end


@functools.cache
def _sqlite_template() -> Path:
    """A SQLite file with the whole schema, built once per process, removed when its run ends."""
    folder = Path(tempfile.mkdtemp(prefix="spareflow-schema-"))
    at_run_end(shutil.rmtree, folder, True)
    template = folder / "schema.db"
    engine = make_engine(f"sqlite:///{template}")
    metadata().create_all(engine)
    # Disposing closes the last connection, which checkpoints the WAL into the file and removes
    # it: the one file is then the whole database.
    engine.dispose()
    leftovers = [path.name for path in folder.iterdir() if path != template]
    assert not leftovers, f"the SQLite template left {leftovers} beside it"
    return template


def sqlite_with_schema(path: Path) -> str:
    """Make ``path`` a new SQLite database with the whole schema; its URL."""
    shutil.copyfile(_sqlite_template(), path)
    return f"sqlite:///{path}"


def _quoted_tables() -> list[str]:
    return [f'"{table.name}"' for table in metadata().sorted_tables]


def empty_postgres(engine: Engine) -> None:
    """Every table of the schema emptied and every identity restarted, as ``TRUNCATE <all>
    RESTART IDENTITY CASCADE`` would, but touching only what the test used.

    The tables are locked first (``ACCESS EXCLUSIVE``, as ``TRUNCATE`` takes them), so a
    transaction a test left open is waited for rather than emptied under. The append-only
    triggers (stock moves, audit log) and the foreign-key checks are switched off for this
    transaction only (``session_replication_role = replica``): every table ends empty, so no
    reference can dangle. That needs a superuser, as the tests' PostgreSQL user is; without
    one the tables are truncated as before.
    """
    tables = _quoted_tables()
    with engine.begin() as connection:
        connection.execute(text(f"LOCK TABLE {', '.join(tables)} IN ACCESS EXCLUSIVE MODE"))
        filled = connection.scalars(
            text(
                " UNION ALL ".join(
                    f"SELECT '{name}' WHERE EXISTS (SELECT FROM {name})" for name in tables
                )
            )
        ).all()
        used_sequences = connection.scalars(
            text(
                "SELECT quote_ident(schemaname) || '.' || quote_ident(sequencename) "
                "FROM pg_sequences WHERE schemaname = current_schema() "
                "AND last_value IS NOT NULL"
            )
        ).all()
        superuser = connection.scalar(
            text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        )
        if filled and not superuser:
            connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
            return
        if filled:
            connection.execute(text("SET LOCAL session_replication_role = replica"))
            for name in filled:
                connection.execute(text(f"DELETE FROM {name}"))
        for sequence in used_sequences:
            connection.execute(text(f"ALTER SEQUENCE {sequence} RESTART"))
