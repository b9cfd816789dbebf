"""A loopback Shippo (shipments, transactions, refunds, pickups), built from Shippo's API
reference and the sample bodies in tests/fixtures/shippo/ (see the README there).

It counts what was bought (``purchases``) and plays the failures a test asks for:
``invalid_address`` (a ``zip`` of ``00000`` gets a shipment without rates and an address
message), ``no_funds`` (the purchase ends in ERROR with a payment message),
``fail_next`` (a status such as 500 or 429 answered to the next purchase), ``lose_answer``
(the label is bought, then the connection closes without an answer), ``queued`` (a purchase
answered QUEUED, SUCCESS when read again), ``refund_status``.
"""

from __future__ import annotations

import copy
import json
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from tests.support.sandbox_servers import SHUTDOWN_POLL_SECONDS

FIXTURES = Path(__file__).parents[1] / "fixtures" / "shippo"
PDF = b"%PDF-1.4\n% fake Shippo 4x6 label\n%%EOF\n"
ZPL = b"^XA^FO50,50^ADN,36,20^FDfake Shippo label^FS^XZ"
# Written by us in ResponseMessage shape ({source, code, text}): Shippo publishes no texts.
ADDRESS_MESSAGE = {
    "source": "USPS",
    "code": "",
    "text": "The address as submitted could not be found. Please check for excess "
    "characters or common errors.",
}
FUNDS_MESSAGE = {
    "source": "Shippo",
    "code": "",
    "text": "Your payment method was declined. Please update your billing information.",
}


