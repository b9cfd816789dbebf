"""Refunds of Shopify orders through Shopify's Admin API (REST ``Refund`` resource).

Same contract as returns/refund_provider.py (``refund(...)`` -> ``{id, status, amount}``); the
payment reference is Shopify's numeric order id. The RMA's amount is refunded against the
order's successful ``sale``/``capture`` transaction (``GET orders/{id}/transactions.json``)
with ``POST orders/{id}/refunds.json`` and ``X-Shopify-Access-Token``.

Exactly once: the REST refund takes no idempotency key, so ours goes in the refund's ``note``
and the order's refunds (``GET orders/{id}/refunds.json``) are read first. A refund carrying
our key is answered, not made again: a retried outbox message, or a worker killed between
Shopify's answer and our commit, never refunds twice. (GraphQL ``refundCreate`` takes an
``@idempotent`` key from API version 2026-01; see docs/refunds.md.)

Errors: 400/404/422 (e.g. more than the refundable amount) are Shopify's "no", a
``PermanentFailure`` with Shopify's message; 401/402/403/423/429/5xx and network errors
propagate and the outbox retries them with its own backoff (it does not read Retry-After).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import httpx

from core.http import http_client
from core.outbox import PermanentFailure

DEFAULT_API_VERSION = "2025-01"
#: Transactions money can be refunded against (Shopify: a refund needs a captured payment).
REFUNDABLE_KINDS = ("sale", "capture")
#: Shopify's refund-transaction statuses that mean the money did not go back.
FAILED_STATUSES = frozenset({"failure", "error"})


def idempotency_marker(key: str) -> str:
    """What marks a refund as ours in its note: ``[spareflow:<key>]``."""
    return f"[spareflow:{key}]"


class ShopifyRefunds:
    name = "shopify"

    def __init__(
        self,
        api_base: str,
        access_token: str,
        *,
        minor_units: int = 2,
        notify: bool = False,
        http: httpx.Client | None = None,
    ):
        #: ``https://{shop}.myshopify.com/admin/api/{version}`` (or a fake's).
        self.api_base = api_base.rstrip("/")
        self.access_token = access_token
        self.minor_units = minor_units
        #: Shopify's own refund e-mail; off by default (spareflow tells the customer).
        self.notify = notify
        self.http = http or http_client(timeout=httpx.Timeout(20.0, connect=5.0))

    @classmethod
    def from_settings(
        cls,
        settings: Mapping[str, Any],
        *,
        minor_units: int = 2,
        http: httpx.Client | None = None,
    ) -> ShopifyRefunds | None:
        """From ``SHOPIFY_SHOP_DOMAIN`` (or ``SHOPIFY_ADMIN_API_BASE``, which a test's fake
        sets), ``SHOPIFY_API_VERSION`` and ``SHOPIFY_ACCESS_TOKEN`` (stored encrypted, or the
        environment); None when either is missing: Shopify orders' refunds are then held."""
        token = str(settings.get("SHOPIFY_ACCESS_TOKEN") or "").strip()
        base = str(settings.get("SHOPIFY_ADMIN_API_BASE") or "").strip()
        if not base:
            domain = str(settings.get("SHOPIFY_SHOP_DOMAIN") or "").strip().rstrip("/")
            domain = re.sub(r"^https?://", "", domain)
            if domain:
                version = str(settings.get("SHOPIFY_API_VERSION") or DEFAULT_API_VERSION)
                base = f"https://{domain}/admin/api/{version.strip()}"
        if not base or not token:
            return None
        notify = str(settings.get("SHOPIFY_REFUND_NOTIFY") or "").lower() in ("1", "true", "yes")
        return cls(base, token, minor_units=minor_units, notify=notify, http=http)

    def refund(
        self,
        *,
        payment_reference: str,
        amount_minor: int,
        idempotency_key: str,
        metadata: Mapping[str, str],
    ) -> dict[str, Any]:
        """Find our refund on the order (a repeated key), or make it. Retryable errors raise."""
        order_id = payment_reference.strip()
        if not order_id.isdigit():
            raise PermanentFailure(f"{order_id!r} is not a Shopify order id")
        marker = idempotency_marker(idempotency_key)
        for earlier in self._get(f"orders/{order_id}/refunds.json").get("refunds", []):
            if marker in (earlier.get("note") or ""):
                return self._summary(earlier)
        parent = self._parent_transaction(order_id)
        note = " ".join([f"Return {metadata['rma']}" if metadata.get("rma") else "Return", marker])
        body = {
            "refund": {
                "currency": parent.get("currency"),
                "notify": self.notify,
                "note": note,
                "transactions": [
                    {
                        "parent_id": parent["id"],
                        "amount": self._decimal(amount_minor),
                        "kind": "refund",
                        "gateway": parent.get("gateway"),
                    }
                ],
            }
        }
        created = self._send("POST", f"orders/{order_id}/refunds.json", body)
        return self._summary(created["refund"])

    # --- the calls ---------------------------------------------------------------------------

    def _parent_transaction(self, order_id: str) -> dict[str, Any]:
        transactions = self._get(f"orders/{order_id}/transactions.json").get("transactions", [])
        paid = [
            t
            for t in transactions
            if t.get("kind") in REFUNDABLE_KINDS and t.get("status") == "success"
        ]
        if not paid:
            raise PermanentFailure(
                f"Shopify order {order_id} has no successful sale or capture to refund against"
            )
        # The largest payment covers the most; ties go to the earliest.
        return max(paid, key=lambda t: Decimal(str(t.get("amount") or "0")))

    def _get(self, path: str) -> dict[str, Any]:
        return self._send("GET", path, None)

    def _send(self, method: str, path: str, body: Any) -> dict[str, Any]:
        response = self.http.request(
            method,
            f"{self.api_base}/{path}",
            json=body,
            headers={"X-Shopify-Access-Token": self.access_token, "Accept": "application/json"},
        )
        if response.status_code in (400, 404, 406, 422):
            # The request is wrong (or the order is gone): sending it again cannot help.
            raise PermanentFailure(
                _shopify_message(response), {"shopify_status": response.status_code}
            )
        response.raise_for_status()  # 401/402/403/423/429/5xx: retried by the outbox
        result: dict[str, Any] = response.json()
        return result

    # --- money -------------------------------------------------------------------------------

    def _decimal(self, amount_minor: int) -> str:
        """Minor units as Shopify's decimal string ("12.34")."""
        places = Decimal(1).scaleb(-self.minor_units)
        return str((Decimal(amount_minor) * places).quantize(places))

    def _minor(self, amount: object) -> int:
        return int((Decimal(str(amount)) * (10**self.minor_units)).to_integral_value())

    def _summary(self, refund: Mapping[str, Any]) -> dict[str, Any]:
        transactions = refund.get("transactions") or []
        statuses = {str(t.get("status")) for t in transactions}
        if statuses & FAILED_STATUSES:
            reasons = "; ".join(
                str(t.get("message") or t.get("error_code") or t.get("status"))
                for t in transactions
            )
            raise PermanentFailure(
                f"Shopify refund {refund.get('id')} failed: {reasons}", {"status": "failed"}
            )
        status = "pending" if "pending" in statuses else "succeeded"
        amount = sum(self._minor(t.get("amount") or "0") for t in transactions)
        return {"id": str(refund["id"]), "status": status, "amount": amount}


def _shopify_message(response: httpx.Response) -> str:
    """``{"errors": ...}`` (a string, a list, or field -> messages) as one line."""
    try:
        errors = response.json()["errors"]
    except (ValueError, KeyError, TypeError):
        return f"Shopify {response.status_code}: {response.text[:300]}"
    if isinstance(errors, Mapping):
        parts = []
        for field, messages in errors.items():
            text = "; ".join(messages) if isinstance(messages, list) else str(messages)
            parts.append(text if field == "base" else f"{field}: {text}")
        return f"Shopify {response.status_code}: " + "; ".join(parts)
    if isinstance(errors, list):
        return f"Shopify {response.status_code}: " + "; ".join(map(str, errors))
    text = errors if isinstance(errors, str) else json.dumps(errors)
    return f"Shopify {response.status_code}: {text}"
