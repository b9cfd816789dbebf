"""Use cases for buyers and counters: reorder suggestions and sheets, purchase orders,
catalogue and cycle-count workbooks. Each is one transaction, committed here.

Callers (HTTP views, pages, CLI commands, scheduler jobs) pass plain values and bytes and
get back loaded objects they may read after the transaction has ended.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.clock import Clock, SystemClock
from core.db import UnitOfWork, read_one_snapshot
from core.spreadsheets import UploadLimits, open_upload
from inventory import purchasing, reorder, sheet_imports, sheets
from inventory.catalog import get_part
from inventory.ledger import Who, location_by_code
from inventory.models import StockMove
from inventory.po_status import PurchaseOrderStatus, SheetKind
from inventory.purchasing_errors import AlreadyImported
from inventory.purchasing_models import PurchaseOrder, SheetImport


class _Service:
    def __init__(
        self,
        session_factory: Callable[[], Session],
        clock: Clock | None = None,
        settings: reorder.ReorderSettings | None = None,
        limits: UploadLimits | None = None,
    ):
        self.session_factory = session_factory
        self.clock = clock or SystemClock()
        self.settings = settings or reorder.ReorderSettings()
        self.limits = limits or UploadLimits()

    def _uow(self) -> UnitOfWork:
        return UnitOfWork(self.session_factory)

    def _who(self, actor: str) -> Who:
        return Who(actor, self.clock)

    def _read_upload(self, data: bytes, read: Callable[..., Any]) -> tuple[Any, list[str]]:
        """Check and open an uploaded workbook, read it with ``read``, and close it again."""
        workbook = open_upload(data, self.limits)
        try:
            return read(workbook, self.limits), list(workbook.sheetnames)
        finally:
            workbook.close()

    def _record_import(
        self,
        session: Session,
        kind: SheetKind,
        export_id: str,
        actor: str,
        data: bytes,
        filename: str,
    ) -> SheetImport:
        """An exported workbook is applied once: uploading it again is refused, not repeated."""
        earlier = session.scalar(
            select(SheetImport).where(SheetImport.kind == kind, SheetImport.export_id == export_id)
        )
        if earlier is not None:
            raise AlreadyImported(
                kind.value.replace("_", " "),
                earlier.created_at.isoformat(timespec="seconds"),
                earlier.actor,
                earlier.summary,
            )
        record = SheetImport(
            kind=kind,
            export_id=export_id,
            digest=hashlib.sha256(data).hexdigest(),
            filename=filename[:255],
            actor=actor,
            created_at=self.clock.now(),
            summary="",
        )
        session.add(record)
        session.flush()
        return record


@dataclass(frozen=True)
class ImportedOrders:
    orders: list[PurchaseOrder]
    sheet_import_id: int


class ReorderService(_Service):
    """Suggestions, the nightly recompute, reorder policies and the reorder workbook."""

    def __init__(
        self,
        session_factory: Callable[[], Session],
        clock: Clock | None = None,
        settings: reorder.ReorderSettings | None = None,
        limits: UploadLimits | None = None,
        returns: reorder.ReturnSupply | None = None,
    ):
        super().__init__(session_factory, clock, settings, limits)
        self.returns: reorder.ReturnSupply = returns or reorder.NoReturnSupply()

    def suggestions(
        self,
        filters: reorder.SuggestionFilters | None = None,
        *,
        after: str | None = None,
        limit: int = 50,
    ) -> list[reorder.Suggestion]:
        with self._uow() as uow:
            read_one_snapshot(uow.session)
            return reorder.list_suggestions(
                uow.session,
                self.clock,
                self.settings,
                self.returns,
                filters or reorder.SuggestionFilters(),
                after=after,
                limit=limit,
            )

    def export(
        self, stream: IO[bytes], actor: str, filters: reorder.SuggestionFilters
    ) -> sheets.ReorderExport:
        """Write the reorder workbook to ``stream`` (rows stream from one snapshot)."""
        with self._uow() as uow:
            read_one_snapshot(uow.session)
            without = reorder.count_without_supplier(
                uow.session, self.clock, self.settings, self.returns, filters
            )
            suggestions = reorder.iter_suggestions(
                uow.session,
                self.clock,
                self.settings,
                self.returns,
                filters,
                by_supplier=True,
                has_supplier=True,
            )
            context = sheets.ExportContext(
                self.clock.now(),
                actor,
                {
                    "supplier": filters.supplier,
                    "category": filters.category,
                    "urgency": filters.urgency.value if filters.urgency else None,
                },
            )
            return sheets.write_reorder_workbook(
                stream, suggestions, context, without_supplier=without
            )

    def import_sheet(self, actor: str, data: bytes, filename: str = "") -> ImportedOrders:
        """Draft purchase orders (one per supplier) from an edited reorder workbook."""
        sheet, order = self._read_upload(data, sheets.read_reorder_workbook)
        with self._uow() as uow:
            record = self._record_import(
                uow.session, SheetKind.REORDER, sheet.export_id, actor, data, filename
            )
            orders = sheet_imports.import_reorder(
                uow.session,
                self._who(actor),
                sheet.lines,
                list(sheet.problems),
                source=f"reorder sheet import {record.id}",
                sheet_order=order,
            )
            record.summary = "draft purchase orders " + ", ".join(o.number for o in orders)
            uow.commit()
            return ImportedOrders(orders, record.id)

    def recompute(
        self, *, window_days: int | None = None, service_level: Decimal | None = None
    ) -> reorder.RecomputeSummary:
        with self._uow() as uow:
            summary = reorder.recompute(
                uow.session,
                self.clock,
                self.settings,
                self.returns,
                window_days=window_days,
                service_level=service_level,
            )
            uow.commit()
            return summary

    def get_policy(self, sku: str) -> reorder.PolicyView:
        with self._uow() as uow:
            return reorder.get_policy(uow.session, sku)

    def update_policy(self, sku: str, changes: Mapping[str, Any]) -> reorder.PolicyView:
        with self._uow() as uow:
            part = get_part(uow.session, sku)
            policy = reorder.set_policy(uow.session, self.clock, part, changes)
            uow.commit()
            return reorder.PolicyView(part, policy)


class PurchasingService(_Service):
    """Purchase orders: list, read, send, cancel and receive against."""

    def list_orders(
        self,
        *,
        supplier: str | None = None,
        status: PurchaseOrderStatus | None = None,
        before: int | None = None,
        limit: int = 50,
    ) -> list[PurchaseOrder]:
        with self._uow() as uow:
            return purchasing.list_orders(
                uow.session, supplier=supplier, status=status, before=before, limit=limit
            )

    def get_order(self, number: str) -> PurchaseOrder:
        with self._uow() as uow:
            return purchasing.get_order(uow.session, number)

    def send(self, actor: str, number: str, reason: str = "") -> PurchaseOrder:
        with self._uow() as uow:
            order = purchasing.send(
                uow.session,
                self._who(actor),
                number,
                reason,
                default_lead_time_days=self.settings.default_lead_time_days,
            )
            uow.commit()
            return order

    def cancel(self, actor: str, number: str, reason: str = "") -> PurchaseOrder:
        with self._uow() as uow:
            order = purchasing.cancel(uow.session, self._who(actor), number, reason)
            uow.commit()
            return order

    def receive(
        self,
        actor: str,
        number: str,
        *,
        location: str,
        lines: Sequence[Mapping[str, Any]],
        reason: str = "",
    ) -> tuple[PurchaseOrder, list[StockMove]]:
        receipts = [
            purchasing.Receipt(line["sku"], line["qty"], line.get("location")) for line in lines
        ]
        with self._uow() as uow:
            result = purchasing.receive(
                uow.session, self._who(actor), number, receipts, location=location, reason=reason
            )
            uow.commit()
            return result


@dataclass(frozen=True)
class CountResult:
    reference: str
    moves: list[StockMove]


class InventorySheetService(_Service):
    """The catalogue workbook and cycle-count sheets."""

    def export_catalogue(self, stream: IO[bytes], actor: str) -> int:
        with self._uow() as uow:
            read_one_snapshot(uow.session)
            context = sheets.ExportContext(self.clock.now(), actor)
            return sheets.write_catalogue_workbook(
                stream, sheet_imports.catalogue_rows(uow.session), context
            )

    def import_catalogue(
        self, actor: str, data: bytes, filename: str = ""
    ) -> sheet_imports.CatalogueResult:
        sheet, order = self._read_upload(data, sheets.read_catalogue_workbook)
        with self._uow() as uow:
            record = self._record_import(
                uow.session, SheetKind.CATALOGUE, sheet.export_id, actor, data, filename
            )
            result = sheet_imports.import_catalogue(
                uow.session,
                self.clock,
                sheet.rows,
                list(sheet.problems),
                sheet_order=order,
                actor=actor,
            )
            record.summary = (
                f"{result.created} created, {result.updated} updated, {result.unchanged} unchanged"
            )
            uow.commit()
            return result

    def export_count(self, stream: IO[bytes], actor: str, location: str, *, blind: bool) -> int:
        with self._uow() as uow:
            read_one_snapshot(uow.session)
            where = location_by_code(uow.session, location)
            context = sheets.ExportContext(self.clock.now(), actor, {"location": where.code})
            return sheets.write_count_workbook(
                stream,
                sheet_imports.count_rows(uow.session, where),
                context,
                location=where.code,
                ledger_position=sheet_imports.ledger_position(uow.session),
                blind=blind,
            )

    def import_count(self, actor: str, data: bytes, filename: str = "") -> CountResult:
        sheet, order = self._read_upload(data, sheets.read_count_workbook)
        with self._uow() as uow:
            record = self._record_import(
                uow.session, SheetKind.CYCLE_COUNT, sheet.export_id, actor, data, filename
            )
            reference = f"COUNT-{record.id}"
            moves = sheet_imports.import_counts(
                uow.session,
                self._who(actor),
                sheet,
                list(sheet.problems),
                reference=reference,
                sheet_order=order,
            )
            record.summary = f"{len(moves)} count(s) recorded as {reference}"
            uow.commit()
            return CountResult(reference, moves)
