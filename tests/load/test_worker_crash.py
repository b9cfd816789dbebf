"""kill -9 the outbox worker at random moments while it carries out refunds and buys return
labels; restart it until the work is done. Nothing is lost and nothing is done twice."""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from sqlalchemy import Engine, text

from bench.harness import (
    Stack,
    authorised_returns,
    seeding_services,
    stock_parts,
    wait_for,
)
from bench.processes import kill, spareflow_command, stop
from carriers.status import TrackingStatus

REFUNDS = 32
LABELS = 8
KILLS = 6


def activity(stack: Stack) -> int:
    """What the providers have been asked so far (refund requests, labels made)."""
    return len(stack.refund_requests()) + len(stack.labels_made())


def pending(db: Engine) -> int:
    with db.connect() as connection:
        return connection.scalar(text("select count(*) from outbox where status <> 'done'"))


def kill_at_random_moments(
    stack: Stack,
    command: list[str],
    name: str,
    *,
    progress: Callable[[], int],
    at_work: Callable[[int], bool],
    left: Callable[[], int],
    rng: random.Random,
    longest_wait: float,
) -> int:
    """Start ``spareflow <command>``, wait until it is at work (``at_work`` of the ``progress``
    seen before it started), let it work up to ``longest_wait`` seconds, ``kill -9`` it; KILLS
    times, or until nothing is ``left``. Then one more, not killed, finishes the work.
    Returns how many kills found work left."""
    kills_with_work_left = 0
    for round_number in range(KILLS):
        seen = progress()
        process = stack.spawn(spareflow_command(*command), f"{name}-{round_number}")
        # Asked often: the time between the first sign of work and the kill is the work a
        # round can get done, and every round must still leave some for the next.
        wait_for(lambda s=seen: at_work(s), 60, f"the {name} at work", every=0.01)
        time.sleep(rng.uniform(0.0, longest_wait))
        remaining = left()
        kill(process)
        if remaining == 0:
            break
        kills_with_work_left += 1
    process = stack.spawn(spareflow_command(*command), f"{name}-final")
    try:
        wait_for(lambda: left() == 0, 120, f"the {name}'s work done")
    finally:
        stop(process)
    return kills_with_work_left


def test_killing_the_worker_at_random_moments_neither_loses_nor_doubles_a_refund_or_label(
    load_stack: Stack, db: Engine
) -> None:
    spareflow = seeding_services(load_stack.database_url)
    refunds: list[tuple[str, str | None]] = []
    labelled: list[tuple[str, str | None]] = []
    try:
        stock_parts(spareflow, {"CRASH-PSU": 0})
        carriers = spareflow.carriers
        for group in range(LABELS):  # labels and refunds interleaved in the outbox
            labelled += authorised_returns(
                spareflow, 1, prefix=f"LBL{group}X", sku="CRASH-PSU", with_tracking=False
            )
            made = authorised_returns(
                spareflow, REFUNDS // LABELS, prefix=f"SBXCRASH{group}X", sku="CRASH-PSU"
            )
            for _, tracking in made:  # the pickup queues each refund in the outbox
                carriers.record_event(
                    "seed",
                    tracking_number=str(tracking),
                    status=TrackingStatus.PICKED_UP,
                    occurred_at=None,
                    reason="load test",
                    supervisor=True,  # entered by hand: only a supervisor's releases money
                )
            refunds += made
    finally:
        spareflow.close()
    assert pending(db) == REFUNDS + LABELS
    load_stack.start_refunds_sandbox()
    load_stack.start_carrier_sandbox()
    # The provider acts, then takes a moment to answer: a kill often lands in between. The
    # refunds alone take about 11 s of the provider's time, more than six rounds of at most
    # ~1.5 s of work each, so every kill finds work left.
    load_stack.refund_faults(delay_seconds=0.02, answer_delay_seconds=0.25)
    worker = ["outbox", "drain", "--loop", "--interval", "0.2", "--limit", "5"]

    def at_work(seen: int) -> bool:  # past start-up: the providers have been called
        return activity(load_stack) > seen or pending(db) == 0

    # Whatever is left at the end (leases of the last victim run out after 2 s): one worker,
    # not killed, finishes.
    kills_with_work_left = kill_at_random_moments(
        load_stack,
        worker,
        "worker",
        progress=lambda: activity(load_stack),
        at_work=at_work,
        left=lambda: pending(db),
        rng=random.Random(8),
        longest_wait=1.0,
    )
    assert kills_with_work_left == KILLS

    # The provider: one refund per RMA, one refund per idempotency key, however often asked.
    made = load_stack.refunds_made()
    numbers = sorted(number for number, _ in refunds)
    assert sorted(r["metadata"]["rma"] for r in made) == numbers
    by_key: dict[str, set[str]] = {}
    for request in load_stack.refund_requests():
        by_key.setdefault(request["key"], set()).add(request["refund"])
    assert sorted(by_key) == sorted(f"refund:{number}" for number in numbers)
    assert all(len(ids) == 1 for ids in by_key.values())
    # The carrier: one label per RMA that asked for one.
    labels = load_stack.labels_made()
    label_rmas = sorted(number for number, _ in labelled)
    assert sorted(label["reference"] for label in labels) == label_rmas
    assert sorted(label["key"] for label in labels) == [f"return-label:{n}" for n in label_rmas]

    with db.connect() as connection:
        # The database agrees with the provider and the carrier.
        released = dict(
            connection.execute(
                text("select number, refund_reference from rmas where refund_status = 'released'")
            ).all()
        )
        assert released == {r["metadata"]["rma"]: r["id"] for r in made}
        notes = connection.execute(
            text(
                "select r.number, count(*) from rma_transitions t join rmas r on r.id = t.rma_id "
                "where t.kind = 'refund' and t.reason like 'Refund re_% released' group by r.number"
            )
        ).all()
        assert dict(notes) == dict.fromkeys(numbers, 1)
        shipments = connection.execute(
            text(
                "select r.number, r.status, r.return_tracking_number, count(s.id), "
                "min(s.tracking_number) from rmas r join shipments s on s.reference = r.number "
                "where r.number = any(:numbers) group by r.number, r.status, "
                "r.return_tracking_number"
            ),
            {"numbers": label_rmas},
        ).all()
        by_label = {label["reference"]: label["tracking_number"] for label in labels}
        assert {row[0]: tuple(row[1:]) for row in shipments} == {
            number: ("awaiting_pickup", by_label[number], 1, by_label[number])
            for number in label_rmas
        }
        attempts = connection.execute(
            text("select topic, count(*), sum(attempts) from outbox group by topic order by topic")
        ).all()
    # Some messages were claimed again after a kill: the retries really happened.
    assert [(row[0], row[1]) for row in attempts] == [
        ("refund.create", REFUNDS),
        ("return_label.buy", LABELS),
    ]
    assert sum(row[2] for row in attempts) > REFUNDS + LABELS


