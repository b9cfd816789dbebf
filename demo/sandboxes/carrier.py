"""The sandbox carrier service (``spareflow sandbox carrier --port N``).

- ``POST /v1/rates``: the label offers for a parcel (ground, express, overnight: price and days).
- ``POST /v1/labels`` (``Idempotency-Key`` honoured): a tracking number and a PDF label, for the
  ``rate_id`` asked (ground without one); each purchase is counted (``GET /v1/labels``, with
  ``?idempotency_key=`` or ``?reference=`` to find one).
- ``POST /v1/labels/<label_id>/refund``: the money back for a label never scanned.
- ``POST /v1/labels/<label_id>/pickups`` (``{"starts_at", "ends_at", "address"}``, ISO 8601):
  book the carrier's collection of that label's parcel in the window; the same label and window
  again answer the same pickup (200) while it is scheduled, a new window books a new one (the
  earlier one stays until cancelled). ``GET /v1/pickups`` lists every pickup (for tests).
- ``POST /v1/pickups/<pickup_id>/cancel``: call a pickup off (200, ``cancelled``; again: the
  same answer; unknown: 404). Each call is counted in ``GET /v1/pickup-cancels`` (for tests).
- ``POST /v1/sandbox/reset``: forget everything (tests that share one sandbox).
- ``POST /v1/sandbox/faults``: the next label purchases fail (``unavailable``: 503, ``refuse``:
  422), the next pickup cancellations fail (``cancel_unavailable``: 503, ``cancel_refuse``:
  422), or purchases answer late (``answer_delay_seconds``, after the purchase is made and counted).
- ``GET /v1/trackers/<tracking_number>``: the parcel's events so far (for polling).
- ``POST /v1/parcels/<tracking_number>/journey``: play a journey, sending a signed webhook per
  scan to spareflow, with optional faults (duplicates, out of order, lost scans).
State is kept in memory: it is a sandbox.
"""

from __future__ import annotations

import base64
import itertools
import json
import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from flask import Flask, abort, jsonify, request
from fpdf import FPDF

from carriers.adapters.sandbox import SIGNATURE_HEADER, STATUS_MAP, sign

log = logging.getLogger(__name__)

DEFAULT_JOURNEY = ["picked_up", "in_transit", "out_for_delivery", "delivered"]
#: The offers of ``POST /v1/rates``: (rate id, service, price in cents, business days).
RATES = (
    ("rate_ground", "Ground", 650, 5),
    ("rate_express", "Express", 1450, 2),
    ("rate_overnight", "Overnight", 2900, 1),
)
PLACES = {
    "picked_up": "Customer drop-off point",
    "in_transit": "Sorting hub",
    "out_for_delivery": "Local depot",
    "delivered": "Receiving dock",
}


