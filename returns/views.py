"""What the returns pages and the API read: frozen view dataclasses, built by returns/queries.py.

Plain values (the enums of returns/status.py, dates, amounts), never ORM rows: a view can be
handed to a template or a schema after its session is closed, and nothing loads behind it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from carriers.models import Direction, label_formats
from carriers.status import TrackingStatus
from core.addresses import ADDRESS_LENGTHS
from core.errors import Text as Message
from core.errors import recognised
from returns.commands import CustomerAddress
from returns.rma_texts import (
    HOLD_REASONS,
    NEEDS_CHASE,
    NEEDS_RECOVERY,
    PORTAL_LINE,
    PORTAL_LINE_SAID,
    REFUND_REFUSED,
)
from returns.service_levels import SlaClock
from returns.status import (
    CaseKind,
    Channel,
    Disposition,
    Priority,
    Reason,
    RefundStatus,
    ReplacementStatus,
    Resolution,
    RmaStatus,
    RootCause,
)
from returns.timeline_texts import timeline_text


@dataclass(frozen=True)
class LabelFailure:
    """Why an RMA's prepaid label could not be bought (returns/label_desk.py)."""

    error: str
    #: ``above_ceiling`` (a supervisor may approve), ``gave_up`` (the provider never
    #: answered), or the refusal's code (``label_refused``, ``invalid_input``...).
    code: str
    #: The provider's cheapest quote and the ceiling it broke (``above_ceiling`` only).
    cheapest_minor: int | None
    ceiling_minor: int | None
    currency: str
    attempts: int


@dataclass(frozen=True)
class LineView:
    id: int
    part_id: int
    sku: str
    qty: int
    serial: str | None
    unit_price: Decimal
    received_qty: int
    condition: str | None
    serial_matches: bool | None
    disposition: Disposition | None
    #: The part's name, shown beside the SKU on the RMA's pages and documents.
    part_name: str = ""


@dataclass(frozen=True)
class ReplacementView:
    id: int
    line_id: int
    sku: str
    qty: int
    status: ReplacementStatus
    reservation_id: int | None
    carrier: str | None
    tracking_number: str | None
    queued_at: datetime
    shipped_at: datetime | None
    shipped_by: str | None
    #: The outbound label spareflow bought to ship it (``SPAREFLOW_OUTBOUND_CARRIER``): who
    #: sold it, the provider's id, what it cost (minor units of the RMA's currency).
    label_provider: str | None
    label_id: str | None
    label_cost_minor: int | None
    #: When the carrier delivered it to the customer.
    delivered_at: datetime | None
    #: The bin the reserved stock waits in (the pick queue's "where").
    location_code: str | None
    #: Backordered: when stock is expected (returns/backorders.py), from the open purchase
    #: order that covers it, else *estimated* from the part's lead time; None otherwise.
    expected_on: date | None
    expected_estimated: bool
    #: The part's name, shown beside the SKU.
    part_name: str

    @property
    def label_bought(self) -> bool:
        return self.label_id is not None


@dataclass(frozen=True)
class PickItem(ReplacementView):
    """A replacement in the warehouse pick queue, with the RMA it goes out for."""

    rma_number: str
    #: Its outbound label is being bought (the order waits in the outbox).
    label_ordered: bool = False
    #: The bought label's documents: the 4x6 PDF, the ZPL for a thermal printer (or both).
    has_pdf: bool = False
    has_zpl: bool = False


@dataclass(frozen=True)
class ClaimView:
    id: int
    sku: str
    qty: int
    supplier_id: int | None
    fault: str
    status: str
    created_at: datetime


@dataclass(frozen=True)
class EmailView:
    id: int
    kind: str
    language: str
    to_address: str
    message_id: str
    subject: str | None
    status: str
    error: str | None
    created_at: datetime
    sent_at: datetime | None
    bounced_at: datetime | None


@dataclass(frozen=True)
class TimelineEntry:
    """One row of the timeline: a change of state, or what happened alongside (``kind``)."""

    id: int
    kind: str
    from_status: RmaStatus | None
    to_status: RmaStatus
    actor: str
    reason: str
    at: datetime
    reason_template: str | None = None
    reason_params: dict[str, str] | None = None

    @property
    def text(self) -> str:
        """The reason to show: spareflow's own with its template kept (a page translates it,
        ``|tr``), else as written."""
        if self.reason_template:
            return timeline_text(self.reason_template, self.reason_params)
        return self.reason


@dataclass(frozen=True)
class ShipmentEventView:
    occurred_at: datetime
    status: TrackingStatus
    raw_status: str
    description: str
    location: str | None


@dataclass(frozen=True)
class ShipmentView:
    id: int
    direction: Direction
    carrier: str
    tracking_number: str
    status: TrackingStatus
    reference: str | None
    picked_up_at: datetime | None
    delivered_at: datetime | None
    last_exception: str | None
    events: tuple[ShipmentEventView, ...]
    #: Its label's documents (the desk prints or sends them): the PDF, the ZPL, or both.
    has_pdf_label: bool = False
    has_zpl_label: bool = False

    @property
    def label_formats(self) -> list[str]:
        return label_formats(self.has_pdf_label, self.has_zpl_label)


