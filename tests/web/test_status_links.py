"""The status page link as an attacker sees it: random, kept hashed, revoked at once, ending.

An old signed link, a guessed or forged token, a rotated link and an expired link are each a
plain 404 that says nothing about the RMA; the desk's "send a new link" e-mails one that works.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from itsdangerous import URLSafeSerializer
from sqlalchemy import select

from accounts.models import Role
from core.audit import AuditEntry
from returns.models import StatusLink
from returns.status_links import token_hash
from tests.support import desk as builders
from tests.web.test_pages import PASSWORD, csrf_token, sign_in
from tests.web.test_status_page import STAFF, open_return

PUBLIC = "https://returns.example.com"


@pytest.fixture
def app_config(smtp_sink: Any) -> dict[str, Any]:
    return {
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": smtp_sink.port,
        "PUBLIC_URL": PUBLIC,
        "STATUS_PAGE_GRACE_DAYS": 10,
        "STATUS_PAGE_RATE_LIMIT": "1000 per minute",
    }


@pytest.fixture
def shop(app: Any) -> Any:
    services = app.extensions["spareflow"]
    services.inventory.create_location(code="MAIN/A-01-01")
    services.inventory.create_part(sku="FAN-80", name="Cooling fan 80mm")
    services.auth.create_user("agent@links.example", Role.SERVICE_DESK, PASSWORD)
    return services


def path_of(url: str) -> str:
    assert url.startswith(f"{PUBLIC}/status/")
    return url.removeprefix(PUBLIC)


def says_nothing(response: Any, number: str) -> None:
    assert response.status_code == 404
    body = response.get_data(as_text=True)
    assert number not in body and "Mia" not in body and "mia@example.com" not in body


def links_in_mail(smtp_sink: Any, number: str) -> list[str]:
    found = []
    for message in smtp_sink.messages:
        if number in str(message["Subject"]):
            text = message.get_body(preferencelist=("plain",)).get_content()
            found += re.findall(rf"{re.escape(PUBLIC)}/status/[A-Za-z0-9_-]+", text)
    return found


def test_old_signed_guessed_and_forged_links_open_nothing(client: Any, shop: Any) -> None:
    number = open_return(shop)
    good = path_of(shop.status_links.issue(number))
    assert client.get(good).status_code == 200
    token = good.rsplit("/", 1)[1]
    assert len(token) >= 43  # 32 random bytes
    # The link of before (the number signed with SECRET_KEY): the attacker who has the key.
    signed = URLSafeSerializer("test-secret-key", salt="rma-status-page").dumps(number)
    # A token's hash (what a copy of the database holds), a neighbour, a guess, the number.
    neighbour = token[:-1] + ("B" if token.endswith("A") else "A")
    for forged in (signed, token_hash(token), neighbour, "A" * 43, number, "x" * 5000):
        says_nothing(client.get(f"/status/{forged}"), number)
        says_nothing(client.get(f"/status/{forged}/sheet"), number)


def test_only_the_hash_of_a_link_is_stored(app: Any, shop: Any) -> None:
    number = open_return(shop)
    token = shop.status_links.issue(number).rsplit("/", 1)[1]
    with shop.session_factory() as session:
        stored = session.scalars(select(StatusLink.token_hash)).all()
    assert token_hash(token) in stored and token not in stored


def test_the_desk_sends_a_new_link_and_the_old_ones_stop_at_once(
    app: Any, shop: Any, smtp_sink: Any
) -> None:
    number = open_return(shop)
    builders.authorise(shop.returns, STAFF, number, carrier="sandbox", tracking_number="SBX-L1")
    shop.outbox.drain()
    [old_link] = links_in_mail(smtp_sink, number)  # the authorisation e-mail's own link
    customer = app.test_client()
    assert customer.get(path_of(old_link)).status_code == 200
    other = shop.status_links.issue(number)  # another link of the same RMA

    desk = app.test_client()
    assert sign_in(desk, "agent@links.example", PASSWORD).status_code == 302
    token = csrf_token(desk.get(f"/returns/{number}").get_data(as_text=True))
    answer = desk.post(f"/returns/{number}/status-link", data={"csrf_token": token})
    assert answer.status_code == 302
    page = desk.get(f"/returns/{number}").get_data(as_text=True)
    assert "a new status page link was e-mailed to the customer" in page
    [shown] = re.findall(rf"{re.escape(PUBLIC)}/status/[A-Za-z0-9_-]+", page)

    for revoked in (old_link, other):
        says_nothing(customer.get(path_of(revoked)), number)
    shop.outbox.drain()
    new_links = [link for link in links_in_mail(smtp_sink, number) if link != old_link]
    assert new_links == [shown]
    assert customer.get(path_of(shown)).status_code == 200
    assert "earlier links no longer work" in page  # on the timeline
    with shop.session_factory() as session:
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "status_link.rotated")
        ).one()
    assert (entry.actor, entry.target) == ("agent@links.example", number)
    assert entry.details == {"revoked": 2, "emailed": True}


def test_the_api_sends_a_new_link_for_the_desk_only(
    client: Any, shop: Any, role_headers: Any
) -> None:
    number = open_return(shop)
    old = path_of(shop.status_links.issue(number))
    refused = client.post(
        f"/api/v1/returns/{number}/status-link", json={}, headers=role_headers[Role.BUYER]
    )
    assert refused.status_code == 403
    assert client.get(old).status_code == 200  # a refused call revokes nothing
    made = client.post(
        f"/api/v1/returns/{number}/status-link",
        json={"reason": "The customer deleted the e-mail"},
        headers=role_headers[Role.SERVICE_DESK],
    )
    assert made.status_code == 201, made.json
    assert made.json["emailed"] is True
    timeline = client.get(f"/api/v1/returns/{number}", headers=role_headers[Role.SERVICE_DESK])
    assert "The customer deleted the e-mail" in timeline.get_data(as_text=True)
    says_nothing(client.get(old), number)
    assert client.get(path_of(made.json["status_url"])).status_code == 200
    # At once again (the same instant): a second new link, e-mailed too; the first one dies.
    again = client.post(
        f"/api/v1/returns/{number}/status-link",
        json={},
        headers=role_headers[Role.SERVICE_DESK],
    )
    assert again.status_code == 201 and again.json["emailed"] is True
    says_nothing(client.get(path_of(made.json["status_url"])), number)
    assert client.get(path_of(again.json["status_url"])).status_code == 200
    missing = client.post(
        "/api/v1/returns/RMA-20990101-0001/status-link",
        json={},
        headers=role_headers[Role.SERVICE_DESK],
    )
    assert missing.status_code == 404


def test_every_link_ends_with_the_grace_period_and_cannot_be_renewed_then(
    client: Any, shop: Any, clock: Any, role_headers: Any
) -> None:
    number = open_return(shop)
    link = path_of(shop.status_links.issue(number))
    shop.returns.authorisation.cancel(STAFF, number, "customer changed their mind")
    clock.advance(timedelta(days=9))
    assert client.get(link).status_code == 200
    clock.advance(timedelta(days=1, seconds=1))
    says_nothing(client.get(link), number)
    renewed = client.post(
        f"/api/v1/returns/{number}/status-link",
        json={},
        headers=role_headers[Role.SERVICE_DESK],
    )
    assert renewed.status_code == 422
    assert renewed.json["error"]["code"] == "status_page_closed"
    says_nothing(client.get(path_of(shop.status_links.issue(number))), number)
