"""Only the carrier's word (or a supervisor's) releases money; the provider's "pending" is
not a refund. Each test plays the attack or the failure against the real service, on SQLite
and PostgreSQL, with the refunds sandbox served on loopback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from carriers.events import CarrierEvent, WebhookRejected
from carriers.models import CarrierEventRecord, Direction, EventOutcome, EventSource
from carriers.services import CarrierService
from carriers.status import TrackingStatus
from carriers.tracking import store_events
from core.audit import AuditEntry
from core.db import UnitOfWork
from core.errors import Conflict, InvalidInput
from core.outbox import OutboxMessage, OutboxWorker
from inventory.status import LocationKind
from returns.context import load_rma
from returns.models import Notification
from returns.policy import ReturnPolicy
from returns.refund_provider import StripeRefunds
from returns.status import Channel, Reason, RefundStatus, Resolution, RmaStatus
from returns.stripe_webhooks import StripeRefundWebhooks, signature_header
from tests.conftest import RETURN_ADDRESS
from tests.support import desk as builders
from tests.support.sandbox_webhooks import sandbox_adapter, sandbox_payload, signed_request

FIXTURE = Path(__file__).parents[1] / "fixtures" / "stripe" / "refund_updated.json"
WHSEC = "whsec_test_refund_trigger"
DESK, ADMIN = "desk@x.example", "admin@x.example"


@pytest.fixture
def flow(
    stocked: Any,
    session_factory: Any,
    clock: Any,
    refunds_sandbox: Any,
    carrier_sandbox: str,
    refunds_made: Any,
) -> Iterator[dict[str, Any]]:
    """The returns service as the app wires it, its outbox worker and Stripe's webhooks."""
    stocked.create_location(code="MAIN/RETURNS", kind=LocationKind.RETURNS)
    with httpx.Client(timeout=10) as http:
        carriers = CarrierService(
            session_factory, clock, {"sandbox": sandbox_adapter(carrier_sandbox)}
        )
        carriers.adapters["sandbox"].http = http
        returns = builders.wire_returns(
            session_factory,
            clock,
            ReturnPolicy(auto_refund_limit_minor=20_000, customer_refund_limit_minor=90_000),
            carriers,
            StripeRefunds(refunds_sandbox[0], "sk_test_returns", http),
            return_address=RETURN_ADDRESS,
        )
        yield {
            "returns": returns,
            "carriers": carriers,
            "worker": OutboxWorker(session_factory, clock, returns.outbox_handlers()),
            "webhooks": StripeRefundWebhooks(
                session_factory, clock, returns.refund_outcomes, WHSEC
            ),
            "sandbox": refunds_sandbox[1],
            "session_factory": session_factory,
        }


def authorised(flow: dict[str, Any], tracking: str, price: str = "24.99") -> str:
    returns = flow["returns"]
    number = builders.open_rma(
        returns,
        DESK,
        customer={"name": "Mia Chen", "email": f"mia-{tracking.lower()}@example.com"},
        channel=Channel.EMAIL,
        reason=Reason.DEFECTIVE,
        resolution=Resolution.REFUND,
        payment_reference="pi_3OrderPaid",
        lines=[{"sku": "ABC-1", "qty": 1, "unit_price": Decimal(price)}],
    ).number
    builders.authorise(returns, DESK, number, carrier="sandbox", tracking_number=tracking)
    return number


def by_hand(flow: dict[str, Any], who: str, tracking: str, status: str, admin: bool) -> None:
    flow["carriers"].record_event(
        who,
        tracking_number=tracking,
        status=TrackingStatus(status),
        occurred_at=None,
        reason="Courier called: collected",
        supervisor=admin,
    )


