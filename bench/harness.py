"""A whole spareflow on loopback for load and fault runs: scratch database, web servers,
schedulers, outbox workers and the sandboxes, each a real process. Used by the benchmark
runner (``bench/run.py``) and by ``tests/load``, so it imports nothing from pytest or tests/.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from bench.processes import free_port, gunicorn_command, spareflow_command, stop
from bootstrap import Services, build_services, load_settings, schema
from carriers.adapters.sandbox import SIGNATURE_HEADER, sign
from inventory.commands import ReceiveStock

ROOT = Path(__file__).resolve().parents[1]
SECRET = "whsec_load_sandbox"
REFUNDS_KEY = "sk_test_load"
PASSWORD = "correct horse battery"
#: Where customers send returns on the stack (authorisation refuses a partial address).
RETURN_ADDRESS = {
    "name": "Load returns",
    "street": "2 Bench Street",
    "city": "York",
    "postcode": "YO1 7HH",
    "country": "GB",
}


# --- processes ---------------------------------------------------------------------------


def wait_until_up(url: str, process: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with {process.returncode}")
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} did not come up in {seconds}s")


@dataclass
class Stack:
    """Processes sharing one database; everything started here is stopped by ``close``."""

    database_url: str
    folder: Path
    env: dict[str, str] = field(default_factory=dict)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    web: list[str] = field(default_factory=list)
    refunds: str = ""
    carrier: str = ""
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=30))

    def __post_init__(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        refunds_port, carrier_port = free_port(), free_port()
        self.refunds = f"http://127.0.0.1:{refunds_port}"
        self.carrier = f"http://127.0.0.1:{carrier_port}"
        self.env = {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "SECRET_KEY": "load-test-secret",
            "SPAREFLOW_INSTANCE_PATH": str(self.folder / "instance"),
            "SPAREFLOW_LOG_LEVEL": "WARNING",
            "SPAREFLOW_SANDBOX_WEBHOOK_SECRET": SECRET,
            "SPAREFLOW_CARRIERS_SANDBOX": "true",
            "SPAREFLOW_SANDBOX_CARRIER_URL": self.carrier,
            "SPAREFLOW_REFUNDS_API_BASE": self.refunds,
            "SPAREFLOW_REFUNDS_API_KEY": REFUNDS_KEY,
            "SPAREFLOW_OUTBOX_LEASE_SECONDS": "2",
            "SPAREFLOW_RETURNS_ADDRESS": json.dumps(RETURN_ADDRESS),
            "PYTHONUNBUFFERED": "1",
        }

    # processes

    def spawn(self, command: list[str], name: str, **extra_env: str) -> subprocess.Popen[bytes]:
        log = open(self.folder / f"{name}.log", "ab")  # noqa: SIM115 (closed with the process)
        process = subprocess.Popen(
            command, env={**self.env, **extra_env}, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()  # the child has its own copy
        self.processes.append(process)
        return process

    def log(self, name: str) -> str:
        path = self.folder / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def start_refunds_sandbox(self) -> None:
        port = self.refunds.rsplit(":", 1)[1]
        process = self.spawn(spareflow_command("sandbox", "refunds", "--port", port), "refunds")
        wait_until_up(self.refunds, process)

    def start_carrier_sandbox(self) -> None:
        port = self.carrier.rsplit(":", 1)[1]
        hook = f"{self.web[0] if self.web else 'http://127.0.0.1:9'}/webhooks/carriers/sandbox"
        command = spareflow_command("sandbox", "carrier", "--port", port, "--webhook-url", hook)
        wait_until_up(self.carrier, self.spawn(command, "carrier"))

    def start_gunicorn(
        self, workers: int, name: str = "gunicorn", app: str = "web:create_app()"
    ) -> str:
        port = free_port()
        command = gunicorn_command(port, workers, "--timeout", "120", "--chdir", str(ROOT), app=app)
        url = f"http://127.0.0.1:{port}"
        # Four workers importing the app on a loaded 2-CPU machine can take a minute or more.
        wait_until_up(url, self.spawn(command, name), seconds=240)
        self.web.append(url)
        return url

    def start_waitress(self, threads: int = 8, name: str = "waitress") -> str:
        port = free_port()
        command = spareflow_command("serve", "--port", str(port), "--threads", str(threads))
        url = f"http://127.0.0.1:{port}"
        wait_until_up(url, self.spawn(command, name))
        self.web.append(url)
        return url

    def start_scheduler(self, name: str, intervals: dict[str, float]) -> subprocess.Popen[bytes]:
        return self.spawn(
            spareflow_command("scheduler"),
            name,
            SPAREFLOW_SCHEDULER_INTERVALS=json.dumps(intervals),
            SPAREFLOW_LOG_LEVEL="INFO",
        )

    def close(self) -> None:
        for process in reversed(self.processes):
            stop(process)
        self.processes.clear()
        self.http.close()

    # the refund provider and the carrier, as they saw it

    def refunds_made(self) -> list[dict[str, Any]]:
        headers = {"Authorization": f"Bearer {REFUNDS_KEY}"}
        return self.http.get(f"{self.refunds}/v1/refunds", headers=headers).json()["data"]

    def refund_requests(self) -> list[dict[str, Any]]:
        return self.http.get(f"{self.refunds}/sandbox/requests").json()["data"]

    def refund_faults(self, **faults: float) -> None:
        self.http.post(f"{self.refunds}/sandbox/faults", json=faults).raise_for_status()

    def labels_made(self) -> list[dict[str, Any]]:
        return self.http.get(f"{self.carrier}/v1/labels").json()


@contextlib.contextmanager
def stack(database_url: str, folder: Path) -> Iterator[Stack]:
    """A migrated database and a Stack on it; the caller starts the processes it needs."""
    schema.upgrade(database_url)
    running = Stack(database_url, folder)
    try:
        yield running
    finally:
        running.close()


# --- seeding through the services (in this process) --------------------------------------


def seeding_services(database_url: str, clock: Any = None) -> Services:
    """The services on the stack's database, for seeding (no web app); ``close()`` them."""
    config: dict[str, Any] = {
        "TESTING": True,  # a cheap password hash: seeding is not what is measured
        "DATABASE_URL": database_url,
        "SECRET_KEY": "load-test-secret",
        "LOG_LEVEL": "WARNING",
        "SANDBOX_WEBHOOK_SECRET": SECRET,
        "CARRIERS_SANDBOX": True,
        "RETURNS_ADDRESS": RETURN_ADDRESS,
        # Seeding only queues refunds (the stack's own processes send them), but without a
        # provider configured spareflow would hold them instead.
        "REFUNDS_API_BASE": "http://127.0.0.1:9",
        "REFUNDS_API_KEY": REFUNDS_KEY,
    }
    return build_services(load_settings(config), clock=clock)


