"""Fuzz the whole API of /api/v1/openapi.json with schemathesis, in-process (WSGI).

Two runs, each with every role's token (a buyer is refused where a buyer must be, and fuzzed
where a buyer may go), on SQLite and on PostgreSQL:

- **every operation on its own**: valid requests and invalid ones (wrong types, missing
  fields, values out of range) generated from the document;
- **stateful**: schemathesis' state machine follows the document's OpenAPI links
  (web/api/links.py) from one answer to the next operation, so that the RMA, purchase-order,
  part, shipment, reservation and replacement operations are called with identifiers that
  exist, not only answered 404.

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
from collections import defaultdict
from decimal import Decimal
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Flaky
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
from web.api.links import LINKS, RMA_OPERATIONS

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
#: Stateful scenarios per role, and steps per scenario.
SCENARIOS = {Role.ADMIN: 250, Role.WAREHOUSE: 40, Role.BUYER: 40, Role.SERVICE_DESK: 40}
#: Scenarios of the returns-only run that checks every RMA operation reaches a real RMA.
RMA_SCENARIOS = 200
RETURNS = "/api/v1/returns"
#: RMA operations whose body random data almost never makes valid (a complete postal address
#: that passes the country's postcode rule): answered 422 here, and proven on real RMAs by their
#: own tests (tests/web/test_customer_address_edit.py).
NEEDS_A_VALID_BODY = {
    "patch /api/v1/returns/{rma}/customer-address",
    "post /api/v1/returns/{rma}/hand-over",  # a real person's or team's id
}
STEPS = 15
#: Times a stateful run restarts after Hypothesis found a replay inconsistent (see below).
MAX_RESTARTS = 20

#: The lists whose items the links follow (web/api/links.py).
LISTS = {
    f"/api/v1/{name}" for name in ("returns", "parts", "purchase-orders", "replacements", "orders")
}

BOUNDED = {
    "derandomize": True,
    "deadline": None,
    "database": None,
    "suppress_health_check": list(HealthCheck),
}


def openapi_path(rule: str) -> str:
    """``/api/v1/parts/<sku>`` (Flask) as ``/api/v1/parts/{sku}`` (OpenAPI)."""
    return re.sub(r"<(?:[^:>]+:)?(\w+)>", r"{\1}", rule)


def linked_operations() -> list[str]:
    """The operations the document's links join ("GET /api/v1/returns", ...), both ends."""
    labels = set()
    for (method, path, _), links in LINKS.items():
        labels.add(f"{method.upper()} {path}")
        for link in links.values():
            target, _, target_method = link["operationRef"].removeprefix("#/paths/").rpartition("/")
            labels.add(f"{target_method.upper()} {target.replace('~1', '/').replace('~0', '~')}")
    return sorted(labels)


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


def run_workflow(
    schema: Any, headers: dict[str, str], scenarios_wanted: int
) -> tuple[dict[str, set[int]], dict[str, str]]:
    """Hypothesis' state machine over ``schema``'s linked operations: the statuses each
    operation answered, and the first failure of each."""
    answers: dict[str, set[int]] = defaultdict(set)
    failures: dict[str, str] = {}

    class Workflow(schema.as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"headers": headers}

        def before_call(self, case: Any) -> None:
            if case.method == "GET" and case.operation.path in LISTS:
                # A list that starts a scenario lists everything, so that its links have
                # items to follow (its filters are fuzzed on their own, above).
                case.query = {}

        def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
            operation = f"{case.method.lower()} {case.operation.path}"
            answers[operation].add(response.status_code)
            try:
                case.validate_response(response, checks=CHECKS)
                error_shape(response)
            except (Exception, BaseExceptionGroup) as error:
                # Collected, not raised: the app's data changes from one scenario to the
                # next, so Hypothesis could not replay (shrink) a failing sequence anyway.
                failures.setdefault(operation, f"{type(error).__name__}: {error}"[:2000])

        def setup(self) -> None:
            scenarios.append(1)

    scenarios: list[int] = []
    for _ in range(MAX_RESTARTS):
        left = scenarios_wanted - len(scenarios)
        if left <= 0:
            break
        try:
            Workflow.run(
                settings=settings(
                    max_examples=left,
                    stateful_step_count=STEPS,
                    phases=[Phase.generate],
                    **BOUNDED,
                )
            )
        except Flaky:
            # The app's data changed since Hypothesis first drew this sequence, so replaying
            # it took another path; schemathesis' own runner carries on the same way.
            continue
    return answers, failures


@pytest.mark.parametrize("role", list(Role), ids=[r.value for r in Role])
def test_stateful_sequences_along_the_links_never_answer_5xx(
    api_schema: Any, role_headers: dict[Role, dict[str, str]], role: Role
) -> None:
    headers = role_headers[role]
    linked = api_schema.include(name=linked_operations())
    _, failures = run_workflow(linked, headers, SCENARIOS[role])
    assert failures == {}, "\n\n".join(f"{k}\n{v}" for k, v in failures.items())


def test_every_rma_operation_reached_along_the_links_acts_on_a_real_rma(
    api_schema: Any, role_headers: dict[Role, dict[str, str]]
) -> None:
    """Following the links from the returns list and intake, every RMA operation acts on a real
    RMA: done (200, 201), or refused for the state that RMA is in (409); not only 404 for an
    RMA that does not exist. Only the returns operations take part, so that each gets turns
    however many other operations the API grows."""
    returns_only = [op for op in linked_operations() if op.split(" ", 1)[1].startswith(RETURNS)]
    linked = api_schema.include(name=returns_only)
    answers, failures = run_workflow(linked, role_headers[Role.ADMIN], RMA_SCENARIOS)
    assert failures == {}, "\n\n".join(f"{k}\n{v}" for k, v in failures.items())
    reached = {
        f"{method} {path}": sorted(answers[f"{method} {path}"])
        for _, method, path in RMA_OPERATIONS
    }
    missed = [
        op
        for op, statuses in reached.items()
        if not {200, 201, 409} & set(statuses) and op not in NEEDS_A_VALID_BODY
    ]
    assert missed == [], {op: reached[op] for op in missed}


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
