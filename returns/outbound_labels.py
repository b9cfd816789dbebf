"""Outbound labels for replacements: the warehouse asks spareflow to buy the label that ships a
picked replacement to the customer (``SPAREFLOW_OUTBOUND_CARRIER``).

The order is an outbox message (``replacement_label.buy``, key ``replacement-label:<id>``, the
provider's idempotency key) written with the request; the worker buys the label outside any
transaction, and in the transaction that closes the message the replacement ships in that
parcel (the same step as shipping with a tracking number by hand), its label's cost,
provider and id recorded. A refusal fails at once and alerts the desk; an outage is retried.

A serialised part's units are scanned when the label is ordered: the serials are checked then
(one per unit, in stock at the reserved bin; else 422 ``serials_required`` etc. up front),
kept in the message's payload, and issued with the replacement once the label is bought.

A repaired unit's trip back to its customer (returns/repairs.py) is bought the same way
(key ``repair-label:<repair id>``, payload ``repair``): once bought, the repair ships in that
parcel and its RMA closes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from carriers.label_documents import LabelDocument, StoredLabel
from carriers.labels import LabelFormat
from carriers.models import Direction, Shipment
from core.db import UnitOfWork
from core.errors import N_, Conflict, NotFound, filled
from core.outbox import Handler, OutboxMessage, OutboxStatus, enqueue
from inventory import ledger
from inventory.errors import SerialProblem
from returns.context import ReturnsContext
from returns.errors import ReplacementNotFound
from returns.labels import (
    REPAIR_NOT_SHIPPED_ALERT,
    REPLACEMENT_LABEL_KEPT_ALERT,
    REPLACEMENT_NOT_SHIPPED_ALERT,
    Labels,
)
from returns.queries import OUTBOUND_LABEL_KEY, rma_detail
from returns.repair_orders import RepairStatus
from returns.repairs import Repairs, RepairView, repair_view
from returns.rma import SYSTEM, Replacement, Rma
from returns.status import ReplacementStatus
from returns.views import RmaDetail
from returns.warehouse import Warehouse

OUTBOUND_LABEL_TOPIC = "replacement_label.buy"
REPAIR_LABEL_KEY = "repair-label:"
#: Why a replacement or a repaired unit has not shipped (the timeline's line, and the alert's).
SERIALS_MOVED = N_(
    "Outbound label %(carrier)s %(tracking_number)s bought, but "
    "replacement %(id)s cannot ship: %(problem)s"
)
REPAIR_LABEL_FAILED = N_("Outbound label for the repaired unit failed: %(last_error)s")
REPLACEMENT_LABEL_FAILED = N_("Outbound label for replacement %(id)s failed: %(last_error)s")


class OutboundLabels:
    def __init__(self, ctx: ReturnsContext, warehouse: Warehouse, labels: Labels, repairs: Repairs):
        self.ctx = ctx
        self.warehouse = warehouse
        self.repairs = repairs
        self.labels = labels  # provider look-up and retry detection, shared with return labels

    def order(self, actor: str, replacement_id: int, serials: Sequence[str] = ()) -> RmaDetail:
        """Queue the purchase of the label that ships a queued replacement to its customer;
        ``serials``: the units packed, for a serialised part (checked now, issued once the
        label is bought)."""
        carrier = self._outbound_carrier()
        with UnitOfWork(self.ctx.session_factory) as uow:
            session = uow.session
            replacement, rma = self.warehouse.queued_replacement(session, replacement_id)
            assert replacement.reservation_id is not None  # queued_replacement checked it
            unit_serials = ledger.reserved_serials(session, replacement.reservation_id, serials)
            payload = self.labels.payload(rma, carrier, inbound=False)
            key = f"{OUTBOUND_LABEL_KEY}{replacement.id}"
            added = enqueue(
                session,
                topic=OUTBOUND_LABEL_TOPIC,
                key=key,
                now=self.ctx.clock.now(),
                payload={
                    **payload,
                    "replacement": replacement.id,
                    "actor": actor,
                    "serials": list(unit_serials),
                },
            )
            if added:
                text = N_(
                    "Outbound label for replacement %(id)s ordered from %(carrier)s",
                    id=replacement.id,
                    carrier=carrier,
                )
                rma.note("replacement", actor, text, self.ctx.clock.now())
            else:  # ordered before: still being bought (nothing to do), or it failed for good
                self._refuse_failed_order(session, replacement.id, key)
            uow.commit()
            return rma_detail(session, rma.number, self.ctx.clock.now().date())

    def order_for_repair(self, actor: str, number: str) -> RepairView:
        """Queue the purchase of the label that ships a repaired, tested unit back."""
        carrier = self._outbound_carrier()
        with UnitOfWork(self.ctx.session_factory) as uow:
            session = uow.session
            rma, repair = self.repairs.ready_to_ship(session, number)
            key = f"{REPAIR_LABEL_KEY}{repair.id}"
            added = enqueue(
                session,
                topic=OUTBOUND_LABEL_TOPIC,
                key=key,
                now=self.ctx.clock.now(),
                payload={
                    **self.labels.payload(rma, carrier, inbound=False),
                    "repair": repair.id,
                    "actor": actor,
                },
            )
            if added:
                text = N_(
                    "Outbound label for the repaired unit ordered from %(carrier)s", carrier=carrier
                )
                rma.note("repair", actor, text, self.ctx.clock.now())
            else:
                self._refuse_failed_order(session, repair.id, key, what="repair")
            uow.commit()
            return repair_view(rma.number, repair)

    def _outbound_carrier(self) -> str:
        carrier = self.ctx.labels.outbound_carrier
        if not carrier:
            raise Conflict(
                N_(
                    "No outbound carrier is configured (set SPAREFLOW_OUTBOUND_CARRIER); ship with "
                    "the tracking number of a label bought elsewhere."
                ),
                code="no_outbound_carrier",
            )
        return carrier

    def _refuse_failed_order(
        self, session: Session, replacement_id: int, key: str, what: str = "replacement"
    ) -> None:
        earlier = session.execute(
            select(OutboxMessage.status, OutboxMessage.last_error).where(OutboxMessage.key == key)
        ).first()
        if earlier is not None and earlier.status is OutboxStatus.FAILED:
            raise Conflict(
                N_(
                    "The outbound label for %(what)s %(replacement_id)s could not be "
                    "bought (%(last_error)s); ship with the tracking number of a label "
                    "bought elsewhere.",
                    what=what,
                    replacement_id=replacement_id,
                    last_error=earlier.last_error,
                ),
                code="outbound_label_failed",
            )

    def label(self, replacement_id: int, label_format: LabelFormat | None = None) -> LabelDocument:
        """The printable outbound label of a replacement, as its shipment keeps it
        (carriers/label_documents.py): the PDF (4x6) or the ZPL, by default the PDF when there
        is one. NotFound ``no_label`` before it is bought, ``no_label_format`` without that
        format."""
        with UnitOfWork(self.ctx.session_factory) as uow:
            row = uow.session.execute(
                select(
                    Replacement.label_id,
                    Shipment.label,
                    Shipment.label_zpl,
                    Shipment.label_media_type,
                )
                .outerjoin(
                    Shipment,
                    (Shipment.carrier == Replacement.carrier)
                    & (Shipment.tracking_number == Replacement.tracking_number),
                )
                .where(Replacement.id == replacement_id)
            ).first()
        if row is None:
            raise ReplacementNotFound(replacement_id)
        stored = StoredLabel.from_columns(row.label, row.label_zpl, row.label_media_type)
        if row.label_id is None or not stored.formats:
            raise NotFound(
                N_(
                    "Replacement %(replacement_id)s has no outbound label (none was bought yet).",
                    replacement_id=replacement_id,
                ),
                code="no_label",
            )
        return stored.document(label_format, f"Replacement {replacement_id}")

    def handler(self) -> Handler:
        return Handler(self._buy, self._bought, self._failed)

    def _buy(self, payload: Mapping[str, Any], key: str) -> dict[str, Any]:
        if "repair" in payload:
            reference = f"{payload['rma']}/REP{payload['repair']}"
        else:
            reference = f"{payload['rma']}/R{payload['replacement']}"
        return self.labels.buy(payload, key, Direction.OUTBOUND, reference, payload["rma"])

    def _bought(self, session: Session, message: OutboxMessage) -> None:
        if "repair" in message.payload:
            self._repair_label_bought(session, message)
            return
        result = message.result or {}
        replacement = session.get(Replacement, message.payload["replacement"], with_for_update=True)
        assert replacement is not None
        replacement.label_provider = result.get("provider")
        replacement.label_id = result.get("label_id")
        replacement.label_cost_minor = result.get("cost_minor")
        shipment = session.scalars(
            select(Shipment).where(
                Shipment.carrier == result.get("carrier"),
                Shipment.tracking_number == result.get("tracking_number"),
            )
        ).one()
        unit_serials = tuple(message.payload.get("serials") or ())
        if replacement.status is ReplacementStatus.QUEUED:
            rma = session.get(Rma, replacement.rma_id)
            assert rma is not None
            if self._units_moved(session, replacement, rma, shipment, unit_serials):
                return
            self.warehouse.shipped(
                session, replacement, rma, shipment, message.payload["actor"], unit_serials
            )
        else:  # cancelled while the label was bought: the desk decides what to do with it
            rma = session.get(Rma, replacement.rma_id)
            assert rma is not None
            text = N_(
                "Outbound label %(carrier)s %(tracking_number)s bought, but "
                "replacement %(id)s is %(status)s",
                carrier=shipment.carrier,
                tracking_number=shipment.tracking_number,
                id=replacement.id,
                status=replacement.status.value,
            )
            rma.note("replacement", SYSTEM, text, self.ctx.clock.now())

    def _units_moved(
        self,
        session: Session,
        replacement: Replacement,
        rma: Rma,
        shipment: Shipment,
        unit_serials: tuple[str, ...],
    ) -> bool:
        """The scanned units left the reserved bin while the label was bought (moved or
        shipped elsewhere): the label is kept, the replacement stays queued, the desk is
        alerted, rather than failing the message over and over."""
        assert replacement.reservation_id is not None
        try:
            ledger.reserved_serials(session, replacement.reservation_id, unit_serials)
        except SerialProblem as problem:
            self.labels.alert_desk(
                session,
                rma,
                "replacement",
                f"outbound-label-serials:{replacement.id}",
                filled(
                    SERIALS_MOVED,
                    carrier=shipment.carrier,
                    tracking_number=shipment.tracking_number,
                    id=replacement.id,
                    problem=problem.message.rstrip("."),
                ),
                REPLACEMENT_LABEL_KEPT_ALERT,
            )
            return True
        return False

    def _repair_label_bought(self, session: Session, message: OutboxMessage) -> None:
        result = message.result or {}
        shipment = session.scalars(
            select(Shipment).where(
                Shipment.carrier == result.get("carrier"),
                Shipment.tracking_number == result.get("tracking_number"),
            )
        ).one()
        found = self.repairs.for_label(session, message.payload["repair"])
        if found is None:
            return
        rma, repair = found
        if repair.status is RepairStatus.TESTED_OK:
            self.repairs.shipped(session, rma, repair, shipment, message.payload["actor"])
        else:  # worked on again while the label was bought: the desk decides
            text = N_(
                "Outbound label %(carrier)s %(tracking_number)s bought, but the "
                "repair is %(status)s",
                carrier=shipment.carrier,
                tracking_number=shipment.tracking_number,
                status=repair.status.value,
            )
            rma.note("repair", SYSTEM, text, self.ctx.clock.now())

    def _failed(self, session: Session, message: OutboxMessage) -> None:
        if "repair" in message.payload:
            found = self.repairs.for_label(session, message.payload["repair"])
            if found is not None:
                self.labels.alert_desk(
                    session,
                    found[0],
                    "repair",
                    f"outbound-label-failed:repair:{message.payload['repair']}",
                    filled(REPAIR_LABEL_FAILED, last_error=message.last_error),
                    REPAIR_NOT_SHIPPED_ALERT,
                )
            return
        replacement = session.get(Replacement, message.payload["replacement"])
        rma = session.get(Rma, replacement.rma_id) if replacement else None
        if rma is not None:
            self.labels.alert_desk(
                session,
                rma,
                "replacement",
                f"outbound-label-failed:{message.payload['replacement']}",
                filled(
                    REPLACEMENT_LABEL_FAILED,
                    id=message.payload["replacement"],
                    last_error=message.last_error,
                ),
                REPLACEMENT_NOT_SHIPPED_ALERT,
            )
