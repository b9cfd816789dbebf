"""Buying labels and booking pickups: the contract every label provider keeps.

A label provider (EasyPost, Shippo, SF Express, the sandbox) turns a ``LabelRequest`` (who
sends what to whom, how big, how fast) into a ``PurchasedLabel`` (a tracking number, the
printable label, what it cost). The tracking adapters beside them (carriers/adapters/) then
follow the parcel through the provider's webhooks.

Rules that hold for every provider (tests/unit/carriers/test_label_contract.py):
- ``buy_label`` with the same ``idempotency_key`` never buys twice: the provider's own
  idempotency where it has one, else our reference on the provider's record and
  ``find_label`` before buying again (a process killed between the provider's answer and our
  commit must not buy a second label).
- Errors say whether trying again can help: ``LabelRefused`` (a bad address, no funds, no rate
  under the ceiling: a person must act) is permanent; ``LabelProviderUnavailable`` (timeouts,
  5xx, an expired rate) is retried by the outbox with backoff.
- ``cancel_pickup`` may be called any number of times for one pickup: an already cancelled
  pickup answers ``CANCELLED``, one the provider does not know answers ``UNKNOWN``.
- Rates are chosen by ``choose_rate``: cheapest by default, fastest when asked (urgent, VIP),
  never above the ceiling.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import ClassVar, Protocol

from carriers.models import ZPL_MEDIA_TYPE as ZPL_MEDIA_TYPE  # stored by the model
from carriers.models import Direction
from core.errors import DomainError

#: Address fields, in the order they are printed; ``country`` is ISO 3166 alpha-2.
ADDRESS_FIELDS = (
    "name",
    "company",
    "street",
    "street2",
    "city",
    "state",
    "postcode",
    "country",
    "phone",
    "email",
)
#: What every label needs of an address (a provider may need more, e.g. a phone).
REQUIRED_ADDRESS_FIELDS = ("name", "street", "city", "postcode", "country")
#: Providers that sell a label without the sender's address: only the demo's sandbox carrier
#: (the demo's customers have a name and an e-mail, and the demo must work offline).
ADDRESS_OPTIONAL_PROVIDERS = frozenset({"sandbox"})
#: What a provider needs beyond a complete address: SF Express's courier phones the sender
#: before a door pickup (its order service takes ``mobile``/``tel`` for each contact).
EXTRA_ADDRESS_FIELDS: Mapping[str, tuple[str, ...]] = {"sfexpress": ("phone",)}


def needs_sender_address(provider: str) -> bool:
    """Whether ``provider`` refuses a label without the sender's complete address."""
    return provider.strip().lower() not in ADDRESS_OPTIONAL_PROVIDERS


@dataclass(frozen=True)
class Address:
    name: str
    street: str
    city: str
    postcode: str
    country: str
    company: str = ""
    street2: str = ""
    #: Province or state (Chinese addresses: the province; ``city`` holds city and district).
    state: str = ""
    phone: str = ""
    email: str = ""

    @classmethod
    def from_mapping(cls, values: Mapping[str, object]) -> Address:
        """From stored or configured address fields (unknown keys are left out)."""
        return cls(**{key: str(values.get(key) or "").strip() for key in ADDRESS_FIELDS})

    def missing(self) -> list[str]:
        return [name for name in REQUIRED_ADDRESS_FIELDS if not getattr(self, name)]


@dataclass(frozen=True)
class Parcel:
    """The parcel's weight and outside size (from the parts' data, or the defaults)."""

    weight_grams: int
    length_mm: int = 300
    width_mm: int = 200
    height_mm: int = 150


class RatePreference(enum.StrEnum):
    CHEAPEST = "cheapest"
    FASTEST = "fastest"


class LabelFormat(enum.StrEnum):
    PDF = "pdf"  # 4x6 inch PDF, for any printer
    ZPL = "zpl"  # for thermal label printers


#: How a label's document is typed (``PurchasedLabel.media_type``): the 4x6 PDF, or ZPL.
PDF_MEDIA_TYPE = "application/pdf"


@dataclass(frozen=True)
class LabelRequest:
    #: What the parcel belongs to (an RMA number, or ``RMA-…/R<replacement id>``): written on
    #: the provider's record, so ``find_label`` can find a label bought before a crash.
    reference: str
    direction: Direction
    from_address: Address
    to_address: Address
    parcel: Parcel
    #: Never the same for two labels; the same for every retry of one label.
    idempotency_key: str
    preference: RatePreference = RatePreference.CHEAPEST
    #: The most a label may cost (minor units of ``currency``); above it the desk is asked.
    ceiling_minor: int | None = None
    currency: str = "usd"
    label_format: LabelFormat = LabelFormat.PDF
    #: Book the carrier's collection at the sender's door (SF Express ``isDocall``).
    door_pickup: bool = False
    #: When the collection may start (an aware datetime), where the provider takes it with the
    #: order (SF Express ``sendStartTm``); None: the provider's default (SF: within the hour).
    pickup_starts_at: datetime | None = None
    #: The provider's record an earlier attempt under this key created and ``remember``ed
    #: (EasyPost: the shipment id); None: none yet.
    provider_record: str | None = None
    #: Called by a provider whose purchase takes two steps (EasyPost: create, then buy) with
    #: the record it created, *before* anything is bought; it keeps the id where the next
    #: attempt finds it and answers the id to go on with (an earlier one, if another attempt
    #: remembered first). None: nothing is kept (one attempt only, as in unit tests).
    remember: Callable[[str], str] | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Rate:
    """One offer for a label: who carries it, how fast, for how much."""

    rate_id: str
    carrier: str
    service: str
    amount_minor: int
    currency: str
    #: Business days in transit, when the provider says.
    days: int | None = None


