"""Prepaid return labels: ordered when an RMA is authorised without the customer's own parcel,
bought by the outbox worker (outside any transaction, under an idempotency key), then
attached to the RMA, whose customer only now gets the instructions with the label.

The label goes from the customer's address to the receiving warehouse, by the cheapest rate
(the fastest for an urgent RMA or a VIP), never above ``LabelSettings.ceiling_minor``. What
it cost and who sold it are recorded on the RMA. A refusal (bad address, above the ceiling)
fails at once and alerts the desk; an unreachable provider is retried with backoff. The
outbox key is the provider's idempotency key, and a retry first asks the provider for a label
already bought (a worker killed between the provider's answer and our commit buys none
twice). An RMA that ends (cancelled, expired) before the parcel is scanned gets its unused
label refunded (``return_label.refund``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from carriers.labels import (
    EXTRA_ADDRESS_FIELDS,
    Address,
    LabelFormat,
    LabelProvider,
    LabelProviderUnavailable,
    LabelRefused,
    LabelRequest,
    Parcel,
    PurchasedLabel,
    RatePreference,
    needs_sender_address,
)
from carriers.models import Direction, Shipment
from carriers.status import TrackingStatus
from core.addresses import ADDRESS_LENGTHS, address_problems
from core.db import UnitOfWork
from core.errors import N_, InvalidInput, NotFound, filled
from core.errors import Text as Message
from core.outbox import Handler, OutboxMessage, PermanentFailure, enqueue
from inventory.models import Part
from returns.context import ReturnsContext, load_rma
from returns.errors import CustomerAddressRequired
from returns.notifications import notify
from returns.rma import SYSTEM, Rma
from returns.status import TERMINAL, Priority, RmaStatus

LABEL_TOPIC = "return_label.buy"
LABEL_REFUND_TOPIC = "return_label.refund"
#: What a refusal's details keep on the failed outbox message (``choose_rate``'s quote).
REFUSAL_FACTS = ("cheapest_minor", "ceiling_minor")
#: Why a prepaid return label was not bought (the timeline's line, quoted by the alert).
ABOVE_CEILING = N_(
    "Return label failed: the cheapest label costs %(cheapest)s, above the "
    "%(ceiling)s ceiling: a supervisor can approve it on the RMA page"
)
GAVE_UP = N_(
    "Return label failed: the provider did not answer after %(attempts)s attempts "
    "(%(last_error)s): try the label again on the RMA page"
)
REFUSED = N_(
    "Return label failed: %(last_error)s: fix it, then try the label again on the RMA page"
)
#: The desk's alert for a label not bought (``text``: the timeline's line), with what it means.
NO_INSTRUCTIONS_ALERT = N_("%(number)s: %(text)s. The customer has no return instructions yet.")
REPLACEMENT_LABEL_KEPT_ALERT = N_(
    "%(number)s: %(text)s. The replacement has not shipped; the desk decides what to do with "
    "the label."
)
REPAIR_NOT_SHIPPED_ALERT = N_("%(number)s: %(text)s. The repaired unit has not shipped.")
REPLACEMENT_NOT_SHIPPED_ALERT = N_("%(number)s: %(text)s. The replacement has not shipped.")


def customer_address_of(rma: Rma) -> Address:
    """Where the customer's parcel is collected from: the address taken at intake. Without
    one, only who the customer is (the sandbox takes that; a real provider refuses the
    label as a bad address, and the desk is told)."""
    return Address(
        name=rma.address_name or rma.customer_name,
        company=rma.address_company or "",
        street=rma.address_street or "",
        street2=rma.address_street2 or "",
        city=rma.address_city or "",
        state=rma.address_state or "",
        postcode=rma.address_postcode or "",
        country=rma.address_country or "",
        phone=rma.address_phone or rma.customer_phone or "",
        email=rma.customer_email,
    )


def customer_address_problems(rma: object, provider: str) -> dict[str, str]:
    """Why ``provider`` would refuse a label collected at the customer address of ``rma`` (an
    ``Rma`` or its ``RmaDetail``): each field and the rule it breaks (core/addresses.py, the
    rules intake applies); empty: none (always for a provider that takes any address, the
    sandbox; and without a provider, whose purchase fails asking for SPAREFLOW_RETURNS_CARRIER)."""
    if not provider.strip() or not needs_sender_address(provider):
        return {}
    values = {name: getattr(rma, f"address_{name}") for name in ADDRESS_LENGTHS}
    problems = address_problems(values)
    for name in EXTRA_ADDRESS_FIELDS.get(provider.strip().lower(), ()):
        if not (values.get(name) or "").strip() and name not in problems:
            problems[name] = "required"
    return problems


def preference_for(rma: Rma) -> RatePreference:
    """The fastest rate for an urgent RMA or a VIP; the cheapest for everyone else."""
    if rma.vip or rma.priority is Priority.URGENT:
        return RatePreference.FASTEST
    return RatePreference.CHEAPEST


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

    def payload(self, rma: Rma, carrier: str, *, inbound: bool) -> dict[str, Any]:
        """What the outbox needs to buy a label for ``rma``: between the customer and the
        receiving warehouse (``inbound``: the customer sends), with the rules' rate choice."""
        customer = customer_address_of(rma)
        customer_fields = asdict(customer)
        warehouse = self.ctx.addresses.receiving()
        return {
            "rma": rma.number,
            "carrier": carrier,
            "from": customer_fields if inbound else warehouse,
            "to": warehouse if inbound else customer_fields,
            "parcel_grams": self.ctx.labels.parcel_grams,
            "preference": preference_for(rma).value,
            "ceiling_minor": self.ctx.labels.ceiling_minor,
            "currency": rma.currency.lower(),
            # A window booked before the label is bought reaches providers that take it with
            # the order (SF Express ``sendStartTm``).
            "pickup_starts_at": (
                rma.pickup_starts_at.isoformat() if inbound and rma.pickup_starts_at else None
            ),
            # The warehouse prints outbound labels (SPAREFLOW_LABEL_FORMAT); a customer
            # prints a return label at home from the e-mail: always a PDF.
            "label_format": (LabelFormat.PDF if inbound else self.ctx.labels.label_format).value,
        }

    def address_refusal(self, rma: Rma) -> CustomerAddressRequired | None:
        """The refusal a label order for ``rma`` would meet for want of the customer's
        address (from the default return carrier), or None."""
        carrier = self.ctx.default_return_carrier
        problems = customer_address_problems(rma, carrier)
        return CustomerAddressRequired(rma.number, carrier, problems) if problems else None

    def order(self, session: Session, rma: Rma, actor: str) -> None:
        """Queue the label purchase from the default return carrier (the outbox buys it)."""
        carrier = self.ctx.default_return_carrier
        enqueue(
            session,
            topic=LABEL_TOPIC,
            key=f"return-label:{rma.number}",
            now=self.ctx.clock.now(),
            payload=self.payload(rma, carrier, inbound=True),
        )
        text = N_("Prepaid return label ordered from %(carrier)s", carrier=carrier)
        rma.note("return_label", actor, text, self.ctx.clock.now())

    def handler(self) -> Handler:
        return Handler(self._buy, self._bought, self._failed)

    def refund_handler(self) -> Handler:
        return Handler(self._refund, self._refunded, self._refund_failed)

    # --- buying ------------------------------------------------------------------------------

    def provider(self, name: str) -> LabelProvider:
        if self.ctx.label_providers is None:
            raise PermanentFailure("No label provider is configured.")
        try:
            return self.ctx.label_providers(name)
        except NotFound as error:  # none of that name in this build, or the sandbox is off
            raise PermanentFailure(error.message) from error

    def retried(self, key: str) -> bool:
        """Whether an earlier attempt may have bought the label before its worker died."""
        with UnitOfWork(self.ctx.session_factory) as uow:
            attempts = uow.session.scalar(
                select(OutboxMessage.attempts).where(OutboxMessage.key == key)
            )
        return (attempts or 0) > 1

    def remember(self, key: str, record: str) -> str:
        """Keep the provider's record (EasyPost's shipment id) on the outbox message under
        ``key``, committed before the provider is asked to buy: the next attempt gets it in its
        payload. An attempt that remembered first wins (its id is answered)."""
        with UnitOfWork(self.ctx.session_factory) as uow:
            message = uow.session.scalars(
                select(OutboxMessage).where(OutboxMessage.key == key).with_for_update()
            ).first()
            if message is None:
                return record
            earlier = (message.payload or {}).get("provider_record")
            if earlier:
                return str(earlier)
            message.payload = {**message.payload, "provider_record": record}
            uow.commit()
        return record

    def _buy(self, payload: Mapping[str, Any], key: str) -> dict[str, Any]:
        return self.buy(payload, key, Direction.INBOUND, payload["rma"])

    def buy(
        self,
        payload: Mapping[str, Any],
        key: str,
        direction: Direction,
        reference: str,
        shipment_reference: str | None = None,
    ) -> dict[str, Any]:
        """Buy the label an outbox ``payload`` describes (under ``key``), outside any
        transaction; the outbox result records what was bought. Return and outbound labels."""
        provider = self.provider(payload["carrier"])
        request = LabelRequest(
            reference=reference,
            direction=direction,
            from_address=Address.from_mapping(payload["from"]),
            to_address=Address.from_mapping(payload["to"]),
            parcel=Parcel(int(payload.get("parcel_grams") or self.ctx.labels.parcel_grams)),
            idempotency_key=key,
            preference=RatePreference(payload.get("preference") or RatePreference.CHEAPEST),
            ceiling_minor=payload.get("ceiling_minor"),
            currency=str(payload.get("currency") or "usd"),
            # A prepaid return is collected at the customer's door (SF Express books that
            # with the order); an outbound parcel leaves with the warehouse's own collection.
            door_pickup=direction is Direction.INBOUND or bool(payload.get("pickup_starts_at")),
            pickup_starts_at=(
                datetime.fromisoformat(payload["pickup_starts_at"])
                if payload.get("pickup_starts_at")
                else None
            ),
            label_format=LabelFormat(payload.get("label_format") or LabelFormat.PDF),
            provider_record=payload.get("provider_record"),
            remember=lambda record: self.remember(key, record),
        )
        try:
            bought = self.ctx.carriers.buy_label(
                provider, request, look_first=self.retried(key), reference=shipment_reference
            )
        except (LabelRefused, InvalidInput) as error:
            # A bad address, no rate under the ceiling, no adapter to follow the parcel:
            # retrying will not help, the desk must act (the code and the quote say how).
            facts = {k: v for k, v in error.details.items() if k in REFUSAL_FACTS}
            raise PermanentFailure(error.message, {"code": error.code, **facts}) from error
        except LabelProviderUnavailable:
            raise  # the outbox retries with backoff
        label = bought.label
        return {
            "carrier": bought.shipment.carrier,
            "tracking_number": bought.shipment.tracking_number,
            "provider": label.provider,
            "label_id": label.provider_label_id,
            "service": label.service,
            "cost_minor": label.cost_minor,
            "currency": label.currency,
        }

    def _bought(self, session: Session, message: OutboxMessage) -> None:
        rma = load_rma(session, message.payload["rma"], lock=True)
        result = message.result or {}
        rma.return_carrier = result.get("carrier")
        rma.return_tracking_number = result.get("tracking_number")
        rma.return_label_provider = result.get("provider")
        rma.return_label_id = result.get("label_id")
        rma.return_label_cost_minor = result.get("cost_minor")
        rma.return_label_currency = str(result.get("currency") or "")[:3] or None
        now = self.ctx.clock.now()
        if rma.can_move_to(RmaStatus.AWAITING_PICKUP):
            where = {"carrier": rma.return_carrier, "tracking_number": rma.return_tracking_number}
            text = (
                N_("Return label: %(carrier)s %(tracking_number)s", **where)
                if rma.return_label_cost_minor is None
                else N_(
                    "Return label: %(carrier)s %(tracking_number)s "
                    "(%(provider)s %(service)s, %(cost)s %(currency)s minor units)",
                    **where,
                    provider=result.get("provider"),
                    service=result.get("service"),
                    cost=rma.return_label_cost_minor,
                    currency=rma.return_label_currency,
                )
            )
            rma.move_to(RmaStatus.AWAITING_PICKUP, SYSTEM, text, now)
            address = self.ctx.addresses.lines()
            send_return_instructions(self.ctx, session, rma, address, label=True)
        elif rma.status in TERMINAL:
            # Cancelled or expired while the label was being bought: nobody will use it.
            rma.note("return_label", SYSTEM, N_("Return label bought after the RMA ended"), now)
            self.refund_unused(session, rma)
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
        """A refusal (at once) or an unreachable provider (after MAX_ATTEMPTS): the
        customer's instructions wait for the label, so the desk is alerted, once per
        purchase (its outbox key), and told what it can do."""
        rma = load_rma(session, message.payload["rma"], lock=True)
        refusal = message.result or {}
        if refusal.get("code") == "above_ceiling":
            currency = str(message.payload.get("currency") or rma.currency).upper()
            cheapest = self.amount(int(refusal["cheapest_minor"]), currency)
            ceiling = self.amount(int(refusal.get("ceiling_minor") or 0), currency)
            text = filled(ABOVE_CEILING, cheapest=cheapest, ceiling=ceiling)
        elif not refusal:  # gave up on an unreachable provider
            text = filled(GAVE_UP, attempts=message.attempts, last_error=message.last_error)
        else:
            text = filled(REFUSED, last_error=message.last_error)
        self.alert_desk(
            session,
            rma,
            "return_label",
            "label-failed:" + message.key.removeprefix("return-label:"),
            text,
            NO_INSTRUCTIONS_ALERT,
        )

    def amount(self, minor: int, currency: str) -> str:
        """``1450`` USD as the desk reads it: ``14.50 USD``."""
        return f"{Decimal(minor).scaleb(-self.ctx.policy.minor_units)} {currency.upper()}"

    def alert_desk(
        self, session: Session, rma: Rma, kind: str, key: str, text: str, alert: Message
    ) -> None:
        """A label that could not be bought: on the timeline, and a ``label_failed`` alert
        (``alert``: one of the ``*_ALERT`` templates, saying what it means)."""
        now = self.ctx.clock.now()
        rma.note(kind, SYSTEM, text, now)
        notify(
            session,
            key=key,
            rma_id=rma.id,
            kind="label_failed",
            audience="desk",
            message=filled(alert, number=rma.number, text=text),
            now=now,
        )

    # --- refunding an unused label -------------------------------------------------------

    def refund_unused(self, session: Session, rma: Rma) -> bool:
        """Within the transaction that ends ``rma``: queue the refund of its prepaid label if
        the carrier never scanned the parcel. True if queued."""
        if not rma.return_label_id or not rma.return_label_provider or rma.return_label_refund:
            return False
        status = session.scalar(
            select(Shipment.status).where(
                Shipment.carrier == rma.return_carrier,
                Shipment.tracking_number == rma.return_tracking_number,
            )
        )
        if status not in (None, TrackingStatus.PRE_TRANSIT, TrackingStatus.CANCELLED):
            return False  # on its way: the label is used
        now = self.ctx.clock.now()
        enqueue(
            session,
            topic=LABEL_REFUND_TOPIC,
            key=f"return-label-refund:{rma.number}",
            now=now,
            payload={
                "rma": rma.number,
                "provider": rma.return_label_provider,
                "label_id": rma.return_label_id,
                "carrier": rma.return_carrier or "",
                "tracking_number": rma.return_tracking_number or "",
                "cost_minor": rma.return_label_cost_minor or 0,
                "currency": rma.return_label_currency or "",
            },
        )
        rma.return_label_refund = "requested"
        rma.note("return_label", SYSTEM, N_("Refund of the unused return label requested"), now)
        return True

    def _refund(self, payload: Mapping[str, Any], key: str) -> dict[str, Any]:
        provider = self.provider(payload["provider"])
        label = PurchasedLabel(
            provider=payload["provider"],
            carrier=payload["carrier"],
            service="",
            tracking_number=payload["tracking_number"],
            provider_label_id=payload["label_id"],
            cost_minor=int(payload["cost_minor"]),
            currency=payload["currency"],
            document=b"",
        )
        try:
            outcome = provider.refund_label(label)
        except LabelRefused as error:
            raise PermanentFailure(error.message) from error
        return {"outcome": str(outcome)}

    def _refunded(self, session: Session, message: OutboxMessage) -> None:
        rma = load_rma(session, message.payload["rma"], lock=True)
        outcome = str((message.result or {}).get("outcome") or "")
        rma.return_label_refund = outcome
        if outcome == "refunded":
            text = N_("Unused return label refunded")
        elif outcome == "submitted":
            text = N_("Refund of the unused return label submitted; the provider checks it")
        else:
            text = N_(
                "The provider refused to refund the unused return label (%(outcome)s)",
                outcome=outcome,
            )
        rma.note("return_label", SYSTEM, text, self.ctx.clock.now())

    def _refund_failed(self, session: Session, message: OutboxMessage) -> None:
        rma = load_rma(session, message.payload["rma"], lock=True)
        rma.return_label_refund = "failed"
        text = N_(
            "Refund of the unused return label failed: %(last_error)s",
            last_error=message.last_error,
        )
        rma.note("return_label", SYSTEM, text, self.ctx.clock.now())
