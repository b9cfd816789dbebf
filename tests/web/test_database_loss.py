"""The database connection dies in the middle of a request (PostgreSQL).

The request's own server process is ended with ``pg_terminate_backend`` from another
connection, at a chosen point inside the request's transaction: after the stock level was
written but before its ledger row, or just before COMMIT. The answer must be the documented
503 ``database_unavailable`` JSON error with ``Retry-After``; nothing of the request may be
saved (no level without its ledger row); and the repeated request must then succeed once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest
from sqlalchemy import event, func, select

from accounts.models import Role
from carriers.adapters.sandbox import SIGNATURE_HEADER, sign
from carriers.models import CarrierEventRecord, WebhookDelivery
from inventory.commands import ReceiveStock
from inventory.models import StockLevel, StockMove
from tests.support.sandbox_webhooks import SECRET, sandbox_payload

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.parametrize("database_url", ["postgresql"], indirect=True),
]

BIN = "MAIN/A-01-01"


@pytest.fixture
def stocked_app(app: Any) -> Any:
    inventory = app.extensions["spareflow"].inventory
    inventory.create_location(code=BIN)
    inventory.create_part(sku="FAN-80", name="Cooling fan")
    inventory.receive("setup", ReceiveStock(sku="FAN-80", location=BIN, qty=5, reference="OPENING"))
    return app


def libpq_url(app: Any) -> str:
    url = app.extensions["spareflow"].engine.url
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


@contextmanager
def connection_killed(
    app: Any, when: Callable[[str], bool], at_commit: bool = False
) -> Iterator[list[int]]:
    """End the request's server process the first time ``when(statement)`` holds, or, with
    ``at_commit``, at the COMMIT of the transaction that ran that statement. Yields the list
    of the backends ended (empty if it never happened)."""
    engine = app.extensions["spareflow"].engine
    killed: list[int] = []
    armed: list[bool] = []
    admin = psycopg.connect(libpq_url(app), autocommit=True)

    def kill(pid: int) -> None:
        admin.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,))
        killed.append(pid)

    def before_execute(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if killed or not when(statement):
            return
        if at_commit:
            armed.append(True)
        else:
            kill(cursor.connection.info.backend_pid)

    def before_commit(conn: Any) -> None:
        if armed and not killed:
            kill(conn.connection.dbapi_connection.info.backend_pid)

    event.listen(engine, "before_cursor_execute", before_execute)
    event.listen(engine, "commit", before_commit)
    try:
        yield killed
    finally:
        event.remove(engine, "before_cursor_execute", before_execute)
        event.remove(engine, "commit", before_commit)
        admin.close()


def assert_database_unavailable(response: Any) -> None:
    assert response.status_code == 503, response.get_data(as_text=True)[:500]
    assert response.json == {
        "error": {
            "code": "database_unavailable",
            "message": "The database is not reachable right now; nothing was saved. Try again.",
            "details": {},
        }
    }
    assert response.headers["Retry-After"] == "5"


def ledger_state(app: Any) -> tuple[int, int, list[str]]:
    with app.extensions["spareflow"].session_factory() as session:
        on_hand = session.scalar(select(func.sum(StockLevel.on_hand))) or 0
        moved = session.scalar(select(func.sum(StockMove.qty))) or 0
        references = session.scalars(select(StockMove.reference).order_by(StockMove.id)).all()
    return on_hand, moved, list(references)


RECEIPT = {"sku": "FAN-80", "location": BIN, "qty": 3, "reference": "PO-LOST-CONN"}


@pytest.mark.parametrize(
    "where",
    ["after-the-level-before-the-ledger-row", "at-commit"],
)
def test_a_receipt_whose_connection_dies_is_a_503_saves_nothing_and_can_be_repeated(
    stocked_app: Any, client: Any, role_headers: dict[Role, dict[str, str]], where: str
) -> None:
    app = stocked_app
    headers = role_headers[Role.WAREHOUSE]
    before = ledger_state(app)
    assert before == (5, 5, ["OPENING"])
    with connection_killed(
        app,
        when=lambda statement: statement.lstrip().upper().startswith("INSERT INTO STOCK_MOVES"),
        at_commit=where == "at-commit",
    ) as killed:
        response = client.post("/api/v1/stock/receipts", headers=headers, json=RECEIPT)
    assert killed, "the connection was never killed: the test proved nothing"
    assert_database_unavailable(response)
    assert ledger_state(app) == before
    assert app.extensions["spareflow"].inventory.verify_levels() == []

    again = client.post("/api/v1/stock/receipts", headers=headers, json=RECEIPT)
    assert again.status_code == 201, again.json
    assert ledger_state(app) == (8, 8, ["OPENING", "PO-LOST-CONN"])
    assert app.extensions["spareflow"].inventory.verify_levels() == []


def test_a_reservation_whose_connection_dies_is_a_503_reserves_nothing_and_can_be_repeated(
    stocked_app: Any, client: Any, role_headers: dict[Role, dict[str, str]]
) -> None:
    """On PostgreSQL the usual reservation is one autocommitted statement on the connection
    the token check used; on SQLite the general path. Either way the statement that takes the
    level dies with its connection, and the request's connection is replaced after."""
    app = stocked_app
    headers = role_headers[Role.WAREHOUSE]
    before = ledger_state(app)
    with connection_killed(app, when=lambda s: "UPDATE STOCK_LEVELS" in s.upper()) as killed:
        response = client.post(
            "/api/v1/reservations", headers=headers, json={"sku": "FAN-80", "qty": 2}
        )
    assert killed, "the connection was never killed: the test proved nothing"
    assert_database_unavailable(response)
    assert ledger_state(app) == before
    stock = client.get("/api/v1/stock/FAN-80", headers=headers).json
    assert (stock["on_hand"], stock["reserved"]) == (5, 0)

    again = client.post("/api/v1/reservations", headers=headers, json={"sku": "FAN-80", "qty": 2})
    assert again.status_code == 201, again.json
    stock = client.get("/api/v1/stock/FAN-80", headers=headers).json
    assert (stock["on_hand"], stock["reserved"]) == (5, 2)
    assert app.extensions["spareflow"].inventory.verify_levels() == []


