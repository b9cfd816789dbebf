# ruff: noqa: F811 (the desk fixture comes from test_returns.py)
"""Prepaid return labels bought from a label provider (the sandbox carrier over loopback HTTP):
the rate the rules pick, what it cost recorded on the RMA, refusals and outages, and the
refund of a label nobody used."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from carriers.label_providers.sandbox import SandboxLabels
from carriers.labels import Address, LabelRequest, Parcel
from carriers.models import Direction
from core.outbox import OutboxMessage, OutboxStatus
from returns.models import Notification
from returns.rma import Rma
from returns.status import Priority, RmaStatus
from tests.integration.test_returns import CUSTOMER, desk, open_rma, pickup  # noqa: F401
from tests.support import desk as builders
from tests.support.sandbox_servers import emptied_carrier_sandbox

DESK = "desk@x.example"


@pytest.fixture
def sandbox(carrier_sandbox: str) -> Iterator[httpx.Client]:
    with emptied_carrier_sandbox(carrier_sandbox) as http:
        yield http


def labels_for(sandbox: httpx.Client, number: str) -> list[dict[str, Any]]:
    return [label for label in sandbox.get("/v1/labels").json() if label["reference"] == number]


def labelled(desk: dict[str, Any], **fields: Any) -> str:
    """An RMA authorised without a tracking number, its label order carried out."""
    number = open_rma(desk, **fields).number
    builders.authorise(desk["returns"], DESK, number)
    desk["worker"].drain()
    return number


def rma_row(session_factory: Any, number: str) -> Rma:
    with session_factory() as session:
        rma = session.scalars(select(Rma).where(Rma.number == number)).one()
        session.expunge(rma)
        return rma


def outbox_row(session_factory: Any, key: str) -> OutboxMessage:
    with session_factory() as session:
        return session.scalars(select(OutboxMessage).where(OutboxMessage.key == key)).one()


def test_the_cheapest_label_is_bought_once_and_its_cost_recorded_on_the_rma(
    desk, sandbox, session_factory
) -> None:
    number = labelled(desk)
    rma = rma_row(session_factory, number)
    [label] = labels_for(sandbox, number)
    assert rma.status is RmaStatus.AWAITING_PICKUP
    assert (rma.return_carrier, rma.return_tracking_number) == ("sandbox", label["tracking_number"])
    assert (rma.return_label_provider, rma.return_label_id) == ("sandbox", label["id"])
    assert (rma.return_label_cost_minor, rma.return_label_currency) == (650, "usd")
    notes = [t.reason for t in desk["returns"].get(number).timeline if t.kind == "status"]
    assert "sandbox Ground, 650 usd" in notes[-1]


@pytest.mark.parametrize(
    ("fields", "cost"),
    [({"priority": Priority.URGENT}, 2900), ({"customer": {**CUSTOMER, "vip": True}}, 2900)],
)
def test_an_urgent_rma_or_a_vip_gets_the_fastest_rate(
    desk, sandbox, session_factory, fields, cost
) -> None:
    number = labelled(desk, **fields)
    assert rma_row(session_factory, number).return_label_cost_minor == cost


def test_a_label_above_the_ceiling_fails_at_once_and_the_desk_is_told_why(
    desk, sandbox, session_factory
) -> None:
    desk["returns"].ctx.labels = type(desk["returns"].ctx.labels)(ceiling_minor=500)
    number = labelled(desk)
    message = outbox_row(session_factory, f"return-label:{number}")
    assert (message.status, message.attempts) == (OutboxStatus.FAILED, 1)
    assert labels_for(sandbox, number) == []
    with session_factory() as session:
        [alert] = session.scalars(select(Notification)).all()
    assert alert.kind == "label_failed"
    assert "the cheapest label costs 6.50 USD, above the 5.00 USD ceiling" in alert.message
    assert rma_row(session_factory, number).status is RmaStatus.AUTHORISED


def test_a_refused_address_fails_at_once(desk, sandbox, session_factory) -> None:
    sandbox.post("/v1/sandbox/faults", json={"refuse": 1}).raise_for_status()
    number = labelled(desk)
    message = outbox_row(session_factory, f"return-label:{number}")
    assert message.status is OutboxStatus.FAILED
    assert "refuses this address" in message.last_error


def test_an_unavailable_provider_is_retried_with_backoff_and_buys_once(
    desk, sandbox, session_factory, clock
) -> None:
    sandbox.post("/v1/sandbox/faults", json={"unavailable": 2}).raise_for_status()
    number = labelled(desk)
    message = outbox_row(session_factory, f"return-label:{number}")
    assert (message.status, message.attempts) == (OutboxStatus.PENDING, 1)
    assert "503" in message.last_error
    assert message.next_attempt_at == clock.now() + timedelta(seconds=5)
    desk["worker"].drain()  # not due yet: nothing happens
    assert outbox_row(session_factory, f"return-label:{number}").attempts == 1
    for _ in range(2):
        clock.advance(timedelta(minutes=1))
        desk["worker"].drain()
    assert outbox_row(session_factory, f"return-label:{number}").status is OutboxStatus.DONE
    assert len(labels_for(sandbox, number)) == 1
    assert rma_row(session_factory, number).status is RmaStatus.AWAITING_PICKUP


def test_a_label_bought_before_a_crash_is_found_not_bought_again(
    desk, sandbox, session_factory, carrier_sandbox
) -> None:
    """The worker died after the provider's answer: the next attempt finds that label."""
    number = open_rma(desk).number
    builders.authorise(desk["returns"], DESK, number)
    key = f"return-label:{number}"
    with httpx.Client(timeout=10) as http:
        earlier = SandboxLabels(carrier_sandbox, http).buy_label(
            LabelRequest(
                reference=number,
                direction=Direction.INBOUND,
                from_address=Address.from_mapping({"name": "Mia Chen"}),
                to_address=Address.from_mapping({"name": "Returns"}),
                parcel=Parcel(1000),
                idempotency_key=key,
            )
        )
    with session_factory() as session:  # that attempt's lease ran out
        message = session.scalars(select(OutboxMessage).where(OutboxMessage.key == key)).one()
        message.attempts = 1
        session.commit()
    desk["worker"].drain()
    assert [label["id"] for label in labels_for(sandbox, number)] == [earlier.provider_label_id]
    assert rma_row(session_factory, number).return_tracking_number == earlier.tracking_number


