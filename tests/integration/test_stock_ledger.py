"""The stock ledger and its levels, on SQLite and PostgreSQL."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from core.errors import InvalidInput
from inventory.commands import (
    AdjustStock,
    IssueReservedStock,
    IssueStock,
    ReceiveStock,
    ReserveStock,
    TransferStock,
)
from inventory.errors import (
    CountBelowReserved,
    DuplicateBarcode,
    DuplicateSku,
    InactivePart,
    InsufficientStock,
    ReservationMismatch,
    ReservationNotActive,
    SameLocation,
    UnknownLocation,
    UnknownPart,
)
from inventory.models import Location, Part, StockMove
from inventory.services import InventoryService
from inventory.status import MoveKind, ReservationStatus


def level(inventory: InventoryService, location: str) -> tuple[int, int]:
    report = inventory.stock_report("ABC-1")
    for row in report.levels:
        if row.location.code == location:
            return row.on_hand, row.reserved
    return 0, 0


def test_a_receipt_adds_stock_and_writes_one_ledger_row(stocked: InventoryService) -> None:
    move = stocked.receive(
        "ann", ReceiveStock(sku="abc-1", location="main/a-01-02", qty=4, reference="PO-7")
    )

    assert (move.kind, move.qty, move.to_location.code, move.actor) == (
        MoveKind.RECEIPT,
        4,
        "MAIN/A-01-02",
        "ann",
    )
    assert level(stocked, "MAIN/A-01-02") == (4, 0)
    report = stocked.stock_report("ABC-1")
    assert (report.totals.on_hand, report.totals.reserved, report.totals.available) == (14, 0, 14)
    assert [m.reference for m in stocked.list_moves("ABC-1")] == ["PO-7", "PO-1"]


def test_an_issue_takes_stock_out_and_cannot_take_more_than_is_free(
    stocked: InventoryService,
) -> None:
    stocked.issue(
        "ann", IssueStock(sku="ABC-1", location="MAIN/A-01-01", qty=3, reference="REPAIR-1")
    )
    assert level(stocked, "MAIN/A-01-01") == (7, 0)

    with pytest.raises(InsufficientStock) as refused:
        stocked.issue("ann", IssueStock(sku="ABC-1", location="MAIN/A-01-01", qty=8))
    assert refused.value.details == {
        "sku": "ABC-1",
        "location": "MAIN/A-01-01",
        "requested": 8,
        "available": 7,
    }
    assert level(stocked, "MAIN/A-01-01") == (7, 0)


def test_an_issue_cannot_take_reserved_stock(stocked: InventoryService) -> None:
    stocked.reserve("desk", ReserveStock(sku="ABC-1", qty=8, reference="RMA-1"))
    with pytest.raises(InsufficientStock):
        stocked.issue("ann", IssueStock(sku="ABC-1", location="MAIN/A-01-01", qty=3))
    stocked.issue("ann", IssueStock(sku="ABC-1", location="MAIN/A-01-01", qty=2))
    assert level(stocked, "MAIN/A-01-01") == (8, 8)


def test_a_transfer_moves_stock_between_bins_and_keeps_the_total(stocked: InventoryService) -> None:
    move = stocked.transfer(
        "ann",
        TransferStock(sku="ABC-1", from_location="MAIN/A-01-01", to_location="MAIN/A-01-02", qty=6),
    )
    assert (move.from_location.code, move.to_location.code) == ("MAIN/A-01-01", "MAIN/A-01-02")
    assert level(stocked, "MAIN/A-01-01") == (4, 0)
    assert level(stocked, "MAIN/A-01-02") == (6, 0)
    assert stocked.stock_report("ABC-1").totals.on_hand == 10


def test_a_transfer_to_the_same_bin_is_refused(stocked: InventoryService) -> None:
    with pytest.raises(SameLocation):
        stocked.transfer(
            "ann",
            TransferStock(
                sku="ABC-1", from_location="MAIN/A-01-01", to_location="main/a-01-01", qty=1
            ),
        )


def test_a_cycle_count_records_the_counted_quantity_and_the_difference(
    stocked: InventoryService,
) -> None:
    down = stocked.adjust("ann", AdjustStock(sku="ABC-1", location="MAIN/A-01-01", counted_qty=7))
    assert (down.counted_qty, down.signed_difference, down.qty) == (7, -3, 3)
    up = stocked.adjust("ann", AdjustStock(sku="ABC-1", location="MAIN/A-01-01", counted_qty=9))
    assert (up.counted_qty, up.signed_difference) == (9, 2)
    same = stocked.adjust("ann", AdjustStock(sku="ABC-1", location="MAIN/A-01-01", counted_qty=9))
    assert (same.counted_qty, same.signed_difference) == (9, 0)
    assert level(stocked, "MAIN/A-01-01") == (9, 0)


def test_a_count_in_an_empty_bin_creates_stock_there(stocked: InventoryService) -> None:
    stocked.adjust(
        "ann", AdjustStock(sku="ABC-1", location="MAIN/A-01-02", counted_qty=2, reason="found")
    )
    assert level(stocked, "MAIN/A-01-02") == (2, 0)


def test_a_count_below_what_is_reserved_is_refused(stocked: InventoryService) -> None:
    stocked.reserve("desk", ReserveStock(sku="ABC-1", qty=6))
    with pytest.raises(CountBelowReserved):
        stocked.adjust("ann", AdjustStock(sku="ABC-1", location="MAIN/A-01-01", counted_qty=5))
    assert level(stocked, "MAIN/A-01-01") == (10, 6)


def test_reserving_without_a_location_picks_the_storage_bin_with_most_free_stock(
    stocked: InventoryService,
) -> None:
    stocked.receive("ann", ReceiveStock(sku="ABC-1", location="MAIN/A-01-02", qty=3))
    stocked.receive("ann", ReceiveStock(sku="ABC-1", location="MAIN/QUARANTINE", qty=50))
    reservation = stocked.reserve("desk", ReserveStock(sku="ABC-1", qty=5, reference="RMA-9"))
    assert reservation.location == "MAIN/A-01-01"
    assert reservation.status is ReservationStatus.ACTIVE
    assert (
        stocked.stock_report("ABC-1").totals.available == 8
    )  # 13 in storage − 5; quarantine excluded


def test_quarantined_stock_cannot_be_reserved(stocked: InventoryService) -> None:
    stocked.receive("ann", ReceiveStock(sku="ABC-1", location="MAIN/QUARANTINE", qty=50))
    with pytest.raises(InsufficientStock) as refused:
        stocked.reserve("desk", ReserveStock(sku="ABC-1", qty=11))
    assert refused.value.details["available"] == 10
    with pytest.raises(InvalidInput) as not_pickable:
        stocked.reserve("desk", ReserveStock(sku="ABC-1", qty=1, location="MAIN/QUARANTINE"))
    assert not_pickable.value.code == "location_not_pickable"


def test_releasing_a_reservation_frees_its_stock_once(stocked: InventoryService) -> None:
    reservation = stocked.reserve("desk", ReserveStock(sku="ABC-1", qty=4))
    released = stocked.release("desk", reservation.id)
    assert released.status is ReservationStatus.RELEASED
    assert level(stocked, "MAIN/A-01-01") == (10, 0)
    with pytest.raises(ReservationNotActive):
        stocked.release("desk", reservation.id)
    assert level(stocked, "MAIN/A-01-01") == (10, 0)


def test_issuing_a_reservation_ships_what_it_held(stocked: InventoryService) -> None:
    reservation = stocked.reserve("desk", ReserveStock(sku="ABC-1", qty=4, reference="RMA-3"))
    move = stocked.issue("ann", IssueReservedStock(reservation_id=reservation.id))
    assert (move.kind, move.qty, move.reference) == (MoveKind.RESERVED_ISSUE, 4, "RMA-3")
    assert level(stocked, "MAIN/A-01-01") == (6, 0)
    with pytest.raises(ReservationNotActive):
        stocked.issue("ann", IssueReservedStock(reservation_id=reservation.id))
    with pytest.raises(ReservationNotActive):
        stocked.release("desk", reservation.id)


def test_issuing_a_reservation_checks_what_the_caller_thinks_it_holds(
    stocked: InventoryService,
) -> None:
    reservation = stocked.reserve("desk", ReserveStock(sku="ABC-1", qty=4))
    with pytest.raises(ReservationMismatch):
        stocked.issue("ann", IssueReservedStock(reservation_id=reservation.id, qty=3))
    with pytest.raises(ReservationMismatch):
        stocked.issue(
            "ann", IssueReservedStock(reservation_id=reservation.id, location="MAIN/A-01-02")
        )
    assert level(stocked, "MAIN/A-01-01") == (10, 4)


def test_unknown_parts_and_locations_are_named(stocked: InventoryService) -> None:
    with pytest.raises(UnknownPart) as part:
        stocked.receive("ann", ReceiveStock(sku="NOPE", location="MAIN/A-01-01", qty=1))
    assert part.value.field == "sku"
    with pytest.raises(UnknownLocation) as location:
        stocked.transfer(
            "ann",
            TransferStock(sku="ABC-1", from_location="MAIN/A-01-01", to_location="MAIN/Z", qty=1),
        )
    assert location.value.field == "to_location"


def test_an_inactive_part_cannot_move(stocked: InventoryService) -> None:
    stocked.update_part("ABC-1", {"active": False})
    with pytest.raises(InactivePart):
        stocked.receive("ann", ReceiveStock(sku="ABC-1", location="MAIN/A-01-01", qty=1))


def test_skus_are_unique_regardless_of_case(stocked: InventoryService) -> None:
    with pytest.raises(DuplicateSku):
        stocked.create_part(sku="abc-1", name="Another fan")
    assert stocked.get_part("aBc-1").part.sku == "ABC-1"


def test_barcodes_are_unique(stocked: InventoryService) -> None:
    stocked.create_part(sku="ABC-2", name="Fan guard", barcode="4006381333931")
    with pytest.raises(DuplicateBarcode):
        stocked.create_part(sku="ABC-3", name="Fan screw", barcode="4006381333931")
    with pytest.raises(DuplicateBarcode):
        stocked.update_part("ABC-1", {"barcode": "4006381333931"})


def test_unit_cost_survives_the_database_as_an_exact_decimal(inventory: InventoryService) -> None:
    inventory.create_part(sku="R-10K", name="Resistor 10k", unit_cost=Decimal("0.0035"))
    cost = inventory.get_part("R-10K").part.unit_cost
    assert isinstance(cost, Decimal)
    assert cost == Decimal("0.0035")
    inventory.update_part("R-10K", {"unit_cost": Decimal("1234567.1239")})
    assert inventory.get_part("R-10K").part.unit_cost == Decimal("1234567.1239")


def test_the_database_itself_refuses_negative_stock(stocked: InventoryService, engine) -> None:
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(text("UPDATE stock_levels SET on_hand = -1"))
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(text("UPDATE stock_levels SET reserved = on_hand + 1"))


def test_the_ledger_is_append_only_in_the_database(stocked: InventoryService, engine) -> None:
    with pytest.raises(DBAPIError), engine.begin() as connection:
        connection.execute(text("UPDATE stock_moves SET qty = 99"))
    with pytest.raises(DBAPIError), engine.begin() as connection:
        connection.execute(text("DELETE FROM stock_moves"))
    with engine.connect() as connection:
        assert connection.execute(text("SELECT qty FROM stock_moves")).scalars().all() == [10]


def test_verify_finds_levels_that_drifted_from_the_ledger_and_repair_fixes_them(
    stocked: InventoryService,
    engine,
) -> None:
    assert stocked.verify_levels() == []
    with engine.begin() as connection:
        connection.execute(text("UPDATE stock_levels SET on_hand = 12"))
    [difference] = stocked.verify_levels()
    assert (difference.sku, difference.location) == ("ABC-1", "MAIN/A-01-01")
    assert (difference.stored_on_hand, difference.ledger_on_hand) == (12, 10)
    assert stocked.repair_levels() == [difference]
    assert stocked.verify_levels() == []
    assert level(stocked, "MAIN/A-01-01") == (10, 0)


def test_every_move_is_stamped_with_the_clock(
    stocked: InventoryService, session_factory, clock
) -> None:
    with session_factory() as session:
        created = session.scalars(select(StockMove.created_at)).all()
        part = session.scalar(select(Part))
    assert created == [clock.now()]
    assert part.created_at == clock.now()


def test_parts_list_filters_and_pages_by_sku(stocked: InventoryService) -> None:
    stocked.create_part(sku="ABC-2", name="Fan guard", reorder_point=3, category="Cooling")
    stocked.create_part(sku="XYZ-9", name="Power supply 65W", category="Power")
    low = stocked.list_parts(below_reorder_point=True)
    assert [row.part.sku for row in low] == ["ABC-2"]
    first = stocked.list_parts(limit=2)
    assert [row.part.sku for row in first] == ["ABC-1", "ABC-2"]
    rest = stocked.list_parts(after=first[-1].part.sku_key, limit=2)
    assert [row.part.sku for row in rest] == ["XYZ-9"]
    assert [r.part.sku for r in stocked.list_parts(search="power")] == ["XYZ-9"]
    assert [r.part.sku for r in stocked.list_parts(supplier="acme")] == ["ABC-1"]
    assert [r.part.sku for r in stocked.list_parts(category="Cooling")] == ["ABC-2"]


def test_a_reservation_larger_than_any_one_bin_says_so(stocked: InventoryService) -> None:
    stocked.receive("ann", ReceiveStock(sku="ABC-1", location="MAIN/A-01-02", qty=6))
    with pytest.raises(InsufficientStock) as refused:
        stocked.reserve("desk", ReserveStock(sku="ABC-1", qty=12))
    assert refused.value.details["available"] == 16
    assert refused.value.details["largest_in_one_location"] == 10
    assert "No single bin holds 12" in refused.value.message


def test_quarantined_stock_is_on_hand_but_not_available_per_location(
    stocked: InventoryService,
) -> None:
    stocked.receive("ann", ReceiveStock(sku="ABC-1", location="MAIN/QUARANTINE", qty=3))
    levels = {level.location.code: level for level in stocked.stock_report("ABC-1").levels}
    assert (levels["MAIN/QUARANTINE"].on_hand, levels["MAIN/QUARANTINE"].available) == (3, 0)
    assert levels["MAIN/A-01-01"].available == 10
    stocked.issue(
        "ann", IssueStock(sku="ABC-1", location="MAIN/QUARANTINE", qty=3, reason="scrapped")
    )
    assert level(stocked, "MAIN/QUARANTINE") == (0, 0)


def test_the_stock_history_walks_back_from_today_through_the_ledger(
    stocked: InventoryService, clock
) -> None:
    from datetime import timedelta

    clock.advance(timedelta(days=1))
    stocked.issue("ann", IssueStock(sku="ABC-1", location="MAIN/A-01-01", qty=4))
    clock.advance(timedelta(days=1))
    stocked.transfer(
        "ann",
        TransferStock(sku="ABC-1", from_location="MAIN/A-01-01", to_location="MAIN/A-01-02", qty=2),
    )
    stocked.receive("ann", ReceiveStock(sku="ABC-1", location="MAIN/A-01-02", qty=5))
    history = stocked.stock_history("ABC-1", days=90)
    # Nothing is known before the first receipt: the history starts there, not at "0 on hand".
    assert [on_hand for _, on_hand in history] == [10, 6, 6, 11]  # receipt, issue, move, receipt
    # Once the moves are older than the window, the known level is carried from its start.
    clock.advance(timedelta(days=30))
    recent = stocked.stock_history("ABC-1", days=10)
    assert [on_hand for _, on_hand in recent] == [11]
    assert recent[0][0] == clock.now() - timedelta(days=10)
    stocked.issue("ann", IssueStock(sku="ABC-1", location="MAIN/A-01-01", qty=1))
    assert [on_hand for _, on_hand in stocked.stock_history("ABC-1", days=10)] == [11, 10]


def test_a_bin_lost_to_a_race_leaves_no_rows_and_the_next_bin_is_reserved(
    stocked: InventoryService, monkeypatch: pytest.MonkeyPatch, database_url: str
) -> None:
    """The level is updated before anything is written (no savepoint): when another writer
    took the chosen bin's free stock after the candidates were read, that bin's conditional
    update matches no row and the next bin is reserved, with one reservation and one move."""
    if database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL takes the best bin in one statement: the real race below")
    from inventory import reserving
    from inventory.models import Reservation, StockLevel

    stocked.receive("ann", ReceiveStock(sku="ABC-1", location="MAIN/A-01-02", qty=6))
    real_reserve_rows = reserving.reserve_rows
    raced: list[int] = []

    def racing_reserve_rows(connection, who, now, rows, **details):  # type: ignore[no-untyped-def]
        if not raced:  # the other writer reserves all of the first bin's free stock
            ((_, location_id, _),) = rows
            raced.append(location_id)
            connection.execute(
                StockLevel.__table__.update()
                .where(StockLevel.__table__.c.location_id == location_id)
                .values(reserved=StockLevel.__table__.c.on_hand)
            )
        return real_reserve_rows(connection, who, now, rows, **details)

    monkeypatch.setattr(reserving, "reserve_rows", racing_reserve_rows)
    reservation = stocked.reserve("desk", ReserveStock(sku="ABC-1", qty=5, reference="RMA-R"))

    with stocked.session_factory() as session:
        first_bin = session.scalar(select(Location.id).where(Location.code == "MAIN/A-01-01"))
    assert raced == [first_bin]
    assert reservation.location == "MAIN/A-01-02"
    assert level(stocked, "MAIN/A-01-02") == (6, 5)
    with stocked.session_factory() as session:
        reservations = session.scalars(select(Reservation)).all()
        moves = session.scalars(select(StockMove).where(StockMove.kind == MoveKind.RESERVE)).all()
    assert [(r.id, r.location_id, r.qty) for r in reservations] == [
        (reservation.id, reservation.location_id, 5)
    ]
    assert [(m.reservation_id, m.from_location_id, m.qty) for m in moves] == [
        (reservation.id, reservation.location_id, 5)
    ]


def test_on_postgresql_a_bin_taken_while_reserving_sends_the_reservation_to_the_next_bin(
    stocked: InventoryService, database_url: str
) -> None:
    """PostgreSQL reserves in the best bin with one statement. Another transaction takes that
    bin's free stock while the statement waits for the row: the guarded UPDATE re-checks the
    committed row, matches nothing, nothing is written, and the next bin is reserved."""
    if not database_url.startswith("postgresql"):
        pytest.skip("the one-statement path is PostgreSQL's")
    import threading
    import time

    from inventory.models import Reservation, StockLevel
    from inventory.reserving import ReservedLine

    stocked.receive("ann", ReceiveStock(sku="ABC-1", location="MAIN/A-01-02", qty=6))
    engine = stocked.session_factory.kw["bind"]
    levels = StockLevel.__table__
    made: list[ReservedLine] = []
    with engine.connect() as other:
        first_bin = other.scalar(select(Location.id).where(Location.code == "MAIN/A-01-01"))
        other.execute(  # holds the row until it commits
            levels.update()
            .where(levels.c.location_id == first_bin)
            .values(reserved=levels.c.on_hand)
        )
        reserving = threading.Thread(
            target=lambda: made.append(
                stocked.reserve("desk", ReserveStock(sku="ABC-1", qty=5, reference="RMA-R"))
            )
        )
        reserving.start()
        for _ in range(100):  # until the reservation waits for the row
            waiting = other.scalar(text("SELECT count(*) FROM pg_locks WHERE NOT granted"))
            if waiting:
                break
            time.sleep(0.05)
        assert waiting, "the reservation never waited for the first bin"
        other.commit()
    reserving.join(timeout=30)

    assert [(r.location, r.qty) for r in made] == [("MAIN/A-01-02", 5)]
    assert level(stocked, "MAIN/A-01-01") == (10, 10)
    assert level(stocked, "MAIN/A-01-02") == (6, 5)
    with stocked.session_factory() as session:
        reservations = session.scalars(select(Reservation)).all()
        moves = session.scalars(select(StockMove).where(StockMove.kind == MoveKind.RESERVE)).all()
    assert [(r.id, r.location_id) for r in reservations] == [(made[0].id, made[0].location_id)]
    assert [(m.reservation_id, m.qty) for m in moves] == [(made[0].id, 5)]
