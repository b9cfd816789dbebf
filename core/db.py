"""Declarative base, engine and session set-up, and the unit of work.

Nothing here runs at import time: engines and session factories are built by whoever
owns the configuration (the app factory, a CLI command, a test fixture).
"""

from __future__ import annotations

import contextlib
import enum
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from datetime import UTC, datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy import (
    DDL,
    BigInteger,
    Connection,
    DateTime,
    Engine,
    Enum,
    Integer,
    MetaData,
    Table,
    create_engine,
    event,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Dialect, make_url
from sqlalchemy.exc import InvalidatePoolError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: A 64-bit key on PostgreSQL; SQLite only auto-increments an INTEGER PRIMARY KEY.
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)

    if TYPE_CHECKING:
        # Every model here maps one Table (DeclarativeBase allows any FromClause), so the
        # Core statements on ``Model.__table__`` (insert, update) type-check.
        __table__: ClassVar[Table]


def string_enum(cls: type[enum.Enum], name: str | None = None) -> Enum:
    """A Python enum stored as its values in a plain string column with a CHECK constraint.

    Values rather than names, and no native ENUM type, so SQL reads naturally and adding a
    member is a one-line migration on both backends.
    """
    # The name names the CHECK constraint: give one when a table has two such columns.
    named = {"name": name} if name else {}
    return Enum(
        cls,
        native_enum=False,
        create_constraint=True,
        length=20,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
        **named,
    )


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass an aware UTC datetime (use the clock)")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def normalise_url(url: str | URL) -> URL:
    """Accept ``postgres://`` and ``postgresql://`` and use psycopg 3 for both."""
    parsed = make_url(url) if isinstance(url, str) else url
    if parsed.drivername in ("postgres", "postgresql"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the sqlite3 module, decide where transactions begin (see _begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _begin_immediate(connection: Any) -> None:
    if connection.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
        return  # a lone read (see read_outside_transaction): no lock, no snapshot needed
    # One writer at a time, decided when the transaction starts: a use case that reads and
    # then writes can never fail half-way with SQLITE_BUSY, and its reads are one snapshot.
    # The embedded database trades write concurrency for that; PostgreSQL does not need it.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str | URL, *, prepared_statements: bool = True, **kwargs: Any) -> Engine:
    """An engine for ``url``; SQLite gets WAL mode, foreign keys and a busy timeout,
    PostgreSQL's pooled connections a ping after they sat idle (``PING_AFTER_IDLE_SECONDS``)
    and, unless ``prepared_statements`` is off, psycopg's prepared statements (a statement
    run five times on a connection is parsed and planned once from then on)."""
    url = normalise_url(url)
    if url.get_backend_name() == "sqlite":
        kwargs.setdefault("connect_args", {}).setdefault("timeout", 30)
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _on_sqlite_connect)
        event.listen(engine, "begin", _begin_immediate)
        return engine
    if not prepared_statements and url.get_driver_name() == "psycopg":
        kwargs.setdefault("connect_args", {})["prepare_threshold"] = None
    engine = create_engine(url, **kwargs)
    if "pool_pre_ping" not in kwargs:
        _ping_after_idle(engine)
    _note_writes(engine)
    return engine


#: Set in a pooled connection's ``info`` once its open transaction has sent anything but a
#: ``SELECT``; see :meth:`UnitOfWork.__exit__`.
_WROTE = "spareflow_wrote"


def _note_writes(engine: Engine) -> None:
    """Remember, per transaction, whether it sent anything but a ``SELECT``: one that only
    read may end with ``COMMIT`` rather than ``ROLLBACK`` (the same, for a transaction that
    changed nothing), and psycopg forgets every prepared statement of the connection on a
    ``ROLLBACK``. A ``WITH``, a ``SAVEPOINT`` or a ``LOCK`` counts as a write: when in doubt,
    roll back."""

    @event.listens_for(engine, "begin")
    def _began(connection: Connection) -> None:
        connection.info.pop(_WROTE, None)

    @event.listens_for(engine, "before_cursor_execute")
    def _executing(connection: Connection, cursor: Any, statement: str, *args: Any) -> None:
        if statement[:6].upper() != "SELECT":
            connection.info[_WROTE] = True


def only_read(session: Session) -> bool:
    """PostgreSQL: the session's open transaction has sent nothing but ``SELECT``s and holds
    no change the ORM has yet to send, so ``COMMIT`` ends it as ``ROLLBACK`` would."""
    if not session.in_transaction() or session.new or session.dirty or session.deleted:
        return False
    connection = session.connection()  # the transaction's own (a session here has one bind)
    return connection.dialect.name == "postgresql" and not connection.info.get(_WROTE)


#: A pooled connection back in the pool for less than this is handed out again without a
#: ping (HikariCP's "alive bypass window" is 500 ms too): under load every request would
#: otherwise pay a round trip to learn what the last one just proved. One that sat longer
#: (the server may have restarted meanwhile) is pinged first, and a failed ping renews the
#: whole pool, as ``pool_pre_ping`` does. A restart inside the window costs the next
#: statement a disconnect error (a 503, "try again"), after which the pool is renewed too.
PING_AFTER_IDLE_SECONDS = 0.5
_RETURNED_AT = "spareflow_returned_at"


def _ping_after_idle(engine: Engine) -> None:
    dialect = engine.dialect

    @event.listens_for(engine, "connect")
    def _connected(dbapi_connection: Any, record: Any) -> None:
        record.info[_RETURNED_AT] = time.monotonic()  # just opened: alive

    @event.listens_for(engine, "checkin")
    def _returned(dbapi_connection: Any, record: Any) -> None:
        record.info[_RETURNED_AT] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        returned = record.info.get(_RETURNED_AT)
        if returned is not None and time.monotonic() - returned < PING_AFTER_IDLE_SECONDS:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            if dialect.is_disconnect(error, dbapi_connection, None):
                raise InvalidatePoolError() from error  # a fresh connection, a renewed pool
            raise


#: The connection :func:`one_connection` holds for the code running now, if any.
_held: ContextVar[Connection | None] = ContextVar("spareflow_held_connection", default=None)


class SharingSession(Session):
    """A session that runs its transaction on the connection :func:`one_connection` holds,
    when that connection is free (no transaction open on it, default isolation), else on one
    of its own from the pool, as any session does."""

    def get_bind(self, mapper: Any = None, **kwargs: Any) -> Any:
        bind = super().get_bind(mapper, **kwargs)
        held = _held.get()
        if held is not None and held.engine is bind and _free(held):
            return held
        return bind


def _free(connection: Connection) -> bool:
    """No transaction open on it, and at the default isolation level."""
    level = connection.get_execution_options().get("isolation_level")
    return not connection.in_transaction() and level in (None, connection.default_isolation_level)


@contextlib.contextmanager
def one_connection(engine: Engine) -> Iterator[None]:
    """One pool checkout (and its ping, if it sat idle) for every session made in the
    block, one after the other: an API request's token lookup and its use case. Each session
    still begins and ends its own transaction; one opened while another is open gets its own
    connection, as before."""
    with engine.connect() as connection:
        token = _held.set(connection)
        try:
            yield
        finally:
            _held.reset(token)


@contextlib.contextmanager
def autocommitted(engine: Engine) -> Iterator[Connection]:
    """A connection on which each statement commits by itself, for a use case that is one
    statement (atomic on its own): no ``BEGIN`` and no ``COMMIT``, two round trips fewer.
    The connection :func:`one_connection` holds when it is free (then set back to the
    default isolation), else one from the pool."""
    held = _held.get()
    if held is None or held.engine is not engine or not _free(held):
        with engine.connect() as connection:
            yield connection.execution_options(isolation_level="AUTOCOMMIT")
        return
    held.execution_options(isolation_level="AUTOCOMMIT")
    try:
        yield held
    finally:
        # SQLAlchemy begins its own transaction object even here; on the database each
        # statement has already committed (or failed) by itself, so this sends nothing.
        held.rollback()
        if not held.invalidated:  # a lost connection is replaced, not set back
            held.execution_options(isolation_level=held.default_isolation_level)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    # expire_on_commit=False: services hand loaded objects back to callers after commit.
    return sessionmaker(bind=engine, class_=SharingSession, expire_on_commit=False, autoflush=True)


def engine_of(session_factory: Callable[[], Session]) -> Engine:
    """The engine a session factory's sessions run on: for the few hot paths that skip the
    session (one autocommitted statement needs no unit of work)."""
    bind = getattr(session_factory, "kw", {}).get("bind")
    if isinstance(bind, Engine):
        return bind
    with session_factory() as session:
        found = session.get_bind()
    return found if isinstance(found, Engine) else found.engine


class UnitOfWork:
    """One transaction per use case: ``with uow: ...; uow.commit()``.

    Leaving the block without ``commit()`` rolls everything back.
    """

    session: Session

    def __init__(self, session_factory: Callable[[], Session]):
        self._session_factory = session_factory

    def __enter__(self) -> UnitOfWork:
        self.session = self._session_factory()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # A use case that only read ends its transaction with COMMIT on PostgreSQL: the same
        # outcome, but a ROLLBACK makes psycopg forget the connection's prepared statements,
        # so no statement would ever be run often enough to be prepared (parsed and planned
        # once). Anything else, and any error, is rolled back as before.
        if exc_type is None and only_read(self.session):
            self.session.commit()
        # close() rolls back whatever was not committed, but unlike rollback() it leaves
        # loaded objects readable, so a read-only use case can return what it loaded.
        self.session.close()

    def commit(self) -> None:
        self.session.commit()


def read_outside_transaction(engine: Engine, statement: Any) -> list[Any]:
    """Run one read on its own autocommit connection.

    For small lookups a use case may make while it holds SQLite's write lock (settings): a
    transaction of their own would wait for that very lock.
    """
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        return list(connection.execute(statement).all())


def read_one_snapshot(session: Session) -> None:
    """Make every read of this (new) transaction see the same committed state.

    PostgreSQL's default READ COMMITTED takes a new snapshot per statement; SQLite
    transactions here are already one snapshot (see ``_begin_immediate``).
    """
    if session.get_bind().dialect.name == "postgresql":
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})


