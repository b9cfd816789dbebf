"""Shippo: labels bought through shipments and transactions, refunds, and carrier pickups.

Formats follow Shippo's API reference (https://docs.goshippo.com/api-reference/, the
``public-api.yaml`` spec, version ``2018-02-08``) and the models generated from it in
goshippo/shippo-python-sdk (``src/shippo/models/components``):
- every call sends ``Authorization: ShippoToken <key>`` (test keys start ``shippo_test_``,
  live keys ``shippo_live_``) and ``SHIPPO-API-VERSION: 2018-02-08``;
- ``POST /shipments/`` with ``address_from``, ``address_to``, ``parcels`` (``mass_unit`` g,
  ``distance_unit`` mm: both are in Shippo's WeightUnitEnum / DistanceUnitEnum),
  ``metadata`` and ``async: false`` answers with its ``rates`` (``amount`` a decimal string,
  ``currency``, ``provider``, ``servicelevel.name``, ``estimated_days``);
- ``POST /transactions/`` with ``rate``, ``label_file_type`` (``PDF_4x6`` or ``ZPLII``),
  ``metadata`` and ``async: false`` buys the label: ``status`` is WAITING, QUEUED, SUCCESS,
  ERROR (or, later, REFUNDED, REFUNDPENDING, REFUNDREJECTED) and ``messages`` are
  ``{source, code, text}``;
- ``POST /refunds/`` with ``transaction``: ``status`` QUEUED, PENDING, SUCCESS or ERROR;
- ``POST /pickups/`` (USPS and DHL Express accounts) with ``carrier_account``, ``location``
  (``address``, ``building_location_type``), ``transactions``, ``requested_start_time`` and
  ``requested_end_time``: ``status`` PENDING, CONFIRMED, ERROR or CANCELLED. Shippo's API
  has no call to cancel a pickup (its reference and SDKs list only "Create a pickup"; the
  CANCELLED status is set by Shippo or the carrier, not by an API call): ``cancel_pickup``
  refuses, and a changed window leaves the old pickup for the desk to cancel in Shippo's
  dashboard or with the carrier (returns/pickups.py alerts it);
- errors: 400 ``{"title", "detail"}`` or field errors ``{"<field>": ["<message>"]}``,
  401 bad token, 429 rate limit, 5xx server trouble
  (https://docs.goshippo.com/docs/api_concepts/apihttpstatuscodes).

**A label is bought once per key, without an idempotency header.** Shippo has none, so the
transaction carries ``metadata = "spareflow:<idempotency key>"`` and ``find_label`` looks for
it before every purchase. Why the transactions list and not another way:
- ``GET /transactions/`` filters only by ``rate``, ``object_status``, ``tracking_status``
  (``page`` and ``results`` up to 100); nothing filters on ``metadata``, and a retry creates
  a new shipment whose rates have new ids, so filtering by ``rate`` cannot find a purchase
  made from the shipment of the crashed attempt;
- the transaction, not the shipment, is what is billed: a shipment left behind by a crash
  costs nothing, so only transactions need finding;
- so ``find_label`` pages through the list (newest first, ``results=100``), matching
  ``metadata`` exactly, and stops at a page made wholly of transactions older than
  ``SHIPPO_LOOKUP_DAYS`` (default 30: a retry comes within hours) or after
  ``MAX_LOOKUP_PAGES``. A match still QUEUED or WAITING is being bought: that is
  ``LabelProviderUnavailable`` (try again later), never a second purchase. A match in ERROR
  bought nothing, so buying again is right.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import httpx

from carriers import labels
from carriers.adapters.base import seconds_setting, secret_setting
from carriers.labels import (
    Address,
    BookedPickup,
    LabelFormat,
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

DEFAULT_API_BASE = "https://api.goshippo.com"
API_VERSION = "2018-02-08"
DEFAULT_TIMEOUT_SECONDS = 20.0
DEFAULT_LOOKUP_DAYS = 30
MAX_LOOKUP_PAGES = 20
#: How often a QUEUED transaction is read again before the outbox is asked to retry.
SETTLE_ATTEMPTS = 5
MARKER_PREFIX = "spareflow:"
METADATA_LIMIT = 100  # "a string of up to 100 characters"

LABEL_FILE_TYPES = {LabelFormat.PDF: "PDF_4x6", LabelFormat.ZPL: "ZPLII"}
ZPL_MEDIA_TYPE = "application/zpl"
IN_FLIGHT = frozenset({"QUEUED", "WAITING"})
#: A bought label (a refund refused leaves it valid).
BOUGHT = frozenset({"SUCCESS", "REFUNDREJECTED"})
REFUNDED = frozenset({"REFUNDED", "REFUNDPENDING"})
REFUND_OUTCOMES = {
    "SUCCESS": RefundOutcome.REFUNDED,
    "QUEUED": RefundOutcome.SUBMITTED,
    "PENDING": RefundOutcome.SUBMITTED,
    "ERROR": RefundOutcome.REFUSED,
}
ZERO_DECIMAL_CURRENCIES = frozenset({"JPY", "KRW", "VND", "CLP", "ISK", "HUF", "TWD"})

# Words in a message that say what a person must fix (Shippo's ``messages`` carry a free
# ``text`` and an optional ``code``; no list of codes is published).
_ADDRESS_WORDS = ("address", "zip", "postal", "postcode", "street", "city", "state")
_FUNDS_WORDS = ("fund", "payment", "billing", "balance", "credit card", "card", "invoice")
_TRANSIENT_WORDS = ("timeout", "timed out", "try again", "did not respond", "unavailable")


def metadata_marker(request: LabelRequest) -> str:
    """What the transaction's ``metadata`` says, so ``find_label`` can recognise it."""
    marker = MARKER_PREFIX + request.idempotency_key
    if len(marker) <= METADATA_LIMIT:
        return marker
    return MARKER_PREFIX + hashlib.sha256(request.idempotency_key.encode()).hexdigest()


