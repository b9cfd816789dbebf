"""Prepaid return labels: ordered when an RMA is authorised without the customer's own parcel,
bought by the outbox worker (outside any transaction, under an idempotency key), then
attached to the RMA, whose customer only now gets the instructions with the label."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from carriers.models import Direction, Shipment
from core.errors import InvalidInput, NotFound
from core.outbox import Handler, OutboxMessage, PermanentFailure, enqueue
from inventory.models import Part
from returns.context import ReturnsContext, load_rma
from returns.notifications import notify
from returns.rma import SYSTEM, Rma
from returns.status import RmaStatus

LABEL_TOPIC = "return_label.buy"


def send_return_instructions(
    ctx: ReturnsContext, session: Session, rma: Rma, address: list[str], *, label: bool
) -> None:
    """The authorisation e-mail: what to send, where, by when (and the label, if any)."""
    if ctx.messages is None:
        return
    rows = session.execute(
        select(Part.id, Part.name).where(Part.id.in_([line.part_id for line in rma.lines]))
    )
    names: dict[int, str] = {part_id: name for part_id, name in rows}
    ctx.messages.to_customer(
        session,
        rma,
        "authorised",
        attach_label=label,
        lines=[
            {
                "sku": line.sku,
                "qty": line.qty,
                "serial": line.serial or "",
                "description": names.get(line.part_id, ""),
            }
            for line in rma.lines
        ],
        return_address=address,
        deadline=f"{rma.expires_at:%Y-%m-%d}" if rma.expires_at else "",
        carrier=rma.return_carrier or "",
        tracking_number=rma.return_tracking_number or "",
        label_attached=label,
        refund_amount=ctx.money(rma) if rma.refund_amount_minor else "",
    )


class Labels:
    def __init__(self, ctx: ReturnsContext):
        self.ctx = ctx

    def order(self, session: Session, rma: Rma, actor: str) -> None:
        """Queue the label purchase from the default return carrier (the outbox buys it)."""
        carrier = self.ctx.default_return_carrier
        enqueue(
            session,
            topic=LABEL_TOPIC,
            key=f"return-label:{rma.number}",
            now=self.ctx.clock.now(),
            payload={
                "rma": rma.number,
                "carrier": carrier,
                "from": {"name": rma.customer_name, "email": rma.customer_email},
                "to": self.ctx.addresses.receiving(),
            },
        )
        text = f"Prepaid return label ordered from {carrier}"
        rma.note("return_label", actor, text, self.ctx.clock.now())

    def handler(self) -> Handler:
        return Handler(self._buy, self._bought, self._failed)

    def _buy(self, payload: Mapping[str, Any], key: str) -> dict[str, Any]:
        try:
            shipment = self.ctx.carriers.buy_label(
                direction=Direction.INBOUND,
                carrier=payload["carrier"],
                reference=payload["rma"],
                from_address=payload["from"],
                to_address=payload["to"],
                idempotency_key=key,
            )
        except (InvalidInput, NotFound) as error:
            # A carrier that cannot sell labels, or none configured: retrying will not help.
            raise PermanentFailure(error.message) from error
        return {"carrier": shipment.carrier, "tracking_number": shipment.tracking_number}

    def _bought(self, session: Session, message: OutboxMessage) -> None:
        rma = load_rma(session, message.payload["rma"], lock=True)
        result = message.result or {}
        rma.return_carrier = result.get("carrier")
        rma.return_tracking_number = result.get("tracking_number")
        if rma.can_move_to(RmaStatus.AWAITING_PICKUP):
            text = f"Return label: {rma.return_carrier} {rma.return_tracking_number}"
            rma.move_to(RmaStatus.AWAITING_PICKUP, SYSTEM, text, self.ctx.clock.now())
            address = self.ctx.addresses.lines()
            send_return_instructions(self.ctx, session, rma, address, label=True)
        # The RMA now waits for this parcel: events that came before the label's number
        # reach the carrier-events stage.
        shipment = session.scalars(
            select(Shipment).where(
                Shipment.carrier == rma.return_carrier,
                Shipment.tracking_number == rma.return_tracking_number,
            )
        ).first()
        if shipment is not None:
            self.ctx.carriers.apply_waiting_events(session, shipment)

    def _failed(self, session: Session, message: OutboxMessage) -> None:
        rma = load_rma(session, message.payload["rma"], lock=True)
        text = f"Return label failed: {message.last_error}"
        now = self.ctx.clock.now()
        rma.note("return_label", SYSTEM, text, now)
        # The customer's instructions wait for the label: the desk must step in.
        notify(
            session,
            key=f"label-failed:{rma.number}",
            rma_id=rma.id,
            kind="label_failed",
            audience="desk",
            message=f"{rma.number}: {text}. The customer has no return instructions yet.",
            now=now,
        )
