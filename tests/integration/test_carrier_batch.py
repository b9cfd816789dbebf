"""Carrier events applied in batches (CARRIER_EVENTS_BATCH): the same rules as one by one,
with the RMAs loaded once per batch and the outbox rows written in one insert."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from sqlalchemy import event, select

from core.outbox import OutboxMessage
from returns.refunds import REFUND_TOPIC
from returns.status import RefundStatus, RmaStatus
from tests.integration.test_returns import desk as _desk  # noqa: F401 (the fixture)
from tests.integration.test_returns import open_rma, pickup
from tests.support import desk as builders


@contextlib.contextmanager
def statements_run(engine: Any) -> Iterator[list[str]]:
    """The SQL statements sent to the database inside the block, in order."""
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", seen)


def seven_authorised(desk: dict[str, Any], prefix: str) -> list[str]:
    """Seven refund RMAs of one customer, each with its return parcel ``<prefix><n>``; the
    carriers service only stores webhooks' events (CARRIER_EVENTS_APPLY=worker)."""
    numbers = []
    for n in range(7):
        number = open_rma(desk).number
        builders.authorise(
            desk["returns"],
            "desk@x.example",
            number,
            carrier="sandbox",
            tracking_number=f"{prefix}{n}",
        )
        numbers.append(number)
    desk["carriers"].apply_on_receipt = False
    return numbers


def test_a_batch_applies_the_customer_limit_as_one_by_one_would(
    _desk: dict[str, Any],  # noqa: F811
    clock: Any,
    session_factory: Any,
    engine: Any,
) -> None:
    """Seven refunds of 49.98 for one customer picked up in one batch: the limit (300.00 over
    30 days) lets six go and holds the seventh, counting the refunds released earlier in the
    same batch; each RMA moves once, and the outbox gets six refund rows in one insert."""
    desk = _desk
    numbers = seven_authorised(desk, "SBXB")
    carriers = desk["carriers"]
    for n in range(7):
        pickup(desk, clock, f"SBXB{n}", minutes_ago=30 - n)
        pickup(desk, clock, f"SBXB{n}", status="in_transit", minutes_ago=10 - n)
    carriers.apply_batch = 50
    with statements_run(engine) as statements:
        assert carriers.apply_pending() == 14
    views = [desk["returns"].get(number) for number in numbers]
    assert [view.status for view in views] == [RmaStatus.IN_TRANSIT] * 7
    assert [view.refund_status for view in views] == [RefundStatus.PENDING] * 6 + [
        RefundStatus.HELD
    ]
    with session_factory() as session:
        keys = session.scalars(
            select(OutboxMessage.key).where(OutboxMessage.topic == REFUND_TOPIC)
        ).all()
    assert sorted(keys) == sorted(f"refund:{number}" for number in numbers[:6])
    inserts = [s for s in statements if s.lstrip().upper().startswith("INSERT INTO OUTBOX")]
    timeline = [
        s for s in statements if s.lstrip().upper().startswith("INSERT INTO RMA_TRANSITIONS")
    ]
    rma_reads = [
        s for s in statements if s.lstrip().upper().startswith("SELECT RMAS.ID, RMAS.NUMBER")
    ]
    assert (len(inserts), len(rma_reads)) == (1, 1)
    if engine.dialect.name == "postgresql":
        assert len(timeline) == 1  # the ORM's one INSERT of all 21 rows (insertmanyvalues)
    else:  # SQLite: the ORM inserts rows whose ids it must read back one at a time
        assert len(timeline) == 21


def test_batch_size_one_gives_the_same_outcome(_desk: dict[str, Any], clock: Any) -> None:  # noqa: F811
    desk = _desk
    numbers = seven_authorised(desk, "SBXC")
    carriers = desk["carriers"]
    for n in range(7):
        pickup(desk, clock, f"SBXC{n}", minutes_ago=30 - n)
    carriers.apply_batch = 1
    assert carriers.apply_pending() == 7
    views = [desk["returns"].get(number) for number in numbers]
    assert [view.refund_status for view in views] == [RefundStatus.PENDING] * 6 + [
        RefundStatus.HELD
    ]


def test_a_batch_takes_the_other_waiting_events_of_its_parcels(
    _desk: dict[str, Any],  # noqa: F811
    clock: Any,
) -> None:
    """Pickups of seven parcels, then their in-transit scans: a batch of two takes the two
    oldest pickups and those two parcels' in-transit scans with them, so one applier has each
    parcel's burst, in order, and no other applier queues on those shipments."""
    desk = _desk
    numbers = seven_authorised(desk, "SBXS")
    carriers = desk["carriers"]
    for n in range(7):
        pickup(desk, clock, f"SBXS{n}", minutes_ago=30 - n)
    for n in range(7):
        pickup(desk, clock, f"SBXS{n}", status="in_transit", minutes_ago=10 - n)
    carriers.apply_batch = 2
    assert carriers.apply_pending(limit=2) == 4
    assert carriers.pending_events() == 10
    statuses = [desk["returns"].get(number).status for number in numbers]
    assert statuses[:2] == [RmaStatus.IN_TRANSIT] * 2
    assert RmaStatus.IN_TRANSIT not in statuses[2:]


def test_a_short_batch_ends_the_run_without_claiming_again(
    _desk: dict[str, Any],  # noqa: F811
    clock: Any,
    engine: Any,
) -> None:
    """Fewer events than a batch: they are applied and the run ends, rather than claiming
    again at once and applying what trickles in a few events at a time."""
    desk = _desk
    seven_authorised(desk, "SBXT")
    carriers = desk["carriers"]
    for n in range(7):
        pickup(desk, clock, f"SBXT{n}", minutes_ago=30 - n)
    carriers.apply_batch = 50
    with statements_run(engine) as statements:
        assert carriers.apply_pending() == 7
    flat = [" ".join(statement.split()).upper() for statement in statements]
    claims = [
        s for s in flat if s.startswith("SELECT") and "FROM CARRIER_EVENTS" in s and "OUTCOME" in s
    ]
    assert len(claims) == 1, claims
    assert carriers.pending_events() == 0