def minor_units(amount: object, currency: str) -> int:
    """Shippo's decimal-string price in minor units of ``currency``."""
    return labels.minor_units(amount, currency, "Shippo")


def error_text(body: object) -> str:
    """The readable part of a Shippo error body (``detail``, field errors, messages)."""
    if isinstance(body, dict):
        for key in ("detail", "title", "message", "error"):
            if isinstance(body.get(key), str) and body[key]:
                return str(body[key])
        parts = []
        for key, value in body.items():
            values = value if isinstance(value, list) else [value]
            parts.append(f"{key}: {'; '.join(error_text(v) for v in values)}")
        return ", ".join(parts)
    if isinstance(body, list):
        return "; ".join(error_text(item) for item in body)
    return str(body)


def messages_text(messages: object) -> str:
    if not isinstance(messages, list):
        return ""
    texts = []
    for message in messages:
        if isinstance(message, dict):
            source = str(message.get("source") or "")
            text = str(message.get("text") or message.get("code") or "")
            texts.append(f"{source}: {text}" if source else text)
        else:
            texts.append(str(message))
    return " | ".join(t for t in texts if t)


def refusal_from(text: str, what: str) -> LabelRefused | LabelProviderUnavailable:
    """Which error a Shippo refusal is: a person must act, or trying again can help."""
    lowered = text.lower()
    if any(word in lowered for word in _FUNDS_WORDS):
        return LabelRefused(f"Shippo refused {what}: {text}", code="no_funds", provider="shippo")
    if any(word in lowered for word in _ADDRESS_WORDS):
        return LabelRefused(f"Shippo refused {what}: {text}", code="bad_address", provider="shippo")
    if "expired" in lowered or any(word in lowered for word in _TRANSIENT_WORDS):
        return LabelProviderUnavailable(f"Shippo could not do {what} now: {text}")
    return LabelRefused(f"Shippo refused {what}: {text or 'no reason given'}", provider="shippo")


