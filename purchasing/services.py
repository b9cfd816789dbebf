"""Use cases for buyers: reorder suggestions and the reorder workbook, reorder policies,
purchase orders, and the catalogue workbook (parts with their buying terms). Each is one
transaction, committed here.

Callers (HTTP views, pages, CLI commands, scheduler jobs) pass plain values, bytes or a
command from :mod:`purchasing.commands` and get back views (purchase orders as
:mod:`purchasing.order_views`) or loaded objects they may read after the transaction has ended.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import IO, Any

from sqlalchemy.orm import Session

from core.clock import Clock
from core.db import read_one_snapshot
from core.spreadsheets import UploadLimits
from inventory.catalog import get_part
from inventory.models import StockMove
from inventory.sheets import ExportContext
from inventory.status import SheetKind
from inventory.workbook_service import WorkbookService
from purchasing import orders as po
from purchasing import workbook_imports, workbooks
from purchasing.commands import ReceivePurchaseOrder
from purchasing.order_views import PurchaseOrderView, order_view, order_views
from purchasing.reorder.formulas import ReorderSettings
from purchasing.reorder.ledger_backtest import LedgerBacktest, ledger_backtest
from purchasing.reorder.planned import TradeoffView, tradeoff_views
from purchasing.reorder.policies import PolicyView, get_policy, set_policy
from purchasing.reorder.queries import count_without_supplier, iter_suggestions, list_suggestions
from purchasing.reorder.recompute import RecomputeSummary
from purchasing.reorder.recompute import recompute as recompute_points
from purchasing.reorder.suggestions import (
    NoReturnSupply,
    ReturnSupply,
    Suggestion,
    SuggestionFilters,
)
from purchasing.reorder.targets import TargetView, list_targets, set_target
from purchasing.status import PurchaseOrderStatus


class _BuyingService(WorkbookService):
    def __init__(
        self,
        session_factory: Callable[[], Session],
        clock: Clock | None = None,
        settings: ReorderSettings | None = None,
        limits: UploadLimits | None = None,
    ):
        super().__init__(session_factory, clock, limits)
        self.settings = settings or ReorderSettings()


@dataclass(frozen=True)
class ImportedOrders:
    orders: list[PurchaseOrderView]
    sheet_import_id: int


class ReorderService(_BuyingService):
    """Suggestions, the nightly recompute, reorder policies and the reorder workbook."""

    def __init__(
        self,
        session_factory: Callable[[], Session],
        clock: Clock | None = None,
        settings: ReorderSettings | None = None,
        limits: UploadLimits | None = None,
        returns: ReturnSupply | None = None,
    ):
        super().__init__(session_factory, clock, settings, limits)
        self.returns: ReturnSupply = returns or NoReturnSupply()

    def suggestions(
        self,
        filters: SuggestionFilters | None = None,
        *,
        after: str | None = None,
        limit: int = 50,
    ) -> list[Suggestion]:
        with self._uow() as uow:
            read_one_snapshot(uow.session)
            return list_suggestions(
                uow.session,
                self.clock,
                self.settings,
                self.returns,
                filters or SuggestionFilters(),
                after=after,
                limit=limit,
            )

    def export(
        self, stream: IO[bytes], actor: str, filters: SuggestionFilters
    ) -> workbooks.ReorderExport:
        """Write the reorder workbook to ``stream`` (rows stream from one snapshot)."""
        with self._uow() as uow:
            read_one_snapshot(uow.session)
            without = count_without_supplier(
                uow.session, self.clock, self.settings, self.returns, filters
            )
            suggestions = iter_suggestions(
                uow.session,
                self.clock,
                self.settings,
                self.returns,
                filters,
                by_supplier=True,
                has_supplier=True,
            )
            context = ExportContext(
                self.clock.now(),
                actor,
                {
                    "supplier": filters.supplier,
                    "category": filters.category,
                    "urgency": filters.urgency.value if filters.urgency else None,
                },
            )
            return workbooks.write_reorder_workbook(
                stream, suggestions, context, without_supplier=without
            )

    def import_sheet(self, actor: str, data: bytes, filename: str = "") -> ImportedOrders:
        """Draft purchase orders (one per supplier) from an edited reorder workbook."""
        sheet, order = self._read_upload(data, workbooks.read_reorder_workbook)
        with self._uow() as uow:
            record = self._record_import(
                uow.session, SheetKind.REORDER, sheet.export_id, actor, data, filename
            )
            orders = workbook_imports.import_reorder(
                uow.session,
                self._who(actor),
                sheet.lines,
                list(sheet.problems),
                source=f"reorder sheet import {record.id}",
                sheet_order=order,
            )
            record.summary = "draft purchase orders " + ", ".join(o.number for o in orders)
            views = order_views(uow.session, orders)
            uow.commit()
            return ImportedOrders(views, record.id)

    def recompute(
        self, *, window_days: int | None = None, service_level: Decimal | None = None
    ) -> RecomputeSummary:
        with self._uow() as uow:
            summary = recompute_points(
                uow.session,
                self.clock,
                self.settings,
                self.returns,
                window_days=window_days,
                service_level=service_level,
            )
            uow.commit()
            return summary

    def get_policy(self, sku: str) -> PolicyView:
        with self._uow() as uow:
            return get_policy(uow.session, sku)

    def update_policy(self, sku: str, changes: Mapping[str, Any]) -> PolicyView:
        with self._uow() as uow:
            part = get_part(uow.session, sku)
            policy = set_policy(uow.session, self.clock, part, changes)
            uow.commit()
            return PolicyView.of(part, policy)

    # --- the fill-rate plan (docs/planning.md) -------------------------------------------

    def targets(self) -> list[TargetView]:
        with self._uow() as uow:
            return list_targets(uow.session)

    def set_target(
        self, actor: str, scope: str, key: str, fill_rate: Decimal | None
    ) -> TargetView | None:
        """Set or (``fill_rate`` None) remove a fill-rate target; the next recompute uses it."""
        with self._uow() as uow:
            view = set_target(uow.session, self.clock, actor, scope, key, fill_rate)
            uow.commit()
            return view

    def ledger_backtest(
        self, *, fill_rate: float | None = None, months: int | None = None
    ) -> LedgerBacktest:
        """Replay the ledger's monthly demand under the plan (read only)."""
        with self._uow() as uow:
            read_one_snapshot(uow.session)
            return ledger_backtest(
                uow.session, self.clock.now(), self.settings, fill_rate=fill_rate, months=months
            )

    def plan_overview(self) -> tuple[list[TargetView], list[TradeoffView]]:
        """The targets and the trade-off together (the reorder page: one transaction)."""
        with self._uow() as uow:
            return list_targets(uow.session), tradeoff_views(uow.session)

    def tradeoff(self) -> list[TradeoffView]:
        """The catalogue's expected fill rate and stock value per target (last recompute)."""
        with self._uow() as uow:
            return tradeoff_views(uow.session)


