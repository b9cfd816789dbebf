"""ShopifyRefunds against a loopback Shopify (tests/support/fake_shopify.py): the documented
refund request, Shopify's refusals, retryable errors, and exactly once without an
idempotency key (our key in the note, looked up first)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from core.outbox import PermanentFailure
from returns.shopify_refunds import ShopifyRefunds, idempotency_marker
from tests.support.fake_shopify import FakeShopify, fake_shopify

ORDER = "450789469"


@pytest.fixture
def shop() -> Iterator[FakeShopify]:
    with fake_shopify() as fake:
        fake.add_order(ORDER, paid="199.00", currency="EUR")
        yield fake


@pytest.fixture
def adapter(shop: FakeShopify) -> Iterator[ShopifyRefunds]:
    with httpx.Client(timeout=5) as http:
        yield ShopifyRefunds(shop.api_base, shop.access_token, http=http)


def refund(adapter: ShopifyRefunds, amount_minor: int = 4194, key: str = "refund:RMA-1") -> dict:
    return adapter.refund(
        payment_reference=ORDER,
        amount_minor=amount_minor,
        idempotency_key=key,
        metadata={"rma": "RMA-1"},
    )


def test_a_refund_is_made_against_the_orders_payment_in_its_currency(
    shop: FakeShopify, adapter: ShopifyRefunds
) -> None:
    made = refund(adapter)

    assert made["status"] == "succeeded" and made["amount"] == 4194
    [body] = shop.posted_refunds()
    sale = shop.orders[ORDER]["transactions"][0]
    assert body == {
        "refund": {
            "currency": "EUR",
            "notify": False,
            "note": f"Return RMA-1 {idempotency_marker('refund:RMA-1')}",
            "transactions": [
                {"parent_id": sale["id"], "amount": "41.94", "kind": "refund", "gateway": "bogus"}
            ],
        }
    }
    [stored] = shop.refunds_of(ORDER)
    assert made["id"] == str(stored["id"])
    # The order's refunds were read before the refund was made (the exactly-once check).
    methods = [(m, p.rsplit("/", 1)[-1]) for m, p, _ in shop.requests]
    assert methods == [
        ("GET", "refunds.json"),
        ("GET", "transactions.json"),
        ("POST", "refunds.json"),
    ]


def test_the_same_key_again_answers_the_earlier_refund_and_makes_none(
    shop: FakeShopify, adapter: ShopifyRefunds
) -> None:
    first = refund(adapter)
    again = refund(adapter)
    assert again == first
    assert len(shop.refunds_of(ORDER)) == 1 and len(shop.posted_refunds()) == 1
    other = refund(adapter, amount_minor=1000, key="refund:RMA-1:2")  # a new request: new key
    assert other["id"] != first["id"] and len(shop.refunds_of(ORDER)) == 2


def test_an_answer_lost_after_shopify_refunded_is_found_on_the_retry(
    shop: FakeShopify, adapter: ShopifyRefunds
) -> None:
    shop.drop_answer_after_next("refund_create")
    with pytest.raises(httpx.TransportError):  # not PermanentFailure: the outbox retries
        refund(adapter)
    assert len(shop.refunds_of(ORDER)) == 1  # Shopify did refund

    found = refund(adapter)
    assert found["id"] == str(shop.refunds_of(ORDER)[0]["id"])
    assert len(shop.refunds_of(ORDER)) == 1 and len(shop.posted_refunds()) == 1


def test_more_than_is_refundable_is_a_permanent_failure_with_shopifys_message(
    shop: FakeShopify, adapter: ShopifyRefunds
) -> None:
    with pytest.raises(PermanentFailure) as refused:
        refund(adapter, amount_minor=25_000)  # 250.00 of 199.00
    assert "Shopify 422" in str(refused.value)
    assert "less than or equal to the refundable amount" in str(refused.value)
    assert shop.refunds_of(ORDER) == []


@pytest.mark.parametrize(
    ("status", "body", "retry_after"),
    [
        (500, {"errors": "Internal Server Error"}, None),
        (503, {"errors": "Service Unavailable"}, None),
        (429, "refund_error_429.json", "2.0"),
        (402, {"errors": "Unavailable Shop"}, None),
    ],
)
def test_shopifys_passing_errors_raise_for_the_outbox_to_retry(
    shop: FakeShopify, adapter: ShopifyRefunds, status: int, body: object, retry_after: str | None
) -> None:
    shop.fail_next("refund_create", status, body, retry_after)
    with pytest.raises(httpx.HTTPStatusError) as failed:
        refund(adapter)
    assert failed.value.response.status_code == status
    assert not isinstance(failed.value, PermanentFailure)
    assert shop.refunds_of(ORDER) == []
    assert refund(adapter)["status"] == "succeeded"  # the retry makes it, once
    assert len(shop.refunds_of(ORDER)) == 1


def test_a_wrong_access_token_is_retried_not_refused(shop: FakeShopify) -> None:
    with httpx.Client(timeout=5) as http:
        wrong = ShopifyRefunds(shop.api_base, "shpat_wrong", http=http)
        with pytest.raises(httpx.HTTPStatusError) as failed:
            refund(wrong)
    assert failed.value.response.status_code == 401  # an admin fixes the token; then it goes


def test_an_order_shopify_does_not_know_is_refused(adapter: ShopifyRefunds) -> None:
    with pytest.raises(PermanentFailure, match="Shopify 404"):
        adapter.refund(payment_reference="999", amount_minor=100, idempotency_key="k", metadata={})
    with pytest.raises(PermanentFailure, match="not a Shopify order id"):
        adapter.refund(
            payment_reference="pi_3Stripe", amount_minor=100, idempotency_key="k", metadata={}
        )


def test_settings_build_the_shops_admin_url_or_nothing() -> None:
    assert ShopifyRefunds.from_settings({"SHOPIFY_SHOP_DOMAIN": "x.myshopify.com"}) is None
    assert ShopifyRefunds.from_settings({"SHOPIFY_ACCESS_TOKEN": "shpat_1"}) is None
    live = ShopifyRefunds.from_settings(
        {"SHOPIFY_SHOP_DOMAIN": "https://parts.myshopify.com/", "SHOPIFY_ACCESS_TOKEN": "shpat_1"}
    )
    assert live is not None
    assert live.api_base == "https://parts.myshopify.com/admin/api/2025-01"
    pinned = ShopifyRefunds.from_settings(
        {
            "SHOPIFY_SHOP_DOMAIN": "parts.myshopify.com",
            "SHOPIFY_API_VERSION": "2025-07",
            "SHOPIFY_ACCESS_TOKEN": "shpat_1",
        }
    )
    assert pinned is not None and pinned.api_base.endswith("/admin/api/2025-07")
    fake = ShopifyRefunds.from_settings(
        {"SHOPIFY_ADMIN_API_BASE": "http://127.0.0.1:1/admin/api/x", "SHOPIFY_ACCESS_TOKEN": "t"}
    )
    assert fake is not None and fake.api_base == "http://127.0.0.1:1/admin/api/x"