# --- the carrier event applier -----------------------------------------------------------

APPLIED_RMAS = 200


def waiting_events(db: Engine) -> int:
    with db.connect() as connection:
        return connection.scalar(
            text("select count(*) from carrier_events where outcome = 'pending'")
        )


def test_killing_the_event_applier_at_random_moments_applies_every_event_exactly_once(
    load_stack: Stack, db: Engine
) -> None:
    """Webhooks stored in worker mode, then appliers killed mid-batch again and again: each
    batch is one transaction, so a kill rolls it back and the next applier takes it over."""
    from datetime import UTC, datetime, timedelta

    from bench.harness import event_body, signed_headers
    from carriers.events import WebhookRequest

    spareflow = seeding_services(load_stack.database_url)
    try:
        stock_parts(spareflow, {"APPLY-PSU": 0})
        made = authorised_returns(spareflow, APPLIED_RMAS, prefix="SBXAPPLY", sku="APPLY-PSU")
        carriers = spareflow.carriers
        carriers.apply_on_receipt = False  # as CARRIER_EVENTS_APPLY=worker: store only
        start = datetime.now(UTC) - timedelta(hours=2)
        steps = ["picked_up", "in_transit", "out_for_delivery", "delivered"]
        for step, status in enumerate(steps):
            for _, tracking in made:
                body = event_body(str(tracking), status, start + timedelta(minutes=10 * step))
                carriers.receive_webhook(
                    "sandbox",
                    WebhookRequest(body, signed_headers(body), {}, "application/json"),
                )
    finally:
        spareflow.close()
    assert waiting_events(db) == APPLIED_RMAS * 4

    # Batches of two, so a kill lands in the middle of many of them, and the batched applier
    # is slow enough that every kill still finds work left.
    applier = ["carriers", "apply-events", "--loop", "--interval", "0.05", "--limit", "2"]
    kills_with_work_left = kill_at_random_moments(
        load_stack,
        applier,
        "applier",
        progress=lambda: waiting_events(db),
        at_work=lambda before: waiting_events(db) < before,
        left=lambda: waiting_events(db),
        rng=random.Random(11),
        # Short, so that even a fast machine still has events left at every kill.
        longest_wait=0.05,
    )
    assert kills_with_work_left == KILLS

    numbers = sorted(number for number, _ in made)
    with db.connect() as connection:
        outcomes = dict(
            connection.execute(
                text("select outcome, count(*) from carrier_events group by outcome")
            ).all()
        )
        assert outcomes == {"applied": APPLIED_RMAS * 4}
        # Each RMA moved once per step, and its refund was queued once.
        moves = connection.execute(
            text(
                "select t.to_status, count(*), count(distinct t.rma_id) from rma_transitions t "
                "where t.kind = 'status' and t.to_status in ('picked_up', 'in_transit') "
                "group by t.to_status order by t.to_status"
            )
        ).all()
        assert [tuple(row) for row in moves] == [
            ("in_transit", APPLIED_RMAS, APPLIED_RMAS),
            ("picked_up", APPLIED_RMAS, APPLIED_RMAS),
        ]
        refunds = connection.scalars(
            text("select key from outbox where topic = 'refund.create' order by key")
        ).all()
        assert refunds == sorted(f"refund:{number}" for number in numbers)
        shipments = connection.execute(
            text(
                "select status, count(picked_up_at), count(delivered_at) from shipments "
                "where reference = any(:numbers) group by status"
            ),
            {"numbers": numbers},
        ).all()
        assert [tuple(row) for row in shipments] == [("delivered", APPLIED_RMAS, APPLIED_RMAS)]
