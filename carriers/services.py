"""Carrier use cases: receive webhooks, register shipments, record events by hand, poll."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from carriers import tracking
from carriers.adapters.base import CarrierAdapter
from carriers.errors import ShipmentNotFound, UnknownCarrier, caused_by_an_event, storable
from carriers.events import (
    Acknowledgement,
    CarrierEvent,
    MalformedWebhook,
    WebhookRequest,
)
from carriers.label_documents import LabelDocument, StoredLabel
from carriers.labels import LabelFormat, LabelProvider, LabelRequest, PurchasedLabel
from carriers.models import (
    CarrierEventRecord,
    DeliveryStatus,
    Direction,
    EventOutcome,
    EventSource,
    Shipment,
    WebhookDelivery,
)
from carriers.status import TrackingStatus
from core.clock import Clock, SystemClock
from core.db import UnitOfWork, engine_of
from core.errors import N_, Conflict, DomainError, InvalidInput

log = logging.getLogger(__name__)

#: Shipments in these states are finished: nobody needs to poll them any more.
FINISHED = (TrackingStatus.DELIVERED, TrackingStatus.RETURNED_TO_SENDER, TrackingStatus.CANCELLED)
POLL_INTERVAL = timedelta(hours=1)
POLL_BACKOFF_CAP = timedelta(hours=12)
#: A poller claims a shipment for this long, so a second scheduler process skips it.
POLL_LEASE = timedelta(minutes=5)
#: Events applied per transaction by ``apply_pending`` (``CARRIER_EVENTS_BATCH``).
APPLY_BATCH = 100


@dataclass(frozen=True)
class Registration:
    """A shipment someone registers by its tracking number, and who does it, with what right."""

    direction: Direction
    carrier: str
    tracking_number: str
    reference: str | None
    actor: str
    supervisor: bool
    reason: str


#: Asked before a registered shipment is added, inside its transaction: raises to refuse it,
#: may write (a timeline line). Returns registers one: a second return parcel for an RMA is
#: a supervisor's act. Carriers knows nothing of RMAs.
RegistrationGuard = Callable[[Session, Registration], None]


@dataclass(frozen=True)
class BoughtLabel:
    """A label bought and its shipment registered (``CarrierService.buy_label``)."""

    shipment: Shipment
    label: PurchasedLabel


class CarrierService:
    def __init__(
        self,
        session_factory: Callable[[], Session],
        clock: Clock | None,
        adapters: Mapping[str, CarrierAdapter],
        listeners: Sequence[tracking.Listener] = (),
        *,
        apply_on_receipt: bool = True,
        apply_batch: int = APPLY_BATCH,
    ):
        self.session_factory = session_factory
        #: True: a webhook's events are applied in the request that brought them, right after
        #: they are stored. False: only stored; ``apply_pending`` (a scheduler job) applies
        #: them within seconds, in batches, so webhook requests stay short under load.
        self.apply_on_receipt = apply_on_receipt
        self.clock = clock or SystemClock()
        self.adapters = adapters  # a plain dict, or LiveAdapters that follow stored settings
        self.listeners = list(listeners)
        self.apply_batch = max(1, apply_batch)
        #: Around each batch applied (tracking.BatchScope): returns loads its RMAs at once.
        self.batch_scopes: list[tracking.BatchScope] = []
        self.registration_guards: list[RegistrationGuard] = []

    @functools.cached_property
    def engine(self) -> Engine:
        return engine_of(self.session_factory)

    def adapter(self, name: str) -> CarrierAdapter:
        try:
            return self.adapters[name]
        except KeyError:
            raise UnknownCarrier(name) from None

    # --- inbound events ------------------------------------------------------------------

    def receive_webhook(self, carrier: str, request: WebhookRequest) -> Acknowledgement:
        """Verify, keep the raw delivery and store each event once; commit; then answer.

        Raises WebhookRejected before anything is written when authenticity fails, and
        MalformedWebhook (after keeping the body for review) when it cannot be read. Once
        the delivery is committed the carrier gets its 2xx whatever happens next: the new
        events are applied right here (``apply_on_receipt``), or by ``apply_pending`` in a
        scheduler process, and either way exactly once.
        """
        adapter = self.adapter(carrier)
        try:
            # WebhookRejected passes through: nothing is kept of what is not authentic. A
            # MalformedWebhook from verifying comes after the signature matched.
            adapter.verify_webhook(request, self.clock.now())
            try:
                events = adapter.parse_webhook(request)
            except RecursionError:  # JSON or XML nested thousands deep: unreadable, not a crash
                raise MalformedWebhook("The body is nested too deeply to read.") from None
        except MalformedWebhook as error:
            self._keep_for_review(carrier, request, error.message)
            raise
        new = tracking.store_delivery(
            self.engine,
            events,
            carrier=carrier,
            content_type=request.content_type,
            body=request.body,
            received_at=self.clock.now(),
        )
        if new and self.apply_on_receipt:
            try:
                self.apply_pending(only=new)
            except Exception:  # stored and safe: the scheduler's applier retries it
                log.exception("applying %s events on receipt failed; left for the applier", carrier)
        return adapter.acknowledge(events, request)

    def apply_pending(self, *, only: Sequence[int] | None = None, limit: int = 2000) -> int:
        """Apply stored events that wait (``PENDING``), oldest first; returns how many it took
        (applied, or set aside as failed). It stops at ``limit``, or once a batch comes out
        short: fewer than ``limit`` means the queue was drained.

        Batches of ``apply_batch`` events, one transaction and one flush each. Each batch is
        claimed with ``FOR UPDATE SKIP LOCKED`` (PostgreSQL), so several appliers (the web
        process right after a webhook, schedulers, ``spareflow carriers apply-events --loop``)
        share the queue and never apply an event twice. An event that raises is set aside as
        ``FAILED`` with its error, and the rest of its batch is applied without it.
        """
        applied = 0
        while applied < limit:
            with UnitOfWork(self.session_factory) as uow:
                size = min(self.apply_batch, limit - applied)
                records = tracking.claim_pending(uow.session, only, size)
                if not records:
                    break
                ids = [record.id for record in records]
                try:
                    self._apply(uow.session, records)
                    uow.commit()
                except Exception as error:
                    if not caused_by_an_event(error):
                        raise  # the database itself (lost, deadlock): the next run retries
                    log.warning("a batch of carrier events failed (%s); one by one now", error)
                    uow.session.rollback()
                    self._apply_one_by_one(ids)
            applied += len(ids)
            if len(ids) < size:
                # The queue was drained: claiming again now would take the few events that
                # arrived meanwhile, at many times the cost per event of a full batch.
                break
        return applied

    def _apply(self, session: Session, records: Sequence[CarrierEventRecord]) -> None:
        tracking.apply_stored(session, records, self.listeners, None, self.batch_scopes)

    def _apply_one_by_one(self, ids: list[int]) -> None:
        for event_id in ids:
            try:
                with UnitOfWork(self.session_factory) as uow:
                    record = uow.session.scalars(
                        select(CarrierEventRecord)
                        .where(
                            CarrierEventRecord.id == event_id,
                            CarrierEventRecord.outcome == EventOutcome.PENDING,
                        )
                        .with_for_update(skip_locked=True)
                    ).first()
                    if record is not None:
                        self._apply(uow.session, [record])
                        uow.commit()
            except Exception as error:
                if not caused_by_an_event(error):
                    raise
                self._set_aside(event_id, error)

    def _set_aside(self, event_id: int, error: Exception) -> None:
        log.error("carrier event %s cannot be applied; kept for review", event_id, exc_info=error)
        with UnitOfWork(self.session_factory) as uow:
            uow.session.execute(
                update(CarrierEventRecord)
                .where(
                    CarrierEventRecord.id == event_id,
                    CarrierEventRecord.outcome == EventOutcome.PENDING,
                )
                .values(
                    outcome=EventOutcome.FAILED,
                    apply_error=f"{type(error).__name__}: {error}"[:500],
                )
            )
            uow.commit()

    def retry_failed(self) -> int:
        """Put every ``FAILED`` event back in the queue (after its cause is fixed); how many."""
        with UnitOfWork(self.session_factory) as uow:
            retried = uow.session.execute(
                update(CarrierEventRecord)
                .where(CarrierEventRecord.outcome == EventOutcome.FAILED)
                .values(outcome=EventOutcome.PENDING, apply_error=None)
                .returning(CarrierEventRecord.id)
            ).all()
            uow.commit()
            return len(retried)

    def pending_events(self) -> int:
        """How many stored events wait to be applied (a health figure for operators)."""
        with UnitOfWork(self.session_factory) as uow:
            return uow.session.execute(
                select(func.count()).where(CarrierEventRecord.outcome == EventOutcome.PENDING)
            ).scalar_one()

    def _keep_for_review(self, carrier: str, request: WebhookRequest, error: str) -> None:
        with UnitOfWork(self.session_factory) as uow:
            uow.session.add(
                WebhookDelivery(
                    carrier=carrier,
                    status=DeliveryStatus.MALFORMED,
                    content_type=request.content_type[:200],
                    body=request.body,
                    error=storable(error[:500]),
                    received_at=self.clock.now(),
                )
            )
            uow.commit()

    def record_event(
        self,
        actor: str,
        *,
        tracking_number: str,
        status: TrackingStatus,
        occurred_at: datetime | None,
        reason: str,
        supervisor: bool = False,
    ) -> Shipment:
        """Staff record an event the carrier did not send (a phone confirmation of pickup).

        The event names its person and reason; listeners get them (``ShipmentChange.hand``)
        with ``supervisor``, so a pickup entered by hand releases money only on an admin's word.
        """
        if not reason.strip():
            raise InvalidInput("reason", N_("Say why the event is recorded by hand."))
        with UnitOfWork(self.session_factory) as uow:
            shipment = self._shipment(uow.session, tracking_number)
            now = self.clock.now()
            when = occurred_at.astimezone(UTC) if occurred_at else now
            if when > now:
                raise InvalidInput("occurred_at", N_("An event cannot happen in the future."))
            event = CarrierEvent(
                carrier=shipment.carrier,
                tracking_number=shipment.tracking_number,
                status=status,
                raw_status=f"manual:{status.value}",
                occurred_at=when,
                description=f"Recorded by {actor}: {reason.strip()}",
            )
            tracking.store_events(
                uow.session,
                [event],
                source=EventSource.MANUAL,
                received_at=now,
                listeners=self.listeners,
                recorded_by=actor,
                hand=tracking.HandEntry(actor, reason.strip(), supervisor),
            )
            uow.commit()
            return self._shipment(uow.session, tracking_number)

    # --- shipments -----------------------------------------------------------------------

    def register_shipment(
        self,
        *,
        direction: Direction,
        carrier: str,
        tracking_number: str,
        reference: str | None = None,
        tracked_via: str | None = None,
        actor: str = "",
        supervisor: bool = False,
        reason: str = "",
    ) -> Shipment:
        """A shipment whose tracking number we know (e.g. the customer's own label).

        ``tracked_via`` names the aggregator whose events it takes (AfterShip for a UPS
        parcel); the registration guards may refuse it (a second return parcel for an RMA).
        """
        with UnitOfWork(self.session_factory) as uow:
            registration = Registration(
                direction=direction,
                carrier=carrier,
                tracking_number=tracking.normalise_tracking_number(tracking_number),
                reference=reference,
                actor=actor,
                supervisor=supervisor,
                reason=(reason or "").strip(),
            )
            for guard in self.registration_guards:
                guard(uow.session, registration)
            shipment = self.add_shipment(
                uow.session,
                direction=direction,
                carrier=carrier,
                tracking_number=tracking_number,
                reference=reference,
                tracked_via=tracked_via,
            )
            self.apply_waiting_events(uow.session, shipment)
            uow.commit()
            return self._shipment(uow.session, shipment.tracking_number)

    def buy_label(
        self,
        provider: LabelProvider,
        request: LabelRequest,
        *,
        look_first: bool = False,
        reference: str | None = None,
    ) -> BoughtLabel:
        """Buy a label from ``provider`` (outside any transaction, under the request's
        idempotency key; ``look_first``: a retry after a crash finds a label bought before)
        and register its shipment (reference: ``reference``, else the request's). Raises
        ``LabelRefused`` or ``LabelProviderUnavailable``. Events that came before the label's
        number wait for the caller's ``apply_waiting_events`` (returns: once the RMA waits)."""
        label = (provider.find_label(request) if look_first else None) or provider.buy_label(
            request
        )
        carrier, tracked_via = self._tracked_as(provider.name, label.carrier)
        number = tracking.normalise_tracking_number(label.tracking_number)
        with UnitOfWork(self.session_factory) as uow:
            exists = uow.session.scalar(
                select(Shipment.id).where(
                    Shipment.carrier == carrier, Shipment.tracking_number == number
                )
            )
            if exists is None:
                self.add_shipment(
                    uow.session,
                    direction=request.direction,
                    carrier=carrier,
                    tracking_number=number,
                    reference=reference or request.reference,
                    label=StoredLabel.of(label),
                    tracked_via=tracked_via,
                )
                uow.commit()
            return BoughtLabel(self._shipment(uow.session, number), label)

    def _tracked_as(self, provider: str, carrier: str) -> tuple[str, str | None]:
        """The shipment's carrier and the adapter it is tracked through: a carrier that is an
        adapter itself (the sandbox, SF Express), else the carrier's name tracked through
        the provider's adapter (a USPS label bought on EasyPost)."""
        name = carrier.strip().lower()
        if name in self.adapters:
            return name, None
        if provider in self.adapters:
            return (name or provider), (provider if name and name != provider else None)
        unknown = N_(
            "No carrier adapter follows %(c)r labels bought on %(p)r.", c=carrier, p=provider
        )
        raise InvalidInput("carrier", unknown, code="unknown_carrier")

    def add_shipment(
        self,
        session: Session,
        *,
        direction: Direction,
        carrier: str,
        tracking_number: str,
        reference: str | None,
        label: StoredLabel | None = None,
        tracked_via: str | None = None,
    ) -> Shipment:
        """Within a caller's transaction: add the shipment.

        Events that arrived before the shipment was known are not applied here: the caller
        applies them with ``apply_waiting_events`` once its own state is ready for them (an
        RMA waits for its parcel first), so no listener runs in the middle of its change.

        Without ``tracked_via`` the carrier is an adapter. With it, the carrier may be any
        carrier's name (``ups``) and ``tracked_via`` is the adapter whose events it takes.
        """
        if tracked_via:
            if tracked_via not in self.adapters:
                unknown = N_("No carrier adapter named %(carrier)s.", carrier=repr(tracked_via))
                raise InvalidInput("tracked_via", unknown, code="unknown_carrier")
            carrier = carrier.strip().lower()
            if not carrier:
                raise InvalidInput("carrier", N_("Name the parcel's carrier."))
        elif carrier not in self.adapters:
            unknown = N_("No carrier adapter named %(carrier)s.", carrier=repr(carrier))
            raise InvalidInput("carrier", unknown, code="unknown_carrier")
        number = tracking.normalise_tracking_number(tracking_number)
        if not number:
            raise InvalidInput("tracking_number", N_("A tracking number is required."))
        exists = session.scalar(
            select(Shipment.id).where(
                Shipment.carrier == carrier, Shipment.tracking_number == number
            )
        )
        if exists is not None:
            exists_text = N_(
                "A %(carrier)s shipment %(num)s already exists.", carrier=carrier, num=number
            )
            raise Conflict(
                exists_text,
                code="duplicate_shipment",
                tracking_number=number,
            )
        now = self.clock.now()
        shipment = Shipment(
            direction=direction,
            carrier=carrier,
            tracked_via=tracked_via or None,
            tracking_number=number,
            status=TrackingStatus.PRE_TRANSIT,
            reference=reference,
            **(label or StoredLabel(None, None)).columns(),
            poll_failures=0,
            created_at=now,
            updated_at=now,
            # A parcel tracked through an aggregator hears from its webhooks, never by polling.
            next_poll_at=now if getattr(self.adapters.get(carrier), "polls", False) else None,
        )
        session.add(shipment)
        session.flush()
        return shipment

    def apply_waiting_events(
        self, session: Session, shipment: Shipment
    ) -> list[tracking.ShipmentChange]:
        """Within a caller's transaction: the events that came before ``shipment`` was known,
        in the order they happened, handed to the listeners (returns releases a refund)."""
        return tracking.apply_waiting_events(session, shipment, self.listeners)

    def get_shipment(self, tracking_number: str) -> Shipment:
        with UnitOfWork(self.session_factory) as uow:
            return self._shipment(uow.session, tracking_number)

    def get_label(
        self, tracking_number: str, label_format: LabelFormat | None = None
    ) -> LabelDocument:
        """The shipment's label in ``label_format`` (None: the PDF if there is one, else the
        ZPL); NotFound ``no_label`` / ``no_label_format``."""
        with UnitOfWork(self.session_factory) as uow:
            shipment = self._shipment(uow.session, tracking_number)
            stored = StoredLabel.from_columns(
                shipment.label, shipment.label_zpl, shipment.label_media_type
            )
            return stored.document(label_format, f"Shipment {shipment.tracking_number}")

    def _shipment(self, session: Session, tracking_number: str) -> Shipment:
        shipment = session.scalars(
            select(Shipment)
            .where(Shipment.tracking_number == tracking.normalise_tracking_number(tracking_number))
            .order_by(Shipment.id.desc())
            .limit(1)
        ).first()
        if shipment is None:
            raise ShipmentNotFound(tracking_number)
        session.refresh(shipment)
        return shipment

    # --- polling -------------------------------------------------------------------------

    def poll_due(self, limit: int = 50) -> int:
        """Ask carriers about open shipments that are due; returns how many were asked.

        Each shipment is claimed first (its next poll moved a lease ahead, with SKIP LOCKED on
        PostgreSQL), so two scheduler processes never poll the same parcel at once.
        """
        pollable = [name for name, adapter in self.adapters.items() if adapter.polls]
        claimed = self._claim_due(pollable, limit)
        for shipment_id, carrier, number in claimed:
            try:
                events = self.adapters[carrier].fetch_tracking(number)
            except DomainError as error:  # unreachable, or an answer we cannot read
                log.warning("polling %s %s failed: %s", carrier, number, error.message)
                self._poll_failed(shipment_id)
                continue
            with UnitOfWork(self.session_factory) as uow:
                now = self.clock.now()
                tracking.store_events(
                    uow.session,
                    events,
                    source=EventSource.POLL,
                    received_at=now,
                    listeners=self.listeners,
                )
                shipment = uow.session.get(Shipment, shipment_id)
                if shipment is not None:
                    shipment.poll_failures = 0
                    shipment.next_poll_at = (
                        None if shipment.status in FINISHED else now + POLL_INTERVAL
                    )
                uow.commit()
        return len(claimed)

    def _claim_due(self, carriers: list[str], limit: int) -> list[tuple[int, str, str]]:
        with UnitOfWork(self.session_factory) as uow:
            now = self.clock.now()
            rows = uow.session.execute(
                select(Shipment.id, Shipment.carrier, Shipment.tracking_number)
                .where(
                    Shipment.carrier.in_(carriers),
                    Shipment.next_poll_at.is_not(None),
                    Shipment.next_poll_at <= now,
                    Shipment.status.not_in(FINISHED),
                )
                .order_by(Shipment.next_poll_at)
                .limit(limit)
                .with_for_update(skip_locked=True)
            ).all()
            if rows:
                uow.session.execute(
                    update(Shipment)
                    .where(Shipment.id.in_([row.id for row in rows]))
                    .values(next_poll_at=now + POLL_LEASE)
                )
                uow.commit()
            return [(row.id, row.carrier, row.tracking_number) for row in rows]

    def _poll_failed(self, shipment_id: int) -> None:
        with UnitOfWork(self.session_factory) as uow:
            shipment = uow.session.get(Shipment, shipment_id)
            if shipment is not None:
                shipment.poll_failures += 1
                backoff = min(POLL_INTERVAL * 2 ** min(shipment.poll_failures, 8), POLL_BACKOFF_CAP)
                shipment.next_poll_at = self.clock.now() + backoff
                uow.commit()

    def open_shipments(
        self, *, direction: Direction | None = None, limit: int = 100
    ) -> list[Shipment]:
        with UnitOfWork(self.session_factory) as uow:
            query = select(Shipment).where(Shipment.status.not_in(FINISHED))
            if direction:
                query = query.where(Shipment.direction == direction)
            return list(uow.session.scalars(query.order_by(Shipment.id.desc()).limit(limit)))