class PurchasingService(_BuyingService):
    """Purchase orders: list, read, send, cancel and receive against."""

    def list_orders(
        self,
        *,
        supplier: str | None = None,
        status: PurchaseOrderStatus | None = None,
        before: int | None = None,
        limit: int = 50,
    ) -> list[PurchaseOrderView]:
        with self._uow() as uow:
            orders = po.list_orders(
                uow.session, supplier=supplier, status=status, before=before, limit=limit
            )
            return order_views(uow.session, orders)

    def get_order(self, number: str) -> PurchaseOrderView:
        with self._uow() as uow:
            return order_view(uow.session, po.get_order(uow.session, number))

    def send(self, actor: str, number: str, reason: str = "") -> PurchaseOrderView:
        with self._uow() as uow:
            order = po.send(
                uow.session,
                self._who(actor),
                number,
                reason,
                default_lead_time_days=self.settings.default_lead_time_days,
            )
            view = order_view(uow.session, order)
            uow.commit()
            return view

    def cancel(self, actor: str, number: str, reason: str = "") -> PurchaseOrderView:
        with self._uow() as uow:
            order = po.cancel(uow.session, self._who(actor), number, reason)
            view = order_view(uow.session, order)
            uow.commit()
            return view

    def receive(
        self, actor: str, command: ReceivePurchaseOrder
    ) -> tuple[PurchaseOrderView, list[StockMove]]:
        with self._uow() as uow:
            order, moves = po.receive(uow.session, self._who(actor), command)
            view = order_view(uow.session, order)
            uow.commit()
            return view, moves


class CatalogueSheetService(_BuyingService):
    """The catalogue workbook: every part with its buying terms and reorder settings."""

    def export_catalogue(self, stream: IO[bytes], actor: str) -> int:
        with self._uow() as uow:
            read_one_snapshot(uow.session)
            context = ExportContext(self.clock.now(), actor)
            return workbooks.write_catalogue_workbook(
                stream, workbook_imports.catalogue_rows(uow.session), context
            )

    def import_catalogue(
        self, actor: str, data: bytes, filename: str = ""
    ) -> workbook_imports.CatalogueResult:
        sheet, order = self._read_upload(data, workbooks.read_catalogue_workbook)
        with self._uow() as uow:
            record = self._record_import(
                uow.session, SheetKind.CATALOGUE, sheet.export_id, actor, data, filename
            )
            result = workbook_imports.import_catalogue(
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