def block_writers(session: Session, *tables: str) -> None:
    """Hold off concurrent writes to ``tables`` until this transaction ends (PostgreSQL).

    SQLite transactions here already exclude other writers.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"LOCK TABLE {', '.join(tables)} IN SHARE ROW EXCLUSIVE MODE"))


def insert_many_ignoring_conflicts(
    session: Session | Connection, table: Any, rows: list[dict[str, Any]]
) -> list[Any]:
    """One ``INSERT ... ON CONFLICT DO NOTHING`` of many rows on SQLite and PostgreSQL; the
    primary keys of those added, the first key column where there are several (RETURNING:
    rowcount is unreliable here)."""
    if not rows:
        return []
    dialect = (session if isinstance(session, Connection) else session.get_bind()).dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(table).on_conflict_do_nothing().returning(*table.primary_key.columns)
    # Rows as parameters, not in the statement: it compiles once and is cached, and
    # SQLAlchemy still sends the rows in one INSERT ("insertmanyvalues").
    return list(session.execute(statement, rows).scalars())


def insert_ignoring_conflicts(session: Session, table: Any, values: dict[str, Any]) -> bool:
    """``INSERT ... ON CONFLICT DO NOTHING`` of one row; True if it was added."""
    return bool(insert_many_ignoring_conflicts(session, table, [values]))


def append_only(table: Any) -> None:
    """Make the database refuse UPDATE and DELETE on ``table`` (SQLite and PostgreSQL
    triggers), when ``create_all`` creates it. Migrations carry frozen copies of these
    statements, so a migrated schema refuses the same."""
    for dialect in ("sqlite", "postgresql"):
        for statement in append_only_statements(table.name, dialect):
            event.listen(table, "after_create", DDL(statement).execute_if(dialect=dialect))
    event.listen(
        table,
        "before_drop",
        DDL(f"DROP FUNCTION IF EXISTS {table.name}_append_only() CASCADE").execute_if(
            dialect="postgresql"
        ),
    )


def append_only_statements(name: str, dialect: str) -> list[str]:
    if dialect == "postgresql":
        return [
            f"CREATE FUNCTION {name}_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN RAISE EXCEPTION '{name} is append-only'; END $$",
            f"CREATE TRIGGER {name}_append_only BEFORE UPDATE OR DELETE ON {name} "
            f"FOR EACH ROW EXECUTE FUNCTION {name}_append_only()",
        ]
    return [
        f"CREATE TRIGGER {name}_append_only_{verb.lower()} BEFORE {verb} ON {name} "
        f"BEGIN SELECT RAISE(ABORT, '{name} is append-only'); END"
        for verb in ("UPDATE", "DELETE")
    ]