def tokens(services: Services) -> dict[str, str]:
    """A user and an API token per role: ``{"admin": "sf_...", ...}``."""
    from accounts.models import Role

    auth = services.auth
    made = {}
    for role in Role:
        email = f"{role.value}@load.example"
        auth.create_user(email, role, PASSWORD)
        made[role.value] = auth.create_token(email, "load")[1]
    return made


def stock_parts(services: Services, stock: dict[str, int], location: str = "MAIN/A-01-01") -> None:
    inventory = services.inventory
    with contextlib.suppress(Exception):
        inventory.create_location(code=location)
    for sku, qty in stock.items():
        inventory.create_part(sku=sku, name=f"Load part {sku}", unit_cost=Decimal("9.50"))
        if qty:
            inventory.receive(
                "seed", ReceiveStock(sku=sku, location=location, qty=qty, reference="PO-LOAD")
            )


def authorised_returns(
    services: Services,
    count: int,
    *,
    prefix: str,
    sku: str,
    with_tracking: bool = True,
    resolution: str = "refund",
    amount: str = "10.00",
) -> list[tuple[str, str | None]]:
    """``count`` RMAs, each authorised; with ``with_tracking`` its return parcel is registered
    (a sandbox tracking number ``<prefix><n>``), else a prepaid label is queued in the outbox.
    Returns ``[(rma_number, tracking_number), ...]``."""
    from returns.commands import AuthoriseRma, Customer, OpenRma, ReturnLine
    from returns.status import Channel, Reason, Resolution

    returns = services.returns
    made = []
    for n in range(count):
        view = returns.intake.open(
            "seed",
            OpenRma(
                customer=Customer(
                    name=f"Customer {prefix}{n}", email=f"{prefix.lower()}{n}@example.com"
                ),
                channel=Channel.WEB,
                lines=(ReturnLine(sku=sku, qty=1, unit_price=Decimal(amount)),),
                reason=Reason.DEFECTIVE,
                resolution=Resolution(resolution),
                payment_reference=f"pi_{prefix.lower()}_{n}",
            ),
        )
        tracking = f"{prefix}{n:05d}" if with_tracking else None
        returns.authorisation.authorise(
            "seed",
            view.number,
            AuthoriseRma(carrier="sandbox" if tracking else None, tracking_number=tracking),
        )
        made.append((view.number, tracking))
    return made


