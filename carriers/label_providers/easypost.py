"""EasyPost labels and pickups (Shipments API, Pickups API, v2, HTTP basic auth: key as user).

What is called (https://docs.easypost.com/docs/shipments, /docs/pickups, /docs/errors,
/docs/shipments/shipping-refund):
- ``POST /shipments`` with ``to_address``, ``from_address``, ``parcel`` (ounces and inches),
  ``options.label_format`` (``PDF`` or ``ZPL``; ``print_custom_1`` carries our RMA reference
  onto the printed label) and ``reference``; its ``rates`` are priced as decimal strings;
- ``POST /shipments/{id}/buy`` with ``{"rate": {"id": ...}}`` (after ``POST .../rerate`` for a
  shipment an earlier attempt created); the bought Shipment carries
  ``tracking_code``, ``selected_rate`` and ``postage_label`` (``label_url``,
  ``label_pdf_url``, ``label_zpl_url``);
- ``GET /shipments/{id}/label?file_format=PDF|ZPL`` converts a bought label: a ZPL label gets
  its PDF, a PDF label its ZPL when ``SPAREFLOW_LABEL_FORMAT=zpl`` and EasyPost has none;
- ``POST /shipments/{id}/refund`` (``refund_status``: submitted/refunded/rejected/...);
- ``POST /pickups`` then ``POST /pickups/{id}/buy`` with the chosen rate's carrier and service;
  ``GET /pickups/{id}`` retrieves a pickup (``status``: ``unknown`` until bought, then
  ``scheduled``; ``canceled``);
- ``POST /pickups/{id}/cancel`` (answers ``status`` ``canceled``); a refusal is checked with
  ``GET /pickups/{id}`` (already ``canceled``: a retry, done); 404: a pickup EasyPost lacks.

**At most one label per key, one pickup per label and window**, on documented behaviour only
(EasyPost has no idempotency header; nothing is paid before ``.../buy``): the shipment (or
pickup) is created, its id handed to ``remember`` (the caller commits it) and only then bought;
a retry retrieves it by that id (``provider_record``) instead of buying again. Nothing is looked
up by ``reference``, which EasyPost documents no look-up for. The whole argument, crash by
crash: docs/carriers.md, "EasyPost".

Label documents come from the pre-signed ``postage_label`` URLs *without* our credentials.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, ClassVar

import httpx

from carriers import labels
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
from core.http import outbound_client

DEFAULT_API_BASE = "https://api.easypost.com/v2"
DEFAULT_TIMEOUT_SECONDS = 20.0
GRAMS_PER_OUNCE = 28.349523125
MM_PER_INCH = 25.4
#: A cancelled pickup's ``status`` (EasyPost spells it with one l).
CANCELED = "canceled"
#: A bought (booked) pickup's ``status``; one created but not bought is ``unknown``.
SCHEDULED = "scheduled"

# Error codes, from EasyPost's list of error codes (docs.easypost.com/docs/errors).
#: A person must correct an address.
ADDRESS_CODE_PREFIXES = ("ADDRESS.", "PICKUP.ADDRESS.")
#: The account cannot pay: a person must top it up (HTTP 402 is "lack of billing information
#: or insufficient funds").
PAYMENT_CODES = frozenset(
    {
        "PAYMENT_REQUIRED",
        "PAYMENT_GATEWAY.ERROR",
        "CREDIT_CARD.CHARGE.FAILURE",
        "BANK_ACCOUNT.CHARGE.FAILURE",
        "USER.CHARGE.NOT_ALLOWED",
    }
)
#: The chosen rate can no longer be bought (expired, regenerated): buy again with fresh rates.
RATE_GONE_CODES = frozenset(
    {"SHIPMENT.MISSING_RATE", "SHIPMENT.RATES.UNAVAILABLE", "ORDER.RATE.UNAVAILABLE"}
)
#: The outcome is unknown or pending at EasyPost: retry (the look-up runs first).
RETRY_CODES = frozenset({"SHIPMENT.PURCHASE.IN_PROGRESS", "SHIPMENT.POSTAGE.NO_RESPONSE"})
#: Words of a postage failure that means money, not data.
FUNDS_WORDS = ("fund", "balance", "payment")
#: Refund answers (``refund_status``) and what they mean for us.
REFUND_OUTCOMES = {
    "submitted": RefundOutcome.SUBMITTED,
    "refunded": RefundOutcome.REFUNDED,
    "rejected": RefundOutcome.REFUSED,
    "not_applicable": RefundOutcome.REFUSED,
}


class _EasyPostError(Exception):
    """An HTTP error answer, read: status, ``error.code`` and ``error.message``."""

    def __init__(self, status: int, code: str, message: str, fields: list[str]):
        super().__init__(f"HTTP {status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields


def reference_for(idempotency_key: str) -> str:
    """The ``reference`` a label's shipment carries: stable per key, safe in a URL path."""
    return "sf-" + hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()[:40]