@dataclass(frozen=True)
class PurchasedLabel:
    provider: str  # "easypost", "shippo", "sfexpress", "sandbox"
    carrier: str  # the carrier that moves it, as the provider names it ("USPS", "SF")
    service: str
    tracking_number: str
    #: The provider's id of what was bought (EasyPost shipment, Shippo transaction, SF order):
    #: what a refund or a pickup names.
    provider_label_id: str
    cost_minor: int
    currency: str
    document: bytes
    media_type: str = "application/pdf"
    #: The same label for a thermal printer, when the provider gives one.
    zpl: bytes | None = None


@dataclass(frozen=True)
class PickupWindow:
    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True)
class BookedPickup:
    provider_pickup_id: str
    window: PickupWindow
    confirmation: str = ""


class PickupCancelOutcome(enum.StrEnum):
    """What became of a request to cancel a booked pickup."""

    CANCELLED = "cancelled"  # cancelled now, or before (a retry): either way, not coming
    UNKNOWN = "unknown"  # the provider knows no such pickup: nothing to cancel


class RefundOutcome(enum.StrEnum):
    """What became of a request to refund an unused label."""

    REFUNDED = "refunded"
    SUBMITTED = "submitted"  # the provider checks first (EasyPost, Shippo): settles later
    REFUSED = "refused"  # used, too old, or not refundable


class LabelRefused(DomainError):
    """The provider refused the label for a reason trying again cannot fix: a bad address,
    no funds, no rate under the ceiling. The desk must act."""

    code = "label_refused"


class LabelProviderUnavailable(DomainError):
    """The provider could not be reached, failed, or the rate expired: try again later."""

    code = "label_provider_unavailable"


class LabelProvider(Protocol):
    name: ClassVar[str]
    #: Whether ``book_pickup`` works (the provider books carrier collections).
    books_pickups: ClassVar[bool]
    #: Whether ``cancel_pickup`` works (the provider's API can call a collection off).
    cancels_pickups: ClassVar[bool]

    def buy_label(self, request: LabelRequest) -> PurchasedLabel:
        """Buy (or, for a key seen before, return) the label ``request`` describes."""
        ...

    def find_label(self, request: LabelRequest) -> PurchasedLabel | None:
        """The label bought earlier for this request (by its reference or key), if any."""
        ...

    def refund_label(self, label: PurchasedLabel) -> RefundOutcome:
        """Ask for the money back for a label that was never used."""
        ...

    def book_pickup(
        self,
        label: PurchasedLabel,
        address: Address,
        window: PickupWindow,
        *,
        provider_record: str | None = None,
        remember: Callable[[str], str] | None = None,
    ) -> BookedPickup:
        """Book the carrier's collection of ``label``'s parcel (only where ``books_pickups``).

        ``provider_record`` and ``remember`` work as on ``LabelRequest``, per label and window:
        a provider that books in two steps (EasyPost: create, then buy) hands the record it
        created to ``remember`` before buying, and the next attempt for the same label and
        window gets it back as ``provider_record``. Providers that book in one call ignore
        them."""
        ...

    def cancel_pickup(self, provider_pickup_id: str) -> PickupCancelOutcome:
        """Call off a booked collection (only where ``cancels_pickups``). Idempotent: a pickup
        cancelled before is ``CANCELLED`` again. ``LabelRefused`` when the provider will not
        (too late, not supported: a person must call the carrier)."""
        ...


#: Currencies without minor units (ISO 4217 exponent 0) among those carriers price in.
ZERO_DECIMAL_CURRENCIES = frozenset({"JPY", "KRW", "VND", "CLP", "ISK", "HUF", "TWD"})


def minor_units(amount: object, currency: str, provider: str) -> int:
    """A provider's decimal-string price (``"7.58"`` USD) in minor units (758), rounded half
    up; an unreadable price is the provider's fault, so the purchase is tried again later."""
    try:
        value = Decimal(str(amount))
    except InvalidOperation as exc:
        raise LabelProviderUnavailable(f"{provider} sent an unreadable price: {amount!r}") from exc
    exponent = 0 if currency.upper() in ZERO_DECIMAL_CURRENCIES else 2
    return int((value * (10**exponent)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def choose_rate(
    rates: Sequence[Rate], preference: RatePreference, ceiling_minor: int | None = None
) -> Rate:
    """The rate the rules pick: the cheapest (the faster of equal prices), or the fastest
    (the cheaper of equal speeds; an unknown speed counts as slowest). Rates above the
    ceiling are never chosen: with none left, ``LabelRefused`` asks the desk."""
    allowed = [r for r in rates if ceiling_minor is None or r.amount_minor <= ceiling_minor]
    if not allowed:
        if not rates:
            raise LabelRefused("The provider offered no rate for this parcel.", code="no_rate")
        cheapest = min(r.amount_minor for r in rates)
        raise LabelRefused(
            f"Every rate is above the ceiling of {ceiling_minor} (the cheapest is {cheapest});"
            " the desk must approve a dearer label.",
            code="above_ceiling",
            cheapest_minor=cheapest,
            ceiling_minor=ceiling_minor,
        )
    slowest = 10_000
    if preference is RatePreference.FASTEST:
        return min(allowed, key=lambda r: (r.days or slowest, r.amount_minor, r.rate_id))
    return min(allowed, key=lambda r: (r.amount_minor, r.days or slowest, r.rate_id))


@dataclass(frozen=True)
class LabelProviderSettings:
    """What a provider needs from configuration (keys come decrypted from the settings store)."""

    api_key: str
    api_base: str
    extra: Mapping[str, str] = field(default_factory=dict)
