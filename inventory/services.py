"""Inventory use cases: each one transaction, committed here and nowhere below.

Callers (HTTP views, CLI commands, scheduler jobs) pass plain values, or for stock
operations a command from :mod:`inventory.commands`, and get back loaded objects they may
read after the transaction has ended.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import IO, Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from core.audit import SYSTEM_ACTOR
from core.clock import Clock, SystemClock
from core.db import UnitOfWork, autocommitted, block_writers, engine_of, read_one_snapshot
from inventory import catalog, ledger, reserve_many, reserving, serials, verify
from inventory.commands import (
    AdjustStock,
    IssueReservedStock,
    IssueStock,
    ReceiveStock,
    ReserveStock,
    ScrapStock,
    TransferStock,
)
from inventory.errors import UnknownPart
from inventory.models import Location, Reservation, StockMove, Supplier
from inventory.recall_workbook import write_recall_workbook
from inventory.status import LocationKind


class InventoryService:
    def __init__(self, session_factory: Callable[[], Session], clock: Clock | None = None):
        self.session_factory = session_factory
        self.clock = clock or SystemClock()

    @functools.cached_property
    def engine(self) -> Engine:
        return engine_of(self.session_factory)

    def _uow(self) -> UnitOfWork:
        return UnitOfWork(self.session_factory)

    def _who(self, actor: str) -> ledger.Who:
        return ledger.Who(actor, self.clock)

    # --- master data ---------------------------------------------------------------------

    def create_supplier(self, **fields: Any) -> Supplier:
        with self._uow() as uow:
            supplier = catalog.create_supplier(uow.session, self.clock, **fields)
            uow.commit()
            return supplier

    def list_suppliers(self, *, after: str | None = None, limit: int = 50) -> Sequence[Supplier]:
        with self._uow() as uow:
            return catalog.list_suppliers(uow.session, after=after, limit=limit)

    def create_location(
        self, *, code: str, kind: LocationKind = LocationKind.STORAGE, description: str = ""
    ) -> Location:
        with self._uow() as uow:
            location = catalog.create_location(
                uow.session, self.clock, code=code, kind=kind, description=description
            )
            uow.commit()
            return location

    def list_locations(self, **filters: Any) -> Sequence[Location]:
        with self._uow() as uow:
            return catalog.list_locations(uow.session, **filters)

    def create_part(self, **fields: Any) -> catalog.PartStock:
        with self._uow() as uow:
            part = catalog.create_part(uow.session, self.clock, **fields)
            uow.commit()
            return catalog.PartStock(part, 0, 0, 0)

    def update_part(
        self, sku: str, changes: dict[str, Any], actor: str = SYSTEM_ACTOR
    ) -> catalog.PartStock:
        """Change a part; a changed unit cost is audited (``part.price_changed``) as ``actor``."""
        with self._uow() as uow:
            part = catalog.update_part(uow.session, self.clock, sku, changes, actor)
            uow.commit()
            return catalog.part_stock(uow.session, part)

    def scanned_sku(self, code: str) -> str:
        """The SKU of the part a scanned code (SKU or barcode) names."""
        with self._uow() as uow:
            part = ledger.find_part_by_scan(uow.session, code)
            if part is None:
                raise UnknownPart(code)
            return part.sku

    def get_part(self, sku: str) -> catalog.PartStock:
        with self._uow() as uow:
            return catalog.part_stock(uow.session, catalog.get_part(uow.session, sku))

    def list_parts(self, **filters: Any) -> list[catalog.PartStock]:
        with self._uow() as uow:
            return catalog.list_parts(uow.session, **filters)

    # --- stock ---------------------------------------------------------------------------

    def stock_report(self, sku: str) -> catalog.StockReport:
        with self._uow() as uow:
            return catalog.stock_report(uow.session, sku)

    def open_reservations(self, sku: str) -> Sequence[Reservation]:
        with self._uow() as uow:
            return catalog.open_reservations(uow.session, sku)

    def stock_history(self, sku: str, days: int = 90) -> list[tuple[datetime, int]]:
        """On hand after each move of the last ``days`` days, for the part page's chart."""
        with self._uow() as uow:
            since = self.clock.now() - timedelta(days=days)
            return catalog.stock_history(uow.session, sku, since=since)

    def list_moves(
        self, sku: str, *, before: int | None = None, limit: int = 50
    ) -> Sequence[StockMove]:
        with self._uow() as uow:
            return catalog.list_moves(uow.session, sku, before=before, limit=limit)

    # Each command's fields are the keyword parameters of its ledger function
    # (tests/unit/test_stock_commands.py holds them to it).

    def receive(self, actor: str, command: ReceiveStock) -> StockMove:
        with self._uow() as uow:
            move = ledger.receive(uow.session, self._who(actor), **asdict(command))
            uow.commit()
            return move

    def issue(self, actor: str, command: IssueStock | IssueReservedStock) -> StockMove:
        """Issue free stock, or all the stock a reservation holds."""
        with self._uow() as uow:
            if isinstance(command, IssueReservedStock):
                move = ledger.issue_reserved(uow.session, self._who(actor), **asdict(command))
            else:
                move = ledger.issue(uow.session, self._who(actor), **asdict(command))
            uow.commit()
            return move

    def scrap(self, actor: str, command: ScrapStock) -> StockMove:
        """Issue for good: serialised units become ``scrapped`` rather than ``issued``."""
        fields = asdict(command)
        fields["reason"] = command.reason or "scrap"
        with self._uow() as uow:
            move = ledger.issue(uow.session, self._who(actor), **fields)
            serials.scrap(uow.session, move)
            uow.commit()
            return move

    def serial(self, serial: str, sku: str | None = None) -> list[serials.SerialView]:
        """Where the unit(s) with ``serial`` are, who has them, and their moves."""
        with self._uow() as uow:
            return serials.look_up(uow.session, serial, sku)

    def recall(self, sku: str, first: str, last: str) -> list[serials.RecallRow]:
        """Customers who got units of ``sku`` with serials from ``first`` to ``last``."""
        with self._uow() as uow:
            return serials.recall(uow.session, sku, first, last)

    def export_recall(self, stream: IO[bytes], sku: str, first: str, last: str) -> int:
        """The recall list as a workbook into ``stream``; returns the rows written."""
        rows = self.recall(sku, first, last)
        return write_recall_workbook(
            stream, rows, sku=sku, first=first, last=last, generated_at=self.clock.now()
        )

    def transfer(self, actor: str, command: TransferStock) -> StockMove:
        with self._uow() as uow:
            move = ledger.transfer(uow.session, self._who(actor), **asdict(command))
            uow.commit()
            return move

    def adjust(self, actor: str, command: AdjustStock) -> StockMove:
        with self._uow() as uow:
            move = ledger.adjust(uow.session, self._who(actor), **asdict(command))
            uow.commit()
            return move

    def reserve(self, actor: str, command: ReserveStock) -> reserving.ReservedLine:
        who = self._who(actor)
        tried = command.location is None and self.engine.dialect.name == "postgresql"
        if tried:
            # The usual reservation is one statement, atomic on its own: autocommitted, it
            # needs no BEGIN and no COMMIT. When it took nothing, the general path below finds
            # another bin or the error to report.
            with autocommitted(self.engine) as connection:
                made = reserving.reserve_in_best_bin(
                    connection,
                    who,
                    sku=command.sku,
                    qty=command.qty,
                    reference=command.reference,
                    reason=command.reason,
                )
            if made is not None:
                return made
        with self._uow() as uow:
            general = reserving.reserve_after_reading if tried else reserving.reserve
            reservation = general(uow.session, who, **asdict(command))
            uow.commit()
            return reservation

    def reserve_order(
        self,
        actor: str,
        lines: Sequence[tuple[str, int, str | None]],
        *,
        reference: str | None = None,
        reason: str = "",
    ) -> list[reserving.ReservedLine]:
        """Reserve every line of an order in one transaction: all of them, or none."""
        with self._uow() as uow:
            reserved = reserve_many.reserve_many(
                uow.session, self._who(actor), lines, reference=reference, reason=reason
            )
            uow.commit()
            return reserved

    def release(self, actor: str, reservation_id: int, reason: str = "") -> reserving.ReservedLine:
        with self._uow() as uow:
            reservation = ledger.release(uow.session, self._who(actor), reservation_id, reason)
            uow.commit()
            return reserving.ReservedLine.of(reservation)

    # --- integrity -----------------------------------------------------------------------

    def verify_levels(self) -> list[verify.LevelDifference]:
        with self._uow() as uow:
            # Ledger and levels read in one snapshot: a move committed meanwhile is no "difference".
            read_one_snapshot(uow.session)
            return verify.compare_levels(uow.session)

    def repair_levels(self) -> list[verify.LevelDifference]:
        """Rewrite levels from the ledger; returns the differences that were repaired."""
        with self._uow() as uow:
            # Same order as every writer (levels, then the ledger row), or the two deadlock.
            block_writers(uow.session, "stock_levels", "stock_moves")
            differences = verify.compare_levels(uow.session)
            if differences:
                verify.rebuild_levels(uow.session)
                uow.commit()
            return differences
