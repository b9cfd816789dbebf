"""Scratch databases: a PostgreSQL database created beside a configured one and dropped
afterwards, or a SQLite file. The one implementation the benchmarks and the tests call."""

from __future__ import annotations

import contextlib
import tempfile
import uuid
from collections.abc import Iterator

from sqlalchemy import text
from sqlalchemy.engine import make_url

from core.db import make_engine


def database_url_beside(server_url: str, name: str) -> str:
    """The URL of database ``name`` on ``server_url``'s server (same user and password)."""
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def create_database(server_url: str, name: str, *, replace: bool = False) -> str:
    """Create the empty PostgreSQL database ``name`` on ``server_url``'s server and return
    its URL; with ``replace`` a leftover of that name (from a killed run) is dropped first."""
    admin = make_engine(make_url(server_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            if replace:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return database_url_beside(server_url, name)


def drop_database(server_url: str, name: str) -> None:
    """Drop database ``name`` on ``server_url``'s server, closing its open connections."""
    admin = make_engine(make_url(server_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@contextlib.contextmanager
def scratch_database(server_url: str | None, prefix: str = "spareflow_scratch") -> Iterator[str]:
    """A new, empty database, gone afterwards: on ``server_url``'s PostgreSQL server
    (``<prefix>_<random>``), or a SQLite file in a temporary folder when the URL is empty or
    SQLite."""
    if not server_url or server_url.startswith("sqlite"):
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{folder}/{prefix}.db"
        return
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    url = create_database(server_url, name)
    try:
        yield url
    finally:
        drop_database(server_url, name)
