"""Load generation for the benchmark runner (bench/run.py): closed-loop clients, a source of
distinct carrier events, and the checks on what came back."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from bench.harness import event_body


def closed_loop(
    clients: int, seconds: float, make_call: Callable[[int], Callable[[], Any]]
) -> tuple[int, float, list[str]]:
    """``clients`` threads, each calling its ``make_call(n)()`` back to back for ``seconds``.

    Returns (calls completed, elapsed seconds, unexpected errors)."""
    done = [0] * clients
    errors: list[str] = []
    clock: dict[str, float] = {}

    def go() -> None:  # run by the barrier once every client is ready, before any starts
        clock["began"] = time.perf_counter()
        clock["stop_at"] = clock["began"] + seconds

    start = threading.Barrier(clients, action=go)

    def worker(number: int) -> None:
        call = make_call(number)
        start.wait()
        while time.perf_counter() < clock["stop_at"]:
            try:
                call()
            except Exception as error:  # counted and reported, never silent
                errors.append(f"{type(error).__name__}: {error}"[:200])
                if len(errors) > 50:
                    return
            else:
                done[number] += 1

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    began = clock["began"]
    return sum(done), time.perf_counter() - began, errors


def expect(response: httpx.Response, *codes: int) -> httpx.Response:
    if response.status_code not in codes:
        raise RuntimeError(f"{response.request.url.path}: {response.status_code} {response.text}")
    return response


class EventSource:
    """Distinct carrier events, each handed out once across threads, as a busy site gets them:
    the RMAs' parcels in blocks of 50, each block picked up (the RMA moves and its refund is
    queued), in transit (the RMA moves again), out for delivery and delivered (recorded on the
    shipment), with one event in ten for a parcel nobody registered (stored, waiting for its
    shipment). When the RMAs' parcels are used up, only such strays follow."""

    BLOCK = 50
    STRAY_EVERY = 10

    def __init__(self, parcels: list[str]):
        start = datetime.now(UTC) - timedelta(hours=6)
        steps = ["picked_up", "in_transit", "out_for_delivery", "delivered"]
        known = [
            event_body(parcel, status, start + timedelta(minutes=10 * step))
            for first in range(0, len(parcels), self.BLOCK)
            for step, status in enumerate(steps)
            for parcel in parcels[first : first + self.BLOCK]
        ]
        self.bodies: list[bytes] = []
        for number, body in enumerate(known, start=1):
            self.bodies.append(body)
            if number % (self.STRAY_EVERY - 1) == 0:
                self.bodies.append(self.stray(len(self.bodies)))
        self.lock = threading.Lock()
        self.index = 0

    @staticmethod
    def stray(index: int) -> bytes:
        return event_body(f"SBXSTRAY{index:08d}", "in_transit", datetime.now(UTC))

    def next(self) -> bytes:
        with self.lock:
            index, self.index = self.index, self.index + 1
        return self.bodies[index] if index < len(self.bodies) else self.stray(index)


def check(errors: list[str], what: str) -> None:
    if errors:
        raise RuntimeError(f"{what}: {len(errors)} error(s), first: {errors[0]}")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]
