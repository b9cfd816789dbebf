"""Demo promises kept (issue #18): a backorder filled by a purchase order, a repair in progress
and a supplier claim credited, each told through the real use cases (ledger moves, RMA
timelines, purchase-order and claim events), so the desk finds them as it would in real life.

Each RMA's description starts with "Demo:" and names its story; each carries a fixed sales
order number (:data:`STORY_ORDERS`), by which the tests find it.

Parcels: the customers ship their own parcels, and the claim's parcel goes to its vendor, with
SF Express (``sfexpress``). The sandbox carrier is an adapter only while ``spareflow demo``
runs, not when ``make demo`` loads the data, so a sandbox shipment cannot be registered here;
``sfexpress`` is always an adapter and never polled, so these parcels simply stay as
registered (pre-transit).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from bootstrap import Services
from core.db import UnitOfWork
from inventory import ledger
from inventory.catalog import PartStock
from inventory.commands import TransferStock
from inventory.models import Supplier
from inventory.status import PICKABLE_KINDS
from purchasing import orders as po
from purchasing.commands import ReceiptLine, ReceivePurchaseOrder
from returns.commands import (
    AuthoriseRma,
    Customer,
    InspectedLine,
    InspectParcel,
    OpenRma,
    ReceivedLine,
    ReceiveParcel,
    ReturnLine,
)
from returns.repairs import OpenRepair, RecordLabour, UseRepairPart
from returns.status import Channel, Disposition, Priority, Reason, Resolution

DESK = "desk@demo.spareflow"
WAREHOUSE, BUYER = "warehouse@demo.spareflow", "buyer@demo.spareflow"
QUARANTINE = "MAIN/QUARANTINE"
#: The carrier of the stories' parcels (see the module's docstring).
PARCEL_CARRIER = "sfexpress"
#: The sales-order number on each story's RMA.
STORY_ORDERS = {"backorder": "SO-2101", "repair": "SO-2102", "claim": "SO-2103"}


@dataclass(frozen=True)
class PromiseStories:
    """What was loaded (None: the demo was too small for that story)."""

    backorder_rma: str | None = None
    purchase_order: str | None = None
    repair_rma: str | None = None
    claim_id: int | None = None


def load_demo_promises(services: Services) -> PromiseStories:
    """The three stories; a tiny demo (``--parts 10``) skips one it has no parts for."""
    stocked = [row for row in services.inventory.list_parts(limit=200) if row.available > 0]
    taken: set[str] = set()
    backorder = _backorder_filled_by_purchase_order(services, stocked, taken)
    repair = _repair_in_progress(services, stocked, taken)
    claim = _credited_supplier_claim(services, stocked, taken)
    return PromiseStories(
        backorder_rma=backorder[0] if backorder else None,
        purchase_order=backorder[1] if backorder else None,
        repair_rma=repair,
        claim_id=claim,
    )


def _pick(
    rows: list[PartStock],
    taken: set[str],
    *,
    categories: tuple[str, ...] = (),
    with_supplier: bool = False,
    unreserved: bool = False,
) -> PartStock | None:
    """The first part not yet in a story, preferring ``categories`` (in order)."""
    candidates = [
        row
        for row in rows
        if row.part.sku not in taken
        and (not with_supplier or row.part.supplier_id is not None)
        and (not unreserved or row.reserved == 0)
    ]
    for category in categories:
        for row in candidates:
            if row.part.category == category:
                taken.add(row.part.sku)
                return row
    if not candidates:
        return None
    taken.add(candidates[0].part.sku)
    return candidates[0]


def _open(
    services: Services,
    *,
    sku: str,
    customer: tuple[str, str, bool],
    resolution: Resolution,
    story: str,
    description: str,
    priority: Priority = Priority.MEDIUM,
    price: str = "49",
) -> str:
    name, email, vip = customer
    today = services.clock.now().date()
    command = OpenRma(
        customer=Customer(name=name, email=email, vip=vip),
        channel=Channel.EMAIL,
        reason=Reason.DEFECTIVE,
        resolution=resolution,
        priority=priority,
        order_number=STORY_ORDERS[story],
        payment_reference=None,  # warranty cases: a free replacement, no refund owed
        purchase_date=today - timedelta(days=20),
        description=description,
        lines=(ReturnLine(sku=sku, qty=1, unit_price=Decimal(price)),),
    )
    return services.returns.intake.open(DESK, command).number


def _received_with_own_parcel(services: Services, number: str, sku: str, tracking: str) -> None:
    """The customer ships it themselves (SF Express) and the warehouse books it in (no refund
    waits on these stories, so booking in before any carrier scan holds nothing)."""
    returns = services.returns
    returns.authorisation.authorise(
        DESK, number, AuthoriseRma(carrier=PARCEL_CARRIER, tracking_number=tracking)
    )
    parcel = ReceiveParcel(lines=(ReceivedLine(sku=sku, qty=1, condition="used"),))
    returns.warehouse.receive(WAREHOUSE, number, parcel)


def _backorder_filled_by_purchase_order(
    services: Services, stocked: list[PartStock], taken: set[str]
) -> tuple[str, str] | None:
    """A batch is quarantined, so an urgent replacement finds no stock and is backordered;
    the buyer's purchase order arrives and its receipt reserves the replacement at once."""
    row = _pick(
        stocked,
        taken,
        categories=("Cooling", "Power supplies"),
        with_supplier=True,
        unreserved=True,
    )
    if row is None:
        return None
    sku = row.part.sku
    report = services.inventory.stock_report(sku)
    free_bins = [
        (level.location.code, level.on_hand - level.reserved)
        for level in report.levels
        if level.location.kind in PICKABLE_KINDS and level.on_hand > level.reserved
    ]
    for code, free in free_bins:
        services.inventory.transfer(
            WAREHOUSE,
            TransferStock(
                sku=sku,
                from_location=code,
                to_location=QUARANTINE,
                qty=free,
                reference="Demo: batch hold",
                reason="Demo: batch held for inspection (suspected bad lot)",
            ),
        )
    number = _open(
        services,
        sku=sku,
        customer=("Hannah Berg", "hannah@berg-electronics.example", True),
        resolution=Resolution.REPLACEMENT,
        story="backorder",
        priority=Priority.URGENT,
        description="Demo: backorder filled by a purchase order. Dead on arrival; "
        "the replacement waited for the buyer's order, whose receipt reserved it.",
    )
    services.returns.authorisation.authorise(DESK, number, AuthoriseRma())
    purchasing = services.buying.purchasing
    with UnitOfWork(services.session_factory) as uow:
        session = uow.session
        part = ledger.find_part(session, sku)
        supplier = session.get(Supplier, row.part.supplier_id)
        assert part is not None and supplier is not None
        order = po.create_draft(
            session,
            ledger.Who(BUYER, services.clock),
            supplier,
            [po.DraftLine(part, max(part.reorder_qty, 5), part.unit_cost or Decimal("1"))],
            f"Demo: backorder of {number}",
        )
        order_number, qty = order.number, order.lines[0].qty_ordered
        uow.commit()
    purchasing.send(BUYER, order_number, f"Demo: to fill the backorder of {number}")
    purchasing.receive(
        WAREHOUSE,
        ReceivePurchaseOrder(
            number=order_number,
            # The first delivery fills the backorder; one unit is still to come, so the
            # warehouse has a delivery to book (its purchase-order page lists it).
            lines=(ReceiptLine(sku=sku, qty=qty - 1),),
            location=free_bins[0][0] if free_bins else "MAIN/A-01-01",
            reason="Demo: backorder filled by this purchase order",
        ),
    )
    return number, order_number


