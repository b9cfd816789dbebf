"""Reserving every line of an order at once: all or nothing, never oversold (SQLite and
PostgreSQL; threads against PostgreSQL)."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import func, select

from core.errors import InvalidInput
from inventory.commands import ReceiveStock
from inventory.errors import InsufficientStock, UnknownPart
from inventory.models import Reservation, StockMove
from inventory.services import InventoryService
from inventory.status import MoveKind


def levels(inventory: InventoryService, sku: str) -> dict[str, tuple[int, int]]:
    return {
        row.location.code: (row.on_hand, row.reserved) for row in inventory.stock_report(sku).levels
    }


@pytest.fixture
def two_parts(stocked: InventoryService) -> InventoryService:
    """ABC-1: 10 in A-01-01; DEF-2: 3 in A-01-01 and 5 in A-01-02."""
    stocked.create_part(sku="DEF-2", name="Bearing")
    for location, qty in (("MAIN/A-01-01", 3), ("MAIN/A-01-02", 5)):
        stocked.receive("t", ReceiveStock(sku="DEF-2", location=location, qty=qty))
    return stocked


def test_every_line_is_reserved_with_its_ledger_row(two_parts: InventoryService) -> None:
    made = two_parts.reserve_order(
        "ann",
        [("abc-1", 4, None), ("DEF-2", 4, None), ("DEF-2", 1, None), ("ABC-1", 2, "main/a-01-01")],
        reference="SO-1",
    )
    # The bin with most free stock per line, counting the order's earlier lines.
    assert [(m.sku, m.location, m.qty) for m in made] == [
        ("ABC-1", "MAIN/A-01-01", 4),
        ("DEF-2", "MAIN/A-01-02", 4),
        ("DEF-2", "MAIN/A-01-01", 1),
        ("ABC-1", "MAIN/A-01-01", 2),
    ]
    assert levels(two_parts, "ABC-1")["MAIN/A-01-01"] == (10, 6)
    assert levels(two_parts, "DEF-2") == {"MAIN/A-01-01": (3, 1), "MAIN/A-01-02": (5, 4)}
    moves = [m for m in two_parts.list_moves("DEF-2") if m.kind is MoveKind.RESERVE]
    assert sorted((m.qty, m.reservation_id, m.reference) for m in moves) == sorted(
        (line.qty, line.id, "SO-1") for line in made if line.sku == "DEF-2"
    )
    assert two_parts.verify_levels() == []  # the ledger and the levels agree


def test_one_line_short_reserves_nothing(two_parts: InventoryService) -> None:
    with pytest.raises(InsufficientStock) as refused:
        two_parts.reserve_order("ann", [("ABC-1", 4, None), ("DEF-2", 6, None)])
    assert refused.value.details["sku"] == "DEF-2"
    assert refused.value.details["largest_in_one_location"] == 5
    with pytest.raises(InsufficientStock):  # the order's own lines add up
        two_parts.reserve_order("ann", [("ABC-1", 6, None), ("ABC-1", 5, None)])
    with pytest.raises(UnknownPart):
        two_parts.reserve_order("ann", [("ABC-1", 1, None), ("NOPE", 1, None)])
    with pytest.raises(InvalidInput):
        two_parts.reserve_order("ann", [("ABC-1", 1, "MAIN/QUARANTINE")])
    assert levels(two_parts, "ABC-1")["MAIN/A-01-01"] == (10, 0)
    assert levels(two_parts, "DEF-2") == {"MAIN/A-01-01": (3, 0), "MAIN/A-01-02": (5, 0)}
    with two_parts._uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(Reservation)) == 0
        kinds = uow.session.scalars(select(StockMove.kind)).all()
        assert MoveKind.RESERVE not in kinds


def test_concurrent_orders_never_oversell(two_parts: InventoryService, database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("threads against PostgreSQL")
    results: Counter[str] = Counter()
    start = threading.Barrier(8)

    def order(number: int) -> None:
        start.wait(timeout=30)
        for _ in range(6):
            try:
                two_parts.reserve_order(
                    f"t{number}", [("ABC-1", 1, None), ("DEF-2", 1, None), ("ABC-1", 1, None)]
                )
                results["ok"] += 1
            except InsufficientStock:
                results["refused"] += 1

    threads = [threading.Thread(target=order, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # ABC-1 holds 10 (two a order: 5 orders), DEF-2 holds 8: ABC-1 runs out first.
    assert results["ok"] == 5
    assert results["refused"] == 43
    assert levels(two_parts, "ABC-1")["MAIN/A-01-01"] == (10, 10)
    assert sum(reserved for _, reserved in levels(two_parts, "DEF-2").values()) == 5
    assert two_parts.verify_levels() == []


def test_the_api_reserves_an_order_and_validates_it(client: Any, role_headers: Any) -> None:
    from accounts.models import Role

    def api(method: str, path: str, **kwargs: Any) -> Any:
        return client.open(path, method=method, headers=role_headers[Role.ADMIN], **kwargs)

    api("POST", "/api/v1/locations", json={"code": "MAIN/A-01-01"})
    for sku in ("FAN-80", "FAN-92"):
        assert api("POST", "/api/v1/parts", json={"sku": sku, "name": sku}).status_code == 201
        api(
            "POST",
            "/api/v1/stock/receipts",
            json={"sku": sku, "location": "MAIN/A-01-01", "qty": 3},
        )
    body = {
        "reference": "SO-9",
        "lines": [{"sku": "FAN-80", "qty": 2}, {"sku": "FAN-92", "qty": 3}],
    }
    made = api("POST", "/api/v1/reservations/batch", json=body)
    assert made.status_code == 201, made.json
    assert [
        (r["sku"], r["qty"], r["status"], r["reference"]) for r in made.json["reservations"]
    ] == [
        ("FAN-80", 2, "active", "SO-9"),
        ("FAN-92", 3, "active", "SO-9"),
    ]
    again = api("POST", "/api/v1/reservations/batch", json=body)
    assert again.status_code == 409
    assert again.json["error"]["code"] == "insufficient_stock"
    assert api("GET", "/api/v1/stock/FAN-80").json["available"] == 1
    for bad in ({"lines": []}, {"lines": [{"sku": "FAN-80", "qty": 0}]}, {"lines": [{"qty": 1}]},
                {"lines": [{"sku": "FAN-80", "qty": 1, "colour": "red"}]}, {}):  # fmt: skip
        refused = api("POST", "/api/v1/reservations/batch", json=bad)
        assert refused.status_code == 422, (bad, refused.json)
    spec = client.get("/api/v1/openapi.json").json
    assert "post" in spec["paths"]["/api/v1/reservations/batch"]


def test_the_rows_are_written_only_when_every_level_is_taken(two_parts: InventoryService) -> None:
    """``reserving.reserve_rows``, the statements behind the single reservation and the order
    (one on PostgreSQL): one level without the stock free means no reservation and no ledger
    row at all, though another level was taken (the caller then rolls back); rows alike get
    distinct ids in increasing order."""
    from core.clock import SystemClock
    from inventory import ledger, reserving
    from inventory.models import Location, Part

    who = ledger.Who("ann", SystemClock())
    with two_parts.session_factory() as session:
        part = dict(session.execute(select(Part.sku, Part.id)).all())
        at = dict(session.execute(select(Location.code, Location.id)).all())
        abc, def_, a1, a2 = part["ABC-1"], part["DEF-2"], at["MAIN/A-01-01"], at["MAIN/A-01-02"]
        connection = session.connection()
        now = who.clock.now()

        short = reserving.reserve_rows(
            connection, who, now, [(abc, a1, 2), (def_, a2, 6)], reference="SO-1", reason=""
        )
        assert (short.ids, short.levels) == ([], {(abc, a1)})
        assert session.scalar(select(func.count()).select_from(Reservation)) == 0
        assert MoveKind.RESERVE not in session.scalars(select(StockMove.kind)).all()
        session.rollback()

        connection = session.connection()
        made = reserving.reserve_rows(
            connection,
            who,
            now,
            [(abc, a1, 1), (def_, a2, 5), (abc, a1, 1)],
            reference="SO-2",
            reason="",
        )
        assert made.levels == {(abc, a1), (def_, a2)}
        assert made.ids[0] < made.ids[2]
        rows = session.execute(
            select(Reservation.id, Reservation.part_id, Reservation.qty, StockMove.qty)
            .join(StockMove, StockMove.reservation_id == Reservation.id)
            .order_by(Reservation.id)
        ).all()
        assert {(r.id, r.part_id, r[2], r[3]) for r in rows} == {
            (made.ids[0], abc, 1, 1),
            (made.ids[1], def_, 5, 5),
            (made.ids[2], abc, 1, 1),
        }