def audit(flow: dict[str, Any], action: str) -> list[AuditEntry]:
    with UnitOfWork(flow["session_factory"]) as uow:
        return list(uow.session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def refund_messages(flow: dict[str, Any]) -> list[str]:
    with UnitOfWork(flow["session_factory"]) as uow:
        return list(
            uow.session.scalars(select(OutboxMessage.key).where(OutboxMessage.key.like("refund:%")))
        )


# --- hand-entered events ---------------------------------------------------------------------


@pytest.mark.parametrize("status", ["picked_up", "in_transit", "delivered"])
def test_a_pickup_the_desk_enters_by_hand_holds_the_refund_and_names_the_desk(
    flow: dict[str, Any], clock: Any, refunds_made: list[Any], status: str
) -> None:
    number = authorised(flow, "SBX-H1")
    by_hand(flow, DESK, "SBX-H1", status, admin=False)
    flow["worker"].drain()

    rma = flow["returns"].get(number)
    assert rma.refund_status is RefundStatus.HELD  # the old code queued the refund here
    assert rma.refund_held_by == DESK
    assert f"entered by hand by {DESK}" in rma.refund_hold_reason
    assert "Courier called: collected" in rma.refund_hold_reason
    assert refunds_made == [] and refund_messages(flow) == []
    [moved] = [t for t in rma.timeline if t.to_status is RmaStatus.PICKED_UP and t.kind == "status"]
    assert moved.actor == DESK  # not "spareflow"
    assert "Courier called: collected" in moved.reason
    [entry] = audit(flow, "refund.held")
    assert (entry.actor, entry.target, entry.reason) == (DESK, number, "Courier called: collected")


def test_the_carriers_own_scan_after_a_hand_entered_pickup_releases_the_refund(
    flow: dict[str, Any], clock: Any, refunds_made: list[Any]
) -> None:
    number = authorised(flow, "SBX-H2")
    by_hand(flow, DESK, "SBX-H2", "picked_up", admin=False)
    clock.advance(timedelta(minutes=5))
    body = sandbox_payload("SBX-H2", "in_transit", clock.now())
    flow["carriers"].receive_webhook("sandbox", signed_request(body, clock.now()))
    flow["worker"].drain()
    rma = flow["returns"].get(number)
    assert rma.refund_status is RefundStatus.RELEASED
    assert rma.refund_released_by == "spareflow"
    assert len(refunds_made) == 1


def test_an_admins_hand_entered_pickup_releases_in_their_name_within_the_limits(
    flow: dict[str, Any], refunds_made: list[Any]
) -> None:
    number = authorised(flow, "SBX-H3")
    over = authorised(flow, "SBX-H4", price="250.00")  # above the 200.00 automatic limit
    by_hand(flow, ADMIN, "SBX-H3", "picked_up", admin=True)
    by_hand(flow, ADMIN, "SBX-H4", "picked_up", admin=True)
    flow["worker"].drain()

    rma = flow["returns"].get(number)
    assert rma.refund_status is RefundStatus.RELEASED and rma.refund_released_by == ADMIN
    assert any(
        t.actor == ADMIN and "entered by hand by admin@x.example" in t.reason
        for t in rma.timeline
        if t.kind == "refund"
    )
    held = flow["returns"].get(over)
    assert held.refund_status is RefundStatus.HELD  # the automatic limits stay
    assert "above the automatic limit" in held.refund_hold_reason
    [entry] = audit(flow, "refund.released_by_hand")
    assert (entry.actor, entry.target) == (ADMIN, number)
    assert len(refunds_made) == 1


def test_a_supervisor_releases_a_hand_held_refund_with_a_reason_and_the_audit_log_says_so(
    flow: dict[str, Any], refunds_made: list[Any]
) -> None:
    number = authorised(flow, "SBX-H5")
    by_hand(flow, DESK, "SBX-H5", "picked_up", admin=False)
    with pytest.raises(Conflict) as refused:
        flow["returns"].refunds.release_by_supervisor(DESK, number, "trust me", supervisor=False)
    assert refused.value.code == "supervisor_required"
    flow["returns"].refunds.release_by_supervisor(
        ADMIN, number, "Courier note checked", supervisor=True
    )
    flow["worker"].drain()
    assert flow["returns"].get(number).refund_status is RefundStatus.RELEASED
    [entry] = audit(flow, "refund.released_by_hand")
    assert (entry.actor, entry.reason) == (ADMIN, "Courier note checked")


# --- one carrier's events move only its own parcels -------------------------------------------


def test_another_carriers_event_for_the_same_number_is_kept_unmatched_and_moves_nothing(
    flow: dict[str, Any], clock: Any, refunds_made: list[Any]
) -> None:
    number = authorised(flow, "SBX-X1")
    event = CarrierEvent(
        carrier="shippo",
        tracking_number="SBX-X1",
        status=TrackingStatus.PICKED_UP,
        raw_status="TRANSIT",
        occurred_at=clock.now(),
    )
    with UnitOfWork(flow["session_factory"]) as uow:
        store_events(
            uow.session,
            [event],
            source=EventSource.WEBHOOK,
            received_at=clock.now(),
            listeners=flow["carriers"].listeners,
        )
        uow.commit()
    flow["worker"].drain()
    view = flow["returns"].get(number)
    assert view.refund_status is RefundStatus.AWAITING_PICKUP
    assert view.status is RmaStatus.AWAITING_PICKUP
    assert view.shipments[0].status is TrackingStatus.PRE_TRANSIT
    with UnitOfWork(flow["session_factory"]) as uow:
        stored = uow.session.scalars(
            select(CarrierEventRecord).where(CarrierEventRecord.carrier == "shippo")
        ).one()
        assert (stored.outcome, stored.shipment_id) == (EventOutcome.UNMATCHED, None)
    assert refunds_made == []


def test_a_parcel_tracked_through_an_aggregator_takes_that_aggregators_events(
    flow: dict[str, Any], clock: Any
) -> None:
    carriers = flow["carriers"]
    carriers.adapters["aftership"] = carriers.adapters["sandbox"]  # any adapter: it is a name
    shipment = carriers.register_shipment(
        direction=Direction.INBOUND, carrier="UPS", tracking_number="1Z999", tracked_via="aftership"
    )
    assert (shipment.carrier, shipment.tracked_via) == ("ups", "aftership")
    for carrier in ("shippo", "aftership"):
        with UnitOfWork(flow["session_factory"]) as uow:
            store_events(
                uow.session,
                [
                    CarrierEvent(
                        carrier=carrier,
                        tracking_number="1Z999",
                        status=TrackingStatus.IN_TRANSIT,
                        raw_status=f"{carrier}-transit",
                        occurred_at=clock.now(),
                    )
                ],
                source=EventSource.WEBHOOK,
                received_at=clock.now(),
            )
            uow.commit()
    moved = carriers.get_shipment("1Z999")
    assert moved.status is TrackingStatus.IN_TRANSIT
    assert [e.raw_status for e in moved.events] == ["aftership-transit"]


# --- a second return parcel ----------------------------------------------------------------------


def test_a_second_return_parcel_for_an_authorised_rma_is_a_supervisors_act_with_a_reason(
    flow: dict[str, Any],
) -> None:
    number = authorised(flow, "SBX-P1")
    carriers = flow["carriers"]
    register = {"direction": Direction.INBOUND, "carrier": "sandbox", "reference": number}
    with pytest.raises(Conflict) as refused:
        carriers.register_shipment(tracking_number="SBX-P2", actor=DESK, **register)
    assert refused.value.code == "second_return_parcel"
    with pytest.raises(InvalidInput):
        carriers.register_shipment(
            tracking_number="SBX-P2", actor=ADMIN, supervisor=True, **register
        )
    with pytest.raises(Exception, match="SBX-P2"):
        carriers.get_shipment("SBX-P2")  # nothing was registered
    carriers.register_shipment(
        tracking_number="SBX-P2",
        actor=ADMIN,
        supervisor=True,
        reason="Customer sent the part in two boxes",
        **register,
    )
    rma = flow["returns"].get(number)
    assert any(
        t.actor == ADMIN and "SBX-P2: Customer sent the part in two boxes" in t.reason
        for t in rma.timeline
    )
    assert len(audit(flow, "rma.second_return_parcel")) == 1


# --- the provider says "pending"; its webhook says how it ended --------------------------------


def stripe_event(refund_id: str, status: str, event_id: str, created: int, **extra: Any) -> bytes:
    event = json.loads(FIXTURE.read_text())
    event["id"], event["created"] = event_id, created
    event["data"]["object"].update({"id": refund_id, "status": status, **extra})
    return json.dumps(event).encode()


def deliver(flow: dict[str, Any], clock: Any, body: bytes) -> bool:
    now = int(clock.now().timestamp())
    return flow["webhooks"].receive(body, signature_header(WHSEC, body, now))


def test_a_pending_refund_is_processing_until_the_webhook_says_succeeded_once(
    flow: dict[str, Any], clock: Any, refunds_made: list[Any]
) -> None:
    flow["sandbox"].answer_pending = True
    number = authorised(flow, "SBX-S1")
    body = sandbox_payload("SBX-S1", "picked_up", clock.now())
    flow["carriers"].receive_webhook("sandbox", signed_request(body, clock.now()))
    flow["worker"].drain()
    rma = flow["returns"].get(number)
    assert rma.refund_status is RefundStatus.PROCESSING  # the old code said "released"
    assert rma.refund_released_at is None
    refund_id = rma.refund_reference
    assert refund_id == refunds_made[0]["id"]

    now = int(clock.now().timestamp())
    succeeded = stripe_event(refund_id, "succeeded", "evt_ok_1", now)
    assert deliver(flow, clock, succeeded) is True
    rma = flow["returns"].get(number)
    assert rma.refund_status is RefundStatus.RELEASED and rma.refund_released_at == clock.now()
    timeline = len(rma.timeline)
    assert deliver(flow, clock, succeeded) is False  # a replay: stored once, applied once
    assert len(flow["returns"].get(number).timeline) == timeline
    # An older "failed" arriving late changes nothing either.
    assert deliver(flow, clock, stripe_event(refund_id, "failed", "evt_old", now - 60)) is True
    assert flow["returns"].get(number).refund_status is RefundStatus.RELEASED


def test_a_pending_refund_that_fails_goes_back_to_the_desk_and_is_sent_again_under_a_new_key(
    flow: dict[str, Any], clock: Any, refunds_made: list[Any]
) -> None:
    flow["sandbox"].answer_pending = True
    number = authorised(flow, "SBX-S2")
    flow["returns"].refunds.release_by_supervisor(ADMIN, number, "scan lost", supervisor=True)
    flow["worker"].drain()
    refund_id = flow["returns"].get(number).refund_reference
    failed = stripe_event(
        refund_id,
        "failed",
        "evt_fail_1",
        int(clock.now().timestamp()),
        failure_reason="expired_or_canceled_card",
    )
    deliver(flow, clock, failed)

    rma = flow["returns"].get(number)
    assert rma.refund_status is RefundStatus.FAILED
    assert "expired_or_canceled_card" in rma.refund_error
    with UnitOfWork(flow["session_factory"]) as uow:
        [alert] = uow.session.scalars(
            select(Notification).where(Notification.kind == "refund_failed")
        ).all()
        assert alert.audience == "desk" and number in alert.message
    # The existing retry flow: a supervisor sends it again; the refused refund's key is not
    # replayed (that would only fetch the failed refund), a new request goes out.
    flow["sandbox"].answer_pending = False
    builders.retry_refund(
        flow["returns"], ADMIN, number, "customer updated their card", supervisor=True
    )
    flow["worker"].drain()
    rma = flow["returns"].get(number)
    assert rma.refund_status is RefundStatus.RELEASED
    assert sorted(refund_messages(flow)) == [f"refund:{number}", f"refund:{number}:2"]
    assert len(refunds_made) == 2


def test_a_webhook_that_comes_before_the_refund_is_recorded_waits_and_then_applies(
    flow: dict[str, Any], clock: Any, refunds_made: list[Any]
) -> None:
    flow["sandbox"].answer_pending = True
    number = authorised(flow, "SBX-S3")
    flow["returns"].refunds.release_by_supervisor(ADMIN, number, "scan lost", supervisor=True)
    # The provider's next refund id is known to the sandbox only; read it after the fact and
    # deliver its "succeeded" event before the outbox records the refund.
    flow["worker"].drain()
    refund_id = flow["returns"].get(number).refund_reference
    with UnitOfWork(flow["session_factory"]) as uow:  # as if the outbox had not recorded it
        rma = load_rma(uow.session, number, lock=True)
        rma.refund_reference, rma.refund_status = None, RefundStatus.PENDING
        uow.commit()
    deliver(flow, clock, stripe_event(refund_id, "succeeded", "evt_early", 1))
    assert flow["returns"].get(number).refund_status is RefundStatus.PENDING  # waits
    with UnitOfWork(flow["session_factory"]) as uow:
        message = uow.session.scalars(
            select(OutboxMessage).where(OutboxMessage.key == f"refund:{number}")
        ).one()
        succeeded = flow["returns"].refund_outcomes.handler().succeeded
        succeeded(uow.session, message)
        uow.commit()
    assert flow["returns"].get(number).refund_status is RefundStatus.RELEASED


def test_a_forged_or_stale_stripe_webhook_is_refused_before_anything_is_stored(
    flow: dict[str, Any], clock: Any
) -> None:
    body = stripe_event("re_x", "succeeded", "evt_forged", int(clock.now().timestamp()))
    now = int(clock.now().timestamp())
    for header in (
        None,
        signature_header("whsec_wrong", body, now),
        signature_header(WHSEC, body, now - 301),
        signature_header(WHSEC, body + b" ", now),
    ):
        with pytest.raises(WebhookRejected):
            flow["webhooks"].receive(body, header)
    # Several v1 (a secret being rolled): one match is enough.
    rolled = f"t={now},v1={'0' * 64},v1={signature_header(WHSEC, body, now).split('v1=')[1]}"
    assert flow["webhooks"].receive(body, rolled) is True


# --- no provider configured ------------------------------------------------------------------------


def test_without_a_refund_provider_refunds_are_held_never_sent_to_a_sandbox(
    flow: dict[str, Any], clock: Any, refunds_made: list[Any]
) -> None:
    assert StripeRefunds.from_settings({}) is None
    assert StripeRefunds.from_settings({"REFUNDS_API_BASE": "https://api.stripe.com"}) is None
    returns = flow["returns"]
    returns.ctx.refund_provider = None
    number = authorised(flow, "SBX-N1")
    body = sandbox_payload("SBX-N1", "picked_up", clock.now())
    flow["carriers"].receive_webhook("sandbox", signed_request(body, clock.now()))
    rma = returns.get(number)
    assert (rma.refund_status, rma.refund_hold_reason) == (
        RefundStatus.HELD,
        "no refund provider configured",
    )
    with pytest.raises(Conflict) as refused:
        returns.refunds.release_by_supervisor(ADMIN, number, "pay it anyway", supervisor=True)
    assert refused.value.code == "no_refund_provider"
    flow["worker"].drain()
    assert refunds_made == [] and refund_messages(flow) == []
