"""Fuzz the whole API of /api/v1/openapi.json with schemathesis, in-process (WSGI).

Two runs, each with every role's token (a buyer is refused where a buyer must be, and fuzzed
where a buyer may go), on SQLite and on PostgreSQL:

- **every operation on its own** (here): valid requests and invalid ones (wrong types,
  missing fields, values out of range) generated from the document;
- **stateful** (test_api_fuzz_stateful.py, on the data seeded here): schemathesis' state
  machine follows the document's OpenAPI links (web/api/links.py) from one answer to the next
  operation, so that the RMA, purchase-order, part, shipment, reservation and replacement
  operations are called with identifiers that exist, not only answered 404.

Bounded: a fixed number of examples, derandomised, no deadline, no example database; a small
data set is seeded so lists have items and links have targets. Every answer must be:

- not a 5xx (``not_a_server_error``);
- conformant to the response schema the document declares for its status, which for every
  error is the ``Error`` schema, with a status and content type the document lists;
- and, for every 4xx, the documented error shape of web/errors.py: exactly
  ``{"error": {"code": str, "message": str, "details": object}}``.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.models import Role
from inventory.commands import ReceiveStock, ReserveStock
from tests.support import desk as builders
from tests.web.test_api_roles import EXPECTED_ROLES

#: Not ``negative_data_rejection``: its "invalid" requests include ones whose only fault is a
#: missing Authorization header, which this test always sends.
CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    content_type_conformance,
]

#: Generated requests per operation a role may call (x ~50 operations), and per operation it
#: may not (refused before anything is read: one request proves the 403 and its shape).
EXAMPLES_ALLOWED = {Role.ADMIN: 25, Role.WAREHOUSE: 8, Role.BUYER: 8, Role.SERVICE_DESK: 8}
EXAMPLES_FORBIDDEN = 1
BOUNDED = {
    "derandomize": True,
    "deadline": None,
    "database": None,
    "suppress_health_check": list(HealthCheck),
}


def openapi_path(rule: str) -> str:
    """``/api/v1/parts/<sku>`` (Flask) as ``/api/v1/parts/{sku}`` (OpenAPI)."""
    return re.sub(r"<(?:[^:>]+:)?(\w+)>", r"{\1}", rule)


def seed(app: Any) -> None:
    """A little of everything, so that lists have items and every link has a target."""
    from core.db import UnitOfWork
    from inventory.ledger import Who, find_part
    from inventory.models import Supplier
    from purchasing import orders as purchasing
    from returns.status import Channel, Reason, Resolution
    from sales.commands import OrderCustomer, OrderLineInput, UpsertOrder

    services = app.extensions["spareflow"]
    inventory = services.inventory
    inventory.create_supplier(code="ACME", name="Acme Parts")
    inventory.create_location(code="MAIN/A-01-01")
    inventory.create_part(sku="FAN-80", name="Cooling fan", supplier="ACME", reorder_point=50)
    inventory.receive(
        "fuzz", ReceiveStock(sku="FAN-80", location="MAIN/A-01-01", qty=10, reference="PO-1")
    )
    inventory.reserve("fuzz", ReserveStock(sku="FAN-80", qty=1, reference="hold"))
    numbers = []
    for index, resolution in enumerate([Resolution.REFUND, Resolution.REPLACEMENT] * 2):
        view = builders.open_rma(
            services.returns,
            "desk@test.example",
            customer={"name": f"Customer {index}", "email": f"c{index}@example.com"},
            channel=Channel.PHONE,
            reason=Reason.DEFECTIVE,
            resolution=resolution,
            lines=[{"sku": "FAN-80", "qty": 1, "unit_price": Decimal("9")}],
            payment_reference=f"pi_fuzz{index}",
        )
        numbers.append(view.number)
    # The newest first in lists: an authorised refund with its parcel, and a replacement
    # waiting in the pick queue.
    builders.authorise(services.returns, "desk@test.example", numbers[1])
    builders.authorise(
        services.returns,
        "desk@test.example",
        numbers[3],
        carrier="sandbox",
        tracking_number="SBXFUZZ1",
    )
    services.orders.upsert(
        UpsertOrder(
            number="#1001",
            channel="webshop",
            customer=OrderCustomer("Fuzz Customer", "fuzz@example.com"),
            ordered_at=services.clock.now(),
            currency="USD",
            lines=(OrderLineInput("FAN-80", 2, Decimal("9"), ("SN-1",)),),
        )
    )
    with UnitOfWork(services.session_factory) as uow:
        supplier = uow.session.query(Supplier).filter_by(code="ACME").one()
        part = find_part(uow.session, "FAN-80")
        purchasing.create_draft(
            uow.session,
            Who("fuzz", services.clock),
            supplier,
            [purchasing.DraftLine(part, 10, Decimal("4"))],
            "fuzz",
        )
        uow.commit()


@pytest.fixture
def api_schema(app: Any) -> Any:
    seed(app)
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


def error_shape(response: Any) -> None:
    """Every 4xx is JSON in web/errors.py's shape, and nothing else."""
    if not 400 <= response.status_code < 500:
        return
    body = response.json()
    assert isinstance(body, dict) and set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == {"code", "message", "details"}, body
    assert isinstance(error["code"], str) and error["code"], body
    assert isinstance(error["message"], str) and error["message"], body
    assert isinstance(error["details"], dict), body


