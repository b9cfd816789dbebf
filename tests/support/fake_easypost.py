"""A loopback EasyPost (Shipments, Pickups, label files) built from EasyPost's API reference.

Bodies start from tests/fixtures/easypost/ (see its README for where each comes from). It
checks basic auth (the API key as user), keeps shipments by id only (EasyPost documents
``GET /shipments/{id}``; a shipment's ``reference`` is stored and echoed, never a key to look
it up by), pickups by id only likewise (EasyPost documents ``GET /pickups/{id}``; a
pickup's ``status`` is ``unknown`` until bought, then ``scheduled``, or ``canceled``), counts
purchases, and plays failures:

- ``fail_next(operation, status, fixture)``: the next ``operation`` answers that error body;
- ``drop_answer_after_next(operation)``: the next ``operation`` is carried out, then the
  connection is closed without an answer (the buy happened; the client never heard);
- ``expire_rates()``: every offered rate id stops being buyable (``rerate`` makes new ones).

Operations: ``create``, ``rerate``, ``buy``, ``refund``, ``pickup_create``, ``pickup_buy``,
``pickup_cancel`` (``POST /pickups/{id}/cancel``: the pickup ``canceled``, as EasyPost's
recorded answer; a pickup already ``canceled`` answers ``error_pickup_cancel.json``, 422).
"""

from __future__ import annotations

import base64
import copy
import itertools
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

FIXTURES = Path(__file__).parents[1] / "fixtures" / "easypost"
PDF = b"%PDF-1.4\n% fake EasyPost 4x6 label\n%%EOF\n"
ZPL = b"^XA^FO50,50^ADN,36,20^FDFAKE EASYPOST LABEL^FS^XZ"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


