"""Logs are pruned after their retention; records, and logs still needed, stay."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask.cli import ScriptInfo
from sqlalchemy import select

from carriers.models import (
    CarrierEventRecord,
    DeliveryStatus,
    EventOutcome,
    EventSource,
    WebhookDelivery,
)
from carriers.status import TrackingStatus
from core import audit
from core.audit import AuditEntry
from core.outbox import OutboxMessage, OutboxStatus
from core.retention import PRUNED_PAYLOAD
from returns.messages import EMAIL_TOPIC
from returns.refunds import REFUND_TOPIC
from web.cli import main
from web.scheduler import JOBS, build_scheduler


def seed(app: Any, clock: Any) -> dict[str, int]:
    """Deliveries and outbox messages of several ages; returns their ids by name."""
    now = clock.now()
    ids: dict[str, int] = {}
    with app.extensions["spareflow"].session_factory() as session:

        def delivery(name: str, days: int, outcome: EventOutcome | None) -> None:
            row = WebhookDelivery(
                carrier="sandbox",
                status=DeliveryStatus.ACCEPTED if outcome else DeliveryStatus.MALFORMED,
                body=b'{"customer": "someone@example.com"}',
                received_at=now - timedelta(days=days),
            )
            session.add(row)
            session.flush()
            ids[name] = row.id
            if outcome is not None:
                event = CarrierEventRecord(
                    dedupe_key=f"key-{name}",
                    carrier="sandbox",
                    tracking_number=f"SBX{name.upper()}",
                    status=TrackingStatus.PICKED_UP,
                    raw_status="picked_up",
                    occurred_at=row.received_at,
                    source=EventSource.WEBHOOK,
                    outcome=outcome,
                    delivery_id=row.id,
                    received_at=row.received_at,
                )
                session.add(event)
                session.flush()
                ids[f"{name}_event"] = event.id

        delivery("old_applied", 100, EventOutcome.APPLIED)
        delivery("old_malformed", 100, None)
        delivery("old_pending", 100, EventOutcome.PENDING)
        delivery("old_unmatched", 120, EventOutcome.UNMATCHED)
        delivery("old_failed", 120, EventOutcome.FAILED)
        delivery("recent", 10, EventOutcome.APPLIED)

        def message(name: str, topic: str, status: OutboxStatus, days: int) -> None:
            at = now - timedelta(days=days)
            row = OutboxMessage(
                topic=topic,
                key=f"{topic}:{name}",
                payload={"to": "customer@example.com", "attachments": ["JVBERi0x..."]},
                status=status,
                attempts=1,
                next_attempt_at=at,
                created_at=at,
                done_at=at if status is OutboxStatus.DONE else None,
                result={"id": "x"},
            )
            session.add(row)
            session.flush()
            ids[name] = row.id

        message("old_email", EMAIL_TOPIC, OutboxStatus.DONE, 40)
        message("recent_email", EMAIL_TOPIC, OutboxStatus.DONE, 5)
        message("failed_email", EMAIL_TOPIC, OutboxStatus.FAILED, 40)
        message("old_refund", REFUND_TOPIC, OutboxStatus.DONE, 400)
        audit.record(session, at=now - timedelta(days=4000), actor="a@x", action="user.created")
        session.commit()
    return ids


def deliveries(app: Any) -> set[int]:
    with app.extensions["spareflow"].session_factory() as session:
        return set(session.scalars(select(WebhookDelivery.id)))


def test_old_deliveries_go_recent_and_still_needed_ones_stay_and_events_keep_their_place(
    app: Any, clock: Any
) -> None:
    ids = seed(app, clock)
    counts = app.extensions["spareflow"].pruner.prune(batch=2)  # several batches
    assert counts == {"webhook_deliveries": 2, "sent_emails": 1}
    assert deliveries(app) == {
        ids["old_pending"],
        ids["old_unmatched"],
        ids["old_failed"],
        ids["recent"],
    }
    with app.extensions["spareflow"].session_factory() as session:
        applied = session.get(CarrierEventRecord, ids["old_applied_event"])
        assert applied is not None and applied.delivery_id is None  # the timeline stays
        assert (
            session.get(CarrierEventRecord, ids["old_pending_event"]).delivery_id
            == ids["old_pending"]
        )
        messages = {m.id: m for m in session.scalars(select(OutboxMessage))}
        assert len(messages) == 4  # no outbox row is deleted: their keys stop doubles
        old_email = messages[ids["old_email"]]
        assert (old_email.payload, old_email.result) == (PRUNED_PAYLOAD, None)
        assert old_email.pruned_at == clock.now()
        for kept in ("recent_email", "failed_email", "old_refund"):
            assert messages[ids[kept]].payload["to"] == "customer@example.com", kept
        assert session.scalars(select(AuditEntry)).one().actor == "a@x"  # never pruned
    again = app.extensions["spareflow"].pruner.prune()
    assert again == {"webhook_deliveries": 0, "sent_emails": 0}


@pytest.mark.parametrize(
    "app_config",
    [{"RETENTION_WEBHOOK_DELIVERIES_DAYS": 110, "RETENTION_OUTBOX_DONE_DAYS": 50}],
)
def test_the_retention_is_configurable(app: Any, clock: Any) -> None:
    ids = seed(app, clock)
    assert app.extensions["spareflow"].pruner.prune() == {
        "webhook_deliveries": 0,
        "sent_emails": 0,
    }
    assert ids["old_applied"] in deliveries(app)
    clock.advance(timedelta(days=11))
    assert app.extensions["spareflow"].pruner.prune() == {
        "webhook_deliveries": 2,
        "sent_emails": 1,
    }


def test_spareflow_prune_and_the_nightly_job(app: Any, clock: Any) -> None:
    seed(app, clock)
    result = app.test_cli_runner().invoke(main, ["prune"], obj=ScriptInfo(create_app=lambda: app))
    assert result.exit_code == 0, result.output
    assert "Pruned 2 webhook deliveries, 1 sent emails" in result.output
    assert "prune_logs" in {job.id for job in JOBS}
    jobs = {
        job.id: job for job in build_scheduler(app.extensions["spareflow"], app.config).get_jobs()
    }
    assert "hour='4'" in str(jobs["prune_logs"].trigger)


def test_a_retention_below_one_day_stops_the_start(database_url: str) -> None:
    from web import create_app

    with pytest.raises(ValueError, match="RETENTION_WEBHOOK_DELIVERIES_DAYS must be at least"):
        create_app(
            {
                "DATABASE_URL": database_url,
                "SECRET_KEY": "k",
                "RETENTION_WEBHOOK_DELIVERIES_DAYS": 0,
            }
        )


def test_two_schedulers_pruning_at_once_prune_each_row_once(app: Any, clock: Any) -> None:
    import threading

    seed(app, clock)
    pruner = app.extensions["spareflow"].pruner
    results: list[dict[str, int]] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(pruner.prune(batch=1))
        except BaseException as error:  # reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert sum(r["webhook_deliveries"] for r in results) == 2
    assert sum(r["sent_emails"] for r in results) == 1
