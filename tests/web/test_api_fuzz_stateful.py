"""Fuzz the API along its OpenAPI links with schemathesis' state machine, in-process (WSGI).

The state machine follows the document's links (web/api/links.py) from one answer to the next
operation, so that the RMA, purchase-order, part, shipment, reservation and replacement
operations are called with identifiers that exist, not only answered 404: with every role's
token, on SQLite and on PostgreSQL, on the data test_api_fuzz.py seeds, and held to the same
checks (no 5xx, the documented response schemas, the documented error shape).

Its own file, apart from the operation-by-operation fuzzing in test_api_fuzz.py, so that
pytest-xdist (``--dist loadfile``) runs the two halves on different workers.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest
from hypothesis import Phase, settings
from hypothesis.errors import Flaky

from accounts.models import Role
from tests.web.test_api_fuzz import BOUNDED, CHECKS, api_schema, error_shape
from web.api.links import LINKS, RMA_OPERATIONS

__all__ = ["api_schema"]  # the fixture, shared with test_api_fuzz.py

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


def linked_operations() -> list[str]:
    """The operations the document's links join ("GET /api/v1/returns", ...), both ends."""
    labels = set()
    for (method, path, _), links in LINKS.items():
        labels.add(f"{method.upper()} {path}")
        for link in links.values():
            target, _, target_method = link["operationRef"].removeprefix("#/paths/").rpartition("/")
            labels.add(f"{target_method.upper()} {target.replace('~1', '/').replace('~0', '~')}")
    return sorted(labels)


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