def _parcel(request: LabelRequest) -> dict[str, str]:
    parcel = request.parcel
    return {
        "length": str(parcel.length_mm),
        "width": str(parcel.width_mm),
        "height": str(parcel.height_mm),
        "distance_unit": "mm",
        "weight": str(parcel.weight_grams),
        "mass_unit": "g",
    }


def shippo_address(address: Address) -> dict[str, str]:
    """Our address as Shippo's Address object (``street1``, ``zip``...)."""
    fields = {
        "name": address.name,
        "company": address.company,
        "street1": address.street,
        "street2": address.street2,
        "city": address.city,
        "state": address.state,
        "zip": address.postcode,
        "country": address.country,
        "phone": address.phone,
        "email": address.email,
    }
    return {key: value for key, value in fields.items() if value}


class ShippoLabels:
    name: ClassVar[str] = "shippo"
    books_pickups: ClassVar[bool] = True
    cancels_pickups: ClassVar[bool] = False

    def __init__(
        self,
        api_key: str,
        api_base: str = DEFAULT_API_BASE,
        *,
        http: httpx.Client | None = None,
        lookup_days: int = DEFAULT_LOOKUP_DAYS,
        settle_pause: float = 1.0,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ):
        self._api_key = api_key
        self._api_base = api_base.rstrip("/")
        self._http = http or http_client(timeout=httpx.Timeout(DEFAULT_TIMEOUT_SECONDS, connect=5))
        self._lookup_days = lookup_days
        self._settle_pause = settle_pause
        self._now = now

    # --- HTTP ---------------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        *,
        body: Mapping[str, object] | None = None,
        params: Mapping[str, str | int] | None = None,
        what: str = "the request",
    ) -> dict[str, Any]:
        headers = {
            "Authorization": f"ShippoToken {self._api_key}",
            "SHIPPO-API-VERSION": API_VERSION,
        }
        url = path if path.startswith("http") else f"{self._api_base}{path}"
        try:
            response = self._http.request(method, url, json=body, params=params, headers=headers)
        except httpx.HTTPError as exc:
            raise LabelProviderUnavailable(f"Shippo could not be reached: {exc}") from exc
        if response.status_code == 429 or response.status_code >= 500:
            raise LabelProviderUnavailable(
                f"Shippo answered {response.status_code} to {what}; try again later.",
                status=response.status_code,
            )
        try:
            payload = response.json()
        except ValueError:
            payload = response.text
        if response.status_code in (401, 403):
            raise LabelRefused(
                f"Shippo refused the API key ({response.status_code}): {error_text(payload)}",
                code="provider_unauthorized",
                provider="shippo",
            )
        if response.status_code >= 400:
            raise refusal_from(error_text(payload), what)
        if not isinstance(payload, dict):
            raise LabelProviderUnavailable(f"Shippo sent an unreadable answer to {what}.")
        return payload

    def _download(self, url: str) -> bytes:
        """The label file (a signed storage URL: no Shippo token is sent there)."""
        try:
            response = self._http.get(url)
        except httpx.HTTPError as exc:
            raise LabelProviderUnavailable(f"The Shippo label could not be fetched: {exc}") from exc
        if response.status_code != 200:
            raise LabelProviderUnavailable(
                f"The Shippo label could not be fetched ({response.status_code})."
            )
        return response.content

    # --- buying ---------------------------------------------------------------------------

    def buy_label(self, request: LabelRequest) -> PurchasedLabel:
        existing = self.find_label(request)
        if existing is not None:
            return existing
        shipment = self._call(
            "POST",
            "/shipments/",
            body={
                "address_from": shippo_address(request.from_address),
                "address_to": shippo_address(request.to_address),
                "parcels": [_parcel(request)],
                "metadata": request.reference[:METADATA_LIMIT],
                "async": False,
            },
            what="the shipment",
        )
        rates = self._rates(shipment, request.currency)
        if not rates:
            if shipment.get("status") in IN_FLIGHT:
                raise LabelProviderUnavailable("Shippo is still rating the shipment.")
            reason = messages_text(shipment.get("messages"))
            if reason:
                raise refusal_from(reason, "the shipment")
        rate = choose_rate(rates, request.preference, request.ceiling_minor)
        transaction = self._call(
            "POST",
            "/transactions/",
            body={
                "rate": rate.rate_id,
                "label_file_type": LABEL_FILE_TYPES[request.label_format],
                "metadata": metadata_marker(request),
                "async": False,
            },
            what="the label purchase",
        )
        return self._label(self._settled(transaction), request, rate)

    def _rates(self, shipment: Mapping[str, Any], currency: str) -> list[Rate]:
        rates = []
        for raw in shipment.get("rates") or []:
            if (
                not isinstance(raw, dict)
                or str(raw.get("currency", "")).lower() != currency.lower()
            ):
                continue
            level = raw.get("servicelevel") or {}
            days = raw.get("estimated_days")
            rates.append(
                Rate(
                    rate_id=str(raw["object_id"]),
                    carrier=str(raw.get("provider") or ""),
                    service=str(level.get("name") or level.get("token") or ""),
                    amount_minor=minor_units(raw.get("amount"), currency),
                    currency=currency.lower(),
                    days=days if isinstance(days, int) and not isinstance(days, bool) else None,
                )
            )
        return rates

    def _settled(self, transaction: dict[str, Any]) -> dict[str, Any]:
        """The transaction once Shippo has finished it (QUEUED ones are read again)."""
        for _ in range(SETTLE_ATTEMPTS):
            if transaction.get("status") not in IN_FLIGHT:
                break
            time.sleep(self._settle_pause)
            transaction = self._call(
                "GET", f"/transactions/{transaction['object_id']}", what="the label purchase"
            )
        status = transaction.get("status")
        if status in IN_FLIGHT:
            raise LabelProviderUnavailable(
                "Shippo is still buying the label; the retry will find it.",
                provider_label_id=transaction.get("object_id"),
            )
        if status == "ERROR":
            raise refusal_from(messages_text(transaction.get("messages")), "the label")
        if status in REFUNDED:
            raise LabelRefused(
                "The Shippo label bought for this key was refunded; a new label needs a new key.",
                code="label_refunded",
                provider_label_id=transaction.get("object_id"),
            )
        if status not in BOUGHT:
            raise LabelProviderUnavailable(f"Shippo sent a transaction in status {status!r}.")
        return transaction

    def _label(
        self, transaction: Mapping[str, Any], request: LabelRequest, rate: Rate | None = None
    ) -> PurchasedLabel:
        raw_rate = transaction.get("rate")
        if isinstance(raw_rate, str):
            raw_rate = self._call("GET", f"/rates/{raw_rate}", what="the label's rate")
        if not isinstance(raw_rate, dict):
            raw_rate = {}
        level = raw_rate.get("servicelevel") or {}
        currency = str(raw_rate.get("currency") or (rate.currency if rate else request.currency))
        if raw_rate.get("amount") is not None:
            cost = minor_units(raw_rate["amount"], currency)
        else:
            cost = rate.amount_minor if rate else 0
        document = self._download(str(transaction.get("label_url") or ""))
        zpl = str(transaction.get("label_file_type") or "").upper() == "ZPLII"
        return PurchasedLabel(
            provider=self.name,
            carrier=str(raw_rate.get("provider") or (rate.carrier if rate else "")),
            service=str(
                raw_rate.get("servicelevel_name")
                or level.get("name")
                or (rate.service if rate else "")
            ),
            tracking_number=str(transaction.get("tracking_number") or ""),
            provider_label_id=str(transaction["object_id"]),
            cost_minor=cost,
            currency=currency.lower(),
            document=document,
            media_type=ZPL_MEDIA_TYPE if zpl else "application/pdf",
            zpl=document if zpl else None,
        )

    def find_label(self, request: LabelRequest) -> PurchasedLabel | None:
        marker = metadata_marker(request)
        horizon = self._now() - timedelta(days=self._lookup_days)
        for page in range(1, MAX_LOOKUP_PAGES + 1):
            listing = self._call(
                "GET",
                "/transactions/",
                params={"page": page, "results": 100},
                what="the look-up of earlier labels",
            )
            results = [r for r in listing.get("results") or [] if isinstance(r, dict)]
            for transaction in results:
                if transaction.get("metadata") == marker and transaction.get("status") != "ERROR":
                    return self._label(self._settled(transaction), request)
            if not listing.get("next") or not results:
                return None
            if all(_created(r) < horizon for r in results):
                return None
        return None

    # --- after the purchase ----------------------------------------------------------------

    def refund_label(self, label: PurchasedLabel) -> RefundOutcome:
        try:
            refund = self._call(
                "POST",
                "/refunds/",
                body={"transaction": label.provider_label_id, "async": False},
                what="the refund",
            )
        except LabelRefused:
            return RefundOutcome.REFUSED
        return REFUND_OUTCOMES.get(str(refund.get("status")), RefundOutcome.SUBMITTED)

    def book_pickup(
        self,
        label: PurchasedLabel,
        address: Address,
        window: PickupWindow,
        *,
        provider_record: str | None = None,
        remember: Callable[[str], str] | None = None,
    ) -> BookedPickup:
        """Shippo books collections for USPS and DHL Express accounts only."""
        transaction = self._call(
            "GET", f"/transactions/{label.provider_label_id}", what="the pickup's label"
        )
        raw_rate = transaction.get("rate")
        if isinstance(raw_rate, str):
            raw_rate = self._call("GET", f"/rates/{raw_rate}", what="the pickup's label")
        account = raw_rate.get("carrier_account") if isinstance(raw_rate, dict) else None
        if not account:
            raise LabelRefused("Shippo did not say which carrier account bought this label.")
        pickup = self._call(
            "POST",
            "/pickups/",
            body={
                "carrier_account": account,
                "location": {
                    "building_location_type": "Front Door",
                    "address": shippo_address(address),
                },
                "transactions": [label.provider_label_id],
                "requested_start_time": window.starts_at.isoformat(),
                "requested_end_time": window.ends_at.isoformat(),
                "metadata": label.provider_label_id,
            },
            what="the pickup",
        )
        status = pickup.get("status")
        if status in ("ERROR", "CANCELLED"):
            raise LabelRefused(
                f"Shippo could not book the pickup: {messages_text(pickup.get('messages'))}",
                code="pickup_refused",
            )
        starts = _parse_time(pickup.get("confirmed_start_time")) or window.starts_at
        ends = _parse_time(pickup.get("confirmed_end_time")) or window.ends_at
        return BookedPickup(
            provider_pickup_id=str(pickup.get("object_id") or ""),
            window=PickupWindow(starts, ends),
            confirmation=str(pickup.get("confirmation_code") or ""),
        )

    def cancel_pickup(self, provider_pickup_id: str) -> PickupCancelOutcome:
        """Shippo's API cannot cancel a pickup (only create one): a person must."""
        raise LabelRefused(
            f"Shippo's API cannot cancel pickup {provider_pickup_id}: cancel it in Shippo's "
            "dashboard or with the carrier.",
            code="pickup_cancel_not_supported",
        )


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _created(transaction: Mapping[str, Any]) -> datetime:
    return _parse_time(transaction.get("object_created")) or datetime.max.replace(tzinfo=UTC)


def from_settings(
    settings: Mapping[str, object], http: httpx.Client | None = None
) -> ShippoLabels | None:
    """The provider, when ``SHIPPO_API_KEY`` is set (else None: labels cannot be bought)."""
    api_key = secret_setting(settings, "SHIPPO_API_KEY")
    if not api_key:
        return None
    days = seconds_setting(settings.get("SHIPPO_LOOKUP_DAYS"))
    return ShippoLabels(
        api_key,
        str(settings.get("SHIPPO_API_BASE") or DEFAULT_API_BASE),
        http=http,
        lookup_days=int(days) if days else DEFAULT_LOOKUP_DAYS,
    )
