"""``POST /webhooks/shopify`` through the app: the answers Shopify's retries depend on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sales.shopify import hmac_of
from web.webhooks import MAX_WEBHOOK_BYTES

URL = "/webhooks/shopify"
SECRET = "shpss_http_tests"
BODY = (Path(__file__).parents[1] / "fixtures" / "shopify" / "orders_create.json").read_bytes()


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"SHOPIFY_WEBHOOK_SECRET": SECRET}


def post(client: Any, body: bytes, *, secret: str = SECRET, **headers: str) -> Any:
    sent = {
        "X-Shopify-Topic": "orders/create",
        "X-Shopify-Hmac-Sha256": hmac_of(secret, body),
        "X-Shopify-Shop-Domain": "johns-apparel.myshopify.com",
        "X-Shopify-Webhook-Id": "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
        **headers,
    }
    return client.post(URL, data=body, content_type="application/json", headers=sent)


def test_a_signed_order_is_stored_then_a_repeat_is_acknowledged(app: Any, client: Any) -> None:
    first = post(client, BODY)
    assert first.status_code == 200
    assert first.json == {"received": True, "duplicate": False, "status": "applied"}
    assert app.extensions["spareflow"].orders.get("#9999").external_id == "820982911946154508"

    again = post(client, BODY)
    assert again.status_code == 200
    assert again.json == {"received": True, "duplicate": True, "status": "applied"}


def test_a_wrong_or_missing_signature_is_401(client: Any) -> None:
    wrong = post(client, BODY, secret="guessed")
    assert wrong.status_code == 401
    assert wrong.json["error"]["code"] == "webhook_rejected"
    missing = client.post(URL, data=BODY, headers={"X-Shopify-Webhook-Id": "x"})
    assert missing.status_code == 401
    assert "X-Shopify-Hmac-Sha256" in missing.json["error"]["message"]


def test_a_signed_delivery_without_webhook_id_is_400(client: Any) -> None:
    response = post(client, BODY, **{"X-Shopify-Webhook-Id": ""})
    assert response.status_code == 400
    assert response.json["error"]["code"] == "malformed_webhook"


def test_an_unreadable_but_signed_body_is_acknowledged_as_failed(client: Any) -> None:
    response = post(client, b"{not json")
    assert response.status_code == 200  # a retry would fail the same way
    assert response.json["status"] == "failed"


def test_a_body_over_the_limit_is_413(client: Any) -> None:
    body = b" " * (MAX_WEBHOOK_BYTES + 1)
    assert post(client, body).status_code == 413


@pytest.mark.parametrize("app_config", [{}])
def test_without_a_secret_the_endpoint_says_it_is_not_configured(client: Any) -> None:
    response = post(client, BODY, secret="")
    assert response.status_code == 401
    assert "not configured (SHOPIFY_WEBHOOK_SECRET)" in response.json["error"]["message"]
