"""The OpenAPI document is valid, complete, and browsable without the internet."""

from __future__ import annotations

import re
from typing import Any

from openapi_spec_validator import validate

from tests.web.test_api_roles import EXPECTED_ROLES, PUBLIC_WRITES


def test_the_openapi_document_is_valid_openapi_3(client: Any) -> None:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.json
    assert document["openapi"].startswith("3.")
    validate(document)


def test_every_operation_states_its_security_roles_and_error_shape(client: Any) -> None:
    document = client.get("/api/v1/openapi.json").json
    operations = [
        (path, method, op)
        for path, item in document["paths"].items()
        for method, op in item.items()
        if method in {"get", "post", "patch", "delete", "put"}
    ]
    assert len(operations) == len(EXPECTED_ROLES) + len(PUBLIC_WRITES)
    for path, method, operation in operations:
        if path in PUBLIC_WRITES:  # the returns portal: no token, and says why
            assert operation["security"] == [] and operation["x-public"], path
            assert {"default", "404", "429"} <= set(operation["responses"]), path
            continue
        assert operation["security"] == [{"bearerAuth": []}], (path, method)
        assert operation["x-roles"], (path, method)
        assert {"default", "401", "403"} <= set(operation["responses"]), (path, method)
    error = document["components"]["schemas"]["Error"]
    assert error["required"] == ["error"]
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_the_request_schemas_carry_the_documented_field_names(client: Any) -> None:
    schemas = client.get("/api/v1/openapi.json").json["components"]["schemas"]
    assert {"sku", "location", "qty", "reference", "reason"} <= set(
        schemas["Receipt"]["properties"]
    )
    assert set(schemas["Receipt"]["required"]) == {"sku", "location", "qty"}
    assert schemas["Receipt"]["properties"]["qty"]["minimum"] == 1


def test_the_api_browser_loads_only_local_assets(client: Any) -> None:
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources, html
    for source in sources:
        # Swagger UI from the installed bundle; its starter from our static files (the CSP
        # forbids inline script).
        assert source.startswith(("/api/v1/docs/assets/", "/static/")), source
        with client.get(source) as asset:  # closes the streamed file
            assert asset.status_code == 200, source
            assert len(asset.data) > (1000 if "/assets/" in source else 100)


def test_every_operation_on_one_resource_is_reached_by_a_link(client: Any) -> None:
    """An operation with an identifier in its path (an RMA, an order, a part) is the target of
    OpenAPI links from the answers that carry that identifier, each naming an operation and a
    parameter that exist: a client (and the fuzz run's state machine) follows them instead of
    guessing numbers that answer 404."""
    document = client.get("/api/v1/openapi.json").json
    operations = {
        f"#/paths/{path.replace('~', '~0').replace('/', '~1')}/{method}": (path, method, op)
        for path, item in document["paths"].items()
        for method, op in item.items()
        if method in {"get", "post", "patch", "delete", "put"}
    }
    targeted: set[str] = set()
    for path, method, operation in operations.values():
        for status, response in operation["responses"].items():
            for name, link in response.get("links", {}).items():
                target_path = operations[link["operationRef"]][0]
                assert set(link["parameters"]) <= set(re.findall(r"{(\w+)}", target_path)), name
                assert all(v.startswith("$response.body#/") for v in link["parameters"].values())
                assert status.startswith("2"), (path, method, status, name)
                targeted.add(link["operationRef"])
    with_identifier = {ref for ref, (path, _, _) in operations.items() if "{" in path}
    assert sorted(with_identifier - targeted) == []