@dataclass
class Parcel:
    tracking_number: str
    reference: str = ""
    events: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class SandboxCarrier:
    webhook_url: str
    secret: str
    step_seconds: float = 1.0
    auto_journey: bool = False
    attempts: int = 5  # deliveries per webhook, as a real provider retries
    #: With auto_journey: seconds between a label's purchase and its first scan (the pickup).
    pickup_after: float = 0.0
    parcels: dict[str, Parcel] = field(default_factory=dict)
    idempotent: dict[str, dict[str, Any]] = field(default_factory=dict)
    deliveries: list[dict[str, Any]] = field(default_factory=list)  # what was sent, for tests
    labels: list[dict[str, Any]] = field(default_factory=list)  # every label made, for tests
    refunds: list[dict[str, Any]] = field(default_factory=list)  # every refund asked, for tests
    pickups: list[dict[str, Any]] = field(default_factory=list)  # every pickup booked, for tests
    pickup_cancels: list[dict[str, Any]] = field(default_factory=list)  # every cancel asked
    #: Faults for the next label purchases: {"unavailable": n, "refuse": n,
    #: "answer_delay_seconds": s}.
    faults: dict[str, float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    counter: itertools.count = field(default_factory=lambda: itertools.count(1))

    def new_tracking_number(self) -> str:
        return f"SBX{int(time.time()) % 100000:05d}{next(self.counter):06d}"

    def send(self, payload: dict[str, Any]) -> int:
        """POST one signed webhook, retrying like a real provider; returns the last status."""
        body = json.dumps(payload).encode()
        status = 0
        for attempt in range(self.attempts):
            headers = {
                "Content-Type": "application/json",
                SIGNATURE_HEADER: sign(self.secret, body, int(time.time())),
            }
            try:
                status = httpx.post(
                    self.webhook_url, content=body, headers=headers, timeout=10
                ).status_code
            except httpx.HTTPError as error:
                log.warning("webhook to %s failed: %s", self.webhook_url, error)
                status = 0
            with self.lock:
                self.deliveries.append({"event": payload["id"], "status": status})
            if 200 <= status < 300 or 400 <= status < 500:
                return status
            time.sleep(min(0.2 * 2**attempt, 5))
        return status

    def play(
        self, parcel: Parcel, steps: list[str], faults: dict[str, Any], step_seconds: float
    ) -> list[int]:
        """Scan the parcel step by step; each scan is sent as it happens (faults permitting)."""
        lost = set(faults.get("lose") or [])
        held_back = []  # out of order: everything is sent at the end, newest first
        results: list[int] = []
        # The demo gives a newcomer time to sign in and look before the carrier comes.
        time.sleep(float(faults.get("pickup_after") or 0))
        for status in steps:
            if step_seconds:
                time.sleep(step_seconds)
            if status in lost:
                continue  # the carrier never recorded this scan: no webhook, not on the tracker
            event = {
                "id": f"evt_{parcel.tracking_number}_{status}",
                "tracking_number": parcel.tracking_number,
                "status": status,
                "occurred_at": datetime.now(UTC).isoformat(),
                "description": status.replace("_", " ").capitalize(),
                "location": PLACES.get(status, ""),
            }
            with self.lock:
                parcel.events.append(event)
            if faults.get("out_of_order"):
                held_back.insert(0, event)
            else:
                results.extend(self._deliver(event, faults))
        for event in held_back:
            results.extend(self._deliver(event, faults))
        return results

    def _deliver(self, event: dict[str, Any], faults: dict[str, Any]) -> list[int]:
        payload = {
            "id": event["id"],
            "type": "tracking.updated",
            "created": int(time.time()),
            "data": {k: v for k, v in event.items() if k != "id"},
        }
        copies = 2 if faults.get("duplicate") else 1
        return [self.send(payload) for _ in range(copies)]


def _label_pdf(
    tracking_number: str, reference: str, sender: dict[str, str], recipient: dict[str, str]
) -> bytes:
    pdf = FPDF(format=(105, 148))  # A6, the usual parcel label size (mm)
    pdf.add_page()
    pdf.set_font("helvetica", "B", 14)
    pdf.cell(0, 8, "SANDBOX CARRIER - RETURN LABEL", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("helvetica", size=9)
    for title, address in (("FROM", sender), ("TO", recipient)):
        pdf.cell(0, 5, title, new_x="LMARGIN", new_y="NEXT")
        for line in address.values():
            pdf.cell(0, 4, str(line)[:60], new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.code39(f"*{tracking_number}*", x=8, y=pdf.get_y(), w=0.8, h=14)
    pdf.set_y(pdf.get_y() + 16)
    pdf.set_font("helvetica", "B", 12)
    pdf.cell(0, 6, tracking_number, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("helvetica", size=9)
    pdf.cell(0, 5, f"Ref: {reference}", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def create_sandbox_carrier(
    webhook_url: str,
    secret: str,
    *,
    step_seconds: float = 1.0,
    auto_journey: bool = False,
    attempts: int = 5,
    pickup_after: float = 0.0,
) -> Flask:
    carrier = SandboxCarrier(
        webhook_url, secret, step_seconds, auto_journey, attempts, pickup_after=pickup_after
    )
    app = Flask(__name__)
    app.extensions["sandbox_carrier"] = carrier

    def start(
        parcel: Parcel, steps: list[str], faults: dict[str, Any], step_seconds: float
    ) -> None:
        threading.Thread(
            target=carrier.play, args=(parcel, steps, faults, step_seconds), daemon=True
        ).start()

    @app.post("/v1/rates")
    def rates() -> Any:
        return jsonify(
            {
                "rates": [
                    {"id": rate_id, "carrier": "sandbox", "service": service}
                    | {"amount_minor": amount, "currency": "usd", "days": days}
                    for rate_id, service, amount, days in RATES
                ]
            }
        )

    def fault(name: str) -> bool:
        with carrier.lock:
            if carrier.faults.get(name, 0) >= 1:
                carrier.faults[name] -= 1
                return True
        return False

    @app.post("/v1/labels")
    def create_label() -> Any:
        key = request.headers.get("Idempotency-Key")
        if key and key in carrier.idempotent:
            return jsonify(carrier.idempotent[key]), 200
        if fault("unavailable"):
            return jsonify({"error": "sandbox carrier overloaded, try again"}), 503
        if fault("refuse"):
            return jsonify({"error": "the sandbox refuses this address"}), 422
        body = request.get_json(silent=True) or {}
        rate = {r[0]: r for r in RATES}.get(str(body.get("rate_id") or "rate_ground"))
        if rate is None:
            return jsonify({"error": f"unknown rate {body.get('rate_id')!r}"}), 422
        number = carrier.new_tracking_number()
        parcel = Parcel(number, str(body.get("reference", "")))
        pdf = _label_pdf(number, parcel.reference, body.get("from") or {}, body.get("to") or {})
        answer = {
            "id": f"lbl_{number}",
            "tracking_number": number,
            "carrier": "sandbox",
            "service": rate[1],
            "amount_minor": rate[2],
            "currency": "usd",
            "reference": parcel.reference,
            "label_pdf": base64.b64encode(pdf).decode(),
            "created": datetime.now(UTC).isoformat(),
        }
        with carrier.lock:
            carrier.parcels[number] = parcel
            carrier.labels.append(
                {"key": key, "tracking_number": number, "reference": parcel.reference}
                | {"id": answer["id"], "amount_minor": rate[2], "refunded": False}
            )
            if key:
                carrier.idempotent[key] = answer
            delay = float(carrier.faults.get("answer_delay_seconds", 0))
        if carrier.auto_journey:
            start(
                parcel,
                DEFAULT_JOURNEY,
                {"pickup_after": carrier.pickup_after},
                carrier.step_seconds,
            )
        if delay:
            time.sleep(delay)  # bought and counted, the answer late: a worker may die meanwhile
        return jsonify(answer), 201

    @app.post("/v1/labels/<label_id>/refund")
    def refund_label(label_id: str) -> Any:
        with carrier.lock:
            label = next((item for item in carrier.labels if item["id"] == label_id), None)
            if label is None:
                abort(404)
            scanned = bool(carrier.parcels[label["tracking_number"]].events)
            status = "refused" if scanned or label["refunded"] else "refunded"
            label["refunded"] = label["refunded"] or status == "refunded"
            carrier.refunds.append({"id": label_id, "status": status})
        return jsonify({"id": label_id, "status": status})

    @app.post("/v1/labels/<label_id>/pickups")
    def book_pickup(label_id: str) -> Any:
        body = request.get_json(silent=True) or {}
        try:
            starts = datetime.fromisoformat(str(body["starts_at"]))
            ends = datetime.fromisoformat(str(body["ends_at"]))
        except (KeyError, ValueError):
            return jsonify({"error": "starts_at and ends_at must be ISO 8601 times"}), 422
        if starts.tzinfo is None or ends.tzinfo is None or ends <= starts:
            return jsonify({"error": "the window must end after it starts, with a UTC offset"}), 422
        window = (starts.astimezone(UTC).isoformat(), ends.astimezone(UTC).isoformat())
        with carrier.lock:
            if not any(item["id"] == label_id for item in carrier.labels):
                return jsonify({"error": f"no label {label_id}"}), 404
            mine = [p for p in carrier.pickups if p["label_id"] == label_id]
            same = next((p for p in mine if (p["starts_at"], p["ends_at"]) == window), None)
            if same is not None and same["status"] == "scheduled":
                return jsonify(same), 200
            pickup = {
                "id": f"pck_{len(carrier.pickups) + 1:06d}_{label_id}",
                "label_id": label_id,
                "starts_at": window[0],
                "ends_at": window[1],
                "address": body.get("address") or {},
                "confirmation": f"SBXPU{len(carrier.pickups) + 1:06d}",
                "status": "scheduled",
            }
            carrier.pickups.append(pickup)
        return jsonify(pickup), 201

    @app.get("/v1/pickups")
    def pickups() -> Any:
        with carrier.lock:
            return jsonify(list(carrier.pickups))

    @app.post("/v1/pickups/<pickup_id>/cancel")
    def cancel_pickup(pickup_id: str) -> Any:
        with carrier.lock:
            for fault, status in (("cancel_unavailable", 503), ("cancel_refuse", 422)):
                if carrier.faults.get(fault, 0) > 0:
                    carrier.faults[fault] -= 1
                    carrier.pickup_cancels.append({"id": pickup_id, "answer": status})
                    return jsonify({"error": f"sandbox fault: {fault}"}), status
            pickup = next((p for p in carrier.pickups if p["id"] == pickup_id), None)
            carrier.pickup_cancels.append({"id": pickup_id, "answer": 200 if pickup else 404})
            if pickup is None:
                return jsonify({"error": f"no pickup {pickup_id}"}), 404
            pickup["status"] = "cancelled"
            return jsonify(pickup), 200

    @app.get("/v1/pickup-cancels")
    def pickup_cancels() -> Any:
        with carrier.lock:
            return jsonify(list(carrier.pickup_cancels))

    @app.post("/v1/sandbox/faults")
    def set_faults() -> Any:
        with carrier.lock:
            carrier.faults = {k: float(v) for k, v in (request.get_json() or {}).items()}
        return jsonify(carrier.faults)

    @app.post("/v1/sandbox/reset")
    def reset() -> Any:
        """Forget every label, parcel, refund and fault (tests sharing one sandbox)."""
        with carrier.lock:
            for kept in (carrier.parcels, carrier.idempotent, carrier.faults):
                kept.clear()
            carrier.labels.clear()
            carrier.refunds.clear()
            carrier.pickups.clear()
            carrier.pickup_cancels.clear()
        return jsonify({"reset": True})

    @app.get("/v1/refunds")
    def refunds() -> Any:
        with carrier.lock:
            return jsonify(list(carrier.refunds))

    @app.get("/v1/trackers/<tracking_number>")
    def tracker(tracking_number: str) -> Any:
        parcel = carrier.parcels.get(tracking_number)
        if parcel is None:
            abort(404)
        return jsonify({"tracking_number": tracking_number, "events": list(parcel.events)})

    @app.post("/v1/parcels/<tracking_number>/journey")
    def journey(tracking_number: str) -> Any:
        body = request.get_json(silent=True) or {}
        steps = body.get("steps") or DEFAULT_JOURNEY
        unknown = [step for step in steps if step not in STATUS_MAP]
        if unknown:
            return jsonify({"error": f"unknown steps {unknown}; use {sorted(STATUS_MAP)}"}), 422
        with carrier.lock:
            parcel = carrier.parcels.setdefault(tracking_number, Parcel(tracking_number))
        faults = body.get("faults") or {}
        step_seconds = float(body.get("step_seconds", carrier.step_seconds))
        if body.get("wait"):
            return jsonify({"deliveries": carrier.play(parcel, steps, faults, step_seconds)})
        start(parcel, steps, faults, step_seconds)
        return jsonify({"started": True}), 202

    @app.get("/v1/deliveries")
    def deliveries() -> Any:
        with carrier.lock:
            return jsonify(list(carrier.deliveries))

    @app.get("/v1/labels")
    def labels() -> Any:
        """Every label made (a replayed idempotency key makes none), oldest first; or those of
        one ``idempotency_key`` or ``reference``, with the whole answer (to find a label)."""
        key, reference = request.args.get("idempotency_key"), request.args.get("reference")
        with carrier.lock:
            if key is None and reference is None:
                return jsonify(list(carrier.labels))
            found = [
                carrier.idempotent[item["key"]]
                for item in carrier.labels
                if item["key"] in carrier.idempotent
                and (key is None or item["key"] == key)
                and (reference is None or item["reference"] == reference)
            ]
            return jsonify(found)

    @app.get("/healthz")
    def healthz() -> Any:
        return {"status": "ok"}

    return app
