"""What every returns stage works with, and the few steps they all take on an open session."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from carriers.services import CarrierService
from core.clock import Clock
from returns.addresses import ReturnAddresses
from returns.errors import RmaNotFound
from returns.messages import Messages
from returns.policy import ReturnPolicy
from returns.refund_provider import StripeRefunds
from returns.rma import Rma
from returns.service_levels import ServiceLevels


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

    def money(self, rma: Rma) -> str:
        return rma.money(self.policy.minor_units)


def load_rma(session: Session, number: str, *, lock: bool = False) -> Rma:
    """The RMA by number (any case, spaces trimmed); ``lock``: FOR UPDATE, freshly read."""
    query = select(Rma).where(Rma.number == number.strip().upper())
    rma = session.scalars(query.with_for_update() if lock else query).first()
    if rma is None:
        raise RmaNotFound(number)
    if lock:
        session.refresh(rma)
    return rma