class FakeEasyPost:
    def __init__(self, api_key: str = "EZTK_fake_key") -> None:
        self.api_key = api_key
        self.url = ""
        self.shipments: dict[str, dict[str, Any]] = {}
        self.pickups: dict[str, dict[str, Any]] = {}
        self.purchases = 0
        #: The formats labels were converted to (GET /shipments/{id}/label?file_format=...).
        self.conversions: list[str] = []
        self.pickup_purchases = 0
        self.pickup_cancels: list[str] = []  # every cancel asked, by pickup id (for tests)
        self.refund_status = "submitted"
        self.requests: list[tuple[str, str, Any]] = []
        self._failures: dict[str, list[tuple[int, Any]]] = {}
        self._drops: set[str] = set()
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    # --- scenario controls -------------------------------------------------------------

    def fail_next(self, operation: str, status: int, body: str | dict[str, Any]) -> None:
        payload = fixture(body) if isinstance(body, str) else body
        self._failures.setdefault(operation, []).append((status, payload))

    def drop_answer_after_next(self, operation: str) -> None:
        self._drops.add(operation)

    def expire_rates(self) -> None:
        for shipment in self.shipments.values():
            for rate in shipment["rates"]:
                rate["expired"] = True

    def set_rates(self, rates: list[tuple[str, str, str, int | None]]) -> None:
        """Offer these (carrier, service, price, days) on shipments created from now on."""
        template = fixture("shipment_created.json")["rates"][0]
        self._rates = [
            {
                **template,
                "carrier": c,
                "service": s,
                "rate": p,
                "delivery_days": d,
                "est_delivery_days": d,
            }
            for c, s, p, d in rates
        ]

    # --- the API -----------------------------------------------------------------------

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}_{next(self._ids):032x}"

    def _fresh_rates(self, shipment_id: str) -> list[dict[str, Any]]:
        rates = copy.deepcopy(getattr(self, "_rates", fixture("shipment_created.json")["rates"]))
        for rate in rates:
            rate["id"] = self._new_id("rate")
            rate["shipment_id"] = shipment_id
        return rates

    def handle(self, method: str, path: str, query: dict[str, str], body: Any) -> tuple[int, Any]:
        parts = [p for p in path.split("/") if p][1:]  # without "v2"
        with self._lock:
            if parts[:1] == ["shipments"]:
                return self._shipments(method, parts[1:], query, body)
            if parts[:1] == ["pickups"]:
                return self._pickups(method, parts[1:], body)
        return 404, fixture("error_not_found.json")

    def _failure(self, operation: str) -> tuple[int, Any] | None:
        planned = self._failures.get(operation)
        return planned.pop(0) if planned else None

    def _shipments(
        self, method: str, parts: list[str], query: dict[str, str], body: Any
    ) -> tuple[int, Any]:
        if method == "POST" and not parts:
            return self._failure("create") or self._create(body["shipment"])
        shipment = self.shipments.get(parts[0]) if parts else None
        if shipment is None:
            return 404, fixture("error_not_found.json")
        action = parts[1] if len(parts) > 1 else ""
        if method == "GET" and not action:
            return 200, shipment
        if method == "POST" and action == "rerate":
            failure = self._failure("rerate")
            if failure:
                return failure
            shipment["rates"] = self._fresh_rates(shipment["id"])
            return 200, {"rates": shipment["rates"]}
        if method == "POST" and action == "buy":
            return self._failure("buy") or self._buy(shipment, body["rate"]["id"])
        if method == "GET" and action == "label":
            # "Convert the label format of a Shipment": the PostageLabel gains that URL.
            extension = query.get("file_format", "").lower()
            if extension in ("pdf", "zpl") and shipment["postage_label"]:
                label = shipment["postage_label"]
                label[f"label_{extension}_url"] = f"{self.url}/files/{shipment['id']}.{extension}"
                self.conversions.append(extension)
            return 200, shipment
        if method == "POST" and action == "refund":
            failure = self._failure("refund")
            if failure:
                return failure
            if not shipment["postage_label"]:
                return 422, fixture("error_refund_unavailable.json")
            shipment["refund_status"] = self.refund_status
            return 200, shipment
        return 404, fixture("error_not_found.json")

    def _create(self, request: dict[str, Any]) -> tuple[int, Any]:
        shipment = fixture("shipment_created.json")
        shipment["id"] = self._new_id("shp")
        shipment["reference"] = request.get("reference")
        shipment["to_address"] = {"object": "Address", **request["to_address"]}
        shipment["from_address"] = {"object": "Address", **request["from_address"]}
        shipment["parcel"] = {"object": "Parcel", **request["parcel"]}
        shipment["options"] = {**shipment["options"], **request.get("options", {})}
        shipment["rates"] = self._fresh_rates(shipment["id"])
        self.shipments[shipment["id"]] = shipment
        return 201, shipment

    def _buy(self, shipment: dict[str, Any], rate_id: str) -> tuple[int, Any]:
        if shipment["postage_label"]:
            return 422, fixture("error_postage_exists.json")
        rate = next((r for r in shipment["rates"] if r["id"] == rate_id), None)
        if rate is None or rate.get("expired"):
            return 422, fixture("error_rate_unavailable.json")
        self.purchases += 1
        label = fixture("postage_label.json")
        zpl = shipment["options"].get("label_format") == "ZPL"
        label["label_file_type"] = "application/zpl" if zpl else "application/pdf"
        base = f"{self.url}/files/{shipment['id']}"
        label["label_url"] = f"{base}.zpl" if zpl else f"{base}.pdf"
        label["label_pdf_url"] = None if zpl else f"{base}.pdf"
        label["label_zpl_url"] = f"{base}.zpl" if zpl else None
        shipment["postage_label"] = label
        shipment["selected_rate"] = rate
        shipment["tracking_code"] = f"94001000000000{self.purchases:08d}"
        shipment["status"] = "pre_transit"
        return 200, shipment

    def _pickups(self, method: str, parts: list[str], body: Any) -> tuple[int, Any]:
        if method == "POST" and not parts:
            failure = self._failure("pickup_create")
            if failure:
                return failure
            request = body["pickup"]
            if request["shipment"]["id"] not in self.shipments:
                return 404, fixture("error_not_found.json")
            pickup = fixture("pickup_created.json")
            pickup["id"] = self._new_id("pickup")
            for key in ("reference", "min_datetime", "max_datetime", "instructions", "address"):
                pickup[key] = request.get(key)
            for rate in pickup["pickup_rates"]:
                rate["id"], rate["pickup_id"] = self._new_id("pickuprate"), pickup["id"]
            pickup["shipment_id"] = request["shipment"]["id"]
            self.pickups[pickup["id"]] = pickup
            return 201, pickup
        pickup = self.pickups.get(parts[0]) if parts else None
        if pickup is None:
            return 404, fixture("error_not_found.json")
        if method == "GET" and len(parts) == 1:
            return 200, pickup
        if method == "POST" and parts[1:] == ["buy"]:
            failure = self._failure("pickup_buy")
            if failure:
                return failure
            offered = {(r["carrier"], r["service"]) for r in pickup["pickup_rates"]}
            if (body.get("carrier"), body.get("service")) not in offered:
                return 422, {
                    "error": {
                        "code": "PICKUP.BUY.NO_MATCHING_RATES",
                        "message": "No matching rates",
                        "errors": [],
                    }
                }
            self.pickup_purchases += 1
            pickup["status"] = "scheduled"
            pickup["confirmation"] = f"WTC{self.pickup_purchases:08d}"
            pickup["bought"] = {"carrier": body["carrier"], "service": body["service"]}
            return 200, pickup
        if method == "POST" and parts[1:] == ["cancel"]:
            self.pickup_cancels.append(pickup["id"])
            failure = self._failure("pickup_cancel")
            if failure:
                return failure
            if pickup["status"] == "canceled":
                return 422, fixture("error_pickup_cancel.json")
            answer = fixture("pickup_canceled.json")
            pickup["status"] = answer["status"]
            return 200, pickup
        return 404, fixture("error_not_found.json")

    def authorised(self, header: str | None) -> bool:
        if not header or not header.startswith("Basic "):
            return False
        user, _, _ = base64.b64decode(header[6:]).decode().partition(":")
        return user == self.api_key

    def should_drop(self, path: str, method: str) -> bool:
        path = path.rstrip("/")
        operation = {"buy": "buy", "refund": "refund", "rerate": "rerate"}.get(
            path.rsplit("/", 1)[-1], "create" if path.endswith(("shipments", "pickups")) else ""
        )
        if operation and "/pickups" in path:
            operation = f"pickup_{operation}"  # pickup_create, pickup_buy
        if method == "POST" and operation in self._drops:
            self._drops.discard(operation)
            return True
        return False


