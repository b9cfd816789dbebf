"""The local sandbox carrier (``spareflow sandbox carrier``, demo/sandboxes/carrier.py) as a
label provider: rates, purchases under an ``Idempotency-Key``, finding a label by that key,
refunds, and pickups (idempotent per label and window: booking the same window again answers
the same pickup; a new window books another) and their cancellation (a pickup cancelled
before answers cancelled again; an unknown one is 404). It takes any address (the
demo's customers have only a name and an e-mail); it is a provider only where
``CARRIERS_SANDBOX`` is on (carriers/label_providers/registry.py)."""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from dataclasses import asdict
from datetime import datetime
from typing import Any, ClassVar

import httpx

from carriers.labels import (
    Address,
    BookedPickup,
    LabelProviderUnavailable,
    LabelRefused,
    LabelRequest,
    PickupCancelOutcome,
    PickupWindow,
    PurchasedLabel,
    Rate,
    RefundOutcome,
    choose_rate,
)
from core.http import http_client

DEFAULT_URL = "http://127.0.0.1:5081"


class SandboxLabels:
    name: ClassVar[str] = "sandbox"
    books_pickups: ClassVar[bool] = True
    cancels_pickups: ClassVar[bool] = True

    def __init__(self, api_base: str = DEFAULT_URL, http: httpx.Client | None = None):
        self.api_base = api_base.rstrip("/")
        self.http = http or http_client(timeout=httpx.Timeout(10.0, connect=5.0))

    @classmethod
    def from_settings(
        cls, settings: Mapping[str, object], http: httpx.Client | None = None
    ) -> SandboxLabels:
        return cls(str(settings.get("SANDBOX_CARRIER_URL") or DEFAULT_URL), http)

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        """The sandbox's JSON answer; a 4xx refuses (a person must act), anything else that
        goes wrong (unreachable, 5xx, unreadable) may work later."""
        try:
            response = self.http.request(method, f"{self.api_base}{path}", **kwargs)
        except httpx.HTTPError as error:
            raise LabelProviderUnavailable(f"Sandbox carrier unreachable: {error}") from None
        if 400 <= response.status_code < 500:
            raise LabelRefused(
                f"The sandbox carrier refused: {_error_text(response)}", code="label_refused"
            )
        if response.status_code >= 300:
            raise LabelProviderUnavailable(
                f"Sandbox carrier answered {response.status_code}: {_error_text(response)}"
            )
        try:
            return response.json()
        except ValueError:
            raise LabelProviderUnavailable("The sandbox carrier's answer is not JSON.") from None

    def rates(self, request: LabelRequest) -> list[Rate]:
        body = self._call("POST", "/v1/rates", json=_shipment_body(request))
        try:
            return [
                Rate(
                    rate_id=str(item["id"]),
                    carrier=str(item["carrier"]),
                    service=str(item["service"]),
                    amount_minor=int(item["amount_minor"]),
                    currency=str(item["currency"]),
                    days=int(item["days"]) if item.get("days") is not None else None,
                )
                for item in body["rates"]
            ]
        except (KeyError, TypeError, ValueError) as error:
            raise LabelProviderUnavailable(f"Unreadable sandbox rates: {error}") from None

    def buy_label(self, request: LabelRequest) -> PurchasedLabel:
        rate = choose_rate(self.rates(request), request.preference, request.ceiling_minor)
        body = {**_shipment_body(request), "rate_id": rate.rate_id}
        answer = self._call(
            "POST", "/v1/labels", json=body, headers={"Idempotency-Key": request.idempotency_key}
        )
        return _label(answer)

    def find_label(self, request: LabelRequest) -> PurchasedLabel | None:
        found = self._call("GET", "/v1/labels", params={"idempotency_key": request.idempotency_key})
        return _label(found[0]) if found else None

    def refund_label(self, label: PurchasedLabel) -> RefundOutcome:
        answer = self._call("POST", f"/v1/labels/{label.provider_label_id}/refund")
        try:
            return RefundOutcome(answer["status"])
        except (KeyError, ValueError, TypeError):
            raise LabelProviderUnavailable(f"Unreadable sandbox refund: {answer!r}") from None

    def book_pickup(
        self,
        label: PurchasedLabel,
        address: Address,
        window: PickupWindow,
        *,
        provider_record: str | None = None,
        remember: Callable[[str], str] | None = None,
    ) -> BookedPickup:
        answer = self._call(
            "POST",
            f"/v1/labels/{label.provider_label_id}/pickups",
            json={
                "starts_at": window.starts_at.isoformat(),
                "ends_at": window.ends_at.isoformat(),
                "address": {k: v for k, v in asdict(address).items() if v},
            },
        )
        try:
            return BookedPickup(
                provider_pickup_id=str(answer["id"]),
                window=PickupWindow(
                    datetime.fromisoformat(answer["starts_at"]),
                    datetime.fromisoformat(answer["ends_at"]),
                ),
                confirmation=str(answer.get("confirmation") or ""),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise LabelProviderUnavailable(f"Unreadable sandbox pickup: {error}") from None

    def cancel_pickup(self, provider_pickup_id: str) -> PickupCancelOutcome:
        try:
            response = self.http.post(f"{self.api_base}/v1/pickups/{provider_pickup_id}/cancel")
        except httpx.HTTPError as error:
            raise LabelProviderUnavailable(f"Sandbox carrier unreachable: {error}") from None
        if response.status_code == 404:
            return PickupCancelOutcome.UNKNOWN
        if 400 <= response.status_code < 500:
            raise LabelRefused(
                f"The sandbox carrier would not cancel: {_error_text(response)}",
                code="pickup_cancel_refused",
            )
        if response.status_code != 200:
            raise LabelProviderUnavailable(
                f"Sandbox carrier answered {response.status_code}: {_error_text(response)}"
            )
        return PickupCancelOutcome.CANCELLED


def _shipment_body(request: LabelRequest) -> dict[str, Any]:
    return {
        "reference": request.reference,
        "from": {k: v for k, v in asdict(request.from_address).items() if v},
        "to": {k: v for k, v in asdict(request.to_address).items() if v},
        "parcel": asdict(request.parcel),
    }


def _label(answer: Mapping[str, Any]) -> PurchasedLabel:
    try:
        return PurchasedLabel(
            provider=SandboxLabels.name,
            carrier=str(answer["carrier"]),
            service=str(answer["service"]),
            tracking_number=str(answer["tracking_number"]),
            provider_label_id=str(answer["id"]),
            cost_minor=int(answer["amount_minor"]),
            currency=str(answer["currency"]),
            document=base64.b64decode(answer["label_pdf"]),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise LabelProviderUnavailable(f"Unreadable sandbox label: {error}") from None


def _error_text(response: httpx.Response) -> str:
    try:
        return str(response.json().get("error") or response.text)[:300]
    except (ValueError, AttributeError):
        return response.text[:300]
