"""Carrier pickups: the customer (status page) or the desk books, or changes, the window in
which the carrier collects the return parcel at the customer's door.

Only an RMA waiting for its parcel (authorised, awaiting pickup) whose prepaid label spareflow
bought (``return_label_provider`` and ``return_label_id``) from a provider that
``books_pickups`` can have one. The window rules are kept simple and in UTC: it starts in the
future, no more than ``MAX_DAYS_AHEAD`` days ahead, and lasts from ``MIN_HOURS`` to
``MAX_HOURS`` hours; each refusal names its field (``starts_at`` or ``ends_at``).

Why synchronously, not through the outbox as labels are bought: the customer waits on the
page for the answer (the carrier may refuse the window, and they must be able to choose
another at once), and nothing else waits on the booking. So the provider is called here,
outside any transaction (no row lock is held over a network call), and only then is the
answer recorded on the RMA, in a short transaction that checks the RMA again. Repeating a
request is safe, by window: the window already recorded is answered without calling the
provider; the sandbox answers the same (still scheduled) pickup for the same label and
window. EasyPost books in two steps (create a pickup, then buy it): the id of the pickup it
created is kept, in its own short transaction *before* the buy, on a booking record (an
outbox row of topic ``pickup.book``, keyed by provider, label and window, written ``done``
so no worker ever runs it; outbox rows are never deleted), and the next request for the same
label and window hands it back to the provider, which retrieves that pickup instead of
booking another. So a process killed between the provider's answer and our commit books
nothing twice there either. Shippo has no such key: a crash at that exact moment can leave
one extra pickup request at Shippo (harmless, the carrier comes once; the desk can cancel it
in Shippo's dashboard).

Changing the window books the new pickup first, then calls the old one off, so a failure
never leaves the customer with none. The transaction that records the new pickup also queues
the cancellation of the old one in the outbox (``pickup.cancel``, keyed by provider and pickup
id: queued once, carried out once, retried with backoff while the provider is unreachable).
The worker asks the provider (``cancel_pickup``: an already cancelled pickup is success) and
the timeline records the cancellation. Where it cannot be done (the provider refuses: too
late; or after every retry) the desk is alerted (``pickup_cancel`` notification) to call the
carrier. Providers whose API cannot cancel a pickup (Shippo; ``cancels_pickups`` False) still
get the new window, since that is what the customer asked for; the desk is alerted in the same
transaction to cancel the old pickup in the provider's dashboard or with the carrier.
Before cancelling, the worker checks that the pickup is not the RMA's current one again (a
customer who went back to the old window while the cancel was queued, and got the same
pickup back); if it is, nothing is cancelled.
No e-mail is sent: the status page shows the booked window.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from carriers.events import CarrierUnavailable
from carriers.labels import (
    BookedPickup,
    LabelProvider,
    LabelProviderUnavailable,
    LabelRefused,
    PickupCancelOutcome,
    PickupWindow,
    PurchasedLabel,
)
from core.db import UnitOfWork, insert_ignoring_conflicts
from core.errors import N_, Conflict, InvalidInput, NotFound, filled
from core.errors import Text as Message
from core.outbox import Handler, OutboxMessage, OutboxStatus, PermanentFailure, enqueue
from returns.commands import BookPickup
from returns.context import ReturnsContext, load_rma
from returns.labels import customer_address_of
from returns.notifications import notify
from returns.queries import rma_detail
from returns.rma import SYSTEM, Rma
from returns.status import WAITING_FOR_PARCEL
from returns.views import RmaDetail

#: How far ahead a pickup may be booked.
MAX_DAYS_AHEAD = 14
#: The shortest and the longest window a carrier is asked for.
MIN_HOURS = 2
MAX_HOURS = 10

PICKUP_CANCEL_TOPIC = "pickup.cancel"
#: Booking records (never run by a worker): the provider's pickup id per label and window.
PICKUP_BOOK_TOPIC = "pickup.book"
#: A replaced pickup that could not be called off (the timeline's line), and the desk's alert.
STILL_BOOKED = N_(
    "Pickup %(pickup)s is still booked with %(provider)s, whose API cannot cancel "
    "it: cancel it in the provider's dashboard or with the carrier"
)
NOT_CANCELLED = N_(
    "Pickup %(pickup)s could not be cancelled with %(provider)s (%(last_error)s): "
    "call the carrier to cancel it"
)
CANCEL_FAILED_ALERT = N_("%(number)s: %(text)s. The carrier may come twice.")


class PickupNotAvailable(Conflict):
    """This RMA cannot have a pickup booked (its state, its label, or its provider)."""

    code = "pickup_not_available"


def check_window(window: BookPickup, now: datetime) -> PickupWindow:
    """The window, if it keeps the rules; else InvalidInput naming the field to correct."""
    starts, ends = window.starts_at, window.ends_at
    for name, moment in (("starts_at", starts), ("ends_at", ends)):
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise InvalidInput(name, N_("Give the time with its UTC offset."), code="naive_time")
    if starts <= now:
        raise InvalidInput("starts_at", N_("The pickup must start in the future."), code="past")
    if starts > now + timedelta(days=MAX_DAYS_AHEAD):
        raise InvalidInput(
            "starts_at",
            N_(
                "A pickup can be booked at most %(MAX_DAYS_AHEAD)s days ahead.",
                MAX_DAYS_AHEAD=MAX_DAYS_AHEAD,
            ),
            code="too_far_ahead",
        )
    if ends - starts < timedelta(hours=MIN_HOURS):
        raise InvalidInput(
            "ends_at",
            N_("The pickup window must be at least %(MIN_HOURS)s hours long.", MIN_HOURS=MIN_HOURS),
            code="window_too_short",
        )
    if ends - starts > timedelta(hours=MAX_HOURS):
        raise InvalidInput(
            "ends_at",
            N_("The pickup window can be at most %(MAX_HOURS)s hours long.", MAX_HOURS=MAX_HOURS),
            code="window_too_long",
        )
    return PickupWindow(starts, ends)


def label_of(rma: Rma) -> PurchasedLabel:
    """The prepaid return label as the provider knows it (what ``book_pickup`` names)."""
    return PurchasedLabel(
        provider=rma.return_label_provider or "",
        carrier=rma.return_carrier or "",
        service="",
        tracking_number=rma.return_tracking_number or "",
        provider_label_id=rma.return_label_id or "",
        cost_minor=rma.return_label_cost_minor or 0,
        currency=rma.return_label_currency or "",
        document=b"",
    )


class Pickups:
    def __init__(self, ctx: ReturnsContext):
        self.ctx = ctx

    def provider_for(self, provider_name: str | None) -> LabelProvider | None:
        """The provider that sold the label, if it books pickups (None otherwise)."""
        if not provider_name or self.ctx.label_providers is None:
            return None
        try:
            provider = self.ctx.label_providers(provider_name)
        except NotFound:
            return None
        return provider if provider.books_pickups else None

    def bookable(self, rma: RmaDetail) -> bool:
        """Whether a pickup can be booked for ``rma`` now (the status page offers the form)."""
        return (
            rma.status in WAITING_FOR_PARCEL
            and self.provider_for(rma.return_label_provider) is not None
        )

    def book(self, number: str, window: BookPickup, *, actor: str) -> RmaDetail:
        """Book (or change) the carrier's collection of ``number``'s parcel in ``window``."""
        with UnitOfWork(self.ctx.session_factory) as uow:
            rma = load_rma(uow.session, number, step="pickup")
            provider = self._provider(rma)  # first: whether this RMA can have one at all
            wanted = check_window(window, self.ctx.clock.now())
            if (rma.pickup_starts_at, rma.pickup_ends_at) == (wanted.starts_at, wanted.ends_at):
                return rma_detail(
                    uow.session, rma.number, self.ctx.clock.now().date()
                )  # booked already: nothing to do
            label, address = label_of(rma), customer_address_of(rma)
            earlier = rma.pickup_id
            key = booking_key(provider.name, label.provider_label_id, wanted)
            record = remembered_pickup(uow.session, key)
        about = {
            "rma": number,
            "provider": provider.name,
            "label_id": label.provider_label_id,
            "starts_at": wanted.starts_at.astimezone(UTC).isoformat(),
            "ends_at": wanted.ends_at.astimezone(UTC).isoformat(),
        }
        try:
            booked = provider.book_pickup(
                label,
                address,
                wanted,
                provider_record=record,
                remember=lambda created: self.remember(key, about, created, replacing=record),
            )
        except LabelRefused as error:
            raise InvalidInput(
                "starts_at",
                N_("The carrier cannot collect in that window: %(message)s", message=error.message),
                code="pickup_refused",
            ) from error
        except LabelProviderUnavailable as error:
            raise CarrierUnavailable(
                N_("The carrier could not be reached to book the pickup; try again in a moment."),
                code="pickup_provider_unavailable",
            ) from error
        with UnitOfWork(self.ctx.session_factory) as uow:
            rma = load_rma(uow.session, number, lock=True, step="pickup")
            self._provider(rma)  # still waiting for its parcel, with the same label
            rma.pickup_starts_at = booked.window.starts_at
            rma.pickup_ends_at = booked.window.ends_at
            rma.pickup_id = booked.provider_pickup_id[:100] or None
            replaces = earlier if earlier and earlier != booked.provider_pickup_id else None
            text = _booked_text(label.provider, booked, replaces)
            now = self.ctx.clock.now()
            rma.note("pickup", actor, text, now)
            if earlier and earlier != booked.provider_pickup_id:
                self._call_off(uow.session, rma, provider, earlier)
            uow.commit()
            return rma_detail(uow.session, rma.number, self.ctx.clock.now().date())

    def remember(
        self, key: str, about: Mapping[str, Any], record: str, *, replacing: str | None
    ) -> str:
        """Keep the provider's pickup id (EasyPost: created, not yet bought) on the booking
        record under ``key``, committed before the provider buys it. It replaces the record the
        attempt started from (``replacing``: a pickup cancelled since); if another attempt
        remembered a different one meanwhile, that one wins and is answered."""
        with UnitOfWork(self.ctx.session_factory) as uow:
            now = self.ctx.clock.now()
            insert_ignoring_conflicts(
                uow.session,
                OutboxMessage.__table__,
                {
                    "topic": PICKUP_BOOK_TOPIC,
                    "key": key,
                    "payload": dict(about),
                    # A record, not a job: no worker claims it.
                    "status": OutboxStatus.DONE.value,
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                    "done_at": now,
                },
            )
            message = uow.session.scalars(
                select(OutboxMessage).where(OutboxMessage.key == key).with_for_update()
            ).one()
            earlier = (message.payload or {}).get("provider_record")
            if earlier and earlier != replacing:
                return str(earlier)
            message.payload = {**dict(about), "provider_record": record}
            uow.commit()
        return record

    def _call_off(self, session: Session, rma: Rma, provider: LabelProvider, pickup: str) -> None:
        """In the transaction that records the new pickup: queue the old one's cancellation,
        or, where the provider's API cannot cancel, tell the desk to."""
        now = self.ctx.clock.now()
        if provider.cancels_pickups:
            enqueue(
                session,
                topic=PICKUP_CANCEL_TOPIC,
                key=f"pickup-cancel:{provider.name}:{pickup}"[:200],
                now=now,
                payload={"rma": rma.number, "provider": provider.name, "pickup_id": pickup},
            )
            return
        self._alert(
            session,
            rma,
            pickup,
            filled(STILL_BOOKED, pickup=pickup, provider=provider.name),
        )

    def _alert(self, session: Session, rma: Rma, pickup: str, text: str) -> None:
        """On the timeline, and once per pickup a ``pickup_cancel`` alert for the desk."""
        now = self.ctx.clock.now()
        rma.note("pickup", SYSTEM, text, now)
        notify(
            session,
            key=f"pickup-cancel-failed:{rma.return_label_provider}:{pickup}"[:200],
            rma_id=rma.id,
            kind="pickup_cancel",
            audience="desk",
            message=filled(CANCEL_FAILED_ALERT, number=rma.number, text=text),
            now=now,
        )

    # --- the outbox: cancelling a replaced pickup ----------------------------------------

    def cancel_handler(self) -> Handler:
        return Handler(self._cancel, self._cancelled, self._cancel_failed)

    def _cancel(self, payload: Mapping[str, Any], key: str) -> dict[str, Any]:
        """Outside any transaction: ask the provider to call the pickup off (idempotent at
        the provider: a retry of a cancelled pickup answers cancelled)."""
        pickup = str(payload["pickup_id"])
        with UnitOfWork(self.ctx.session_factory) as uow:
            if load_rma(uow.session, payload["rma"]).pickup_id == pickup:
                return {"outcome": "kept"}  # booked again since: it is the current one
        if self.ctx.label_providers is None:
            raise PermanentFailure("No label provider is configured.")
        try:
            provider = self.ctx.label_providers(str(payload["provider"]))
            outcome = provider.cancel_pickup(pickup)
        except NotFound as error:
            raise PermanentFailure(error.message) from error
        except LabelRefused as error:
            raise PermanentFailure(error.message, {"code": error.code}) from error
        return {"outcome": outcome.value}

    def _cancelled(self, session: Session, message: OutboxMessage) -> None:
        rma = load_rma(session, message.payload["rma"], lock=True)
        pickup, provider = message.payload["pickup_id"], message.payload["provider"]
        outcome = (message.result or {}).get("outcome")
        if outcome == "kept":
            text = N_("Pickup %(pickup)s was booked again, so it was not cancelled", pickup=pickup)
        elif outcome == PickupCancelOutcome.UNKNOWN.value:
            text = N_(
                "Pickup %(pickup)s is not known to %(provider)s: nothing to cancel",
                pickup=pickup,
                provider=provider,
            )
        else:
            text = N_(
                "Pickup %(pickup)s cancelled with %(provider)s", pickup=pickup, provider=provider
            )
        rma.note("pickup", SYSTEM, text, self.ctx.clock.now())

    def _cancel_failed(self, session: Session, message: OutboxMessage) -> None:
        """Refused (too late, not supported) or unreachable after every retry: the old
        pickup may still come, so the desk is told to call the carrier."""
        rma = load_rma(session, message.payload["rma"], lock=True)
        pickup, provider = message.payload["pickup_id"], message.payload["provider"]
        self._alert(
            session,
            rma,
            pickup,
            filled(NOT_CANCELLED, pickup=pickup, provider=provider, last_error=message.last_error),
        )

    def _provider(self, rma: Rma) -> LabelProvider:
        if rma.status not in WAITING_FOR_PARCEL:
            raise PickupNotAvailable(
                N_(
                    "%(number)s is %(status)s: a pickup can only be booked while the "
                    "return waits for its parcel.",
                    number=rma.number,
                    status=rma.status.value,
                ),
                rma=rma.number,
            )
        if not rma.return_label_id or not rma.return_label_provider:
            raise PickupNotAvailable(
                N_(
                    "%(number)s has no label bought by spareflow, so no pickup can be booked.",
                    number=rma.number,
                ),
                rma=rma.number,
            )
        provider = self.provider_for(rma.return_label_provider)
        if provider is None:
            raise PickupNotAvailable(
                N_("%(provider)s does not book pickups.", provider=rma.return_label_provider),
                code="pickups_not_supported",
                rma=rma.number,
            )
        return provider