def _handler(fake: FakeEasyPost) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _answer(self, status: int, payload: Any, media_type: str = "application/json") -> None:
            data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", media_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _serve(self, method: str) -> None:
            split = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else None
            if split.path.startswith("/files/"):  # pre-signed label files: no auth
                suffix = split.path.rsplit(".", 1)[-1]
                self._answer(200, ZPL if suffix == "zpl" else PDF, f"application/{suffix}")
                return
            fake.requests.append((method, split.path, body))
            if not fake.authorised(self.headers.get("Authorization")):
                self._answer(
                    401,
                    {
                        "error": {
                            "code": "UNAUTHORIZED",
                            "message": "API key required",
                            "errors": [],
                        }
                    },
                )
                return
            query = {k: v[0] for k, v in parse_qs(split.query).items()}
            drop = fake.should_drop(split.path, method)
            status, payload = fake.handle(method, split.path, query, body)
            if drop:
                self.close_connection = True
                self.connection.shutdown(2)  # done, but the client never hears of it
                return
            self._answer(status, payload)

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

    return Handler


@contextmanager
def fake_easypost(api_key: str = "EZTK_fake_key") -> Iterator[FakeEasyPost]:
    """A running fake on 127.0.0.1; ``fake.url`` is the server, ``fake.url + "/v2"`` the base."""
    fake = FakeEasyPost(api_key)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    fake.url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()
