"""What every returns stage works with, and the few steps they all take on an open session."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from carriers.labels import LabelFormat, LabelProvider
from carriers.services import CarrierService
from core.clock import Clock
from returns.addresses import ReturnAddresses
from returns.errors import RmaNotFound
from returns.followups import FollowUpSettings
from returns.messages import Messages
from returns.policy import ReturnPolicy
from returns.refund_provider import StripeRefunds
from returns.refund_providers import DEFAULT, SHOPIFY, RefundProvider, RefundRoute, choose_route
from returns.rma import Rma
from returns.service_levels import ServiceLevels


@dataclass(frozen=True)
class LabelSettings:
    """How prepaid labels are bought (``SPAREFLOW_RETURNS_LABEL_CEILING_MINOR``,
    ``SPAREFLOW_RETURNS_PARCEL_GRAMS``, ``SPAREFLOW_OUTBOUND_CARRIER``,
    ``SPAREFLOW_LABEL_FORMAT``)."""

    #: The most a label may cost (minor units of the RMA's currency); None: no ceiling.
    ceiling_minor: int | None = None
    #: The weight of a return parcel (parts carry no weight yet).
    parcel_grams: int = 1000
    #: The provider that sells outbound labels for replacements ("" for none).
    outbound_carrier: str = ""
    #: What the warehouse's printer takes: outbound labels are bought in this format (ZPL:
    #: EasyPost gives the PDF too; Shippo and the others give only the ZPL).
    label_format: LabelFormat = LabelFormat.PDF

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> LabelSettings:
        ceiling = int(settings.get("RETURNS_LABEL_CEILING_MINOR") or 0)
        return cls(
            ceiling_minor=ceiling or None,
            parcel_grams=int(settings.get("RETURNS_PARCEL_GRAMS") or cls.parcel_grams),
            outbound_carrier=str(settings.get("OUTBOUND_CARRIER") or ""),
            label_format=label_format_setting(settings.get("LABEL_FORMAT")),
        )


def label_format_setting(value: object) -> LabelFormat:
    """``SPAREFLOW_LABEL_FORMAT``: ``pdf`` (the default) or ``zpl``; anything else stops the
    start-up, as a misspelt printer format would otherwise buy every label wrong."""
    text = str(value or LabelFormat.PDF.value).strip().lower()
    try:
        return LabelFormat(text)
    except ValueError:
        raise ValueError(f"LABEL_FORMAT is 'pdf' or 'zpl', not {value!r}") from None


@dataclass
class ReturnsContext:
    """Shared by the stages of one app: changing a field here changes it for all of them."""

    session_factory: Callable[[], Session]
    clock: Clock
    policy: ReturnPolicy
    carriers: CarrierService
    #: None: no provider configured; refunds are then held, never sent anywhere.
    refund_provider: StripeRefunds | None
    addresses: ReturnAddresses
    #: The carrier whose prepaid labels the desk's authorisations order ("" for none).
    default_return_carrier: str = ""
    levels: ServiceLevels = field(default_factory=ServiceLevels)
    #: None when no SMTP server is configured: then no e-mail is queued at all.
    messages: Messages | None = None
    #: The label provider by name (carriers/label_providers/registry.py); None: labels are
    #: refused (no provider can sell one).
    label_providers: Callable[[str], LabelProvider] | None = None
    labels: LabelSettings = field(default_factory=LabelSettings)
    #: When follow-ups are due after closing (returns/followups.py).
    followups: FollowUpSettings = field(default_factory=FollowUpSettings)
    #: Shopify's refunds (returns/shopify_refunds.py), read on each use so a token an admin
    #: stores takes effect at once; None, or a None answer: not configured.
    shopify_refunds: Callable[[], RefundProvider | None] | None = None

    def shopify_refund_provider(self) -> RefundProvider | None:
        return self.shopify_refunds() if self.shopify_refunds else None

    def refund_route(self, session: Session, rma: Rma) -> RefundRoute:
        """Where this RMA's refund goes (returns/refund_providers.py)."""
        return choose_route(
            session, rma, default=self.refund_provider, shopify=self.shopify_refund_provider()
        )

    def refund_provider_named(self, name: str) -> RefundProvider | None:
        """The provider an outbox payload names (none named: the default)."""
        if name == SHOPIFY:
            return self.shopify_refund_provider()
        assert name == DEFAULT, f"unknown refund provider {name!r}"
        return self.refund_provider

    def money(self, rma: Rma) -> str:
        return rma.money(self.policy.minor_units)


def load_rma(session: Session, number: str, *, lock: bool = False, step: str | None = None) -> Rma:
    """The RMA by number (any case, spaces trimmed); ``lock``: FOR UPDATE, freshly read;
    ``step``: a return's step, refused (``NotAReturn``) on an enquiry or a complaint."""
    query = select(Rma).where(Rma.number == number.strip().upper())
    rma = session.scalars(query.with_for_update() if lock else query).first()
    if rma is None:
        raise RmaNotFound(number)
    if lock:
        session.refresh(rma)
    if step is not None:
        rma.require_return(step)
    return rma
