"""Shopify's order JSON read as spareflow's orders: pure functions, no database, no HTTP.

Authenticity (https://shopify.dev/docs/apps/build/webhooks/verify-deliveries): each HTTPS
delivery carries ``X-Shopify-Hmac-Sha256``, the base64 HMAC-SHA256 of the raw body under the
app's client secret (or the store's webhook signing key). It is decoded and compared as bytes,
in constant time; there is no timestamp in the signature, so replays are stopped by storing
each ``X-Shopify-Webhook-Id`` once (sales/order_webhooks.py).

The mapping (docs/orders.md "Shopify order webhooks" says the same for integrators):

- number: the order's ``name`` (``#1001``), what the customer sees on their receipt;
  ``external_id``: the order's numeric ``id``, what refunds/create names the order by.
- payment_reference: the order's numeric ``id`` too. A Shopify order is refunded through
  Shopify, against the order (returns/shopify_refunds.py takes this id as its payment
  reference; returns/refund_providers.py routes by the order's source), not against a payment
  provider's charge; the webhook's Order carries no transactions to name instead.
- lines: ``line_items`` with ``sku``, ``quantity``, ``price`` and ``id``. A line without a SKU
  (a custom item, a tip, a gift card) is left out: spareflow takes back parts by SKU and such a
  line is not one. The lines left out are listed in the note the webhook event keeps.
- the address: ``shipping_address``, checked with core/addresses.py's rules; one that breaks a
  rule is dropped (the order is kept without it) and the note says which field and why.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from core.addresses import PostalAddress, address_problems
from core.errors import DomainError
from sales.commands import OrderCustomer, OrderLineInput, UpsertOrder
from sales.models import OrderSource

CHANNEL = "shopify"
HMAC_HEADER = "X-Shopify-Hmac-Sha256"
TOPIC_HEADER = "X-Shopify-Topic"
WEBHOOK_ID_HEADER = "X-Shopify-Webhook-Id"
SHOP_HEADER = "X-Shopify-Shop-Domain"

#: ISO 4217 currencies whose minor unit is not the cent (the rest have two decimals).
CURRENCY_EXPONENTS = {
    **dict.fromkeys(("BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG"), 0),
    **dict.fromkeys(("RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF"), 0),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
}


class OrderWebhookRejected(DomainError):
    """Authenticity not proven (no secret configured, no or a wrong signature): a 401."""

    code = "webhook_rejected"


class ShopifyPayloadError(DomainError):
    """An authentic delivery that is not what Shopify documents (no webhook id or topic
    header, a body that is not the resource its topic promises)."""

    code = "malformed_webhook"


def hmac_of(secret: str, body: bytes) -> str:
    """The ``X-Shopify-Hmac-Sha256`` value Shopify sends for ``body``."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def signature_matches(secret: str, body: bytes, header: str | None) -> bool:
    """True when ``header`` is the base64 HMAC-SHA256 of ``body`` under ``secret``."""
    if not secret or not header:
        return False
    try:
        sent = base64.b64decode(header.strip(), validate=True)
    except (binascii.Error, ValueError):
        return False
    expected = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()
    return hmac.compare_digest(expected, sent)


@dataclass(frozen=True)
class MappedOrder:
    """The command for the sales service, and what was left out of it on the way."""

    command: UpsertOrder
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ShopifyRefund:
    id: str
    order_id: str
    #: The successful ``refund`` transactions, summed, in the order currency's minor units.
    amount_minor: int


def to_minor(amount: Decimal, currency: str) -> int:
    exponent = CURRENCY_EXPONENTS.get(currency.upper(), 2)
    return int((amount * (10**exponent)).to_integral_value())


def parse_time(value: Any, field: str) -> datetime:
    if not isinstance(value, str) or not value:
        raise ShopifyPayloadError(f"The order's {field} is missing.")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ShopifyPayloadError(f"The order's {field} is not an ISO 8601 time.") from None
    if parsed.tzinfo is None:
        raise ShopifyPayloadError(f"The order's {field} has no UTC offset.")
    return parsed.astimezone(UTC)


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _identifier(value: Any, field: str) -> str:
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).strip():
        raise ShopifyPayloadError(f"The {field} is missing.")
    return str(value).strip()


def _decimal(value: Any, field: str) -> Decimal:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ShopifyPayloadError(f"The {field} is not an amount.") from None
    if not amount.is_finite():
        raise ShopifyPayloadError(f"The {field} is not an amount.")
    return amount


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def _customer_name(order: Mapping[str, Any]) -> str:
    for part in (_mapping(order.get("customer")), _mapping(order.get("shipping_address"))):
        name = " ".join(_text(part.get(k)) for k in ("first_name", "last_name")).strip()
        if name:
            return name
    for key in ("shipping_address", "billing_address"):
        name = _text(_mapping(order.get(key)).get("name"))
        if name:
            return name
    return _text(order.get("email"))  # no name anywhere: the e-mail names the customer


