"""Use cases for supplier claims: list, read, ship to the vendor, acknowledge, credit, reject,
cancel, the claims workbook, and the per-supplier figures (recovered amount, claim rate).

Each use case is one transaction. The parcel to the vendor is registered through a
:data:`ShipmentRegistrar` (wired to ``carriers`` by bootstrap: purchasing imports no carrier
code), inside the claim's transaction, so a claim is never shipped without its tracked
shipment nor the other way round.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import IO

from sqlalchemy import column, func, select, table
from sqlalchemy.orm import Session

from core.clock import Clock
from core.db import UnitOfWork, read_one_snapshot
from core.errors import N_, InvalidInput
from core.spreadsheets import Column, Kind, WorkbookWriter
from inventory.catalog import supplier_by_code
from inventory.ledger import Who
from inventory.models import StockMove, Supplier
from inventory.sheets import ExportContext, meta_entries
from inventory.status import MoveKind
from purchasing.claims import (
    CLAIM_TRANSITIONS,
    ClaimNotFound,
    ClaimStatus,
    SupplierClaim,
    SupplierClaimEvent,
    claim_number,
)
from purchasing.models import PurchaseOrder

#: Registers the outbound parcel inside the caller's transaction:
#: (session, carrier, tracking number, reference) -> the normalised tracking number.
ShipmentRegistrar = Callable[[Session, str, str, str], str]

# Read by key only: purchasing imports nothing of returns or carriers.
_rmas = table("rmas", column("id"), column("number"))
_shipments = table("shipments", column("carrier"), column("tracking_number"), column("status"))

CLAIMS_SHEET = "Claims"
CLAIM_COLUMNS = (
    Column("number", "Claim", 12),
    Column("supplier", "Supplier", 12),
    Column("supplier_name", "Supplier name", 24),
    Column("rma", "RMA", 20),
    Column("sku", "SKU", 16),
    Column("qty", "Qty", 7, Kind.INTEGER, total=True),
    Column("status", "Status", 18),
    Column("opened", "Opened (UTC)", 17, Kind.DATETIME),
    Column("carrier", "Carrier", 10),
    Column("tracking", "Tracking number", 22),
    Column("vendor_rma", "Vendor RMA", 16),
    Column("credit", "Credit", 12, Kind.MONEY, total=True),
    Column("currency", "Currency", 9),
    Column("credit_note", "Credit note", 16),
    Column("rejection", "Rejection reason", 30, wrap=True),
    Column("fault", "Fault", 40, wrap=True),
)


@dataclass(frozen=True)
class ClaimFilters:
    supplier: str | None = None  # supplier code
    status: ClaimStatus | None = None


@dataclass(frozen=True)
class ClaimEventView:
    from_status: str | None
    to_status: str
    actor: str
    at: datetime
    reason: str


@dataclass(frozen=True)
class ClaimView:
    id: int
    number: str
    rma_number: str | None
    supplier_code: str | None
    supplier_name: str | None
    sku: str
    qty: int
    fault: str
    status: ClaimStatus
    created_by: str
    created_at: datetime
    carrier: str | None
    tracking_number: str | None
    shipment_status: str | None
    shipped_at: datetime | None
    vendor_rma: str | None
    acknowledged_at: datetime | None
    credit_amount: Decimal | None
    credit_currency: str | None
    credit_note: str | None
    rejection_reason: str | None
    closed_at: datetime | None
    events: list[ClaimEventView] = field(default_factory=list)

    @property
    def allowed(self) -> list[str]:
        return sorted(s.value for s in CLAIM_TRANSITIONS[self.status])


@dataclass(frozen=True)
class SupplierClaimFigures:
    """One supplier's claims in a period.

    ``claim_rate``: units claimed (claims opened in the period, cancelled ones left out) per
    unit received from the supplier on purchase orders in the same period; None when nothing
    was received. ``recovered``: credits of claims credited in the period, per currency.
    """

    supplier_code: str
    supplier_name: str
    claims: int
    units_claimed: int
    units_received: int
    credited: int
    rejected: int
    open: int
    recovered: dict[str, Decimal]

    @property
    def claim_rate(self) -> float | None:
        if not self.units_received:
            return None
        return self.units_claimed / self.units_received


def _claim_rows(session: Session, filters: ClaimFilters, before: int | None, limit: int | None):  # type: ignore[no-untyped-def]
    query = (
        select(SupplierClaim, Supplier.code, Supplier.name, _rmas.c.number, _shipments.c.status)
        .outerjoin(Supplier, Supplier.id == SupplierClaim.supplier_id)
        .outerjoin(_rmas, _rmas.c.id == SupplierClaim.rma_id)
        .outerjoin(
            _shipments,
            (_shipments.c.carrier == SupplierClaim.carrier)
            & (_shipments.c.tracking_number == SupplierClaim.tracking_number),
        )
    )
    if filters.supplier:
        query = query.where(
            SupplierClaim.supplier_id == supplier_by_code(session, filters.supplier).id
        )
    if filters.status:
        query = query.where(SupplierClaim.status == filters.status.value)
    if before is not None:
        query = query.where(SupplierClaim.id < before)
    query = query.order_by(SupplierClaim.id.desc())
    if limit is not None:
        query = query.limit(limit)
    return session.execute(query).all()


def _view(row, events: list[ClaimEventView] | None = None) -> ClaimView:  # type: ignore[no-untyped-def]
    claim, code, name, rma_number, shipment_status = row
    return ClaimView(
        id=claim.id,
        number=claim_number(claim.id),
        rma_number=rma_number,
        supplier_code=code,
        supplier_name=name,
        sku=claim.sku,
        qty=claim.qty,
        fault=claim.fault,
        status=ClaimStatus(claim.status),
        created_by=claim.created_by,
        created_at=claim.created_at,
        carrier=claim.carrier,
        tracking_number=claim.tracking_number,
        shipment_status=shipment_status,
        shipped_at=claim.shipped_at,
        vendor_rma=claim.vendor_rma,
        acknowledged_at=claim.acknowledged_at,
        credit_amount=claim.credit_amount,
        credit_currency=claim.credit_currency,
        credit_note=claim.credit_note,
        rejection_reason=claim.rejection_reason,
        closed_at=claim.closed_at,
        events=events or [],
    )


def _required(field_name: str, value: str, limit: int, message: str) -> str:
    value = (value or "").strip()
    if not value:
        raise InvalidInput(field_name, message)
    if len(value) > limit:
        raise InvalidInput(field_name, N_("At most %(limit)s characters.", limit=limit))
    return value


class ClaimService:
    """Supplier claims from the buyer's side."""

    def __init__(
        self,
        session_factory: Callable[[], Session],
        clock: Clock,
        register_shipment: ShipmentRegistrar | None = None,
    ):
        self.session_factory = session_factory
        self.clock = clock
        self.register_shipment = register_shipment

    def _who(self, actor: str) -> Who:
        return Who(actor, self.clock)

    # --- reading ---------------------------------------------------------------------------

    def list_claims(
        self, filters: ClaimFilters = ClaimFilters(), *, before: int | None = None, limit: int = 50
    ) -> list[ClaimView]:
        """Newest first."""
        with UnitOfWork(self.session_factory) as uow:
            return [_view(row) for row in _claim_rows(uow.session, filters, before, limit)]

    def get(self, claim_id: int) -> ClaimView:
        with UnitOfWork(self.session_factory) as uow:
            return self._read(uow.session, claim_id)

    def _read(self, session: Session, claim_id: int) -> ClaimView:
        query = (
            select(SupplierClaim, Supplier.code, Supplier.name, _rmas.c.number, _shipments.c.status)
            .outerjoin(Supplier, Supplier.id == SupplierClaim.supplier_id)
            .outerjoin(_rmas, _rmas.c.id == SupplierClaim.rma_id)
            .outerjoin(
                _shipments,
                (_shipments.c.carrier == SupplierClaim.carrier)
                & (_shipments.c.tracking_number == SupplierClaim.tracking_number),
            )
            .where(SupplierClaim.id == claim_id)
        )
        row = session.execute(query).first()
        if row is None:
            raise ClaimNotFound(claim_id)
        events = [
            ClaimEventView(
                e.from_status.value if e.from_status else None,
                e.to_status.value,
                e.actor,
                e.created_at,
                e.reason,
            )
            for e in session.scalars(
                select(SupplierClaimEvent)
                .where(SupplierClaimEvent.claim_id == claim_id)
                .order_by(SupplierClaimEvent.id)
            )
        ]
        return _view(row, events)

    # --- transitions ---------------------------------------------------------------------

    def _locked(self, session: Session, claim_id: int) -> SupplierClaim:
        claim = session.scalar(
            select(SupplierClaim).where(SupplierClaim.id == claim_id).with_for_update()
        )
        if claim is None:
            raise ClaimNotFound(claim_id)
        return claim

    def _change(
        self, claim_id: int, apply: Callable[[Session, SupplierClaim, datetime], None]
    ) -> ClaimView:
        with UnitOfWork(self.session_factory) as uow:
            claim = self._locked(uow.session, claim_id)
            apply(uow.session, claim, self.clock.now())
            uow.session.flush()
            view = self._read(uow.session, claim_id)
            uow.commit()
            return view

    def ship(
        self, actor: str, claim_id: int, carrier: str, tracking_number: str, reason: str = ""
    ) -> ClaimView:
        """The part leaves for its vendor: its parcel is registered as a tracked outbound
        shipment whose reference is the claim's number."""
        carrier = _required("carrier", carrier, 32, N_("Name the carrier.")).lower()
        number = _required(
            "tracking_number", tracking_number, 64, N_("A tracking number is required.")
        )

        def apply(session: Session, claim: SupplierClaim, now: datetime) -> None:
            claim.move(
                ClaimStatus.SHIPPED_TO_VENDOR, self._who(actor), reason or "shipped to vendor"
            )
            if self.register_shipment is not None:
                registered = self.register_shipment(session, carrier, number, claim.number)
            else:
                registered = number.upper()
            claim.carrier, claim.tracking_number, claim.shipped_at = carrier, registered, now

        return self._change(claim_id, apply)

    def acknowledge(
        self, actor: str, claim_id: int, vendor_rma: str, reason: str = ""
    ) -> ClaimView:
        """The vendor has the part under their own return number."""
        vendor_rma = _required("vendor_rma", vendor_rma, 64, N_("Give the vendor's RMA number."))

        def apply(session: Session, claim: SupplierClaim, now: datetime) -> None:
            claim.move(
                ClaimStatus.ACKNOWLEDGED,
                self._who(actor),
                reason or f"acknowledged by the vendor as {vendor_rma}",
            )
            claim.vendor_rma, claim.acknowledged_at = vendor_rma, now

        return self._change(claim_id, apply)

    def credit(
        self,
        actor: str,
        claim_id: int,
        amount: Decimal,
        currency: str,
        credit_note: str,
        reason: str = "",
    ) -> ClaimView:
        """The vendor credited the claim (their credit note)."""
        if amount < 0 or amount >= Decimal("1e10") or amount.as_tuple().exponent < -4:  # type: ignore[operator]
            raise InvalidInput(
                "amount", N_("A credit is 0 or more, with at most 4 decimal places.")
            )
        currency = _required("currency", currency, 3, N_("Give the credit's currency.")).upper()
        if len(currency) != 3 or not currency.isalpha():
            raise InvalidInput("currency", N_("A three-letter currency code (EUR, CNY, USD)."))
        note = _required(
            "credit_note", credit_note, 64, N_("Give the vendor's credit note number.")
        )

        def apply(session: Session, claim: SupplierClaim, now: datetime) -> None:
            claim.move(
                ClaimStatus.CREDITED,
                self._who(actor),
                reason or f"credited {amount} {currency}, credit note {note}",
            )
            claim.credit_amount, claim.credit_currency, claim.credit_note = amount, currency, note

        return self._change(claim_id, apply)

    def reject(self, actor: str, claim_id: int, reason: str) -> ClaimView:
        """The vendor refused the claim; why is kept."""
        why = _required("reason", reason, 2000, N_("Say why the vendor rejected the claim."))

        def apply(session: Session, claim: SupplierClaim, now: datetime) -> None:
            claim.move(ClaimStatus.REJECTED, self._who(actor), why)
            claim.rejection_reason = why

        return self._change(claim_id, apply)

    def cancel(self, actor: str, claim_id: int, reason: str) -> ClaimView:
        """Withdraw a claim that has not left (the part is kept or scrapped after all)."""
        why = _required("reason", reason, 200, N_("Say why the claim is withdrawn."))

        def apply(session: Session, claim: SupplierClaim, now: datetime) -> None:
            claim.move(ClaimStatus.CANCELLED, self._who(actor), why)

        return self._change(claim_id, apply)

    # --- the workbook and the figures -----------------------------------------------------

    def export(self, stream: IO[bytes], actor: str, filters: ClaimFilters) -> int:
        """The filtered claims as a workbook, newest first. Returns the number of rows."""
        with UnitOfWork(self.session_factory) as uow:
            read_one_snapshot(uow.session)
            context = ExportContext(
                self.clock.now(),
                actor,
                {
                    "supplier": filters.supplier or "",
                    "status": filters.status.value if filters.status else "",
                },
            )
            with WorkbookWriter() as writer:
                sheet = writer.table(CLAIMS_SHEET, CLAIM_COLUMNS)
                for row in _claim_rows(uow.session, filters, None, None):
                    v = _view(row)
                    sheet.append(
                        {
                            "number": v.number,
                            "supplier": v.supplier_code or "",
                            "supplier_name": v.supplier_name or "",
                            "rma": v.rma_number or "",
                            "sku": v.sku,
                            "qty": v.qty,
                            "status": v.status.value,
                            "opened": v.created_at,
                            "carrier": v.carrier or "",
                            "tracking": v.tracking_number or "",
                            "vendor_rma": v.vendor_rma or "",
                            "credit": v.credit_amount,
                            "currency": v.credit_currency or "",
                            "credit_note": v.credit_note or "",
                            "rejection": v.rejection_reason or "",
                            "fault": v.fault,
                        }
                    )
                sheet.close()
                writer.meta("supplier_claims", meta_entries(context))
                writer.save(stream)
            return sheet.rows_written

    def supplier_figures(self, start: datetime, end: datetime) -> list[SupplierClaimFigures]:
        """Per supplier with claims or receipts in ``[start, end)``: see
        :class:`SupplierClaimFigures` for what each number means."""
        with UnitOfWork(self.session_factory) as uow:
            return supplier_figures(uow.session, start, end)


