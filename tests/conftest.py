"""Shared fixtures: databases (SQLite always, PostgreSQL when configured), apps, clients, tokens.

PostgreSQL: set ``SPAREFLOW_TEST_DATABASE_URL`` (``.ci/run`` does). Without it the
PostgreSQL variants skip, except under CI (``CI=true``), where a missing database fails.
"""

from __future__ import annotations

import functools
import os
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from accounts.models import Role
from bench.databases import create_database, drop_database
from bootstrap.schema import metadata
from core.clock import FrozenClock
from core.db import make_engine, make_session_factory
from inventory.commands import ReceiveStock
from inventory.services import InventoryService
from tests.support.fresh_databases import empty_postgres, sqlite_with_schema
from tests.support.lean_process import calm_the_garbage_collector, reuse_url_rule_builders
from tests.support.run_end import at_run_end, clean_up_the_run
from tests.support.sandbox_webhooks import SECRET as SANDBOX_SECRET

PG_URL_ENV = "SPAREFLOW_TEST_DATABASE_URL"
#: A complete return address (authorisation refuses a partial one).
RETURN_ADDRESS = {
    "name": "Returns dept",
    "street": "1 Dock Road",
    "city": "Leeds",
    "postcode": "LS1 1AA",
    "country": "GB",
}
LOOPBACK = ("127.", "::1", "localhost")
#: A refund provider address on loopback where nothing listens (the discard port).
UNREACHABLE_REFUNDS = "http://127.0.0.1:9"


# --- no network beyond loopback ----------------------------------------------------------


