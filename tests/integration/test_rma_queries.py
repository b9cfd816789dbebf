"""The returns read models (returns/queries.py) against real databases: what an RMA's detail,
the desk queue and the pick queue hold, read with explicit selects and no ORM rows."""

from __future__ import annotations

from dataclasses import fields
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from carriers.models import Direction
from carriers.status import TrackingStatus
from core.db import UnitOfWork
from inventory.models import Part
from purchasing.claims import SupplierClaim
from returns import queries
from returns.errors import RmaNotFound
from returns.models import OutgoingEmail
from returns.queries import RmaQueries
from returns.rma import Rma, RmaTransition
from returns.service_levels import ServiceLevels
from returns.status import (
    Channel,
    Disposition,
    Priority,
    RefundStatus,
    ReplacementStatus,
    Resolution,
    RmaStatus,
)
from returns.views import (
    ClaimView,
    EmailView,
    LineView,
    ReplacementView,
    RmaDetail,
    TimelineEntry,
)
from tests.integration import test_customer_messages
from tests.integration.test_customer_messages import drain, open_rma
from tests.support import desk as builders
from tests.support.sandbox_webhooks import sandbox_payload, signed_request

STAFF = "desk@shop.example"


#: The desk of the customer-message tests: the returns service with e-mail on.
desk = test_customer_messages.desk


@pytest.fixture
def read(desk: dict[str, Any], stocked: Any, session_factory: Any, clock: Any) -> RmaQueries:
    stocked.create_part(sku="PSU-65", name="Power supply 65W")  # none in stock: backordered
    return RmaQueries(session_factory, clock, desk["returns"].ctx.policy)


def scan(desk: dict[str, Any], clock: Any, tracking: str, status: str, minutes_ago: int) -> None:
    body = sandbox_payload(tracking, status, clock.now() - timedelta(minutes=minutes_ago))
    desk["carriers"].receive_webhook("sandbox", signed_request(body, clock.now()))


def a_full_return(desk: dict[str, Any], clock: Any) -> str:
    """An exchange with two lines: one replacement reserved and shipped, one backordered; the
    parcel scanned twice, booked in and inspected (one part back to its supplier); e-mails."""
    number = open_rma(
        desk,
        resolution=Resolution.REPLACEMENT,
        lines=[
            {"sku": "ABC-1", "qty": 2, "unit_price": Decimal("24.99"), "serial": "SN-77"},
            {"sku": "PSU-65", "qty": 1, "unit_price": Decimal("40")},
        ],
    )
    builders.authorise(desk["returns"], STAFF, number, carrier="sandbox", tracking_number="SBXQ1")
    scan(desk, clock, "SBXQ1", "picked_up", minutes_ago=30)
    scan(desk, clock, "SBXQ1", "in_transit", minutes_ago=10)
    drain(desk, clock)
    reserved = next(
        r for r in desk["returns"].get(number).replacements if r.status is ReplacementStatus.QUEUED
    )
    builders.ship(
        desk["returns"],
        "ann@shop.example",
        reserved.id,
        carrier="sandbox",
        tracking_number="SBXOUT9",
    )
    builders.receive(
        desk["returns"],
        "ann@shop.example",
        number,
        lines=[{"sku": "ABC-1", "qty": 2, "serial": "SN-77"}],
    )
    builders.inspect(
        desk["returns"],
        "ann@shop.example",
        number,
        lines=[{"sku": "ABC-1", "disposition": Disposition.RETURN_TO_VENDOR}],
    )
    drain(desk, clock)
    return number


def values(row: Any, view: type, *, leave_out: tuple[str, ...] = ()) -> tuple[Any, ...]:
    return tuple(getattr(row, f.name) for f in fields(view) if f.name not in leave_out)


#: What a replacement's view adds to its row: the bin, the expected date of a backorder, the
#: part's name.
DERIVED = ("location_code", "expected_on", "expected_estimated", "part_name")


def test_an_rma_detail_holds_what_its_orm_relations_hold(
    desk, read, clock, session_factory
) -> None:
    number = a_full_return(desk, clock)
    with UnitOfWork(session_factory) as uow:
        detail = queries.rma_detail(
            uow.session, number.lower(), clock.now().date()
        )  # as typed or scanned
        # Columns only: nothing in the session, so no relationship was ever walked.
        assert len(uow.session.identity_map) == 0
    with session_factory() as session:
        rma = session.scalars(select(Rma).where(Rma.number == number)).one()
        collections = {"lines", "replacements", "claims", "emails", "timeline", "shipments"}
        for field in fields(RmaDetail):
            if field.name not in collections:
                assert getattr(detail, field.name) == getattr(rma, field.name), field.name
        # The part's name comes from the catalogue (a join), not from the line's row.
        assert [values(line, LineView, leave_out=("part_name",)) for line in rma.lines] == [
            values(line, LineView, leave_out=("part_name",)) for line in detail.lines
        ]
        assert [line.part_name for line in detail.lines] == [
            session.get(Part, line.part_id).name for line in rma.lines
        ]
        assert [
            values(t, TimelineEntry)
            for t in session.scalars(rma.transitions.select().order_by(RmaTransition.id))
        ] == [values(t, TimelineEntry) for t in detail.timeline]
        assert [
            values(c, ClaimView)
            for c in session.scalars(rma.claims.select().order_by(SupplierClaim.id))
        ] == [values(c, ClaimView) for c in detail.claims]
        assert [
            values(e, EmailView)
            for e in session.scalars(
                select(OutgoingEmail)
                .where(OutgoingEmail.rma_id == rma.id)
                .order_by(OutgoingEmail.id)
            )
        ] == [values(e, EmailView) for e in detail.emails]
        assert [values(r, ReplacementView, leave_out=DERIVED) for r in rma.replacements] == [
            values(r, ReplacementView, leave_out=DERIVED) for r in detail.replacements
        ]
    assert detail.number == number and detail.status is RmaStatus.INSPECTED
    assert [line.sku for line in detail.lines] == ["ABC-1", "PSU-65"]
    assert detail.lines[0].received_qty == 2 and detail.lines[0].serial_matches is True
    assert [(r.sku, r.status, r.location_code, r.tracking_number) for r in detail.replacements] == [
        ("ABC-1", ReplacementStatus.SHIPPED, "MAIN/A-01-01", "SBXOUT9"),
        ("PSU-65", ReplacementStatus.BACKORDERED, None, None),
    ]
    assert [(c.sku, c.qty, c.status) for c in detail.claims] == [("ABC-1", 2, "open")]
    assert detail.emails and all(e.to_address == "mia@example.com" for e in detail.emails)
    assert [t.to_status for t in detail.timeline if t.kind == "status"][-1] is RmaStatus.INSPECTED
    inbound, outbound = detail.shipments
    assert (inbound.direction, inbound.tracking_number, inbound.reference) == (
        Direction.INBOUND,
        "SBXQ1",
        number,
    )
    assert [e.status for e in inbound.events] == [
        TrackingStatus.PICKED_UP,
        TrackingStatus.IN_TRANSIT,
    ]
    assert (outbound.direction, outbound.tracking_number) == (Direction.OUTBOUND, "SBXOUT9")
    # Every use case answers with the same view the query builds.
    assert read.get(number) == detail


