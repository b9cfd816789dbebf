"""Demo data: a small electronics after-sales warehouse, the same every time for a given seed."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import func, select

from accounts.models import Role
from bootstrap import Services
from core.addresses import PostalAddress
from core.clock import FrozenClock
from core.db import UnitOfWork
from demo.cases import load_demo_cases
from demo.desk_people import load_demo_desk, own_demo_history
from demo.history import load_demo_history
from demo.knowledge import load_demo_knowledge
from demo.promises import load_demo_promises
from inventory import catalog, ledger, reserving
from inventory.models import Part
from inventory.status import LocationKind
from returns.commands import AuthoriseRma, Customer, OpenRma, ReturnLine
from returns.loans import LendLoaner, Loans
from returns.status import Channel, Priority, Reason, Resolution
from sales.commands import OrderCustomer, OrderLineInput, UpsertOrder

DEMO_USERS = [
    ("admin@demo.spareflow", Role.ADMIN.value, "demo-admin-pass"),
    ("warehouse@demo.spareflow", Role.WAREHOUSE.value, "demo-warehouse-pass"),
    ("buyer@demo.spareflow", Role.BUYER.value, "demo-buyer-pass"),
    ("desk@demo.spareflow", Role.SERVICE_DESK.value, "demo-desk-pass"),
]

SUPPLIERS = [
    ("ARROW", "Arrow Electronics", "Dana Whitfield", 10),
    ("MOUSER", "Mouser Electronics", "Luis Ortega", 5),
    ("DIGIKEY", "Digi-Key", "Priya Raman", 4),
    ("SZPOWER", "Shenzhen Power Tech Co.", "Chen Wei", 21),
    ("DISPLAYCO", "Display Components Ltd", "Hannah Berg", 28),
    ("FANTEK", "Fantek Cooling", "Marco Rossi", 14),
    ("CELLPRO", "CellPro Batteries", "Aiko Tanaka", 18),
    ("CABLEWORKS", "Cableworks GmbH", "Jonas Keller", 7),
]

# category, name templates, price range, suppliers that carry it
CATALOGUE = [
    (
        "Power supplies",
        ["{w}W power supply unit", "{w}W AC adapter", "DC-DC converter {v}V"],
        (8, 65),
        ["SZPOWER", "ARROW"],
    ),
    (
        "Displays",
        ['{s}" LCD panel', '{s}" touch digitizer', 'LCD backlight strip {s}"'],
        (14, 180),
        ["DISPLAYCO"],
    ),
    (
        "Cooling",
        ["{f}mm cooling fan", "Heatsink {f}mm", "Blower fan {f}mm"],
        (3, 30),
        ["FANTEK", "MOUSER"],
    ),
    (
        "Batteries",
        ["Li-ion pack {mah}mAh", "Coin cell CR{c}", "Battery door assembly"],
        (2, 55),
        ["CELLPRO"],
    ),
    (
        "Cables",
        ["USB-C cable {len}m", "Flat flex cable {p}-pin", "Power cord {len}m"],
        (1, 18),
        ["CABLEWORKS", "DIGIKEY"],
    ),
    (
        "PCB assemblies",
        ["Main board rev {r}", "Power board rev {r}", "I/O board rev {r}"],
        (25, 240),
        ["ARROW"],
    ),
    (
        "Passives",
        ["Capacitor {uf}uF {v}V", "Resistor kit {p} values", "Fuse {a}A slow-blow"],
        (0.02, 4),
        ["MOUSER", "DIGIKEY"],
    ),
    (
        "Connectors",
        ["Barrel jack {v}V", "RJ45 jack shielded", "Header {p}-pin"],
        (0.2, 6),
        ["MOUSER", "DIGIKEY", "ARROW"],
    ),
]


def _name(rng: random.Random, template: str) -> str:
    return template.format(
        w=rng.choice([12, 24, 36, 65, 90, 120]),
        v=rng.choice([5, 12, 19, 24, 48]),
        s=rng.choice([7, 10.1, 13.3, 15.6]),
        f=rng.choice([40, 60, 80, 92, 120]),
        mah=rng.choice([1800, 2600, 3400, 5000]),
        c=rng.choice([2032, 2025, 1220]),
        len=rng.choice([0.5, 1, 2, 3]),
        p=rng.choice([4, 10, 24, 40]),
        r=rng.choice("ABCDE"),
        uf=rng.choice([10, 47, 100, 470, 1000]),
        a=rng.choice([1, 2, 5, 10]),
    )


def load_demo_data(services: Services, *, parts: int = 300, seed: int = 7) -> int:
    """Create demo users and inventory in one transaction; 0 if parts exist already."""
    rng = random.Random(seed)
    clock = services.clock
    for email, role, password in DEMO_USERS:
        if services.auth.find_user(email) is None:
            services.auth.create_user(email, role, password, name=f"Demo {role.replace('_', ' ')}")
    with UnitOfWork(services.session_factory) as uow:
        session = uow.session
        if session.scalar(select(func.count(Part.id))):
            return 0
        who = ledger.Who("demo-data", clock)
        for code, name, contact, lead in SUPPLIERS:
            catalog.create_supplier(
                session,
                clock,
                code=code,
                name=name,
                contact_name=contact,
                email=f"orders@{code.lower()}.example",
                default_lead_time_days=lead,
            )
        bins = [
            f"MAIN/{aisle}-{rack:02d}-{level:02d}"
            for aisle in "ABCD"
            for rack in range(1, 6)
            for level in range(1, 4)
        ]
        for code in bins:
            catalog.create_location(session, clock, code=code)
        catalog.create_location(
            session,
            clock,
            code="MAIN/RECEIVING",
            kind=LocationKind.RECEIVING,
            description="Goods in",
        )
        catalog.create_location(
            session,
            clock,
            code="MAIN/QUARANTINE",
            kind=LocationKind.QUARANTINE,
            description="Held for inspection",
        )
        catalog.create_location(
            session,
            clock,
            code="MAIN/RETURNS",
            kind=LocationKind.RETURNS,
            description="Customer returns awaiting inspection",
        )

        for number in range(1, parts + 1):
            category, templates, (low, high), carriers = CATALOGUE[number % len(CATALOGUE)]
            sku = f"SP-{category[:3].upper()}-{number:04d}"
            cost = Decimal(str(round(rng.uniform(low, high), 4 if high < 5 else 2)))
            reorder_point = rng.choice([0, 5, 10, 20, 40])
            catalog.create_part(
                session,
                clock,
                sku=sku,
                name=_name(rng, rng.choice(templates)),
                category=category,
                supplier=rng.choice(carriers),
                unit_cost=cost,
                barcode=f"20{number:010d}",
                reorder_point=reorder_point,
                reorder_qty=max(10, reorder_point * 2),
                safety_stock=reorder_point // 4,
            )
            if rng.random() < 0.08:
                continue  # never stocked yet
            home = rng.choice(bins)
            # Most parts sit comfortably above their reorder point; about one in six is short.
            short = reorder_point > 0 and rng.random() < 0.18
            qty = rng.randint(1, reorder_point) if short else reorder_point + rng.randint(5, 80)
            ledger.receive(
                session,
                who,
                sku=sku,
                location=home,
                qty=qty,
                reference=f"PO-2026-{rng.randint(1, 400):04d}",
                reason="initial stock",
            )
            if rng.random() < 0.2:
                overflow = rng.choice(bins)
                if overflow != home:
                    ledger.receive(
                        session,
                        who,
                        sku=sku,
                        location=overflow,
                        qty=rng.randint(2, 20),
                        reference=f"PO-2026-{rng.randint(1, 400):04d}",
                    )
            if qty > 3 and rng.random() < 0.3:
                ledger.issue(
                    session,
                    who,
                    sku=sku,
                    location=home,
                    qty=rng.randint(1, qty // 3),
                    reference=f"REPAIR-{rng.randint(1000, 9999)}",
                    reason="repair",
                )
            if qty > 4 and rng.random() < 0.1:
                reserving.reserve(
                    session,
                    who,
                    sku=sku,
                    qty=rng.randint(1, 2),
                    reference=f"ORDER-{rng.randint(10000, 99999)}",
                )
            if rng.random() < 0.05:
                ledger.receive(
                    session,
                    who,
                    sku=sku,
                    location="MAIN/QUARANTINE",
                    qty=1,
                    reference="INSPECT",
                    reason="suspected fault",
                )
        uow.commit()
    load_demo_desk(services)
    load_demo_history(services, seed=seed)
    load_demo_returns(services, rng)
    load_demo_cases(services)
    load_demo_orders(services)
    load_demo_promises(services)
    load_demo_knowledge(services)
    # After every case is in: those routed while nobody was on shift get a person too.
    own_demo_history(services)
    return parts


DEMO_CUSTOMERS = [
    ("Mia Chen", "mia.chen@example.com", False),
    ("Jonas Keller", "jonas@keller-repair.example", True),
    ("Aiko Tanaka", "aiko.t@example.com", False),
    ("Priya Raman", "priya@example.com", False),
    ("Luis Ortega", "luis.ortega@example.com", False),
    ("Hannah Berg", "hannah@berg-electronics.example", True),
]


#: Where the demo's returns go (``spareflow demo`` passes it to every process).
DEMO_RETURN_ADDRESS = {
    "name": "spareflow demo returns",
    "street": "Unit 4, Dock Road",
    "city": "Leeds",
    "postcode": "LS1 4AP",
    "country": "GB",
}


def load_demo_returns(services: Services, rng: random.Random) -> None:
    """A returns desk in full swing: new requests, parcels on their way, a closed case.

    Authorised returns get their prepaid label from the sandbox carrier through the outbox;
    with ``spareflow demo`` running, each parcel is then picked up and its refund released.
    """
    returns = services.returns
    if not returns.ctx.addresses.receiving():
        # Authorising needs a complete return address; a real install configures its own.
        returns.ctx.addresses.return_address = dict(DEMO_RETURN_ADDRESS)
    today = services.clock.now().date()
    skus = [row.part.sku for row in services.inventory.list_parts(limit=40) if row.available > 3]
    stories = [
        (
            Resolution.REFUND,
            Reason.DEFECTIVE,
            Priority.HIGH,
            "Stops charging after a few minutes",
            "authorise",
        ),
        (
            Resolution.REPLACEMENT,
            Reason.DAMAGED_IN_TRANSIT,
            Priority.URGENT,
            "Arrived cracked",
            "authorise",
        ),
        (
            Resolution.REFUND,
            Reason.NO_LONGER_NEEDED,
            Priority.LOW,
            "Ordered the wrong size",
            "authorise",
        ),
        (
            Resolution.REFUND,
            Reason.WRONG_ITEM,
            Priority.MEDIUM,
            "Received a 12V model, ordered 24V",
            None,
        ),
        (Resolution.REPLACEMENT, Reason.DEFECTIVE, Priority.MEDIUM, "Fan bearing grinding", None),
        (Resolution.REPAIR, Reason.DEFECTIVE, Priority.LOW, "Intermittent display flicker", None),
    ]
    opened: list[str] = []
    for index, (resolution, reason, priority, text, action) in enumerate(stories):
        name, email, vip = DEMO_CUSTOMERS[index % len(DEMO_CUSTOMERS)]
        sku = skus[index % len(skus)]
        command = OpenRma(
            customer=Customer(name=name, email=email, vip=vip),
            channel=rng.choice(list(Channel)),
            reason=reason,
            resolution=resolution,
            priority=priority,
            order_number=f"SO-{rng.randint(10000, 99999)}",
            payment_reference=f"pi_demo_{index:04d}"
            if resolution is not Resolution.REPAIR
            else None,
            purchase_date=today - timedelta(days=rng.randint(3, 25)),
            description=text,
            lines=(ReturnLine(sku=sku, qty=1, unit_price=Decimal(rng.randint(12, 180))),),
        )
        view = returns.intake.open("desk@demo.spareflow", command)
        opened.append(view.number)
        if action == "authorise":
            returns.authorisation.authorise("desk@demo.spareflow", view.number, AuthoriseRma())
    load_demo_loans(services, sku=skus[0], replacement=opened[1], repair=opened[5])


def load_demo_loans(services: Services, *, sku: str, replacement: str, repair: str) -> None:
    """A loan pool with three units: one lent on the repair (due in ten days), one on the
    replacement lent three weeks ago and now overdue (lent through a clock set back then)."""
    with UnitOfWork(services.session_factory) as uow:
        catalog.create_location(
            uow.session,
            services.clock,
            code="MAIN/LOANERS",
            kind=LocationKind.LOAN_POOL,
            description="Loaners for customers",
        )
        ledger.receive(
            uow.session,
            ledger.Who("demo-data", services.clock),
            sku=sku,
            location="MAIN/LOANERS",
            qty=3,
            reason="loan pool stock",
        )
        uow.commit()
    now = services.clock.now()
    services.returns.loans.lend(
        "desk@demo.spareflow",
        repair,
        LendLoaner(sku=sku, serial="LN-0001", due_at=now + timedelta(days=10)),
    )
    back_then = replace(services.returns.ctx, clock=FrozenClock(now - timedelta(days=21)))
    Loans(back_then).lend(
        "desk@demo.spareflow",
        replacement,
        LendLoaner(sku=sku, serial="LN-0002", due_at=now - timedelta(days=7)),
    )


#: The order to try the returns portal with (README): its number and the customer's e-mail.
DEMO_PORTAL_ORDER = ("SO-1001", "mia.chen@example.com")

DEMO_ADDRESSES = {
    "mia.chen@example.com": PostalAddress(
        name="Mia Chen", street="18 Albion Street", city="Leeds", postcode="LS1 6HX",
        country="GB", phone="+44 113 496 0000",
    ),
    "jonas@keller-repair.example": PostalAddress(
        name="Jonas Keller", company="Keller Repair", street="Hauptstrasse 5", city="Berlin",
        postcode="10115", country="DE", phone="+49 30 901820",
    ),
    "aiko.t@example.com": PostalAddress(
        name="田中 愛子", street="南山区科技园 1号", city="深圳市 南山区", state="广东省",
        postcode="518057", country="CN", phone="+86 755 8600 0000",
    ),
}  # fmt: skip


def load_demo_orders(services: Services) -> None:
    """A sales-order feed for the demo's customers: recent orders the returns portal can find
    (``SO-1001`` with mia.chen@example.com), one per customer, shipped a few days ago."""
    now = services.clock.now()
    currency = services.returns.ctx.policy.currency
    skus = [row.part.sku for row in services.inventory.list_parts(limit=60) if row.available > 5]
    for index, (name, email, _vip) in enumerate(DEMO_CUSTOMERS):
        picked = skus[index * 3 : index * 3 + 3]
        if not picked:
            break  # a tiny demo (--parts 10) has stock for fewer orders
        services.orders.upsert(
            UpsertOrder(
                number=f"SO-{1001 + index}",
                channel="web",
                customer=OrderCustomer(name, email, address=DEMO_ADDRESSES.get(email)),
                ordered_at=now - timedelta(days=6 + index),
                shipped_at=now - timedelta(days=4 + index),
                payment_reference=f"pi_demo_order_{1001 + index}",
                currency=currency,
                lines=tuple(
                    OrderLineInput(sku, qty, Decimal(price))
                    for sku, qty, price in zip(picked, (2, 1, 1), (24, 89, 15), strict=False)
                ),
            )
        )
