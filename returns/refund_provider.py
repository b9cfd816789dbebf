"""The refund provider: Stripe's Refunds API, or anything that speaks it (the sandbox).

``POST {base}/v1/refunds`` form-encoded with ``payment_intent``, ``amount`` and ``metadata``,
``Authorization: Bearer <key>`` and an ``Idempotency-Key``: Stripe answers a repeated key with
the original refund, which is what makes a retried outbox message safe.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from core.http import http_client
from core.outbox import PermanentFailure


class StripeRefunds:
    def __init__(self, api_base: str, api_key: str, http: httpx.Client | None = None):
        self.api_base = api_base.rstrip("/")
        self.api_key = api_key
        self.http = http or http_client(timeout=httpx.Timeout(20.0, connect=5.0))

    @classmethod
    def from_settings(
        cls, settings: Mapping[str, Any], http: httpx.Client | None = None
    ) -> StripeRefunds | None:
        """The configured provider, or None: never a silent fallback to the local sandbox
        (the demo configures the sandbox explicitly). Without one, refunds are held."""
        base = str(settings.get("REFUNDS_API_BASE") or "").strip()
        key = str(settings.get("REFUNDS_API_KEY") or "").strip()
        if not base or not key:
            return None
        return cls(base, key, http)

    def refund(
        self,
        *,
        payment_reference: str,
        amount_minor: int,
        idempotency_key: str,
        metadata: Mapping[str, str],
    ) -> dict[str, Any]:
        """Create (or, for a repeated key, fetch) the refund. Errors worth retrying propagate."""
        form = {"payment_intent": payment_reference, "amount": str(amount_minor)}
        form.update({f"metadata[{key}]": value for key, value in metadata.items()})
        response = self.http.post(
            f"{self.api_base}/v1/refunds",
            data=form,
            headers={"Authorization": f"Bearer {self.api_key}", "Idempotency-Key": idempotency_key},
        )
        if response.status_code in (400, 402, 404):
            # Stripe's "your request is wrong" family: retrying the same request cannot help.
            raise PermanentFailure(_stripe_message(response))
        response.raise_for_status()  # 401/403/409/429/5xx: retried with backoff by the outbox
        refund = response.json()
        if refund.get("status") in ("failed", "canceled"):
            raise PermanentFailure(
                f"refund {refund.get('id')} failed: {refund.get('failure_reason')}"
            )
        return {"id": refund["id"], "status": refund.get("status"), "amount": refund.get("amount")}


def _stripe_message(response: httpx.Response) -> str:
    try:
        error = response.json()["error"]
        code = error.get("code") or error.get("type")
        return f"{response.status_code} {code}: {error.get('message')}"
    except (ValueError, KeyError, TypeError):
        return f"{response.status_code}: {response.text[:300]}"
