"""Desk builders: the returns stages wired for a test, and the desk's requests built from the
plain values tests write (dicts for the customer and lines, keywords for the rest)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from carriers.label_providers.registry import LabelProviders
from carriers.services import CarrierService
from core.clock import Clock
from returns.addresses import ReturnAddresses
from returns.commands import (
    AuthoriseRma,
    Customer,
    InspectedLine,
    InspectParcel,
    OpenRma,
    ReceivedLine,
    ReceiveParcel,
    RecordFollowup,
    RetryRefund,
    ReturnLine,
    ShipReplacement,
)
from returns.context import LabelSettings, ReturnsContext
from returns.followups import FollowUpSettings
from returns.messages import Messages
from returns.policy import ReturnPolicy
from returns.refund_provider import StripeRefunds
from returns.service_levels import ServiceLevels
from returns.stages import Returns, build_returns
from returns.views import RmaDetail

DESK = "desk@x.example"


def wire_returns(
    session_factory: Any,
    clock: Clock,
    policy: ReturnPolicy,
    carriers: CarrierService,
    refund_provider: StripeRefunds | None,
    *,
    return_address: Mapping[str, str] | None = None,
    default_return_carrier: str = "sandbox",
    warehouse_addresses: Mapping[str, Mapping[str, str]] | None = None,
    levels: ServiceLevels | None = None,
    messages: Messages | None = None,
    labels: LabelSettings | None = None,
    followups: FollowUpSettings | None = None,
) -> Returns:
    """The returns stages as the app wires them (listening to ``carriers``); labels come from
    the sandbox carrier ``carriers`` follows, if any."""
    sandbox = carriers.adapters.get("sandbox")
    label_settings = {"CARRIERS_SANDBOX": sandbox is not None}
    if sandbox is not None:
        label_settings["SANDBOX_CARRIER_URL"] = getattr(sandbox, "api_base", "")
    return build_returns(
        ReturnsContext(
            session_factory=session_factory,
            clock=clock,
            policy=policy,
            carriers=carriers,
            refund_provider=refund_provider,
            addresses=ReturnAddresses(
                policy.returns_location,
                return_address=return_address,
                warehouse_addresses=warehouse_addresses,
            ),
            default_return_carrier=default_return_carrier,
            levels=levels or ServiceLevels(),
            messages=messages,
            label_providers=LabelProviders(label_settings),
            labels=labels or LabelSettings(),
            followups=followups or FollowUpSettings.from_settings({}, policy.followup_days),
        )
    )


def open_command(
    *,
    customer: Mapping[str, Any] | Customer,
    lines: Sequence[Mapping[str, Any] | ReturnLine],
    **fields: Any,
) -> OpenRma:
    if not isinstance(customer, Customer):
        customer = Customer(**customer)
    return OpenRma(
        customer=customer,
        lines=tuple(
            line
            if isinstance(line, ReturnLine)
            else ReturnLine(**{**line, "unit_price": Decimal(str(line["unit_price"]))})
            for line in lines
        ),
        **fields,
    )


def open_rma(
    returns: Returns, actor: str = DESK, *, supervisor: bool = False, **fields: Any
) -> RmaDetail:
    return returns.intake.open(actor, open_command(**fields), supervisor=supervisor)


def authorise(returns: Returns, actor: str, number: str, **fields: Any) -> RmaDetail:
    return returns.authorisation.authorise(actor, number, AuthoriseRma(**fields))


def receive(
    returns: Returns,
    actor: str,
    number: str,
    *,
    lines: Sequence[Mapping[str, Any]] = (),
    supervisor: bool = False,
    **fields: Any,
) -> RmaDetail:
    parcel = ReceiveParcel(lines=tuple(ReceivedLine(**line) for line in lines), **fields)
    return returns.warehouse.receive(actor, number, parcel, supervisor=supervisor)


def inspect(
    returns: Returns, actor: str, number: str, *, lines: Sequence[Mapping[str, Any]]
) -> RmaDetail:
    decisions = tuple(InspectedLine(**line) for line in lines)
    return returns.warehouse.inspect(actor, number, InspectParcel(decisions))


def ship(returns: Returns, actor: str, replacement_id: int, **fields: Any) -> RmaDetail:
    return returns.warehouse.ship_replacement(actor, replacement_id, ShipReplacement(**fields))


def record_followup(returns: Returns, actor: str, number: str, **fields: Any) -> RmaDetail:
    return returns.closing.record_followup(actor, number, RecordFollowup(**fields))


def retry_refund(
    returns: Returns,
    actor: str,
    number: str,
    reason: str,
    *,
    supervisor: bool,
    payment_reference: str | None = None,
) -> RmaDetail:
    command = RetryRefund(reason, payment_reference=payment_reference)
    return returns.refunds.retry(actor, number, command, supervisor=supervisor)
