"""Webhook storms: 200 authorised returns, each parcel's carrier events sent three times,
shuffled, some stale, from eight threads. First against one gunicorn and one scheduler; then
scaled out: two web servers that only store the events and two scheduler processes on the
one database that apply them, and also expire overdue authorisations and recompute reorder
points at the same time."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import Engine, text

from bench.harness import (
    Stack,
    authorised_returns,
    post_all,
    seeding_services,
    stock_parts,
    storm_bodies,
    wait_for,
)
from core.clock import FrozenClock
from inventory.commands import ReceiveStock

RMAS = 200
COPIES = 3
THREADS = 8
FAST = {"drain_outbox": 1}


def seed_storm(stack: Stack) -> list[tuple[str, str]]:
    spareflow = seeding_services(stack.database_url)
    try:
        stock_parts(spareflow, {"STORM-FAN": 0})
        made = authorised_returns(spareflow, RMAS, prefix="SBXSTORM", sku="STORM-FAN")
    finally:
        spareflow.close()
    return [(number, tracking) for number, tracking in made if tracking]


def run_storm(stack: Stack, urls: list[str], parcels: list[str]) -> set[bytes]:
    start = datetime.now(UTC) - timedelta(hours=3)
    sent, distinct = storm_bodies(parcels, start, COPIES, random.Random(20261201))
    statuses = post_all(urls, sent, THREADS)
    assert set(statuses) == {200}, sorted(set(statuses))
    return distinct


def refunds_released(db: Engine) -> int:
    with db.connect() as connection:
        return connection.scalar(text("select count(*) from rmas where refund_status='released'"))


def assert_storm_ended_right(
    stack: Stack, db: Engine, made: list[tuple[str, str]], distinct: set[bytes]
) -> None:
    numbers = {number for number, _ in made}
    wait_for(lambda: refunds_released(db) >= len(made), 120, "every refund released")

    # The provider: exactly one refund per RMA, and never two refunds for one key.
    refunds = stack.refunds_made()
    assert len(refunds) == len(made)
    assert sorted(r["metadata"]["rma"] for r in refunds) == sorted(numbers)
    assert {r["amount"] for r in refunds} == {1000}
    by_key: dict[str, set[str]] = {}
    for request in stack.refund_requests():
        by_key.setdefault(request["key"], set()).add(request["refund"])
    assert sorted(by_key) == sorted(f"refund:{number}" for number in numbers)
    assert all(len(ids) == 1 for ids in by_key.values())

    with db.connect() as connection:
        # No event lost, none stored twice: stored events = distinct events sent, and every
        # one of them applied (none waiting, none failed).
        assert connection.scalar(text("select count(*) from carrier_events")) == len(distinct)
        outcomes = connection.execute(
            text("select outcome, count(*) from carrier_events group by outcome")
        ).all()
        assert {row[0] for row in outcomes} <= {"applied", "recorded"}, outcomes
        deliveries, new_events = connection.execute(
            text("select count(*), sum(new_event_count) from webhook_deliveries")
        ).one()
        assert (deliveries, new_events) == (len(distinct) * COPIES, len(distinct))
        # Every RMA went forward to in transit; the stale label scan undid nothing.
        rmas = connection.execute(
            text(
                "select r.number, r.status, r.refund_status, r.refund_reference, s.status, "
                "s.picked_up_at from rmas r join shipments s on s.reference = r.number "
                "where r.number = any(:numbers)"
            ),
            {"numbers": sorted(numbers)},
        ).all()
        assert len(rmas) == len(made)
        assert {(row[1], row[2], row[4]) for row in rmas} == {
            ("in_transit", "released", "in_transit")
        }
        provider_ids = {r["metadata"]["rma"]: r["id"] for r in refunds}
        assert {row[0]: row[3] for row in rmas} == provider_ids
        # One recorded transition per move, and one "released" note per RMA.
        moves = connection.execute(
            text(
                "select t.to_status, count(*), count(distinct t.rma_id) from rma_transitions t "
                "join rmas r on r.id = t.rma_id where r.number = any(:numbers) "
                "and t.kind = 'status' group by t.to_status order by t.to_status"
            ),
            {"numbers": sorted(numbers)},
        ).all()
        assert {row[0]: (row[1], row[2]) for row in moves} == {
            status: (len(made), len(made))
            for status in ("requested", "authorised", "awaiting_pickup", "picked_up", "in_transit")
        }
        released_notes = connection.scalar(
            text(
                "select count(*) from rma_transitions where kind = 'refund' "
                "and reason like 'Refund re_% released'"
            )
        )
        assert released_notes == len(made)
        outbox = connection.execute(
            text("select topic, status, count(*) from outbox group by topic, status")
        ).all()
        assert [tuple(row) for row in outbox] == [("refund.create", "done", len(made))]


def test_a_webhook_storm_refunds_each_of_200_returns_exactly_once_and_loses_no_event(
    load_stack: Stack, db: Engine
) -> None:
    made = seed_storm(load_stack)
    load_stack.start_refunds_sandbox()
    url = load_stack.start_gunicorn(workers=3)
    load_stack.start_scheduler("scheduler", FAST)

    distinct = run_storm(load_stack, [url], [tracking for _, tracking in made])

    assert len(distinct) == RMAS * 3
    assert_storm_ended_right(load_stack, db, made, distinct)


# --- scaled out --------------------------------------------------------------------------

EXPIRING = 30
REORDER_PARTS = 5
RECOMPUTED = re.compile(r"reorder points recomputed for \d+ parts .*?, (\d+) newly")


def seed_overdue_and_reorder(stack: Stack) -> list[str]:
    """30 exchanges authorised 20 days ago (replacements reserved, now overdue), and five
    parts below their reorder point."""
    past = FrozenClock(datetime.now(UTC) - timedelta(days=20))
    spareflow = seeding_services(stack.database_url, clock=past)
    try:
        inventory = spareflow.inventory
        stock_parts(spareflow, {"SWAP-PSU": EXPIRING}, "MAIN/A-01-02")
        made = authorised_returns(
            spareflow, EXPIRING, prefix="SBXLATE", sku="SWAP-PSU", resolution="replacement"
        )
        inventory.create_supplier(code="LOADSUP", name="Load supplier")
        for n in range(REORDER_PARTS):
            inventory.create_part(
                sku=f"LOW-{n}",
                name="Low part",
                supplier="LOADSUP",
                unit_cost=Decimal("2.00"),
                reorder_point=10,
                reorder_qty=20,
            )
            inventory.receive("seed", ReceiveStock(sku=f"LOW-{n}", location="MAIN/A-01-02", qty=2))
    finally:
        spareflow.close()
    return [number for number, _ in made]


def test_two_web_servers_and_two_schedulers_share_the_storm_without_doubling_anything(
    load_stack: Stack, db: Engine
) -> None:
    made = seed_storm(load_stack)
    overdue = seed_overdue_and_reorder(load_stack)
    # The busy-site layout: webhooks only store their events, and the two schedulers'
    # appliers share them (SKIP LOCKED) while doing their other jobs.
    load_stack.env["SPAREFLOW_CARRIER_EVENTS_APPLY"] = "worker"
    load_stack.start_refunds_sandbox()
    urls = [load_stack.start_gunicorn(workers=2), load_stack.start_waitress(threads=4)]
    busy = {
        **FAST,
        "apply_carrier_events": 0.5,
        "expire_authorisations": 1,
        "recompute_reorder_points": 2,
    }
    load_stack.start_scheduler("scheduler-a", busy)
    load_stack.start_scheduler("scheduler-b", busy)

    distinct = run_storm(load_stack, urls, [tracking for _, tracking in made])

    assert_storm_ended_right(load_stack, db, made, distinct)

    def expired() -> int:
        with db.connect() as connection:
            return connection.scalar(text("select count(*) from rmas where status = 'expired'"))

    wait_for(lambda: expired() == EXPIRING, 60, "every overdue authorisation expired")
    runs = {
        name: RECOMPUTED.findall(load_stack.log(name)) for name in ("scheduler-a", "scheduler-b")
    }
    wait_for(
        lambda: all(RECOMPUTED.findall(load_stack.log(n)) for n in runs), 60, "both recomputed"
    )
    runs = {name: RECOMPUTED.findall(load_stack.log(name)) for name in runs}
    with db.connect() as connection:
        # Each overdue RMA expired once: one transition, one release of its replacement.
        expiries = connection.execute(
            text(
                "select r.number, count(*) from rma_transitions t join rmas r on r.id = t.rma_id "
                "where t.kind = 'status' and t.to_status = 'expired' group by r.number"
            )
        ).all()
        assert dict(expiries) == dict.fromkeys(overdue, 1)
        releases = connection.execute(
            text(
                "select reference, count(*), sum(qty) from stock_moves where kind = 'release' "
                "group by reference"
            )
        ).all()
        assert {row[0]: (row[1], row[2]) for row in releases} == dict.fromkeys(overdue, (1, 1))
        level = connection.execute(
            text(
                "select l.on_hand, l.reserved from stock_levels l join parts p "
                "on p.id = l.part_id where p.sku = 'SWAP-PSU'"
            )
        ).one()
        assert tuple(level) == (EXPIRING, 0)
        # Both schedulers recomputed, yet each low part was newly flagged exactly once.
        flagged = connection.scalar(
            text(
                "select count(*) from reorder_policies p join parts x on x.id = p.part_id "
                "where p.flagged_since is not null and x.sku like 'LOW-%'"
            )
        )
    assert flagged == REORDER_PARTS
    assert all(runs.values())
    assert sum(int(newly) for found in runs.values() for newly in found) == REORDER_PARTS
