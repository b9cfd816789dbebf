"""Use cases for counters: the cycle-count sheet, exported for one location and read back
as count moves. Each is one transaction, committed here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import IO

from core.db import read_one_snapshot
from inventory import sheet_imports, sheets
from inventory.ledger import location_by_code
from inventory.models import StockMove
from inventory.status import SheetKind
from inventory.workbook_service import WorkbookService


@dataclass(frozen=True)
class CountResult:
    reference: str
    moves: list[StockMove]


class CountSheetService(WorkbookService):
    """Cycle-count sheets: export one location's parts, import the counts."""

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