def fuzz_operation(
    operation: Any, headers: dict[str, str], *, allowed: bool, examples: int
) -> None:
    """Valid requests and invalid ones (wrong types, missing fields, values out of range)."""
    cases = st.one_of(
        operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
        operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    )

    @given(case=cases)
    @settings(max_examples=examples, phases=[Phase.explicit, Phase.generate], **BOUNDED)
    def fuzz(case: Any) -> None:
        response = case.call(headers=headers)
        case.validate_response(response, checks=CHECKS)
        error_shape(response)
        if not allowed:
            assert response.status_code == 403, response.status_code

    fuzz()


@pytest.mark.parametrize("role", list(Role), ids=[r.value for r in Role])
def test_no_api_operation_answers_5xx_or_an_undocumented_error_shape(
    api_schema: Any, role_headers: dict[Role, dict[str, str]], role: Role
) -> None:
    failures: dict[str, str] = {}
    for method, rule in sorted(EXPECTED_ROLES):
        allowed = role in EXPECTED_ROLES[(method, rule)]
        try:
            fuzz_operation(
                api_schema[openapi_path(rule)][method],
                role_headers[role],
                allowed=allowed,
                examples=EXAMPLES_ALLOWED[role] if allowed else EXAMPLES_FORBIDDEN,
            )
        except Exception as error:  # collected: one run names every failing operation
            failures[f"{method} {rule}"] = f"{type(error).__name__}: {error}"[:2000]
    assert failures == {}, "\n\n".join(f"{k}\n{v}" for k, v in failures.items())


def test_an_id_in_a_path_beyond_its_database_column_is_a_404_not_an_overflow(
    client: Any, role_headers: dict[Role, dict[str, str]]
) -> None:
    # Found by the fuzzing above: SQLite overflowed past 2**63 - 1, PostgreSQL past an
    # integer column's 2**31 - 1; both were 500s.
    admin = role_headers[Role.ADMIN]
    for method, path in [
        ("DELETE", f"/api/v1/reservations/{2**63}"),
        ("DELETE", "/api/v1/reservations/1355151239221171493730779136"),
        ("POST", f"/api/v1/replacements/{2**31}/ship"),
    ]:
        response = client.open(path, method=method, headers=admin, json={})
        assert response.status_code == 404, (path, response.json)
        assert response.json["error"]["code"] == "not_found"
    # Within the column, an unknown id is the endpoint's own 404.
    known = client.delete(f"/api/v1/reservations/{2**63 - 1}", headers=admin)
    assert (known.status_code, known.json["error"]["code"]) == (404, "reservation_not_found")


def test_an_id_in_a_body_beyond_its_database_column_is_a_422_not_an_overflow(
    client: Any, role_headers: dict[Role, dict[str, str]]
) -> None:
    # Found by the stateful run: {"reservation_id": -233...904} reached SQLite's driver (a 500).
    admin = role_headers[Role.ADMIN]
    for wrong in (2**63, -(2**100), 0, -1, True, "1"):
        response = client.post(
            "/api/v1/stock/issues", headers=admin, json={"reservation_id": wrong}
        )
        assert response.status_code == 422, (wrong, response.json)
        assert "reservation_id" in response.json["error"]["details"]["fields"], wrong