def test_cancelling_before_the_pickup_refunds_the_unused_label(
    desk, sandbox, session_factory
) -> None:
    number = labelled(desk)
    desk["returns"].authorisation.cancel(DESK, number, "Customer keeps the part")
    assert rma_row(session_factory, number).return_label_refund == "requested"
    desk["worker"].drain()
    rma = rma_row(session_factory, number)
    assert rma.return_label_refund == "refunded"
    assert {"id": rma.return_label_id, "status": "refunded"} in sandbox.get("/v1/refunds").json()
    notes = [t.reason for t in desk["returns"].get(number).timeline if t.kind == "return_label"]
    assert notes[-1] == "Unused return label refunded"


def test_an_expired_authorisation_refunds_its_label_once(
    desk, sandbox, session_factory, clock
) -> None:
    number = labelled(desk)
    clock.advance(timedelta(days=40))
    assert desk["returns"].authorisation.expire_overdue() == 1
    desk["worker"].drain()
    desk["worker"].drain()
    rma = rma_row(session_factory, number)
    assert (rma.status, rma.return_label_refund) == (RmaStatus.EXPIRED, "refunded")
    refunds = [r for r in sandbox.get("/v1/refunds").json() if r["id"] == rma.return_label_id]
    assert refunds == [{"id": rma.return_label_id, "status": "refunded"}]


def test_a_label_whose_parcel_was_scanned_is_not_refunded(
    desk, sandbox, session_factory, clock
) -> None:
    number = labelled(desk)
    tracking = rma_row(session_factory, number).return_tracking_number
    pickup(desk, clock, tracking, "in_transit")
    desk["returns"].authorisation.expire_overdue()
    with session_factory() as session:
        topics = session.scalars(select(OutboxMessage.topic)).all()
    assert "return_label.refund" not in topics


# --- outbound labels for replacements --------------------------------------------------------


def test_a_replacement_ships_on_a_bought_outbound_label_and_its_delivery_is_recorded(
    desk, sandbox, session_factory, clock
) -> None:
    from returns.context import LabelSettings
    from returns.rma import Replacement
    from returns.status import ReplacementStatus, Resolution

    desk["returns"].ctx.labels = LabelSettings(outbound_carrier="sandbox")
    number = open_rma(desk, resolution=Resolution.REPLACEMENT).number
    rma = builders.authorise(
        desk["returns"], DESK, number, carrier="sandbox", tracking_number="SBX9OUT"
    )
    replacement_id = rma.replacements[0].id
    desk["returns"].outbound_labels.order("ann@x.example", replacement_id)
    desk["worker"].drain()
    view = desk["returns"].get(number)
    assert view.replacements[0].status is ReplacementStatus.SHIPPED
    [label] = labels_for(sandbox, f"{number}/R{replacement_id}")
    outbound = [s for s in view.shipments if s.tracking_number == label["tracking_number"]]
    assert [(s.direction, s.reference) for s in outbound] == [(Direction.OUTBOUND, number)]
    with session_factory() as session:
        row = session.get(Replacement, replacement_id)
        assert (row.label_provider, row.label_id, row.label_cost_minor) == (
            "sandbox",
            label["id"],
            650,
        )
        assert (row.shipped_by, row.delivered_at) == ("ann@x.example", None)
    pickup(desk, clock, label["tracking_number"], "delivered", minutes_ago=5)
    with session_factory() as session:
        row = session.get(Replacement, replacement_id)
        assert row.delivered_at == clock.now() - timedelta(minutes=5)
    # The RMA waits for its own return parcel still: the replacement's delivery is not it.
    assert desk["returns"].get(number).status is RmaStatus.AWAITING_PICKUP


def test_without_an_outbound_carrier_the_warehouse_is_told_to_ship_by_hand(desk) -> None:
    from core.errors import Conflict
    from returns.status import Resolution

    number = open_rma(desk, resolution=Resolution.REPLACEMENT).number
    rma = builders.authorise(
        desk["returns"], DESK, number, carrier="sandbox", tracking_number="SBX9OUT2"
    )
    with pytest.raises(Conflict) as refused:
        desk["returns"].outbound_labels.order("ann@x.example", rma.replacements[0].id)
    assert refused.value.code == "no_outbound_carrier"


def test_a_label_bought_after_its_rma_was_cancelled_is_refunded(
    desk, sandbox, session_factory
) -> None:
    number = open_rma(desk).number
    builders.authorise(desk["returns"], DESK, number)
    desk["returns"].authorisation.cancel(DESK, number, "Customer changed their mind")
    desk["worker"].drain()  # the label, then its refund
    desk["worker"].drain()
    rma = rma_row(session_factory, number)
    assert (rma.status, rma.return_label_refund) == (RmaStatus.CANCELLED, "refunded")
    assert [label["refunded"] for label in labels_for(sandbox, number)] == [True]
