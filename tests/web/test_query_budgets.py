"""Query budgets: every list and detail endpoint and page, on about a thousand rows of each kind,
runs no more SQL statements than its fixed budget (an N+1 would run one per row).

The data set is built once per database (bulk inserts where the rows are plain, the services
where they carry rules), and only read by the tests. Statements are counted with SQLAlchemy's
``before_cursor_execute`` on the app's engine, for one request at a time.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import event, insert, select

from accounts.models import Role
from bootstrap.schema import metadata
from carriers.status import TrackingStatus
from core.clock import FrozenClock
from core.db import make_engine
from inventory.ledger import Who
from inventory.models import Location, Part, StockLevel, StockMove, Supplier, sku_key
from inventory.status import MoveKind
from purchasing.orders import DraftLine, create_draft
from returns.status import Channel, Reason, Resolution
from tests.conftest import RETURN_ADDRESS
from tests.support import desk as builders
from tests.support.sandbox_webhooks import SECRET as SANDBOX_SECRET
from tests.web.test_pages import PASSWORD, sign_in

PARTS = 1000
MOVES_OF_ONE_PART = 1000
ORDERS = 100
RMAS = 40
BIN = "MAIN/A-01-01"
BUSY_SKU = "P-0000"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def loaded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    """An app over a database with the data set, and a signed-in client and token per role."""
    from datetime import UTC, datetime

    from web import create_app

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('budgets') / 'budgets.db'}"
        engine = make_engine(url)
        metadata().create_all(engine)
        engine.dispose()
    else:
        pg = request.getfixturevalue("postgres_engine")
        url = pg.engine.url.render_as_string(hide_password=False)
    clock = FrozenClock(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": url,
            "SECRET_KEY": "test-secret-key",
            "CLOCK": clock,
            "LOG_LEVEL": "WARNING",
            "SANDBOX_WEBHOOK_SECRET": SANDBOX_SECRET,
            "CARRIERS_SANDBOX": True,
            "RETURNS_ADDRESS": RETURN_ADDRESS,
        }
    )
    app.instance_path = str(Path(tmp_path_factory.mktemp("instance")))
    build_data_set(app, clock)
    auth = app.extensions["spareflow"].auth
    people, tokens = {}, {}
    for role in Role:
        email = f"budget-{role.value}@test.example"
        auth.create_user(email, role, PASSWORD)
        _, secret = auth.create_token(email, "budgets")
        tokens[role] = {"Authorization": f"Bearer {secret}"}
        client = app.test_client()
        assert sign_in(client, email, PASSWORD).status_code == 302
        people[role] = client
    yield app, people, tokens
    app.extensions["spareflow"].engine.dispose()
    if request.param == "postgresql":
        from tests.conftest import truncate_all

        truncate_all(request.getfixturevalue("postgres_engine"))


def build_data_set(app: Any, clock: FrozenClock) -> None:
    services = app.extensions["spareflow"]
    inventory = services.inventory
    for i in range(30):
        inventory.create_supplier(code=f"SUP{i:02d}", name=f"Supplier {i}")
    inventory.create_location(code=BIN)
    for i in range(2, 31):
        inventory.create_location(code=f"MAIN/A-01-{i:02d}")
    now = clock.now()
    with services.session_factory.begin() as session:
        suppliers = session.scalars(select(Supplier.id).order_by(Supplier.id)).all()
        location = session.scalar(select(Location.id).where(Location.code == BIN))
        session.execute(
            insert(Part),
            [
                {
                    "sku": f"P-{i:04d}",
                    "sku_key": sku_key(f"P-{i:04d}"),
                    "name": f"Part {i}",
                    "description": "",
                    "unit": "pcs",
                    "category": f"Cat {i % 7}",
                    "supplier_id": suppliers[i % len(suppliers)],
                    "unit_cost": Decimal("1.2500"),
                    "reorder_point": 20 if i % 3 == 0 else 2,
                    "reorder_qty": 10,
                    "safety_stock": 1,
                    "active": True,
                    "created_at": now,
                    "updated_at": now,
                }
                for i in range(PARTS)
            ],
        )
        parts = session.scalars(select(Part.id).order_by(Part.sku_key)).all()
        busy = parts[0]
        session.execute(
            insert(StockLevel),
            [
                {
                    "part_id": part,
                    "location_id": location,
                    "on_hand": 10 + (MOVES_OF_ONE_PART if part == busy else 0),
                    "reserved": 0,
                }
                for part in parts
            ],
        )
        move = {
            "kind": MoveKind.RECEIPT,
            "qty": 10,
            "to_location_id": location,
            "reason": "opening stock",
            "actor": "budget",
            "created_at": now - timedelta(days=30),
        }
        session.execute(insert(StockMove), [{**move, "part_id": part} for part in parts])
        session.execute(
            insert(StockMove),
            [
                {**move, "part_id": busy, "qty": 1, "reference": f"PO-{n}", "created_at": now}
                for n in range(MOVES_OF_ONE_PART)
            ],
        )
    with services.session_factory.begin() as session:
        who = Who("budget@test.example", clock)
        by_supplier: dict[int, list[Part]] = {}
        for part in session.scalars(select(Part).order_by(Part.id).limit(300)):
            by_supplier.setdefault(part.supplier_id, []).append(part)
        for n in range(ORDERS):
            supplier = session.get(Supplier, list(by_supplier)[n % len(by_supplier)])
            chosen = by_supplier[supplier.id][n % 10 : n % 10 + 3]
            lines = [DraftLine(part=p, qty=5, unit_cost=Decimal("1.25")) for p in chosen]
            create_draft(session, who, supplier, lines, source="budgets")
    for n in range(RMAS):
        view = builders.open_rma(
            services.returns,
            "desk@test.example",
            customer={"name": f"Customer {n}", "email": f"c{n}@example.com"},
            channel=Channel.PHONE,
            reason=Reason.DEFECTIVE,
            resolution=Resolution.REPLACEMENT,
            lines=[
                {"sku": f"P-{n + 1:04d}", "qty": 1, "unit_price": Decimal("20")},
                {"sku": f"P-{n + 2:04d}", "qty": 1, "unit_price": Decimal("5")},
            ],
        )
        builders.authorise(
            services.returns,
            "desk@test.example",
            view.number,
            carrier="sandbox",
            tracking_number=f"SBXB{n}",
        )
    for minutes, status in enumerate(
        [TrackingStatus.PICKED_UP, TrackingStatus.IN_TRANSIT, TrackingStatus.IN_TRANSIT] * 5
    ):
        services.carriers.record_event(
            "desk@test.example",
            tracking_number="SBXB0",
            status=status,
            occurred_at=clock.now() - timedelta(minutes=60 - minutes),
            reason=f"scan {minutes}",
        )


# --- counting ----------------------------------------------------------------------------


class StatementCounter:
    def __init__(self, engine: Any):
        self.engine = engine
        self.statements: list[str] = []

    def __enter__(self) -> StatementCounter:
        event.listen(self.engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._count)

    def _count(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.statements.append(statement)


def first_of(loaded: Any, kind: str) -> str:
    app, _, tokens = loaded
    client = app.test_client()
    if kind == "rma":
        page = client.get("/api/v1/returns?limit=1", headers=tokens[Role.ADMIN]).json
        return page["items"][0]["rma_number"]
    page = client.get("/api/v1/purchase-orders?limit=1", headers=tokens[Role.ADMIN]).json
    return page["items"][0]["number"]


#: (what, path, budget): the budget is what the endpoint needs today plus a little room,
#: and far below one statement per row (pages show 50-100 rows; the data set has 1,000).
API_BUDGETS = [
    ("parts", "/api/v1/parts?limit=200", 7),
    ("parts below reorder point", "/api/v1/parts?limit=200&below_reorder_point=true", 6),
    ("part", f"/api/v1/parts/{BUSY_SKU}", 7),
    ("suppliers", "/api/v1/suppliers?limit=200", 5),
    ("locations", "/api/v1/locations?limit=200", 5),
    ("stock", f"/api/v1/stock/{BUSY_SKU}", 8),
    ("ledger", f"/api/v1/stock/{BUSY_SKU}/moves?limit=200", 7),
    ("returns", "/api/v1/returns?limit=200", 6),
    ("return", "/api/v1/returns/{rma}", 12),
    ("replacements", "/api/v1/replacements", 6),
    ("shipment", "/api/v1/shipments/SBXB0", 9),
    ("reorder suggestions", "/api/v1/reorder/suggestions?limit=200", 7),
    ("purchase orders", "/api/v1/purchase-orders?limit=200", 8),
    ("purchase order", "/api/v1/purchase-orders/{po}", 8),
    ("metrics", "/api/v1/metrics", 16),
]

PAGE_BUDGETS = [
    ("parts page", "/", Role.BUYER, 6),
    ("parts page, low stock", "/?low=1", Role.BUYER, 6),
    # 23: the metrics' per-person and per-team figures are one more query (names joined).
    ("dashboard", "/dashboard", Role.ADMIN, 23),
    # 19: the part's fill-rate plan (its reorder policy) is one more query; + 1: whether the
    # part had moves before the chart's window (its chart starts at its first known level).
    ("part page", f"/parts/{BUSY_SKU}", Role.WAREHOUSE, 20),
    # 9: the scheduler's heartbeat for the operations alert, at most once a minute a process.
    ("desk queue", "/returns", Role.SERVICE_DESK, 9),
    # 15: the RMA's loaners are one more query (in a transaction of their own on SQLite);
    # + 7: the owner panel in a transaction of its own (owner, internal notes, canned
    # replies, people and teams to hand over to);
    # + 8: the knowledge panel, one transaction: the case, its links, its deflection, the
    # terms, the part's articles, and (when some fit) the articles with SKUs and categories.
    ("rma page", "/returns/{rma}", Role.SERVICE_DESK, 30),
    ("rma sheet", "/returns/{rma}/sheet", Role.WAREHOUSE, 13),
    ("warehouse pick queue", "/warehouse", Role.WAREHOUSE, 6),
    ("pick list", "/warehouse/pick-list", Role.WAREHOUSE, 6),
    ("reorder page", "/buying/", Role.BUYER, 10),  # + the plan's targets and trade-off
    ("purchase orders page", "/buying/purchase-orders", Role.BUYER, 12),  # + buyers' alerts
    ("purchase order page", "/buying/purchase-orders/{po}", Role.BUYER, 8),
    ("goods-in page", "/warehouse/purchase-orders/{po}", Role.WAREHOUSE, 8),
    ("administration", "/admin", Role.ADMIN, 10),
    ("message templates", "/admin/messages", Role.ADMIN, 6),
    # + one transaction of three per-supplier claim figures and the suppliers' names
    # + one transaction of four knowledge figures (deflections, links, gaps, cases opened)
    ("metrics page", "/metrics", Role.BUYER, 25),
    ("supplier claims page", "/buying/claims", Role.BUYER, 8),
]


def resolve(loaded: Any, path: str) -> str:
    if "{rma}" in path:
        path = path.replace("{rma}", first_of(loaded, "rma"))
    if "{po}" in path:
        path = path.replace("{po}", first_of(loaded, "po"))
    return path


def assert_within(statements: list[str], budget: int, what: str) -> None:
    assert len(statements) <= budget, (
        f"{what}: {len(statements)} SQL statements, budget {budget}:\n"
        + "\n".join(s.split("\n")[0][:160] for s in statements)
    )


@pytest.mark.parametrize(("what", "path", "budget"), API_BUDGETS, ids=[c[0] for c in API_BUDGETS])
def test_an_api_endpoint_stays_within_its_query_budget(
    loaded: Any, what: str, path: str, budget: int
) -> None:
    app, _, tokens = loaded
    path = resolve(loaded, path)
    client = app.test_client()
    with StatementCounter(app.extensions["spareflow"].engine) as counter:
        response = client.get(path, headers=tokens[Role.ADMIN])
    assert response.status_code == 200, (path, response.get_data(as_text=True)[:300])
    body = response.json
    if isinstance(body, dict) and "items" in body:
        assert len(body["items"]) >= 20, (what, len(body["items"]))  # really a list of rows
    assert_within(counter.statements, budget, what)


@pytest.mark.parametrize(
    ("what", "path", "role", "budget"), PAGE_BUDGETS, ids=[c[0] for c in PAGE_BUDGETS]
)
def test_a_page_stays_within_its_query_budget(
    loaded: Any, what: str, path: str, role: Role, budget: int
) -> None:
    app, people, _ = loaded
    path = resolve(loaded, path)
    # The stored settings (carrier secrets) are re-read at most every 5 s, not per request: read
    # them now, or a slow run counts the refresh against whichever page comes after 5 s.
    app.extensions["spareflow"].settings.values()
    with StatementCounter(app.extensions["spareflow"].engine) as counter:
        response = people[role].get(path)
    assert response.status_code == 200, (path, response.status_code)
    assert_within(counter.statements, budget, what)


def test_the_customers_status_page_stays_within_its_query_budget(loaded: Any) -> None:
    app, _, _ = loaded
    number = first_of(loaded, "rma")
    link = app.extensions["spareflow"].status_links.rotate("budget@test.example", number)
    path = urlsplit(link.url).path
    client = app.test_client()
    with StatementCounter(app.extensions["spareflow"].engine) as counter:
        response = client.get(path)
    assert response.status_code == 200 and number in response.get_data(as_text=True)
    assert_within(counter.statements, 12, "status page")


def test_the_data_set_is_as_big_as_the_budgets_assume(loaded: Any) -> None:
    app, _, tokens = loaded
    client = app.test_client()
    parts = client.get("/api/v1/parts?limit=200", headers=tokens[Role.ADMIN]).json
    assert len(parts["items"]) == 200 and parts["next_cursor"]
    moves = client.get(f"/api/v1/stock/{BUSY_SKU}/moves?limit=200", headers=tokens[Role.ADMIN])
    assert len(moves.json["items"]) == 200
    orders = client.get("/api/v1/purchase-orders?limit=200", headers=tokens[Role.ADMIN]).json
    assert len(orders["items"]) == ORDERS
    rmas = client.get("/api/v1/returns?limit=200", headers=tokens[Role.ADMIN]).json
    assert len(rmas["items"]) == RMAS
    queue = client.get("/api/v1/replacements", headers=tokens[Role.ADMIN]).json
    assert len(queue) >= RMAS