def minor_units(amount: object, currency: str) -> int:
    """EasyPost's decimal-string price in minor units of ``currency``."""
    return labels.minor_units(amount, currency, "EasyPost")


def _up_to_tenth(value: float) -> float:
    """Rounded up to one decimal place (EasyPost's precision): a carrier must never be told less."""
    return math.ceil(round(value * 10, 6)) / 10


def _address(address: Address) -> dict[str, str]:
    fields = {
        "name": address.name,
        "company": address.company,
        "street1": address.street,
        "street2": address.street2,
        "city": address.city,
        "state": address.state,
        "zip": address.postcode,
        "country": address.country.upper(),
        "phone": address.phone,
        "email": address.email,
    }
    return {key: value for key, value in fields.items() if value}


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


class EasyPostLabels:
    name: ClassVar[str] = "easypost"
    books_pickups: ClassVar[bool] = True
    cancels_pickups: ClassVar[bool] = True

    def __init__(
        self,
        api_key: str,
        api_base: str = DEFAULT_API_BASE,
        http: httpx.Client | None = None,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
    ):
        if not api_key:
            raise ValueError("EasyPost labels need an API key")
        self._api_key = api_key
        self._api_base = api_base.rstrip("/")
        self._http = http or outbound_client(timeout, connect=5.0)

    @classmethod
    def from_settings(cls, settings: Mapping[str, object]) -> EasyPostLabels | None:
        """From ``EASYPOST_API_KEY`` (stored encrypted, or the environment), ``EASYPOST_API_BASE``
        and ``EASYPOST_TIMEOUT``; ``None`` without a key."""
        key = settings.get("EASYPOST_API_KEY")
        if key is None or str(key).strip() == "":
            return None
        timeout = settings.get("EASYPOST_TIMEOUT")
        try:
            seconds = float(str(timeout)) if timeout not in (None, "") else DEFAULT_TIMEOUT_SECONDS
        except ValueError:
            seconds = DEFAULT_TIMEOUT_SECONDS
        return cls(
            str(key).strip(),
            str(settings.get("EASYPOST_API_BASE") or DEFAULT_API_BASE),
            timeout=seconds,
        )

    @property
    def test_mode(self) -> bool:
        """Whether the key looks like a test key. EasyPost's docs name Test and Production keys
        but no prefix; ``EZTK`` (test) / ``EZAK`` (live) is the form secret scanners (gitleaks)
        match. Every EasyPost object also says ``mode``: "test" or "production"."""
        return self._api_key.startswith("EZTK")

    # --- the contract ------------------------------------------------------------------

    def buy_label(self, request: LabelRequest) -> PurchasedLabel:
        try:
            return self._buy_label(request)
        except _EasyPostError as error:
            raise self._mapped(error) from error

    def _buy_label(self, request: LabelRequest) -> PurchasedLabel:
        shipment = self._retrieve(request.provider_record)
        if shipment is not None and self._is_bought(shipment):
            return self._label(shipment, request.label_format)
        if shipment is None:
            created = self._call("POST", "/shipments", {"shipment": self._shipment_body(request)})
            # Kept before buying: a crash after the buy leaves an id the next attempt retrieves.
            chosen = request.remember(str(created["id"])) if request.remember else created["id"]
            if chosen == created["id"]:
                shipment, rates = created, created.get("rates")
            else:  # another attempt remembered its shipment first: go on with that one
                shipment = self._retrieve(chosen)
                if shipment is None:
                    raise LabelProviderUnavailable(
                        f"EasyPost does not know the shipment {chosen} an attempt created",
                        code="unreadable_answer",
                    )
                if self._is_bought(shipment):
                    return self._label(shipment, request.label_format)
                rates = self._call("POST", f"/shipments/{shipment['id']}/rerate").get("rates")
        else:
            # Created by an attempt that died before buying: its rates may have expired.
            rates = self._call("POST", f"/shipments/{shipment['id']}/rerate").get("rates")
        rate = choose_rate(
            self._rates(rates, request.currency, shipment),
            request.preference,
            request.ceiling_minor,
        )
        try:
            bought = self._call(
                "POST", f"/shipments/{shipment['id']}/buy", {"rate": {"id": rate.rate_id}}
            )
        except _EasyPostError as error:
            if error.code != "SHIPMENT.POSTAGE.EXISTS":
                raise self._mapped(error, buying=True) from error
            bought = self._call("GET", f"/shipments/{shipment['id']}")
        return self._label(bought, request.label_format)

    def find_label(self, request: LabelRequest) -> PurchasedLabel | None:
        """The label bought for the shipment an earlier attempt remembered, if it was bought."""
        try:
            shipment = self._retrieve(request.provider_record)
            if shipment is None or not self._is_bought(shipment):
                return None
            return self._label(shipment, request.label_format)
        except _EasyPostError as error:
            raise self._mapped(error) from error

    def refund_label(self, label: PurchasedLabel) -> RefundOutcome:
        try:
            shipment = self._call("POST", f"/shipments/{label.provider_label_id}/refund")
        except _EasyPostError as error:
            if error.code == "SHIPMENT.REFUND.UNAVAILABLE":
                return RefundOutcome.REFUSED
            raise self._mapped(error) from error
        status = _text(shipment.get("refund_status"))
        if status not in REFUND_OUTCOMES:
            raise LabelProviderUnavailable(
                f"EasyPost answered the refund with refund_status {status!r}",
                code="unreadable_answer",
            )
        return REFUND_OUTCOMES[status]

    def book_pickup(
        self,
        label: PurchasedLabel,
        address: Address,
        window: PickupWindow,
        *,
        provider_record: str | None = None,
        remember: Callable[[str], str] | None = None,
    ) -> BookedPickup:
        try:
            pickup = self._book_pickup(label, address, window, provider_record, remember)
        except _EasyPostError as error:
            raise self._mapped(error) from error
        return BookedPickup(
            provider_pickup_id=str(pickup["id"]),
            window=window,
            confirmation=_text(pickup.get("confirmation")),
        )

    def _book_pickup(
        self,
        label: PurchasedLabel,
        address: Address,
        window: PickupWindow,
        record: str | None,
        remember: Callable[[str], str] | None,
    ) -> dict[str, Any]:
        """Retrieve the pickup an earlier attempt remembered (``GET /pickups/{id}``):
        ``scheduled`` (bought) is the booking; ``unknown`` (created, not bought) is bought now;
        ``canceled`` (this window was booked, then changed away from) or none: a new pickup is
        created, remembered, and only then bought."""
        pickup = self._lookup("pickups", record) if record else None
        if pickup is not None and _text(pickup.get("status")) == SCHEDULED:
            return pickup
        if pickup is None or _text(pickup.get("status")) == CANCELED:
            return self._buy_pickup(self._new_pickup(label, address, window, remember))
        try:
            return self._buy_pickup(pickup)
        except LabelRefused:
            # EasyPost documents no expiry of pickup rates; should an earlier attempt's
            # unbought pickup no longer sell, a fresh one replaces it (nothing was bought).
            return self._buy_pickup(self._new_pickup(label, address, window, remember))

    def _new_pickup(
        self,
        label: PurchasedLabel,
        address: Address,
        window: PickupWindow,
        remember: Callable[[str], str] | None,
    ) -> dict[str, Any]:
        body = {
            "pickup": {
                "shipment": {"id": label.provider_label_id},
                "address": _address(address),
                "min_datetime": _iso(window.starts_at),
                "max_datetime": _iso(window.ends_at),
                "is_account_address": False,
                "instructions": f"Parcel {label.tracking_number}",
            }
        }
        created = self._call("POST", "/pickups", body)
        # Kept before buying: a crash after the buy leaves an id the next attempt retrieves.
        chosen = remember(str(created["id"])) if remember else str(created["id"])
        if chosen == created["id"]:
            return created
        # Another attempt remembered its pickup first: go on with that one.
        pickup = self._lookup("pickups", chosen)
        if pickup is None or _text(pickup.get("status")) == CANCELED:
            raise LabelProviderUnavailable(
                f"EasyPost pickup {chosen}, remembered by another attempt, cannot be used",
                code="pickup_conflict",
            )
        return pickup

    def _buy_pickup(self, pickup: dict[str, Any]) -> dict[str, Any]:
        """``POST /pickups/{id}/buy`` at the cheapest pickup rate, unless already bought. A
        refusal is checked against the pickup itself: bought meanwhile (a concurrent attempt)
        is success."""
        if _text(pickup.get("status")) == SCHEDULED:
            return pickup
        offers = [r for r in pickup.get("pickup_rates") or [] if isinstance(r, dict)]
        if not offers:
            raise LabelRefused(
                "EasyPost offered no pickup for this parcel and window.",
                code="no_pickup",
                messages=self._messages(pickup),
            )
        cheapest = min(offers, key=lambda r: Decimal(str(r.get("rate") or "0")))
        path = f"/pickups/{pickup['id']}"
        try:
            return self._call(
                "POST",
                f"{path}/buy",
                {"carrier": cheapest.get("carrier"), "service": cheapest.get("service")},
            )
        except _EasyPostError as error:
            if error.status >= 500 or error.status == 429:
                raise self._mapped(error, buying=True) from error
            again = self._lookup("pickups", str(pickup["id"]))
            if again is not None and _text(again.get("status")) == SCHEDULED:
                return again
            raise self._mapped(error, buying=True) from error

    def cancel_pickup(self, provider_pickup_id: str) -> PickupCancelOutcome:
        path = f"/pickups/{provider_pickup_id}"
        try:
            try:
                answer = self._call("POST", f"{path}/cancel", {})
            except _EasyPostError as error:
                if error.status == 404:
                    return PickupCancelOutcome.UNKNOWN
                if error.status >= 500 or error.status == 429:
                    raise
                # Refused: cancelled before (a retry), or too late. The pickup itself says.
                if _text(self._call("GET", path).get("status")) == CANCELED:
                    return PickupCancelOutcome.CANCELLED
                raise LabelRefused(
                    f"EasyPost would not cancel pickup {provider_pickup_id}: {error.message}",
                    code="pickup_cancel_refused",
                    easypost_code=error.code,
                ) from error
        except _EasyPostError as error:
            raise self._mapped(error) from error
        if _text(answer.get("status")) != CANCELED:
            raise LabelProviderUnavailable(
                f"EasyPost answered the cancel with status {answer.get('status')!r}",
                code="unreadable_answer",
            )
        return PickupCancelOutcome.CANCELLED

    # --- requests and answers ----------------------------------------------------------

    def _shipment_body(self, request: LabelRequest) -> dict[str, Any]:
        parcel = request.parcel
        return {
            "reference": reference_for(request.idempotency_key),
            "to_address": _address(request.to_address),
            "from_address": _address(request.from_address),
            "parcel": {
                "weight": _up_to_tenth(parcel.weight_grams / GRAMS_PER_OUNCE),
                "length": _up_to_tenth(parcel.length_mm / MM_PER_INCH),
                "width": _up_to_tenth(parcel.width_mm / MM_PER_INCH),
                "height": _up_to_tenth(parcel.height_mm / MM_PER_INCH),
            },
            "options": {
                "label_format": "ZPL" if request.label_format is LabelFormat.ZPL else "PDF",
                "currency": request.currency.upper(),
                "print_custom_1": request.reference,
            },
        }

    def _rates(self, raw: object, currency: str, shipment: Mapping[str, Any]) -> list[Rate]:
        rates = []
        for entry in raw if isinstance(raw, list) else []:
            if not isinstance(entry, dict):
                continue
            if _text(entry.get("currency")).upper() != currency.upper():
                continue  # a ceiling in one currency cannot judge a price in another
            days = entry.get("delivery_days") or entry.get("est_delivery_days")
            rates.append(
                Rate(
                    rate_id=str(entry["id"]),
                    carrier=_text(entry.get("carrier")),
                    service=_text(entry.get("service")),
                    amount_minor=minor_units(entry.get("rate"), currency),
                    currency=currency.lower(),
                    days=int(days) if isinstance(days, int | float) else None,
                )
            )
        if not rates:
            reasons = "; ".join(self._messages(shipment)) or "no reason given"
            raise LabelRefused(
                f"EasyPost offered no rate for this parcel in {currency.upper()}: {reasons}.",
                code="no_rate",
            )
        return rates

    @staticmethod
    def _messages(record: Mapping[str, Any]) -> list[str]:
        messages = record.get("messages") or []
        return [
            f"{m.get('carrier', '')}: {m.get('message', '')}".strip(": ")
            for m in messages
            if isinstance(m, dict)
        ]

    @staticmethod
    def _is_bought(shipment: Mapping[str, Any]) -> bool:
        return bool(shipment.get("postage_label")) and bool(shipment.get("tracking_code"))

    def _label(self, shipment: Mapping[str, Any], label_format: LabelFormat) -> PurchasedLabel:
        """The bought label: always its PDF (converted when bought as ZPL); its ZPL too when
        ZPL was asked for (converted when bought as PDF) or EasyPost already has one."""
        postage = shipment.get("postage_label") or {}
        selected = shipment.get("selected_rate") or {}
        currency = _text(selected.get("currency")) or "USD"
        zpl_url = self._url_of(postage, "zpl")
        if label_format is LabelFormat.ZPL and not zpl_url:
            zpl_url = self._converted(shipment, "zpl")
        zpl = self._document(zpl_url) if zpl_url else None
        pdf_url = self._url_of(postage, "pdf") or self._converted(shipment, "pdf")
        return PurchasedLabel(
            provider=self.name,
            carrier=_text(selected.get("carrier")),
            service=_text(selected.get("service")),
            tracking_number=_text(shipment.get("tracking_code")),
            provider_label_id=str(shipment["id"]),
            cost_minor=minor_units(selected.get("rate") or "0", currency),
            currency=currency.lower(),
            document=self._document(pdf_url),
            media_type=labels.PDF_MEDIA_TYPE,
            zpl=zpl,
        )

    @staticmethod
    def _url_of(postage: Mapping[str, Any], extension: str) -> str:
        """The ``label_<extension>_url`` of a PostageLabel, or its ``label_url`` when that is
        the file type (``label_file_type`` ``application/pdf`` / ``application/zpl``)."""
        url = _text(postage.get(f"label_{extension}_url"))
        if not url and _text(postage.get("label_file_type")).lower() == f"application/{extension}":
            url = _text(postage.get("label_url"))
        return url

    def _converted(self, shipment: Mapping[str, Any], extension: str) -> str:
        """``GET /shipments/{id}/label?file_format=PDF|ZPL``: EasyPost converts the bought
        label and answers with the Shipment, its PostageLabel holding the new URL."""
        converted = self._call(
            "GET", f"/shipments/{shipment['id']}/label", params={"file_format": extension.upper()}
        )
        return _text((converted.get("postage_label") or {}).get(f"label_{extension}_url"))

    def _document(self, url: str) -> bytes:
        if not url:
            raise LabelProviderUnavailable(
                "EasyPost gave no URL for the label document", code="no_label_document"
            )
        try:
            response = self._http.get(url)  # no auth: a pre-signed URL on another host
        except httpx.HTTPError as exc:
            raise LabelProviderUnavailable(
                f"The label document could not be fetched: {exc}"
            ) from exc
        if response.status_code != 200 or not response.content:
            raise LabelProviderUnavailable(
                f"The label document answered HTTP {response.status_code}",
                code="no_label_document",
            )
        return response.content

    def _retrieve(self, shipment_id: str | None) -> dict[str, Any] | None:
        """The shipment by its id (documented: ``GET /shipments/{id}``); None without an id or
        when EasyPost does not know it."""
        return self._lookup("shipments", shipment_id) if shipment_id else None

    def _lookup(self, collection: str, reference: str) -> dict[str, Any] | None:
        try:
            return self._call("GET", f"/{collection}/{reference}")
        except _EasyPostError as error:
            if error.status == 404:
                return None
            raise

    def _call(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """One API call; HTTP errors come back as ``_EasyPostError``, transport failures as
        ``LabelProviderUnavailable`` (whether a buy happened is then unknown: the next
        attempt's look-up tells)."""
        try:
            response = self._http.request(
                method,
                f"{self._api_base}{path}",
                json=body,
                params=params,
                auth=(self._api_key, ""),
            )
        except httpx.HTTPError as exc:
            raise LabelProviderUnavailable(
                f"EasyPost could not be reached or did not answer: {exc}", code="unreachable"
            ) from exc
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if response.is_success:
            if not isinstance(payload, dict):
                raise LabelProviderUnavailable(
                    "EasyPost answered with an unreadable body", code="unreadable_answer"
                )
            return payload
        error = payload.get("error") if isinstance(payload, dict) else None
        error = error if isinstance(error, dict) else {}
        fields = [
            f"{item.get('field')}: {item.get('message')}" if isinstance(item, dict) else str(item)
            for item in error.get("errors") or []
        ]
        raise _EasyPostError(
            response.status_code,
            _text(error.get("code")) or f"HTTP_{response.status_code}",
            _text(error.get("message")) or response.reason_phrase,
            fields,
        )

    @staticmethod
    def _mapped(
        error: _EasyPostError, buying: bool = False
    ) -> LabelRefused | LabelProviderUnavailable:
        """EasyPost's answer as our two kinds of failure (``code`` says which case)."""
        detail = f"EasyPost: {error.message}" + (
            f" ({'; '.join(error.fields)})" if error.fields else ""
        )
        facts = {"easypost_code": error.code, "status": error.status}
        if error.status == 429:
            return LabelProviderUnavailable(detail, code="rate_limited", **facts)
        if error.status >= 500:
            return LabelProviderUnavailable(detail, code="provider_error", **facts)
        if error.code.startswith(ADDRESS_CODE_PREFIXES):
            return LabelRefused(detail, code="bad_address", **facts)
        funds = error.code == "SHIPMENT.POSTAGE.FAILURE" and any(
            word in error.message.lower() for word in FUNDS_WORDS
        )
        if error.status == 402 or error.code in PAYMENT_CODES or funds:
            return LabelRefused(detail, code="insufficient_funds", **facts)
        if error.code in RATE_GONE_CODES or (buying and error.status == 404):
            return LabelProviderUnavailable(detail, code="rate_expired", **facts)
        if error.code in RETRY_CODES:
            return LabelProviderUnavailable(detail, code="purchase_pending", **facts)
        if error.status in (401, 403):
            return LabelRefused(detail, code="not_authorised", **facts)
        if error.code == "SHIPMENT.POSTAGE.FAILURE":
            return LabelRefused(detail, code="postage_refused", **facts)
        return LabelRefused(detail, code="invalid_request", **facts)