def _repair_in_progress(
    services: Services, stocked: list[PartStock], taken: set[str]
) -> str | None:
    """A customer's unit is booked in, a repair order opened and one spare part used."""
    unit = _pick(stocked, taken, categories=("PCB assemblies", "Displays"))
    spare = _pick(stocked, taken, categories=("Passives", "Connectors"))
    if unit is None or spare is None:
        return None  # a tiny demo without two stocked parts to spare
    sku = unit.part.sku
    number = _open(
        services,
        sku=sku,
        customer=("Jonas Keller", "jonas@keller-repair.example", True),
        resolution=Resolution.REPAIR,
        story="repair",
        description="Demo: repair in progress. Intermittent flicker after warm-up.",
        price="129",
    )
    _received_with_own_parcel(services, number, sku, "SF7100000021020")
    repairs = services.returns.repairs
    repairs.open(
        WAREHOUSE,
        number,
        OpenRepair(diagnosis="Demo: cracked solder joint at the power input", technician="Li Wei"),
    )
    repairs.use_part(WAREHOUSE, number, UseRepairPart(sku=spare.part.sku, qty=1))
    repairs.record_labour(WAREHOUSE, number, RecordLabour(minutes=35, technician="Li Wei"))
    return number


def _credited_supplier_claim(
    services: Services, stocked: list[PartStock], taken: set[str]
) -> int | None:
    """A faulty unit, replaced for the customer, goes back to its supplier under a claim:
    shipped, acknowledged by the vendor and credited (their credit note)."""
    row = _pick(stocked, taken, categories=("Power supplies", "Batteries"), with_supplier=True)
    if row is None:
        return None
    sku = row.part.sku
    number = _open(
        services,
        sku=sku,
        customer=("Aiko Tanaka", "aiko.t@example.com", False),
        # A warranty replacement, not a refund: no refund provider is wired at data-load time,
        # and a refund waiting for a pickup scan would be held when the parcel is booked in.
        resolution=Resolution.REPLACEMENT,
        story="claim",
        description="Demo: credited supplier claim. Output collapses under load.",
    )
    _received_with_own_parcel(services, number, sku, "SF7100000021030")
    inspected = services.returns.warehouse.inspect(
        WAREHOUSE,
        number,
        InspectParcel((InspectedLine(sku=sku, disposition=Disposition.RETURN_TO_VENDOR),)),
    )
    claim_id = int(inspected.claims[0].id)
    claims = services.buying.claims
    claims.ship(BUYER, claim_id, PARCEL_CARRIER, "SF7100000021031", "Demo: back to the vendor")
    claims.acknowledge(BUYER, claim_id, "VRMA-2026-0427")
    credit = (row.part.unit_cost or Decimal("10")).quantize(Decimal("0.01"))
    claims.credit(BUYER, claim_id, credit, services.returns.ctx.policy.currency, "CN-2026-0815")
    return claim_id