def test_an_unknown_rma_is_not_found(read) -> None:
    with pytest.raises(RmaNotFound):
        read.get("RMA-20261123-9999")


def test_an_rma_without_anything_yet_has_empty_collections(desk, read) -> None:
    detail = read.get(open_rma(desk))
    assert len(detail.lines) == 1 and len(detail.timeline) == 1
    assert (detail.replacements, detail.claims, detail.shipments) == ((), (), ())


def test_the_pick_queue_lists_waiting_replacements_oldest_first_with_their_bins(
    desk, read, clock
) -> None:
    first = open_rma(desk, resolution=Resolution.REPLACEMENT)
    builders.authorise(desk["returns"], STAFF, first, carrier="sandbox", tracking_number="SBXP1")
    clock.advance(timedelta(minutes=5))
    second = open_rma(
        desk,
        resolution=Resolution.REPLACEMENT,
        lines=[{"sku": "PSU-65", "qty": 1, "unit_price": Decimal("40")}],
    )
    builders.authorise(desk["returns"], STAFF, second, carrier="sandbox", tracking_number="SBXP2")
    shipped = open_rma(desk, resolution=Resolution.REPLACEMENT)
    view = builders.authorise(
        desk["returns"], STAFF, shipped, carrier="sandbox", tracking_number="SBXP3"
    )
    builders.ship(
        desk["returns"],
        STAFF,
        view.replacements[0].id,
        carrier="sandbox",
        tracking_number="SBXOUT1",
    )
    queue = read.pick_queue()
    assert [(i.rma_number, i.sku, i.qty, i.status, i.location_code) for i in queue] == [
        (first, "ABC-1", 2, ReplacementStatus.QUEUED, "MAIN/A-01-01"),
        (second, "PSU-65", 1, ReplacementStatus.BACKORDERED, None),
    ]


def test_the_desk_queue_shows_open_rmas_most_urgent_first(desk, read, clock) -> None:
    low = open_rma(desk, priority=Priority.LOW)
    clock.advance(timedelta(minutes=1))
    urgent = open_rma(desk, priority=Priority.URGENT)
    clock.advance(timedelta(minutes=1))
    backordered = open_rma(
        desk,
        priority=Priority.LOW,
        resolution=Resolution.REPLACEMENT,
        payment_reference=None,
        lines=[{"sku": "PSU-65", "qty": 1, "unit_price": Decimal("40")}],
    )
    builders.authorise(
        desk["returns"], STAFF, backordered, carrier="sandbox", tracking_number="SBXD1"
    )
    clock.advance(timedelta(minutes=1))
    cancelled = open_rma(desk, priority=Priority.URGENT)
    desk["returns"].authorisation.cancel(STAFF, cancelled, "customer changed their mind")
    queue = read.desk_queue()
    # The low one answered (authorised) has only its resolution clock left: after the low one
    # still waiting for its first response.
    assert [row.number for row in queue] == [urgent, low, backordered]
    assert [row.backordered for row in queue] == [False, False, True]
    by_number = {row.number: row for row in queue}
    assert by_number[urgent].clock.target == "first_response"
    assert by_number[backordered].clock.target == "resolution"
    assert (by_number[low].channel, by_number[low].refund_status) == (
        Channel.EMAIL,
        RefundStatus.NONE,  # decided at authorisation
    )
    assert [row.number for row in read.desk_queue(RmaStatus.CANCELLED)] == [cancelled]


def test_the_desk_queue_clock_is_the_desk_pages_clock(desk, clock, session_factory) -> None:
    number = open_rma(desk, priority=Priority.HIGH)
    clock.advance(timedelta(hours=30))  # past the first response target
    levels = ServiceLevels()
    with UnitOfWork(session_factory) as uow:
        [row] = queries.desk_queue(uow.session, levels, clock.now())
    assert row.number == number
    assert (row.clock.target, row.clock.level) == ("first_response", "breached")
    assert row.clock.left is not None and row.clock.left < timedelta(0)