# --- carrier webhooks --------------------------------------------------------------------


def event_body(tracking: str, status: str, occurred_at: datetime, **extra: Any) -> bytes:
    """A sandbox-carrier tracking event as the carrier posts it (``extra``: more data fields)."""
    return json.dumps(
        {
            "id": f"evt_{tracking}_{status}",
            "type": "tracking.updated",
            "created": int(occurred_at.timestamp()),
            "data": {
                "tracking_number": tracking,
                "status": status,
                "occurred_at": occurred_at.isoformat(),
                **extra,
            },
        }
    ).encode()


def signed_headers(body: bytes) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: sign(SECRET, body, int(time.time())),
    }


def post_all(
    urls: list[str],
    bodies: list[bytes],
    threads: int,
    path: str = "/webhooks/carriers/sandbox",
) -> list[int]:
    """POST every body (signed when sent) from ``threads`` threads, spread over ``urls``.

    A transport error or a 5xx is retried a few times, as a carrier would; the answer's
    status codes come back in the order of ``bodies``."""
    from concurrent.futures import ThreadPoolExecutor

    statuses = [0] * len(bodies)

    def work(worker: int) -> None:
        with httpx.Client(timeout=60) as client:
            for index in range(worker, len(bodies), threads):
                url = urls[index % len(urls)] + path
                for attempt in range(5):
                    try:
                        status = client.post(
                            url, content=bodies[index], headers=signed_headers(bodies[index])
                        ).status_code
                    except httpx.HTTPError:
                        status = 0
                    statuses[index] = status
                    if 0 < status < 500:
                        break
                    time.sleep(0.2 * 2**attempt)

    with ThreadPoolExecutor(max_workers=threads) as pool:
        for future in [pool.submit(work, worker) for worker in range(threads)]:
            future.result()
    return statuses


def storm_bodies(
    parcels: list[str], start: datetime, copies: int, rng: random.Random
) -> tuple[list[bytes], set[bytes]]:
    """Per parcel: the pickup, a later in-transit scan and a stale label scan from before the
    pickup; each event ``copies`` times, all shuffled. Returns (to send, distinct events)."""
    from datetime import timedelta

    distinct = []
    for number, tracking in enumerate(parcels):
        picked = start + timedelta(seconds=number)
        distinct += [
            event_body(tracking, "picked_up", picked),
            event_body(tracking, "in_transit", picked + timedelta(hours=1)),
            event_body(tracking, "label_created", picked - timedelta(hours=2)),  # stale
        ]
    sent = [body for body in distinct for _ in range(copies)]
    rng.shuffle(sent)
    return sent, set(distinct)


def wait_for(check: Callable[[], bool], seconds: float, what: str, *, every: float = 0.25) -> None:
    """Until ``check()`` holds, asked ``every`` so many seconds; fails after ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(every)
    raise AssertionError(f"not within {seconds}s: {what}")
