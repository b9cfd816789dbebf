"""A failed prepaid label over HTTP: the API's ``label/approve`` and ``label/retry``, and the
RMA page's "Try the label again" and "Approve a dearer label" forms, with the sandbox carrier
selling labels over loopback (its rates: 6.50, 14.50, 29.00 USD; the ceiling here 5.00)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from accounts.models import Role
from core.audit import AuditEntry
from core.db import UnitOfWork
from returns.models import Notification
from tests.web.test_pages import PASSWORD, csrf_token, sign_in
from tests.web.test_refund_trigger_http import authorise, open_rma


@pytest.fixture
def app_config(carrier_sandbox: str) -> dict[str, Any]:
    with httpx.Client(base_url=carrier_sandbox, timeout=10) as http:
        http.post("/v1/sandbox/reset").raise_for_status()
    return {"SANDBOX_CARRIER_URL": carrier_sandbox, "RETURNS_LABEL_CEILING_MINOR": 500}


@pytest.fixture
def refused(app: Any, client: Any, role_headers: Any) -> str:
    """An RMA whose label the outbox could not buy: above the ceiling."""
    services = app.extensions["spareflow"]
    services.inventory.create_location(code="MAIN/RETURNS")
    services.inventory.create_part(sku="FAN-80", name="Cooling fan 80mm")

    def api(method: str, path: str, **kwargs: Any) -> Any:
        headers = role_headers[Role.SERVICE_DESK]
        return client.open(path, method=method, headers=headers, **kwargs)

    number = open_rma(api)
    authorise(api, number)
    services.outbox.drain()
    assert services.returns.label_desk.failure(number) is not None
    return number


def unread_alerts(app: Any) -> list[str]:
    with UnitOfWork(app.extensions["spareflow"].session_factory) as uow:
        return list(
            uow.session.scalars(
                select(Notification.message).where(
                    Notification.kind == "label_failed", Notification.read_at.is_(None)
                )
            )
        )


def test_the_api_approves_a_dearer_label_for_a_supervisor_only(
    app: Any, client: Any, role_headers: Any, refused: str
) -> None:
    path = f"/api/v1/returns/{refused}/label/approve"
    body = {"ceiling_minor": 1500, "reason": "Long wait"}
    desk = client.post(path, json=body, headers=role_headers[Role.SERVICE_DESK])
    assert desk.status_code == 403
    low = client.post(path, json={**body, "ceiling_minor": 100}, headers=role_headers[Role.ADMIN])
    assert (low.status_code, low.json["error"]["code"]) == (422, "below_cheapest")
    bad = client.post(path, json={"ceiling_minor": "lots"}, headers=role_headers[Role.ADMIN])
    assert bad.status_code == 422
    approved = client.post(path, json=body, headers=role_headers[Role.ADMIN])
    assert approved.status_code == 200
    assert unread_alerts(app) == []
    app.extensions["spareflow"].outbox.drain()
    rma = client.get(f"/api/v1/returns/{refused}", headers=role_headers[Role.ADMIN]).json
    assert rma["status"] == "awaiting_pickup"
    with UnitOfWork(app.extensions["spareflow"].session_factory) as uow:
        actions = uow.session.scalars(select(AuditEntry.action)).all()
    assert "return_label.dearer_approved" in actions
    again = client.post(path, json=body, headers=role_headers[Role.ADMIN])
    assert (again.status_code, again.json["error"]["code"]) == (409, "label_not_failed")


def test_the_api_tries_a_label_again_for_the_desk(
    app: Any, client: Any, role_headers: Any, refused: str
) -> None:
    path = f"/api/v1/returns/{refused}/label/retry"
    warehouse = client.post(path, json={}, headers=role_headers[Role.WAREHOUSE])
    assert warehouse.status_code == 403
    retried = client.post(
        path, json={"note": "funds topped up"}, headers=role_headers[Role.SERVICE_DESK]
    )
    assert retried.status_code == 200
    assert (
        retried.json["timeline"][-1]["reason"]
        == "Prepaid return label tried again: funds topped up"
    )
    app.extensions["spareflow"].outbox.drain()  # still above the ceiling: refused again
    assert len(unread_alerts(app)) == 1
    assert app.extensions["spareflow"].returns.label_desk.failure(refused) is not None


def test_the_rma_page_shows_why_and_offers_the_buttons(app: Any, refused: str) -> None:
    services = app.extensions["spareflow"]
    for role in (Role.SERVICE_DESK, Role.ADMIN):
        services.auth.create_user(f"{role.value}@page.example", role, PASSWORD)
    desk = app.test_client()
    sign_in(desk, "service_desk@page.example", PASSWORD)
    page = desk.get(f"/returns/{refused}").get_data(as_text=True)
    assert "the cheapest label costs 6.50 USD, above the 5.00 USD ceiling" in page
    assert 'id="retry-label"' in page and 'id="approve-label"' not in page
    tried = desk.post(
        f"/returns/{refused}/retry-label",
        data={"csrf_token": csrf_token(page)},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert f"A new prepaid label for {refused} is being bought." in tried
    assert "Prepaid return label tried again" in tried
    services.outbox.drain()  # still above the ceiling: refused again, and said so
    assert 'id="retry-label"' in desk.get(f"/returns/{refused}").get_data(as_text=True)

    admin = app.test_client()
    sign_in(admin, "admin@page.example", PASSWORD)
    page = admin.get(f"/returns/{refused}").get_data(as_text=True)
    assert 'id="approve-label"' in page
    low = admin.post(
        f"/returns/{refused}/approve-label",
        data={"csrf_token": csrf_token(page), "amount": "4.00", "reason": "cheap"},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "Approve at least the cheapest quote, 6.50 USD." in low
    admin.post(
        f"/returns/{refused}/approve-label",
        data={"csrf_token": csrf_token(low), "amount": "15.00", "reason": "Long wait"},
    )
    services.outbox.drain()
    page = admin.get(f"/returns/{refused}").get_data(as_text=True)
    assert 'id="label-failed"' not in page and 'id="retry-label"' not in page
    assert "Prepaid return label up to 15.00 USD approved: Long wait" in page
    assert services.returns.get(refused).status.value == "awaiting_pickup"