def test_a_webhook_whose_connection_dies_is_a_503_and_the_providers_retry_is_stored_once(
    app: Any, client: Any, clock: Any, role_headers: dict[Role, dict[str, str]]
) -> None:
    created = client.post(
        "/api/v1/shipments",
        headers=role_headers[Role.SERVICE_DESK],
        json={"direction": "inbound", "carrier": "sandbox", "tracking_number": "SBXDB1"},
    )
    assert created.status_code == 201
    body = sandbox_payload("SBXDB1", "picked_up", clock.now())
    signature = sign(SECRET, body, int(clock.now().timestamp()))

    def deliver() -> Any:
        return client.post(
            "/webhooks/carriers/sandbox",
            data=body,
            content_type="application/json",
            headers={SIGNATURE_HEADER: signature},
        )

    # The statement that stores the events (on PostgreSQL the delivery is in it too).
    with connection_killed(app, when=lambda s: "INSERT INTO CARRIER_EVENTS" in s.upper()) as killed:
        response = deliver()
    assert killed
    assert_database_unavailable(response)  # a 5xx: the provider will deliver it again
    with app.extensions["spareflow"].session_factory() as session:
        assert session.scalar(select(func.count()).select_from(WebhookDelivery)) == 0
        assert session.scalar(select(func.count()).select_from(CarrierEventRecord)) == 0

    assert deliver().status_code == 200
    assert deliver().status_code == 200
    shipment = client.get("/api/v1/shipments/SBXDB1", headers=role_headers[Role.BUYER]).json
    assert shipment["status"] == "picked_up"
    assert len(shipment["events"]) == 1


def test_healthz_reports_a_dead_connection_as_503_and_recovers(app: Any, client: Any) -> None:
    assert client.get("/healthz").status_code == 200
    with connection_killed(app, when=lambda s: True) as killed:
        response = client.get("/healthz")
    assert killed
    assert_database_unavailable(response)
    assert client.get("/healthz").json == {"status": "ok", "database": "ok"}
