"""A loopback Shopify Admin API (REST refunds and transactions) built from Shopify's reference.

Bodies start from tests/fixtures/shopify/ (README_refunds.md says where each comes from). It
checks ``X-Shopify-Access-Token``, keeps orders with their transactions and refunds, refuses
(422) a refund above what is left to refund, and records every request. Scenario controls:

- ``add_order(order_id, paid="199.00", currency="USD")``: an order paid by one ``sale``;
- ``fail_next(operation, status, fixture, retry_after=None)``: the next ``operation`` answers
  that error (operations: ``refunds``, ``transactions``, ``refund_create``);
- ``drop_answer_after_next("refund_create")``: the refund is made, then the connection is
  closed without an answer (Shopify refunded; the client never heard).
"""

from __future__ import annotations

import copy
import itertools
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parents[1] / "fixtures" / "shopify"
API_VERSION = "2025-01"
TOKEN = "shpat_fake_token"
ROUTE = re.compile(
    r"^/admin/api/(?P<version>[\w-]+)/orders/(?P<order>\d+)/(?P<what>refunds|transactions)\.json$"
)


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


class FakeShopify:
    def __init__(self, access_token: str = TOKEN) -> None:
        self.access_token = access_token
        self.url = ""
        self.orders: dict[str, dict[str, list[dict[str, Any]]]] = {}
        self.requests: list[tuple[str, str, Any]] = []
        self._failures: dict[str, list[tuple[int, Any, str | None]]] = {}
        self._drops: set[str] = set()
        self._ids = itertools.count(1072844700)
        self._lock = threading.Lock()

    @property
    def api_base(self) -> str:
        return f"{self.url}/admin/api/{API_VERSION}"

    # --- scenario controls -------------------------------------------------------------

    def add_order(self, order_id: str, paid: str = "199.00", currency: str = "USD") -> None:
        sale = copy.deepcopy(fixture("transactions_list.json")["transactions"][1])
        sale.update(
            id=next(self._ids),
            order_id=int(order_id),
            kind="sale",
            parent_id=None,
            amount=paid,
            currency=currency,
        )
        self.orders[order_id] = {"transactions": [sale], "refunds": []}

    def fail_next(
        self, operation: str, status: int, body: str | Any, retry_after: str | None = None
    ) -> None:
        payload = fixture(body) if isinstance(body, str) and body.endswith(".json") else body
        self._failures.setdefault(operation, []).append((status, payload, retry_after))

    def drop_answer_after_next(self, operation: str) -> None:
        self._drops.add(operation)

    def refunds_of(self, order_id: str) -> list[dict[str, Any]]:
        return self.orders[order_id]["refunds"]

    def posted_refunds(self) -> list[Any]:
        return [body for method, path, body in self.requests if method == "POST"]

    # --- the API -------------------------------------------------------------------------

    def handle(self, method: str, path: str, body: Any) -> tuple[int, Any, str | None]:
        match = ROUTE.match(path)
        if match is None:
            return 404, {"errors": "Not Found"}, None
        operation = match["what"] if method == "GET" else "refund_create"
        queued = self._failures.get(operation)
        if queued:
            return queued.pop(0)
        order = self.orders.get(match["order"])
        if order is None:
            return 404, {"errors": "Not Found"}, None
        if method == "GET":
            return 200, {match["what"]: copy.deepcopy(order[match["what"]])}, None
        if match["what"] != "refunds":
            return 404, {"errors": "Not Found"}, None
        return self._create_refund(match["order"], order, body)

    def _create_refund(
        self, order_id: str, order: dict[str, list[dict[str, Any]]], body: Any
    ) -> tuple[int, Any, str | None]:
        request = (body or {}).get("refund") or {}
        wanted = request.get("transactions") or []
        by_id = {t["id"]: t for t in order["transactions"]}
        refunded = sum(
            (Decimal(t["amount"]) for r in order["refunds"] for t in r["transactions"]),
            Decimal(0),
        )
        paid = sum(
            (Decimal(t["amount"]) for t in order["transactions"] if t["kind"] == "sale"),
            Decimal(0),
        )
        asked = sum((Decimal(str(t.get("amount") or "0")) for t in wanted), Decimal(0))
        if not wanted or any(t.get("parent_id") not in by_id for t in wanted):
            return 422, {"errors": {"transactions": ["parent_id is invalid"]}}, None
        if asked > paid - refunded:
            return 422, fixture("refund_error_422.json"), None
        refund = copy.deepcopy(fixture("refund_created.json")["refund"])
        template = refund["transactions"][0]
        refund.update(id=next(self._ids), order_id=int(order_id), note=request.get("note"))
        refund["transactions"] = [
            {
                **template,
                "id": next(self._ids),
                "order_id": int(order_id),
                "parent_id": t["parent_id"],
                "amount": str(Decimal(str(t["amount"])).quantize(Decimal("0.01"))),
                "gateway": t.get("gateway"),
                "currency": request.get("currency") or by_id[t["parent_id"]]["currency"],
            }
            for t in wanted
        ]
        order["refunds"].append(refund)
        return 201, {"refund": copy.deepcopy(refund)}, None


def _handler(fake: FakeShopify) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _serve(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else None
            with fake._lock:
                fake.requests.append((method, self.path, body))
                if self.headers.get("X-Shopify-Access-Token") != fake.access_token:
                    status, payload, retry_after = 401, fixture("refund_error_401.json"), None
                else:
                    status, payload, retry_after = fake.handle(method, self.path, body)
                drop = method == "POST" and status == 201 and "refund_create" in fake._drops
                if drop:
                    fake._drops.discard("refund_create")
            if drop:
                self.close_connection = True
                self.connection.close()  # made, never answered
                return
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            if retry_after:
                self.send_header("Retry-After", retry_after)
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

    return Handler


@contextmanager
def fake_shopify(access_token: str = TOKEN) -> Iterator[FakeShopify]:
    fake = FakeShopify(access_token)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
