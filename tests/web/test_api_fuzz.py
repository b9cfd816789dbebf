"""Fuzz every operation of /api/v1/openapi.json with schemathesis, in-process (WSGI).

Bounded: a fixed number of generated requests per operation, derandomised, no deadline, no
example database. Authenticated as an admin (every operation admits admins), so the fuzzing
reaches the handlers instead of stopping at 401/403. Every answer must be:

- not a 5xx (schemathesis' ``not_a_server_error``);
- conformant to the response schema the document declares for its status
  (``response_schema_conformance``), which for every error is the ``Error`` schema, with a
  status and a content type the document lists (``status_code_conformance``,
  ``content_type_conformance``);
- and, for every 4xx, the documented error shape of web/errors.py: exactly
  ``{"error": {"code": str, "message": str, "details": object}}``.
"""

from __future__ import annotations

import re
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

from tests.web.test_api_roles import EXPECTED_ROLES
from web.auth.models import Role

#: Not ``negative_data_rejection``: its "invalid" requests include ones whose only fault is a
#: missing Authorization header, which this test always sends.
CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    content_type_conformance,
]

#: Generated requests per operation (x ~48 operations; about a minute in all on SQLite).
MAX_EXAMPLES = 12


def openapi_path(rule: str) -> str:
    """``/api/v1/parts/<sku>`` (Flask) as ``/api/v1/parts/{sku}`` (OpenAPI)."""
    return re.sub(r"<(?:[^:>]+:)?(\w+)>", r"{\1}", rule)


@pytest.fixture
def api_schema(app: Any) -> Any:
    services = app.extensions["spareflow"]
    inventory = services.inventory
    # A little data, so list endpoints answer with items whose schema is checked too.
    inventory.create_supplier(code="ACME", name="Acme Parts")
    inventory.create_location(code="MAIN/A-01-01")
    inventory.create_part(sku="FAN-80", name="Cooling fan", supplier="ACME", reorder_point=5)
    inventory.receive("fuzz", sku="FAN-80", location="MAIN/A-01-01", qty=10, reference="PO-1")
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


@pytest.mark.parametrize(("method", "rule"), sorted(EXPECTED_ROLES))
def test_no_api_operation_answers_5xx_or_an_undocumented_error_shape(
    api_schema: Any, role_headers: dict[Role, dict[str, str]], method: str, rule: str
) -> None:
    operation = api_schema[openapi_path(rule)][method]
    headers = role_headers[Role.ADMIN]

    # Valid requests and invalid ones (wrong types, missing fields, values out of range).
    cases = st.one_of(
        operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
        operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    )

    @given(case=cases)
    @settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def fuzz(case: Any) -> None:
        response = case.call(headers=headers)
        case.validate_response(response, checks=CHECKS)
        error_shape(response)

    fuzz()


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