def booking_key(provider: str, label_id: str, window: PickupWindow) -> str:
    """The booking record's key: one per provider, label and window (any UTC offset)."""
    starts, ends = window.starts_at.astimezone(UTC), window.ends_at.astimezone(UTC)
    text = f"{provider}|{label_id}|{starts.isoformat()}|{ends.isoformat()}"
    return "pickup-book:" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:48]


def remembered_pickup(session: Session, key: str) -> str | None:
    """The provider's pickup id an earlier attempt kept under ``key``, if any."""
    payload = session.scalar(select(OutboxMessage.payload).where(OutboxMessage.key == key))
    record = (payload or {}).get("provider_record")
    return str(record) if record else None


def _booked_text(provider: str, booked: BookedPickup, replaces: str | None) -> Message:
    """The timeline's line for a booked pickup: its window (UTC), the provider's pickup id and
    confirmation, and the pickup it replaces."""
    starts, ends = booked.window.starts_at.astimezone(UTC), booked.window.ends_at.astimezone(UTC)
    end = f"{ends:%H:%M}" if ends.date() == starts.date() else f"{ends:%Y-%m-%d %H:%M}"
    said = {
        "provider": provider,
        "starts": f"{starts:%Y-%m-%d %H:%M}",
        "ends": end,
        "pickup": booked.provider_pickup_id,
    }
    if booked.confirmation and replaces:
        return N_(
            "Pickup booked with %(provider)s for %(starts)s to %(ends)s UTC (%(pickup)s, "
            "confirmation %(confirmation)s); replaces pickup %(earlier)s",
            **said,
            confirmation=booked.confirmation,
            earlier=replaces,
        )
    if booked.confirmation:
        return N_(
            "Pickup booked with %(provider)s for %(starts)s to %(ends)s UTC (%(pickup)s, "
            "confirmation %(confirmation)s)",
            **said,
            confirmation=booked.confirmation,
        )
    if replaces:
        return N_(
            "Pickup booked with %(provider)s for %(starts)s to %(ends)s UTC (%(pickup)s); "
            "replaces pickup %(earlier)s",
            **said,
            earlier=replaces,
        )
    return N_("Pickup booked with %(provider)s for %(starts)s to %(ends)s UTC (%(pickup)s)", **said)
