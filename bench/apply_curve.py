"""The per-event cost of applying stored carrier events, by batch size (CARRIER_EVENTS_BATCH).

For each batch size, fresh authorised refund RMAs with registered return parcels; their
pickup and in-transit events are stored (as a webhook stores them), then
``CarrierService.apply_pending`` applies them all in batches of that size, in this process.
The figure is wall time per event: the RMA moves twice, the refund is queued (outbox) on the
pickup. Run by bench/run.py on its scratch database; alone:

    .venv/bin/python bench/apply_curve.py --database-url postgresql://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.harness import authorised_returns, seeding_services, stock_parts  # noqa: E402
from carriers import tracking  # noqa: E402
from carriers.events import CarrierEvent  # noqa: E402
from carriers.models import EventSource  # noqa: E402
from carriers.status import TrackingStatus  # noqa: E402
from core.db import UnitOfWork  # noqa: E402

SIZES = (1, 10, 50, 200)


def curve(database_url: str, parcels: int, sizes: tuple[int, ...] = SIZES) -> dict[int, float]:
    """{batch size: seconds per event}."""
    spareflow = seeding_services(database_url)
    try:
        stock_parts(spareflow, {"CURVE-RMA": 0})
        carriers = spareflow.carriers
        found: dict[int, float] = {}
        for size in sizes:
            made = authorised_returns(
                spareflow, parcels, prefix=f"SBXCURVE{size}X", sku="CURVE-RMA"
            )
            start = datetime.now(UTC) - timedelta(hours=2)
            events = [
                CarrierEvent(
                    "sandbox", tracking_number, status, status.value, start + timedelta(minutes=n)
                )
                for n, status in enumerate((TrackingStatus.PICKED_UP, TrackingStatus.IN_TRANSIT))
                for _, tracking_number in made
                if tracking_number
            ]  # fmt: skip
            with UnitOfWork(carriers.session_factory) as uow:
                tracking.insert_events(
                    uow.session, events, source=EventSource.WEBHOOK, received_at=datetime.now(UTC)
                )
                uow.commit()
            carriers.apply_batch = size
            began = time.perf_counter()
            applied = carriers.apply_pending(limit=len(events) * 2)
            found[size] = (time.perf_counter() - began) / max(applied, 1)
        return found
    finally:
        spareflow.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url",
        default=os.environ.get("SPAREFLOW_TEST_DATABASE_URL")
        or "postgresql://postgres@127.0.0.1:5432/postgres",
    )
    parser.add_argument("--parcels", type=int, default=200, help="RMAs per batch size")
    options = parser.parse_args()
    from bench.databases import scratch_database
    from bootstrap import schema

    with scratch_database(options.database_url, "spareflow_curve") as url:
        schema.upgrade(url)
        for size, seconds in curve(url, options.parcels).items():
            print(f"batch {size:>4}: {seconds * 1000:.2f} ms per event")
    return 0


if __name__ == "__main__":
    sys.exit(main())