def _address(order: Mapping[str, Any]) -> tuple[PostalAddress | None, tuple[str, ...]]:
    shipping = _mapping(order.get("shipping_address"))
    if not shipping:
        return None, ()
    name = (
        _text(shipping.get("name"))
        or " ".join(_text(shipping.get(k)) for k in ("first_name", "last_name")).strip()
    )
    address = PostalAddress(
        name=name,
        company=_text(shipping.get("company")),
        street=_text(shipping.get("address1")),
        street2=_text(shipping.get("address2")),
        city=_text(shipping.get("city")),
        state=_text(shipping.get("province")),
        postcode=_text(shipping.get("zip")),
        country=_text(shipping.get("country_code")).upper(),
        phone=_text(shipping.get("phone")),
    )
    problems = address_problems(address.as_mapping())
    if problems:
        reasons = ", ".join(f"{field}: {code}" for field, code in sorted(problems.items()))
        return None, (f"shipping address dropped ({reasons})",)
    return address, ()


def _shipped_at(order: Mapping[str, Any]) -> datetime | None:
    """When the first successful fulfillment was created (none: not shipped yet)."""
    times = [
        parse_time(fulfillment.get("created_at"), "fulfillment's created_at")
        for fulfillment in order.get("fulfillments") or []
        if isinstance(fulfillment, dict) and fulfillment.get("status") == "success"
    ]
    return min(times, default=None)


def _lines(order: Mapping[str, Any]) -> tuple[tuple[OrderLineInput, ...], tuple[str, ...]]:
    items = order.get("line_items")
    if not isinstance(items, list):
        raise ShopifyPayloadError("The order has no line_items.")
    lines: list[OrderLineInput] = []
    left_out: list[str] = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise ShopifyPayloadError(f"line_items[{index}] is not a line item.")
        line_id = _identifier(item.get("id"), f"line_items[{index}].id")
        quantity = item.get("quantity")
        if isinstance(quantity, bool) or not isinstance(quantity, int):
            raise ShopifyPayloadError(f"line_items[{index}].quantity is not a whole number.")
        sku = _text(item.get("sku"))
        if not sku or quantity <= 0:
            left_out.append(line_id)
            continue
        lines.append(
            OrderLineInput(
                sku=sku,
                qty=quantity,
                unit_price=_decimal(item.get("price"), f"line_items[{index}].price"),
                external_id=line_id,
            )
        )
    notes = (f"line items without a SKU left out: {', '.join(left_out)}",) if left_out else ()
    return tuple(lines), notes


def order_command(order: Any) -> MappedOrder:
    """The ``UpsertOrder`` for Shopify's Order JSON (orders/create, /updated, /fulfilled)."""
    if not isinstance(order, dict):
        raise ShopifyPayloadError("The body is not a Shopify order.")
    number = _text(order.get("name"))
    if not number:
        raise ShopifyPayloadError("The order has no name (its number, e.g. #1001).")
    order_id = _identifier(order.get("id"), "order's id")
    currency = _text(order.get("currency")).upper()
    customer = _mapping(order.get("customer"))
    email = _text(order.get("email")) or _text(order.get("contact_email"))
    email = email or _text(customer.get("email"))
    phone = _text(order.get("phone")) or _text(customer.get("phone"))
    address, address_notes = _address(order)
    lines, line_notes = _lines(order)
    command = UpsertOrder(
        number=number,
        channel=CHANNEL,
        source=OrderSource.SHOPIFY,
        external_id=order_id,
        customer=OrderCustomer(
            name=_customer_name(order)[:200],
            email=email,
            phone=phone[:50] or None,
            address=address,
        ),
        ordered_at=parse_time(order.get("created_at"), "created_at"),
        shipped_at=_shipped_at(order),
        payment_reference=order_id[:100],
        currency=currency,
        lines=lines,
        provider_updated_at=parse_time(order.get("updated_at"), "updated_at"),
    )
    return MappedOrder(command, address_notes + line_notes)


def refund_of(refund: Any, currency: str) -> ShopifyRefund:
    """Shopify's Refund JSON (refunds/create): what it gave back, in minor units of
    ``currency`` (the order's). Only ``kind: refund`` transactions that succeeded count."""
    if not isinstance(refund, dict):
        raise ShopifyPayloadError("The body is not a Shopify refund.")
    total = Decimal(0)
    transactions = refund.get("transactions")
    if not isinstance(transactions, list):
        raise ShopifyPayloadError("The refund has no transactions list.")
    for index, transaction in enumerate(transactions):
        if not isinstance(transaction, dict):
            raise ShopifyPayloadError(f"transactions[{index}] is not a transaction.")
        if transaction.get("kind") == "refund" and transaction.get("status") == "success":
            total += _decimal(transaction.get("amount"), f"transactions[{index}].amount")
    return ShopifyRefund(
        id=_identifier(refund.get("id"), "refund's id"),
        order_id=_identifier(refund.get("order_id"), "refund's order_id"),
        amount_minor=to_minor(total, currency),
    )


def refund_order_id(refund: Any) -> str:
    """The numeric id of the order a Refund JSON belongs to."""
    if not isinstance(refund, dict):
        raise ShopifyPayloadError("The body is not a Shopify refund.")
    return _identifier(refund.get("order_id"), "refund's order_id")