@dataclass(frozen=True)
class RmaDetail:
    """An RMA as its pages and the API show it, with the parcels that carry its parts.

    The scalar fields are named as the ``rmas`` columns (returns/queries.py selects exactly
    these); the collections come in id order.
    """

    id: int
    number: str
    status: RmaStatus
    #: A return, an enquiry or a complaint (returns/cases.py); a complaint's root cause; the
    #: complaint a return was opened from (its id).
    kind: CaseKind
    root_cause: RootCause | None
    origin_case_id: int | None
    customer_name: str
    customer_email: str
    customer_phone: str | None
    vip: bool
    customer_language: str
    address_name: str | None
    address_company: str | None
    address_street: str | None
    address_street2: str | None
    address_city: str | None
    address_state: str | None
    address_postcode: str | None
    address_country: str | None
    address_phone: str | None
    order_number: str | None
    payment_reference: str | None
    purchase_date: date | None
    channel: Channel
    reason: Reason | None
    description: str
    resolution: Resolution | None
    priority: Priority
    policy_override_reason: str | None
    policy_override_by: str | None
    currency: str
    refund_status: RefundStatus
    refund_amount_minor: int
    refund_hold_reason: str | None
    refund_held_by: str | None
    refund_released_by: str | None
    refund_reference: str | None
    refund_released_at: datetime | None
    refund_error: str | None
    needs_recovery: str | None
    needs_chase: str | None
    return_carrier: str | None
    return_tracking_number: str | None
    #: Who sold the prepaid return label (None: the customer's own parcel, or none yet).
    return_label_provider: str | None
    #: The carrier's collection booked for that label (returns/pickups.py), or None.
    pickup_starts_at: datetime | None
    pickup_ends_at: datetime | None
    expires_at: datetime | None
    satisfaction: int | None
    satisfaction_comment: str | None
    confirmed_fixed: bool | None
    followup_due_at: datetime | None
    first_response_due_at: datetime | None
    first_response_at: datetime | None
    resolution_due_at: datetime | None
    resolved_at: datetime | None
    acknowledged_at: datetime | None
    reminded_at: datetime | None
    ended_at: datetime | None
    created_by: str
    created_at: datetime
    updated_at: datetime
    lines: tuple[LineView, ...]
    replacements: tuple[ReplacementView, ...]
    claims: tuple[ClaimView, ...]
    emails: tuple[EmailView, ...]
    timeline: tuple[TimelineEntry, ...]
    shipments: tuple[ShipmentView, ...]

    # The columns keep spareflow's English sentence: recognised as their templates, a page
    # shows them in its reader's language (``|tr``).
    @property
    def recovery_text(self) -> str | None:
        return recognised(self.needs_recovery, NEEDS_RECOVERY) if self.needs_recovery else None

    @property
    def chase_text(self) -> str | None:
        return recognised(self.needs_chase, NEEDS_CHASE) if self.needs_chase else None

    @property
    def description_lines(self) -> tuple[str, ...]:
        """The description line by line; a portal return's lines as their templates (each
        line's reason a code: a page shows its label)."""
        if self.channel is not Channel.PORTAL:
            return (self.description,)
        return tuple(_portal_line(line) for line in self.description.split("\n"))

    @property
    def refund_hold_text(self) -> str | None:
        if not self.refund_hold_reason:
            return None
        return recognised(self.refund_hold_reason, HOLD_REASONS)

    @property
    def refund_error_text(self) -> str | None:
        return recognised(self.refund_error, (REFUND_REFUSED,)) if self.refund_error else None

    @property
    def customer_address(self) -> CustomerAddress | None:
        """The customer's address from intake, or None when intake had none."""
        if self.address_country is None:
            return None
        return CustomerAddress(
            **{name: getattr(self, f"address_{name}") or "" for name in ADDRESS_LENGTHS}
        )


def _portal_line(line: str) -> str:
    found = recognised(line, (PORTAL_LINE_SAID, PORTAL_LINE))
    if isinstance(found, Message) and found.params["return_reason"] in _REASONS:
        return found
    return line


_REASONS = frozenset(reason.value for reason in Reason)


@dataclass(frozen=True)
class RmaRow:
    """One RMA in the API's list."""

    id: int
    number: str
    kind: CaseKind
    status: RmaStatus
    priority: Priority
    channel: Channel
    customer_name: str
    customer_email: str
    resolution: Resolution | None
    reason: Reason | None
    root_cause: RootCause | None
    refund_status: RefundStatus
    created_at: datetime
    expires_at: datetime | None


@dataclass(frozen=True)
class DeskQueueRow:
    """One RMA in the desk's queue, with the service-level clock it is ordered by."""

    id: int
    number: str
    kind: CaseKind
    status: RmaStatus
    priority: Priority
    channel: Channel
    customer_name: str
    vip: bool
    resolution: Resolution | None
    refund_status: RefundStatus
    created_at: datetime
    #: A replacement for it waits for stock.
    backordered: bool
    clock: SlaClock
    #: Its latest return parcel's status (None: no parcel yet): the shown state reads it
    #: (returns/status_vocabulary.py).
    return_parcel: TrackingStatus | None = None


@dataclass(frozen=True)
class DeskSummary:
    open_by_state: dict[RmaStatus, int]
    need_attention: int
    refunds_released_today: int
    refunded_today_minor: int
    replacements_to_pick: int
    currency: str
