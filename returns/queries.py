"""Read models for the returns pages and the API: explicit selects into returns/views.py.

Each list is one query; an RMA's detail is one query per collection. Columns are selected,
never ORM entities, so nothing here depends on how the relationships of returns/models.py
load (and nothing loads later behind a view).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import String, and_, case, cast, exists, func, literal, select
from sqlalchemy.orm import Session

from carriers.models import CarrierEventRecord, Direction, Shipment
from carriers.status import TrackingStatus
from core.clock import Clock, SystemClock
from core.db import UnitOfWork
from core.outbox import OutboxMessage, OutboxStatus
from inventory.models import Location, Part, Reservation
from purchasing.claims import SupplierClaim
from returns.backorders import expected_dates
from returns.errors import RmaNotFound
from returns.models import OutgoingEmail
from returns.policy import ReturnPolicy
from returns.queue_filter import QueueFilter
from returns.rma import Replacement, Rma, RmaLine, RmaTransition
from returns.service_levels import ServiceLevels, sla_clock
from returns.status import (
    OPEN,
    PRIORITY_ORDER,
    WAITING_FOR_PARCEL,
    CaseKind,
    Priority,
    RefundStatus,
    ReplacementStatus,
    RmaStatus,
)
from returns.views import (
    ClaimView,
    DeskQueueRow,
    DeskSummary,
    EmailView,
    LineView,
    PickItem,
    ReplacementView,
    RmaDetail,
    RmaRow,
    ShipmentEventView,
    ShipmentView,
    TimelineEntry,
)

V = TypeVar("V")

#: The desk queue shows at most this many RMAs (the newest).
DESK_QUEUE_LIMIT = 200
ALL_OPEN = QueueFilter()
#: Urgent first, low last.
PRIORITY_RANK = {priority: rank for rank, priority in enumerate(reversed(PRIORITY_ORDER))}
#: Sorts an RMA whose targets are all met after every running clock.
NEVER = timedelta(days=36500)

#: The outbox key of a replacement's outbound label order (returns/outbound_labels.py).
OUTBOUND_LABEL_KEY = "replacement-label:"

_COLLECTIONS = {"lines", "replacements", "claims", "emails", "timeline", "shipments"}
_RMA_COLUMNS = [f.name for f in fields(RmaDetail) if f.name not in _COLLECTIONS]


def _columns(model: Any, view: type, *, leave_out: Iterable[str] = ()) -> list[Any]:
    """The columns of ``model`` named as the fields of ``view`` (minus ``leave_out``)."""
    skip = set(leave_out)
    return [getattr(model, f.name) for f in fields(view) if f.name not in skip]


def _views(session: Session, view: Callable[..., V], query: Any) -> tuple[V, ...]:
    return tuple(view(**row) for row in session.execute(query).mappings())


def _number(number: str) -> str:
    return number.strip().upper()


# --- one RMA -----------------------------------------------------------------------------


def rma_detail(session: Session, number: str, today: date | None = None) -> RmaDetail:
    """The RMA ``number`` with its lines, replacements, claims, e-mails, timeline and parcels.

    ``today`` (pass the caller's clock) dates the estimates of backordered replacements;
    without it, the system's date."""
    row = (
        session.execute(
            select(*(getattr(Rma, name) for name in _RMA_COLUMNS)).where(
                Rma.number == _number(number)
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        raise RmaNotFound(number)
    rma_id = row["id"]
    return RmaDetail(
        **row,
        lines=_views(
            session,
            LineView,
            select(
                *_columns(RmaLine, LineView, leave_out=["part_name"]), Part.name.label("part_name")
            )
            .join(Part, Part.id == RmaLine.part_id)
            .where(RmaLine.rma_id == rma_id)
            .order_by(RmaLine.id),
        ),
        replacements=_replacement_views(
            session,
            ReplacementView,
            _replacements().where(Replacement.rma_id == rma_id).order_by(Replacement.id),
            today,
        ),
        claims=_children(session, ClaimView, SupplierClaim, rma_id),
        emails=_children(session, EmailView, OutgoingEmail, rma_id),
        timeline=_children(session, TimelineEntry, RmaTransition, rma_id),
        shipments=shipments_of(session, row["number"]),
    )


def _children(session: Session, view: type[V], model: Any, rma_id: int) -> tuple[V, ...]:
    """The rows of ``model`` that belong to the RMA, in id order, as ``view``."""
    query = select(*_columns(model, view)).where(model.rma_id == rma_id).order_by(model.id)
    return _views(session, view, query)


#: Fields of ReplacementView that are not columns of replacements.
_NOT_COLUMNS = ["location_code", "expected_on", "expected_estimated", "part_name"]


def _replacement_views(
    session: Session, view: Callable[..., V], query: Any, today: date | None
) -> tuple[V, ...]:
    """Replacement rows as ``view``, each backordered one with its expected date."""
    rows = list(session.execute(query).mappings())
    expected = expected_dates(
        session,
        [row["id"] for row in rows if row["status"] is ReplacementStatus.BACKORDERED],
        today or SystemClock().now().date(),
    )
    views = []
    for row in rows:
        when = expected.get(row["id"])
        views.append(
            view(
                **row,
                expected_on=when.on if when else None,
                expected_estimated=when.estimated if when else False,
            )
        )
    return tuple(views)


def _replacements(*extra: Any) -> Any:
    """Replacements with the bin their reserved stock waits in (none before it is reserved)."""
    return (
        select(
            *_columns(Replacement, ReplacementView, leave_out=_NOT_COLUMNS),
            Location.code.label("location_code"),
            select(Part.name)
            .join(RmaLine, RmaLine.part_id == Part.id)
            .where(RmaLine.id == Replacement.line_id)
            .scalar_subquery()
            .label("part_name"),
            *extra,
        )
        .outerjoin(Reservation, Reservation.id == Replacement.reservation_id)
        .outerjoin(Location, Location.id == Reservation.location_id)
    )


def shipments_of(session: Session, reference: str) -> tuple[ShipmentView, ...]:
    """The parcels booked under ``reference`` (an RMA number), each with its carrier scans."""
    shipments = (
        session.execute(
            select(*_columns(Shipment, ShipmentView, leave_out=["events"]))
            .where(Shipment.reference == reference)
            .order_by(Shipment.id)
        )
        .mappings()
        .all()
    )
    if not shipments:
        return ()
    events: dict[int, list[ShipmentEventView]] = {row["id"]: [] for row in shipments}
    for row in session.execute(
        select(CarrierEventRecord.shipment_id, *_columns(CarrierEventRecord, ShipmentEventView))
        .where(CarrierEventRecord.shipment_id.in_(events))
        .order_by(CarrierEventRecord.occurred_at, CarrierEventRecord.id)
    ).mappings():
        values = dict(row)
        events[values.pop("shipment_id")].append(ShipmentEventView(**values))
    return tuple(ShipmentView(**row, events=tuple(events[row["id"]])) for row in shipments)


# --- lists -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RmaFilter:
    """Which RMAs the list shows. ``overdue``: waiting for a parcel past its expiry; ``after``:
    the id the previous page ended on."""

    status: RmaStatus | None = None
    priority: Priority | None = None
    customer: str | None = None
    overdue: bool | None = None
    #: Only the RMAs opened for this sales order.
    order_number: str | None = None
    #: Returns only by default (GET /returns); the cases API asks for enquiries, complaints.
    kinds: tuple[CaseKind, ...] = (CaseKind.RETURN,)
    after: int | None = None
    limit: int = 50


#: The newest fifty, whatever their state.
NEWEST = RmaFilter()


def list_rmas(session: Session, now: datetime, wanted: RmaFilter) -> list[RmaRow]:
    """Newest first (keyset on id)."""
    query = select(*_columns(Rma, RmaRow)).where(Rma.kind.in_(wanted.kinds))
    if wanted.status:
        query = query.where(Rma.status == wanted.status)
    if wanted.priority:
        query = query.where(Rma.priority == wanted.priority)
    if wanted.customer:
        needle = f"%{wanted.customer.strip().casefold()}%"
        query = query.where(
            func.lower(Rma.customer_email).like(needle) | func.lower(Rma.customer_name).like(needle)
        )
    if wanted.overdue is True:
        query = query.where(Rma.status.in_(WAITING_FOR_PARCEL), Rma.expires_at < now)
    if wanted.order_number:
        query = query.where(Rma.order_number == wanted.order_number)
    if wanted.after is not None:
        query = query.where(Rma.id < wanted.after)
    return list(_views(session, RmaRow, query.order_by(Rma.id.desc()).limit(wanted.limit)))


def desk_queue(
    session: Session,
    levels: ServiceLevels,
    now: datetime,
    wanted: QueueFilter = ALL_OPEN,
    *,
    limit: int = DESK_QUEUE_LIMIT,
) -> list[DeskQueueRow]:
    """The desk's queue of every kind of case, those needing action first (see
    :func:`by_urgency`): the newest ``limit`` cases ``wanted`` (by default all still open)."""
    backordered = exists().where(
        Replacement.rma_id == Rma.id, Replacement.status == ReplacementStatus.BACKORDERED
    )
    rows = session.execute(
        select(
            *_columns(Rma, DeskQueueRow, leave_out=["backordered", "clock", "return_parcel"]),
            # What the service-level clock reads besides the columns above.
            Rma.first_response_due_at,
            Rma.first_response_at,
            Rma.resolution_due_at,
            Rma.resolved_at,
            backordered.label("backordered"),
            _return_parcel().label("return_parcel"),
        )
        .where(*wanted.conditions())
        .order_by(Rma.id.desc())
        .limit(limit)
    ).all()
    names = {f.name for f in fields(DeskQueueRow)} - {"clock"}
    queue = [
        DeskQueueRow(
            **{name: value for name, value in row._mapping.items() if name in names},
            clock=sla_clock(levels, row, now),
        )
        for row in rows
    ]
    return by_urgency(queue)


def _return_parcel() -> Any:
    """The status of the RMA's latest return parcel, as a subquery of the RMA row."""
    return (
        select(Shipment.status)
        .where(Shipment.reference == Rma.number, Shipment.direction == Direction.INBOUND)
        .order_by(Shipment.id.desc())
        .limit(1)
        .scalar_subquery()
    )


def by_urgency(rows: Sequence[DeskQueueRow]) -> list[DeskQueueRow]:
    """Cases needing action first: breached service levels (the most overdue first), then
    whatever runs out of desk time soonest, every running clock before one whose targets are
    met; then priority (urgent first), the oldest, and the newest among cases equal in all."""

    def urgency(row: DeskQueueRow) -> tuple[Any, ...]:
        left = row.clock.left
        return (
            row.clock.level != "breached",
            left if left is not None else NEVER,
            PRIORITY_RANK[row.priority],
            row.created_at,
            -row.id,
        )

    return sorted(rows, key=urgency)


def pick_queue(session: Session, today: date | None = None) -> list[PickItem]:
    """Replacements waiting to ship (queued and backordered), and those shipped on an outbound
    label spareflow bought that the carrier has not collected yet (to print and pack), oldest
    first."""
    label_ordered = exists().where(
        OutboxMessage.key == literal(OUTBOUND_LABEL_KEY) + cast(Replacement.id, String),
        OutboxMessage.status == OutboxStatus.PENDING,
    )
    bought = Replacement.label_id.is_not(None)
    awaiting_collection = and_(
        Replacement.status == ReplacementStatus.SHIPPED,
        bought,
        Replacement.delivered_at.is_(None),
        Shipment.picked_up_at.is_(None),
        Shipment.status == TrackingStatus.PRE_TRANSIT,
    )
    query = (
        _replacements(
            Rma.number.label("rma_number"),
            label_ordered.label("label_ordered"),
            case((bought, Shipment.has_pdf_label), else_=False).label("has_pdf"),
            case((bought, Shipment.has_zpl_label), else_=False).label("has_zpl"),
        )
        .join(Rma, Rma.id == Replacement.rma_id)
        .outerjoin(
            Shipment,
            and_(
                Shipment.carrier == Replacement.carrier,
                Shipment.tracking_number == Replacement.tracking_number,
            ),
        )
        .where(
            Replacement.status.in_([ReplacementStatus.QUEUED, ReplacementStatus.BACKORDERED])
            | awaiting_collection
        )
        .order_by(Replacement.queued_at, Replacement.id)
    )
    return list(_replacement_views(session, PickItem, query, today))


def desk_summary(session: Session, now: datetime, currency: str) -> DeskSummary:
    """Open RMAs by state, refunds needing a person, refunds released today (UTC)."""
    by_state = dict(
        session.execute(
            select(Rma.status, func.count()).where(Rma.status.in_(OPEN)).group_by(Rma.status)
        ).all()
    )
    attention = (
        session.scalar(
            select(func.count()).where(
                Rma.refund_status.in_([RefundStatus.HELD, RefundStatus.FAILED])
                | Rma.needs_recovery.is_not(None)
                | Rma.needs_chase.is_not(None)
            )
        )
        or 0
    )
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    released_count, released_minor = session.execute(
        select(func.count(), func.coalesce(func.sum(Rma.refund_amount_minor), 0)).where(
            Rma.refund_status == RefundStatus.RELEASED, Rma.refund_released_at >= midnight
        )
    ).one()
    to_pick = (
        session.scalar(select(func.count()).where(Replacement.status == ReplacementStatus.QUEUED))
        or 0
    )
    return DeskSummary(by_state, attention, released_count, int(released_minor), to_pick, currency)


class RmaQueries:
    """The returns read side for the web app: each read in a transaction of its own."""

    def __init__(
        self,
        session_factory: Callable[[], Session],
        clock: Clock,
        policy: ReturnPolicy,
        levels: ServiceLevels | None = None,
    ):
        self.session_factory = session_factory
        self.clock = clock
        self.policy = policy
        self.levels = levels or ServiceLevels()

    def get(self, number: str) -> RmaDetail:
        with UnitOfWork(self.session_factory) as uow:
            return rma_detail(uow.session, number, self.clock.now().date())

    def matching(self, wanted: RmaFilter = NEWEST) -> list[RmaRow]:
        """RMAs matching the filter, newest first."""
        with UnitOfWork(self.session_factory) as uow:
            return list_rmas(uow.session, self.clock.now(), wanted)

    def desk_queue(self, wanted: QueueFilter | RmaStatus | None = None) -> list[DeskQueueRow]:
        """The queue ``wanted`` (a filter, or just a state); all open cases by default."""
        if not isinstance(wanted, QueueFilter):
            wanted = QueueFilter(status=wanted)
        with UnitOfWork(self.session_factory) as uow:
            return desk_queue(uow.session, self.levels, self.clock.now(), wanted)

    def desk_summary(self) -> DeskSummary:
        with UnitOfWork(self.session_factory) as uow:
            return desk_summary(uow.session, self.clock.now(), self.policy.currency)

    def pick_queue(self) -> list[PickItem]:
        with UnitOfWork(self.session_factory) as uow:
            return pick_queue(uow.session, self.clock.now().date())
