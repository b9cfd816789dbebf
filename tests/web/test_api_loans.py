"""The loaner endpoints through the Flask test client: lend on an RMA, the 409 when the pool
is empty, list out and overdue, return, and the supervisor-only charge with its amount."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.models import Role
from inventory.commands import ReceiveStock
from inventory.status import LocationKind
from returns.status import Channel, Reason, Resolution
from tests.support import desk as builders


@pytest.fixture
def api(client: Any, role_headers: Any, app: Any) -> Any:
    inventory = app.extensions["spareflow"].inventory
    inventory.create_location(code="MAIN/A-01-01")
    inventory.create_location(code="MAIN/LOANERS", kind=LocationKind.LOAN_POOL)
    inventory.create_part(sku="PHONE-X", name="Handset X")
    inventory.receive("setup", ReceiveStock(sku="PHONE-X", location="MAIN/LOANERS", qty=1))

    def call(method: str, path: str, role: Role = Role.SERVICE_DESK, **kwargs: Any) -> Any:
        return client.open(path, method=method, headers=role_headers[role], **kwargs)

    call.number = builders.open_rma(  # type: ignore[attr-defined]
        app.extensions["spareflow"].returns,
        customer={"name": "Mia Chen", "email": "mia@example.com"},
        channel=Channel.PHONE,
        reason=Reason.DEFECTIVE,
        resolution=Resolution.REPAIR,
        lines=[{"sku": "PHONE-X", "qty": 1, "unit_price": "300.00"}],
    ).number
    return call


def test_a_loaner_is_lent_listed_charged_by_a_supervisor_and_never_twice(api: Any) -> None:
    number = api.number
    lent = api("POST", f"/api/v1/returns/{number}/loans", json={"sku": "PHONE-X", "serial": "S1"})
    assert lent.status_code == 201, lent.json
    loan = lent.json
    assert (loan["rma_number"], loan["status"], loan["pool"]) == (number, "out", "MAIN/LOANERS")

    empty = api("POST", f"/api/v1/returns/{number}/loans", json={"sku": "PHONE-X"})
    assert (empty.status_code, empty.json["error"]["code"]) == (409, "loaner_unavailable")

    listed = api("GET", "/api/v1/loans?status=out", Role.WAREHOUSE).json
    assert [row["id"] for row in listed] == [loan["id"]]
    assert api("GET", "/api/v1/loans?status=overdue").json == []
    assert api("GET", "/api/v1/loans?status=lost").status_code == 422

    charge = {"amount": "80.00", "reason": "kept it"}
    refused = api("POST", f"/api/v1/loans/{loan['id']}/charge", json=charge)
    assert refused.status_code == 403
    charged = api("POST", f"/api/v1/loans/{loan['id']}/charge", Role.ADMIN, json=charge)
    assert charged.status_code == 200, charged.json
    assert (charged.json["status"], charged.json["charge_amount"]) == ("charged", "80.0000")

    again = api("POST", f"/api/v1/loans/{loan['id']}/return", Role.WAREHOUSE, json={})
    assert (again.status_code, again.json["error"]["code"]) == (409, "loan_not_out")
    assert api("GET", "/api/v1/loans/999999").status_code == 404
