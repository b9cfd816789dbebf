"""Outbound labels for replacements: the warehouse asks spareflow to buy the label that ships a
picked replacement to the customer (``SPAREFLOW_OUTBOUND_CARRIER``).

The order is an outbox message (``replacement_label.buy``, key ``replacement-label:<id>``, the
provider's idempotency key) written with the request; the worker buys the label outside any
transaction, and in the transaction that closes the message the replacement ships in that
parcel (the same step as shipping with a tracking number by hand), its label's cost,
provider and id recorded. A refusal fails at once and alerts the desk; an outage is retried.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from carriers.labels import PDF_MEDIA_TYPE, ZPL_MEDIA_TYPE, LabelFormat
from carriers.models import Direction, Shipment
from core.db import UnitOfWork
from core.errors import Conflict, NotFound
from core.outbox import Handler, OutboxMessage, OutboxStatus, enqueue
from returns.context import ReturnsContext
from returns.errors import ReplacementNotFound
from returns.labels import Labels
from returns.queries import OUTBOUND_LABEL_KEY, rma_detail
from returns.rma import SYSTEM, Replacement, Rma
from returns.status import ReplacementStatus
from returns.views import RmaDetail
from returns.warehouse import Warehouse

OUTBOUND_LABEL_TOPIC = "replacement_label.buy"


class OutboundLabels:
    def __init__(self, ctx: ReturnsContext, warehouse: Warehouse, labels: Labels):
        self.ctx = ctx
        self.warehouse = warehouse
        self.labels = labels  # provider look-up and retry detection, shared with return labels

    def order(self, actor: str, replacement_id: int) -> RmaDetail:
        """Queue the purchase of the label that ships a queued replacement to its customer."""
        carrier = self.ctx.labels.outbound_carrier
        if not carrier:
            raise Conflict(
                "No outbound carrier is configured (set SPAREFLOW_OUTBOUND_CARRIER); ship with "
                "the tracking number of a label bought elsewhere.",
                code="no_outbound_carrier",
            )
        with UnitOfWork(self.ctx.session_factory) as uow:
            session = uow.session
            replacement, rma = self.warehouse.queued_replacement(session, replacement_id)
            payload = self.labels.payload(rma, carrier, inbound=False)
            key = f"{OUTBOUND_LABEL_KEY}{replacement.id}"
            added = enqueue(
                session,
                topic=OUTBOUND_LABEL_TOPIC,
                key=key,
                now=self.ctx.clock.now(),
                payload={**payload, "replacement": replacement.id, "actor": actor},
            )
            if added:
                text = f"Outbound label for replacement {replacement.id} ordered from {carrier}"
                rma.note("replacement", actor, text, self.ctx.clock.now())
            else:  # ordered before: still being bought (nothing to do), or it failed for good
                self._refuse_failed_order(session, replacement.id, key)
            uow.commit()
            return rma_detail(session, rma.number, self.ctx.clock.now().date())

    def _refuse_failed_order(self, session: Session, replacement_id: int, key: str) -> None:
        earlier = session.execute(
            select(OutboxMessage.status, OutboxMessage.last_error).where(OutboxMessage.key == key)
        ).first()
        if earlier is not None and earlier.status is OutboxStatus.FAILED:
            raise Conflict(
                f"The outbound label for replacement {replacement_id} could not be bought "
                f"({earlier.last_error}); ship with the tracking number of a label bought "
                "elsewhere.",
                code="outbound_label_failed",
            )

    def label(self, replacement_id: int, label_format: LabelFormat) -> tuple[bytes, str]:
        """The printable outbound label of a replacement (``document``, ``media_type``): the
        PDF (4x6), or the ZPL when the provider gave one. NotFound before it is bought."""
        with UnitOfWork(self.ctx.session_factory) as uow:
            session = uow.session
            row = session.execute(
                select(Replacement.label_id, Shipment.label, Shipment.label_media_type)
                .outerjoin(
                    Shipment,
                    (Shipment.carrier == Replacement.carrier)
                    & (Shipment.tracking_number == Replacement.tracking_number),
                )
                .where(Replacement.id == replacement_id)
            ).first()
        if row is None:
            raise ReplacementNotFound(replacement_id)
        if row.label_id is None or row.label is None:
            raise NotFound(
                f"Replacement {replacement_id} has no outbound label (none was bought yet).",
                code="no_label",
            )
        media_type = row.label_media_type or PDF_MEDIA_TYPE
        stored = LabelFormat.ZPL if media_type == ZPL_MEDIA_TYPE else LabelFormat.PDF
        if stored is not label_format:
            raise NotFound(
                f"The outbound label of replacement {replacement_id} has no "
                f"{label_format.value.upper()} version (it is {stored.value.upper()}).",
                code="no_label_format",
            )
        return bytes(row.label), media_type

    def handler(self) -> Handler:
        return Handler(self._buy, self._bought, self._failed)

    def _buy(self, payload: Mapping[str, Any], key: str) -> dict[str, Any]:
        reference = f"{payload['rma']}/R{payload['replacement']}"
        return self.labels.buy(payload, key, Direction.OUTBOUND, reference, payload["rma"])

    def _bought(self, session: Session, message: OutboxMessage) -> None:
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
        if replacement.status is ReplacementStatus.QUEUED:
            rma = session.get(Rma, replacement.rma_id)
            assert rma is not None
            self.warehouse.shipped(session, replacement, rma, shipment, message.payload["actor"])
        else:  # cancelled while the label was bought: the desk decides what to do with it
            rma = session.get(Rma, replacement.rma_id)
            assert rma is not None
            text = (
                f"Outbound label {shipment.carrier} {shipment.tracking_number} bought, but "
                f"replacement {replacement.id} is {replacement.status.value}"
            )
            rma.note("replacement", SYSTEM, text, self.ctx.clock.now())

    def _failed(self, session: Session, message: OutboxMessage) -> None:
        replacement = session.get(Replacement, message.payload["replacement"])
        rma = session.get(Rma, replacement.rma_id) if replacement else None
        if rma is not None:
            self.labels.alert_desk(
                session,
                rma,
                "replacement",
                f"outbound-label-failed:{message.payload['replacement']}",
                f"Outbound label for replacement {message.payload['replacement']} failed: "
                f"{message.last_error}",
                "The replacement has not shipped.",
            )