@pytest.fixture(autouse=True)
def _no_outside_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests talk to loopback only (PostgreSQL, local servers); anything else is a bug."""
    real_connect = socket.socket.connect

    def guarded_connect(self: socket.socket, address: Any) -> Any:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            host = str(address[0])
            if not host.startswith(LOOPBACK):
                raise RuntimeError(f"test tried to reach {address!r}: only loopback is allowed")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)


# --- databases ---------------------------------------------------------------------------


def postgres_url() -> str | None:
    url = os.environ.get(PG_URL_ENV)
    if not url and os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{PG_URL_ENV} must be set in CI: the PostgreSQL tests may not be skipped")
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    return _database_of_worker(url, worker) if url and worker else url


@functools.cache
def _database_of_worker(url: str, worker: str) -> str:
    """Under pytest-xdist (``make test`` runs ``-n auto``) each worker process gets a database
    of its own beside the configured one, ``<name>_<worker>``, dropped when the worker ends."""
    name = f"{make_url(url).database}_{worker}"
    worker_url = create_database(url, name, replace=True)
    at_run_end(drop_database, url, name)
    return worker_url


def pytest_configure(config: pytest.Config) -> None:
    reuse_url_rule_builders()


def pytest_collection_finish(session: pytest.Session) -> None:
    # Every test module is imported by now: what they loaded stays for the whole run.
    calm_the_garbage_collector()


def pytest_sessionfinish(session: pytest.Session) -> None:
    # The worker databases (DROP ... WITH (FORCE) closes any connection still open), the
    # SQLite template, the demo sites: tests/support/run_end.py says why not atexit.
    clean_up_the_run()


@pytest.fixture(scope="session")
def postgres_engine() -> Iterator[Engine]:
    url = postgres_url()
    if not url:
        pytest.skip(f"PostgreSQL tests need {PG_URL_ENV}")
    engine = make_engine(url, pool_size=25, max_overflow=10)
    schema = metadata()
    schema.drop_all(engine)
    schema.create_all(engine)
    yield engine
    schema.drop_all(engine)
    engine.dispose()


def truncate_all(engine: Engine) -> None:
    """Empty every table and restart every identity (cheaply: tests/support/fresh_databases.py)."""
    empty_postgres(engine)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Each database test runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        yield sqlite_with_schema(tmp_path / "test.db")
        return
    engine: Engine = request.getfixturevalue("postgres_engine")
    yield engine.url.render_as_string(hide_password=False)
    truncate_all(engine)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = (
        make_engine(database_url, pool_size=25, max_overflow=10)
        if database_url.startswith("postgresql")
        else make_engine(database_url)
    )
    yield engine
    engine.dispose()


@pytest.fixture
def session_factory(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))


@pytest.fixture
def inventory(session_factory: sessionmaker[Session], clock: FrozenClock) -> InventoryService:
    return InventoryService(session_factory, clock)


@pytest.fixture
def stocked(inventory: InventoryService) -> InventoryService:
    """A supplier, three locations and part ABC-1 with 10 on hand in MAIN/A-01-01."""
    inventory.create_supplier(code="ACME", name="Acme Parts")
    inventory.create_location(code="MAIN/A-01-01")
    inventory.create_location(code="MAIN/A-01-02")
    from inventory.status import LocationKind

    inventory.create_location(code="MAIN/QUARANTINE", kind=LocationKind.QUARANTINE)
    inventory.create_part(sku="ABC-1", name="Cooling fan 80mm", supplier="ACME", reorder_point=5)
    inventory.receive(
        "tester", ReceiveStock(sku="ABC-1", location="MAIN/A-01-01", qty=10, reference="PO-1")
    )
    return inventory


# --- the web app -------------------------------------------------------------------------


@pytest.fixture
def app_config() -> dict[str, Any]:
    """Extra settings for the ``app`` fixture; a test module overrides this to add its own."""
    return {}


@pytest.fixture
def app(
    database_url: str, clock: FrozenClock, tmp_path: Path, app_config: dict[str, Any]
) -> Iterator[Any]:
    from web import create_app

    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": database_url,
            "SECRET_KEY": "test-secret-key",
            "CLOCK": clock,
            "LOG_LEVEL": "WARNING",
            "SANDBOX_WEBHOOK_SECRET": SANDBOX_SECRET,
            # The tests' carrier is the local sandbox; production never has it.
            "CARRIERS_SANDBOX": True,
            # Tests only: stored secrets are encrypted with a key derived from SECRET_KEY.
            "ENCRYPTION_KEY_FROM_SECRET_KEY": True,
            "RETURNS_ADDRESS": RETURN_ADDRESS,
            # Configured explicitly (spareflow never falls back to a sandbox); nothing listens
            # there, so a refund these apps send fails. Tests that need one serve a sandbox.
            "REFUNDS_API_BASE": UNREACHABLE_REFUNDS,
            "REFUNDS_API_KEY": "sk_test_nobody",
            **app_config,
        }
    )
    app.instance_path = str(tmp_path / "instance")
    yield app
    app.extensions["spareflow"].engine.dispose()


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


@pytest.fixture
def role_headers(app: Any) -> dict[Role, dict[str, str]]:
    """One user and API token per role: ``role_headers[Role.BUYER]`` are a buyer's headers."""
    auth = app.extensions["spareflow"].auth
    headers = {}
    for role in Role:
        email = f"{role.value}@test.example"
        auth.create_user(email, role, "correct horse battery")
        _, secret = auth.create_token(email, "tests")
        headers[role] = {"Authorization": f"Bearer {secret}"}
    return headers


@pytest.fixture
def admin(role_headers: dict[Role, dict[str, str]]) -> dict[str, str]:
    return role_headers[Role.ADMIN]


# --- e-mail --------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def _smtp_server() -> Iterator[Any]:
    from demo.sandboxes.smtp import start_sink

    controller, handler = start_sink()
    yield controller, handler
    controller.stop()


@pytest.fixture
def smtp_sink(_smtp_server: Any) -> Any:
    """A real SMTP server on loopback that keeps what it receives (``.messages``)."""
    controller, handler = _smtp_server
    handler.clear()
    handler.port = controller.port
    return handler