def fixture(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return loaded


@dataclass
class FakeShippoState:
    base_url: str = ""
    purchases: int = 0
    requests: list[tuple[str, str, dict[str, Any], dict[str, str]]] = field(default_factory=list)
    rates: dict[str, dict[str, Any]] = field(default_factory=dict)
    transactions: list[dict[str, Any]] = field(default_factory=list)
    no_funds: bool = False
    fail_next: int | None = None
    lose_answer: bool = False
    queued: bool = False
    refund_status: str = "SUCCESS"
    lock: threading.Lock = field(default_factory=threading.Lock)

    def bodies(self, method: str, path: str) -> list[dict[str, Any]]:
        return [body for m, p, body, _ in self.requests if m == method and p == path]


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    @property
    def state(self) -> FakeShippoState:
        return self.server.state

    def _send(self, status: int, body: object, content_type: str = "application/json") -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _read(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        loaded = json.loads(raw) if raw else {}
        return loaded if isinstance(loaded, dict) else {}

    def do_GET(self) -> None:
        url = urlparse(self.path)
        self.state.requests.append(("GET", url.path, {}, dict(self.headers)))
        if url.path.startswith("/labels/"):
            self._send(200, ZPL if url.path.endswith(".zpl") else PDF, "application/octet-stream")
            return
        if not self._authorised():
            return
        if url.path == "/transactions/":
            self._list(parse_qs(url.query))
        elif url.path.startswith("/transactions/"):
            found = self._transaction(url.path.split("/")[2])
            if found is None:
                self._send(404, {"detail": "Not found."})
                return
            if found["status"] == "QUEUED":
                found["status"] = "SUCCESS"
            self._send(200, found)
        elif url.path.startswith("/rates/") and url.path.split("/")[2] in self.state.rates:
            self._send(200, self.state.rates[url.path.split("/")[2]])
        else:
            self._send(404, {"detail": "Not found."})

    def do_POST(self) -> None:
        url = urlparse(self.path)
        body = self._read()
        self.state.requests.append(("POST", url.path, body, dict(self.headers)))
        if not self._authorised():
            return
        if url.path == "/shipments/":
            self._shipment(body)
        elif url.path == "/transactions/":
            self._purchase(body)
        elif url.path == "/refunds/":
            refund = fixture("refund.json")
            refund.update(transaction=body.get("transaction"), status=self.state.refund_status)
            self._send(201, refund)
        elif url.path == "/pickups/":
            pickup = fixture("pickup.json")
            pickup.update(
                transactions=body.get("transactions"),
                carrier_account=body.get("carrier_account"),
                requested_start_time=body.get("requested_start_time"),
                requested_end_time=body.get("requested_end_time"),
                confirmed_start_time=body.get("requested_start_time"),
                confirmed_end_time=body.get("requested_end_time"),
            )
            self._send(201, pickup)
        else:
            self._send(404, {"detail": "Not found."})

    def _authorised(self) -> bool:
        if (self.headers.get("Authorization") or "").startswith("ShippoToken shippo_test_"):
            return True
        self._send(401, {"detail": "Invalid token."})
        return False

    def _shipment(self, body: dict[str, Any]) -> None:
        if "address_to" not in body or "address_from" not in body:
            self._send(400, {"address_to": ["This field is required."]})
            return
        shipment = fixture("shipment_created.json")
        shipment_id = uuid.uuid4().hex
        shipment.update(
            object_id=shipment_id,
            address_from=body["address_from"],
            address_to=body["address_to"],
            parcels=body.get("parcels"),
            metadata=body.get("metadata", ""),
        )
        if "00000" in (body["address_to"].get("zip"), body["address_from"].get("zip")):
            shipment.update(rates=[], messages=[ADDRESS_MESSAGE])
        for rate in shipment["rates"]:
            rate["object_id"] = f"{rate['object_id']}_{shipment_id[:8]}"
            rate["shipment"] = shipment_id
            self.state.rates[rate["object_id"]] = rate
        self._send(201, shipment)

    def _purchase(self, body: dict[str, Any]) -> None:
        state = self.state
        if state.fail_next is not None:
            status, state.fail_next = state.fail_next, None
            self._send(status, {"detail": "Server error."})
            return
        rate = state.rates.get(str(body.get("rate")))
        if rate is None:
            self._send(400, {"rate": ["Rate not found or expired."]})
            return
        transaction = fixture("transaction_success.json")
        object_id = uuid.uuid4().hex
        zpl = body.get("label_file_type") == "ZPLII"
        transaction.update(
            object_id=object_id,
            object_created=datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            metadata=body.get("metadata", ""),
            label_file_type=body.get("label_file_type", "PDF_4x6"),
            label_url=f"{state.base_url}/labels/{object_id}.{'zpl' if zpl else 'pdf'}",
            tracking_number=f"9400{object_id[:18]}",
            rate={
                key: rate[key]
                for key in ("amount", "amount_local", "currency", "currency_local", "object_id")
            }
            | {
                "provider": rate["provider"],
                "carrier_account": rate["carrier_account"],
                "servicelevel_name": rate["servicelevel"]["name"],
                "servicelevel_token": rate["servicelevel"]["token"],
            },
        )
        if state.no_funds:
            transaction.update(status="ERROR", messages=[FUNDS_MESSAGE], label_url="")
            transaction["tracking_number"] = ""
        else:
            with state.lock:
                state.purchases += 1
            if state.queued:
                transaction.update(status="QUEUED", label_url="", tracking_number="")
        state.transactions.insert(0, transaction)
        if state.lose_answer:
            state.lose_answer = False
            self.close_connection = True  # bought, and the client never hears of it
            return
        self._send(201, copy.deepcopy(transaction))

    def _transaction(self, object_id: str) -> dict[str, Any] | None:
        for transaction in self.state.transactions:
            if transaction["object_id"] == object_id:
                if transaction["status"] == "QUEUED":
                    suffix = "zpl" if transaction["label_file_type"] == "ZPLII" else "pdf"
                    transaction["label_url"] = f"{self.state.base_url}/labels/{object_id}.{suffix}"
                    transaction["tracking_number"] = f"9400{object_id[:18]}"
                return transaction
        return None

    def _list(self, query: dict[str, list[str]]) -> None:
        page = int(query.get("page", ["1"])[0])
        size = min(int(query.get("results", ["5"])[0]), 100)
        items = self.state.transactions[(page - 1) * size : page * size]
        listing = fixture("transactions_list.json")
        more = len(self.state.transactions) > page * size
        base = f"{self.state.base_url}/transactions/"
        listing.update(
            results=items,
            next=f"{base}?page={page + 1}&results={size}" if more else None,
            previous=f"{base}?page={page - 1}&results={size}" if page > 1 else None,
        )
        self._send(200, listing)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, state: FakeShippoState):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.state = state


@contextmanager
def fake_shippo() -> Iterator[FakeShippoState]:
    state = FakeShippoState()
    server = _Server(state)
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(
        target=server.serve_forever, args=(SHUTDOWN_POLL_SECONDS,), daemon=True
    )
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()
