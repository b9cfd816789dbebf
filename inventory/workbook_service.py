"""The base of the workbook use cases: a unit of work, uploads opened within limits, and
the record that makes each exported workbook apply at most once."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.clock import Clock, SystemClock
from core.db import UnitOfWork
from core.spreadsheets import UploadLimits, open_upload
from inventory.errors import AlreadyImported
from inventory.ledger import Who
from inventory.models import SheetImport
from inventory.status import SheetKind


class WorkbookService:
    """What the services that export and import workbooks share."""

    def __init__(
        self,
        session_factory: Callable[[], Session],
        clock: Clock | None = None,
        limits: UploadLimits | None = None,
    ):
        self.session_factory = session_factory
        self.clock = clock or SystemClock()
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