def supplier_figures(
    session: Session, start: datetime, end: datetime
) -> list[SupplierClaimFigures]:
    c = SupplierClaim
    opened = session.execute(
        select(
            c.supplier_id,
            func.count(),
            func.coalesce(func.sum(c.qty), 0),
            func.count().filter(c.status == ClaimStatus.CREDITED.value),
            func.count().filter(c.status == ClaimStatus.REJECTED.value),
            func.count().filter(c.status.in_([s.value for s in _OPEN])),
        )
        .where(
            c.created_at >= start,
            c.created_at < end,
            c.status != ClaimStatus.CANCELLED.value,
            c.supplier_id.is_not(None),
        )
        .group_by(c.supplier_id)
    ).all()
    # Summed here, not in SQL: SQLite would sum the exact decimals as floats.
    recovered = session.execute(
        select(c.supplier_id, c.credit_currency, c.credit_amount).where(
            c.status == ClaimStatus.CREDITED.value,
            c.closed_at >= start,
            c.closed_at < end,
            c.supplier_id.is_not(None),
        )
    ).all()
    received = session.execute(
        select(PurchaseOrder.supplier_id, func.sum(StockMove.qty))
        .join(PurchaseOrder, PurchaseOrder.number == StockMove.reference)
        .where(
            StockMove.kind == MoveKind.RECEIPT,
            StockMove.created_at >= start,
            StockMove.created_at < end,
        )
        .group_by(PurchaseOrder.supplier_id)
    ).all()
    ids = {r[0] for r in opened if r[0]} | {r[0] for r in recovered if r[0]}
    if not ids:
        return []
    suppliers = {s.id: s for s in session.scalars(select(Supplier).where(Supplier.id.in_(ids)))}
    units_in = {supplier_id: int(qty or 0) for supplier_id, qty in received if supplier_id}
    money: dict[int, dict[str, Decimal]] = {}
    for supplier_id, currency, amount in recovered:
        if supplier_id is None:
            continue
        per_currency = money.setdefault(supplier_id, {})
        per_currency[currency or ""] = per_currency.get(currency or "", Decimal(0)) + (
            amount or Decimal(0)
        )
    counts = {r[0]: tuple(r[1:]) for r in opened if r[0]}
    figures = []
    for supplier_id in ids:
        n, units, credited, rejected, still_open = counts.get(supplier_id, (0, 0, 0, 0, 0))
        s = suppliers[supplier_id]
        figures.append(
            SupplierClaimFigures(
                supplier_code=s.code,
                supplier_name=s.name,
                claims=int(n),
                units_claimed=int(units),
                units_received=units_in.get(supplier_id, 0),
                credited=int(credited),
                rejected=int(rejected),
                open=int(still_open),
                recovered=dict(sorted(money.get(supplier_id, {}).items())),
            )
        )
    return sorted(figures, key=lambda f: (-f.units_claimed, f.supplier_code))


_OPEN: Sequence[ClaimStatus] = (
    ClaimStatus.OPEN,
    ClaimStatus.SHIPPED_TO_VENDOR,
    ClaimStatus.ACKNOWLEDGED,
)
