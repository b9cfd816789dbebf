# ruff: noqa: F811 (the desk and sandbox fixtures come from the label tests)
"""Carrier pickups booked for a prepaid return label (returns/pickups.py), against the sandbox
carrier over loopback HTTP: book, change, the window rules, idempotence, and refusals."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from carriers.events import CarrierUnavailable
from carriers.label_providers.sandbox import SandboxLabels
from carriers.labels import LabelRequest
from carriers.models import Direction
from core.errors import Conflict, InvalidInput
from core.outbox import OutboxMessage, OutboxStatus
from returns.commands import BookPickup
from returns.models import Notification
from returns.pickups import PICKUP_BOOK_TOPIC
from returns.rma import Rma
from returns.status import RmaStatus
from tests.integration.test_customer_address_rules import (  # noqa: F401
    LONDON,
    customer_with,
    easypost,
)
from tests.integration.test_return_labels import (  # noqa: F401
    DESK,
    labelled,
    rma_row,
    sandbox,
)
from tests.integration.test_returns import desk, open_rma  # noqa: F401
from tests.support import desk as builders


def window(clock: Any, *, days: int = 1, hours: int = 4, at: int = 9) -> BookPickup:
    day = clock.now().replace(hour=at, minute=0, second=0, microsecond=0) + timedelta(days=days)
    return BookPickup(day, day + timedelta(hours=hours))


def pickups_of(sandbox: httpx.Client, label_id: str) -> list[dict[str, Any]]:
    return [p for p in sandbox.get("/v1/pickups").json() if p["label_id"] == label_id]


def test_a_pickup_is_booked_with_the_provider_and_shown_on_the_rma(
    desk, sandbox, session_factory, clock
) -> None:
    number = labelled(desk)
    wanted = window(clock)
    detail = desk["returns"].pickups.book(number, wanted, actor="customer (status page)")
    rma = rma_row(session_factory, number)
    [booked] = pickups_of(sandbox, rma.return_label_id)
    assert (booked["status"], booked["address"]["name"]) == ("scheduled", "Mia Chen")
    assert (rma.pickup_starts_at, rma.pickup_ends_at) == (wanted.starts_at, wanted.ends_at)
    assert rma.pickup_id == booked["id"]
    assert (detail.pickup_starts_at, detail.pickup_ends_at) == (wanted.starts_at, wanted.ends_at)
    [note] = [t for t in detail.timeline if t.kind == "pickup"]
    assert note.actor == "customer (status page)"
    assert "2026-11-24 09:00 to 13:00 UTC" in note.reason
    assert detail.status is RmaStatus.AWAITING_PICKUP


def test_booking_the_same_window_again_books_nothing_more(desk, sandbox, session_factory, clock):
    number = labelled(desk)
    wanted = window(clock)
    desk["returns"].pickups.book(number, wanted, actor=DESK)
    # The same window, written with another UTC offset, is the same window.
    shifted = timezone(timedelta(hours=8))
    again = BookPickup(wanted.starts_at.astimezone(shifted), wanted.ends_at.astimezone(shifted))
    detail = desk["returns"].pickups.book(number, again, actor=DESK)
    assert len(pickups_of(sandbox, rma_row(session_factory, number).return_label_id)) == 1
    assert len([t for t in detail.timeline if t.kind == "pickup"]) == 1


def test_the_provider_answers_the_same_pickup_for_the_same_label_and_window(
    desk, sandbox, session_factory, clock
) -> None:
    """A process killed after the provider's answer, before our commit: the retry books the
    same pickup, not a second one."""
    number = labelled(desk)
    wanted = window(clock)
    label_id = rma_row(session_factory, number).return_label_id
    body = {"starts_at": wanted.starts_at.isoformat(), "ends_at": wanted.ends_at.isoformat()}
    first = sandbox.post(f"/v1/labels/{label_id}/pickups", json=body)
    assert first.status_code == 201
    desk["returns"].pickups.book(number, wanted, actor=DESK)
    assert rma_row(session_factory, number).pickup_id == first.json()["id"]
    assert len(pickups_of(sandbox, label_id)) == 1


def cancels_of(sandbox: httpx.Client) -> list[dict[str, Any]]:
    return list(sandbox.get("/v1/pickup-cancels").json())


def pickup_notes(desk: dict[str, Any], number: str) -> list[str]:
    return [t.reason for t in desk["returns"].get(number).timeline if t.kind == "pickup"]


def alerts(session_factory: Any, kind: str = "pickup_cancel") -> list[Notification]:
    with session_factory() as session:
        return list(session.scalars(select(Notification).where(Notification.kind == kind)))


def test_changing_the_window_books_the_new_pickup_then_cancels_the_old_one_once(
    desk, sandbox, session_factory, clock
) -> None:
    number = labelled(desk)
    desk["returns"].pickups.book(number, window(clock), actor=DESK)
    later = window(clock, days=2, hours=3, at=14)
    detail = desk["returns"].pickups.book(number, later, actor=DESK)
    rma = rma_row(session_factory, number)
    first, second = pickups_of(sandbox, rma.return_label_id)
    # The new pickup is booked and recorded before anything is cancelled.
    assert (first["status"], second["status"]) == ("scheduled", "scheduled")
    assert (rma.pickup_id, rma.pickup_starts_at) == (second["id"], later.starts_at)
    notes = [t.reason for t in detail.timeline if t.kind == "pickup"]
    assert len(notes) == 2 and f"replaces pickup {first['id']}" in notes[-1]
    # The outbox calls the old one off, once, however often the worker runs.
    assert desk["worker"].drain() == 1
    assert desk["worker"].drain() == 0
    first, second = pickups_of(sandbox, rma.return_label_id)
    assert (first["status"], second["status"]) == ("cancelled", "scheduled")
    assert cancels_of(sandbox) == [{"id": first["id"], "answer": 200}]
    assert pickup_notes(desk, number)[-1] == f"Pickup {first['id']} cancelled with sandbox"
    assert alerts(session_factory) == []


def test_booking_the_same_changed_window_twice_queues_one_cancel(
    desk, sandbox, session_factory, clock
) -> None:
    number = labelled(desk)
    desk["returns"].pickups.book(number, window(clock), actor=DESK)
    later = window(clock, days=2)
    desk["returns"].pickups.book(number, later, actor=DESK)
    desk["returns"].pickups.book(number, later, actor=DESK)  # a double submit
    assert desk["worker"].drain() == 1
    assert len(cancels_of(sandbox)) == 1


def test_a_cancel_that_fails_keeps_the_new_pickup_and_is_retried(
    desk, sandbox, session_factory, clock
) -> None:
    number = labelled(desk)
    desk["returns"].pickups.book(number, window(clock), actor=DESK)
    sandbox.post("/v1/sandbox/faults", json={"cancel_unavailable": 1})
    later = window(clock, days=2)
    desk["returns"].pickups.book(number, later, actor=DESK)
    assert desk["worker"].drain() == 1  # the provider is down: 503
    rma = rma_row(session_factory, number)
    first, second = pickups_of(sandbox, rma.return_label_id)
    assert (rma.pickup_id, rma.pickup_starts_at) == (second["id"], later.starts_at)
    assert first["status"] == "scheduled"
    clock.advance(timedelta(minutes=1))  # past the backoff
    assert desk["worker"].drain() == 1
    assert [c["answer"] for c in cancels_of(sandbox)] == [503, 200]
    assert pickups_of(sandbox, rma.return_label_id)[0]["status"] == "cancelled"
    assert rma_row(session_factory, number).pickup_id == second["id"]
    assert alerts(session_factory) == []


def test_a_refused_cancel_alerts_the_desk_once_and_keeps_the_new_pickup(
    desk, sandbox, session_factory, clock
) -> None:
    number = labelled(desk)
    desk["returns"].pickups.book(number, window(clock), actor=DESK)
    earlier = rma_row(session_factory, number).pickup_id
    sandbox.post("/v1/sandbox/faults", json={"cancel_refuse": 1})
    desk["returns"].pickups.book(number, window(clock, days=2), actor=DESK)
    assert desk["worker"].drain() == 1
    [alert] = alerts(session_factory)
    assert alert.audience == "desk" and earlier in alert.message
    assert "call the carrier" in alert.message
    assert "could not be cancelled" in pickup_notes(desk, number)[-1]
    assert rma_row(session_factory, number).pickup_id != earlier
    assert desk["worker"].drain() == 0 and len(cancels_of(sandbox)) == 1


def test_a_pickup_booked_again_before_its_cancel_runs_is_not_cancelled(
    desk, sandbox, session_factory, clock
) -> None:
    number = labelled(desk)
    first = window(clock)
    desk["returns"].pickups.book(number, first, actor=DESK)
    original = rma_row(session_factory, number).pickup_id
    desk["returns"].pickups.book(number, window(clock, days=2), actor=DESK)
    # Back to the first window before the worker ran: the sandbox answers the same pickup.
    desk["returns"].pickups.book(number, first, actor=DESK)
    assert rma_row(session_factory, number).pickup_id == original
    desk["worker"].drain()  # two cancels queued: the original's and the second's
    cancelled = [c["id"] for c in cancels_of(sandbox)]
    assert original not in cancelled and len(cancelled) == 1
    assert any("was booked again" in note for note in pickup_notes(desk, number))
    assert pickups_of(sandbox, rma_row(session_factory, number).return_label_id)[0]["status"] == (
        "scheduled"
    )


def test_a_provider_that_cannot_cancel_gets_the_new_window_and_the_desk_is_told(
    desk, sandbox, session_factory, clock, monkeypatch
) -> None:
    """Shippo's API has no cancel: the change is made, the desk cancels the old one."""
    number = labelled(desk)
    desk["returns"].pickups.book(number, window(clock), actor=DESK)
    earlier = rma_row(session_factory, number).pickup_id
    provider = desk["returns"].ctx.label_providers("sandbox")
    monkeypatch.setattr(type(provider), "cancels_pickups", False)
    later = window(clock, days=2)
    desk["returns"].pickups.book(number, later, actor=DESK)
    assert rma_row(session_factory, number).pickup_starts_at == later.starts_at
    [alert] = alerts(session_factory)
    assert earlier in alert.message and "cannot cancel" in alert.message
    assert desk["worker"].drain() == 0 and cancels_of(sandbox) == []


@pytest.mark.parametrize(
    ("make", "field", "code"),
    [
        (lambda c: window(c, days=-1), "starts_at", "past"),
        (lambda c: window(c, days=15), "starts_at", "too_far_ahead"),
        (lambda c: window(c, hours=1), "ends_at", "window_too_short"),
        (lambda c: window(c, hours=11), "ends_at", "window_too_long"),
        (
            lambda c: BookPickup(datetime(2026, 11, 24, 9), datetime(2026, 11, 24, 13)),
            "starts_at",
            "naive_time",
        ),
    ],
)
def test_a_window_outside_the_rules_is_refused_naming_the_field(
    desk, sandbox, session_factory, clock, make, field, code
) -> None:
    number = labelled(desk)
    with pytest.raises(InvalidInput) as refused:
        desk["returns"].pickups.book(number, make(clock), actor=DESK)
    assert (refused.value.field, refused.value.code) == (field, code)
    assert sandbox.get("/v1/pickups").json() == []
    assert rma_row(session_factory, number).pickup_id is None


def test_the_customers_own_parcel_gets_no_pickup(desk, sandbox, clock) -> None:
    number = open_rma(desk).number
    builders.authorise(
        desk["returns"], DESK, number, carrier="sandbox", tracking_number="SBX-OWN-1"
    )
    with pytest.raises(Conflict) as refused:
        desk["returns"].pickups.book(number, window(clock), actor=DESK)
    assert refused.value.code == "pickup_not_available"
    assert not desk["returns"].pickups.bookable(desk["returns"].get(number))


def test_a_provider_that_books_no_pickups_is_refused(desk, sandbox, session_factory, clock):
    number = labelled(desk)
    with session_factory() as session:  # a label SF Express sold (not configured here)
        session.execute(
            update(Rma).where(Rma.number == number).values(return_label_provider="sfexpress")
        )
        session.commit()
    with pytest.raises(Conflict) as refused:
        desk["returns"].pickups.book(number, window(clock), actor=DESK)
    assert refused.value.code == "pickups_not_supported"
    assert sandbox.get("/v1/pickups").json() == []


def test_a_parcel_already_with_the_carrier_gets_no_pickup(desk, sandbox, session_factory, clock):
    number = labelled(desk)
    assert desk["returns"].pickups.bookable(desk["returns"].get(number))
    with session_factory() as session:
        session.execute(update(Rma).where(Rma.number == number).values(status=RmaStatus.PICKED_UP))
        session.commit()
    with pytest.raises(Conflict, match="waits for its parcel"):
        desk["returns"].pickups.book(number, window(clock), actor=DESK)


def test_a_refused_window_names_the_field_and_records_nothing(
    desk, sandbox, session_factory, clock
) -> None:
    number = labelled(desk)
    with session_factory() as session:  # a label the provider never sold: it refuses (404)
        session.execute(update(Rma).where(Rma.number == number).values(return_label_id="lbl_x"))
        session.commit()
    with pytest.raises(InvalidInput) as refused:
        desk["returns"].pickups.book(number, window(clock), actor=DESK)
    assert (refused.value.field, refused.value.code) == ("starts_at", "pickup_refused")
    assert rma_row(session_factory, number).pickup_id is None


def test_a_window_booked_before_the_label_is_bought_goes_with_the_purchase(
    desk, sandbox, session_factory, clock, monkeypatch
) -> None:
    """A label bought again (the first one refunded, say) after a window was booked: the
    purchase carries the window's start, which SF Express sends as ``sendStartTm``."""
    number = labelled(desk)
    wanted = window(clock)
    desk["returns"].pickups.book(number, wanted, actor=DESK)
    asked: list[LabelRequest] = []
    buy = SandboxLabels.buy_label

    def recording(self: SandboxLabels, request: LabelRequest) -> Any:
        asked.append(request)
        return buy(self, request)

    monkeypatch.setattr(SandboxLabels, "buy_label", recording)
    labels = desk["returns"].labels
    payload = labels.payload(rma_row(session_factory, number), "sandbox", inbound=True)
    assert payload["pickup_starts_at"] == wanted.starts_at.isoformat()
    labels.buy(payload, f"return-label:{number}:again", Direction.INBOUND, number)
    [request] = asked
    assert request.pickup_starts_at == wanted.starts_at and request.door_pickup
    # Without a booked window, nothing is asked for.
    other = labelled(desk)
    assert (
        labels.payload(rma_row(session_factory, other), "sandbox", inbound=True)["pickup_starts_at"]
        is None
    )


def test_a_return_label_asks_for_collection_at_the_customers_door(
    desk, sandbox, session_factory, monkeypatch
) -> None:
    """SF Express books the door pickup with the order (``isDocall``): every prepaid return
    asks for it, with or without a window; an outbound label does not."""
    number = labelled(desk)
    asked: list[LabelRequest] = []
    buy = SandboxLabels.buy_label

    def recording(self: SandboxLabels, request: LabelRequest) -> Any:
        asked.append(request)
        return buy(self, request)

    monkeypatch.setattr(SandboxLabels, "buy_label", recording)
    labels = desk["returns"].labels
    payload = labels.payload(rma_row(session_factory, number), "sandbox", inbound=True)
    labels.buy(payload, f"return-label:{number}:door", Direction.INBOUND, number)
    labels.buy(payload, f"outbound-label:{number}:door", Direction.OUTBOUND, number)
    inbound, outbound = asked
    assert inbound.door_pickup and inbound.pickup_starts_at is None
    assert not outbound.door_pickup


def test_an_easypost_pickup_whose_answer_was_lost_is_not_booked_twice(
    desk, easypost, session_factory, clock
) -> None:
    """EasyPost bought the pickup but we never heard (as if killed before our commit): the
    pickup id kept before the buy leads the retry to that pickup, retrieved by id."""
    number = open_rma(desk, customer=customer_with(LONDON)).number
    builders.authorise(desk["returns"], DESK, number)
    desk["worker"].drain()
    wanted = window(clock)
    easypost.drop_answer_after_next("pickup_buy")
    with pytest.raises(CarrierUnavailable):
        desk["returns"].pickups.book(number, wanted, actor=DESK)
    [pickup_id] = easypost.pickups
    assert easypost.pickup_purchases == 1 and rma_row(session_factory, number).pickup_id is None
    with session_factory() as session:
        [record] = session.scalars(
            select(OutboxMessage).where(OutboxMessage.topic == PICKUP_BOOK_TOPIC)
        ).all()
    assert record.status is OutboxStatus.DONE  # a record: no worker ever runs it
    assert (record.payload["rma"], record.payload["provider_record"]) == (number, pickup_id)
    assert desk["worker"].drain() == 0
    detail = desk["returns"].pickups.book(number, wanted, actor=DESK)
    assert rma_row(session_factory, number).pickup_id == pickup_id
    assert (detail.pickup_starts_at, detail.pickup_ends_at) == (wanted.starts_at, wanted.ends_at)
    assert easypost.pickup_purchases == 1 and list(easypost.pickups) == [pickup_id]


def test_an_easypost_window_changed_away_from_and_chosen_again_is_booked_anew(
    desk, easypost, session_factory, clock
) -> None:
    number = open_rma(desk, customer=customer_with(LONDON)).number
    builders.authorise(desk["returns"], DESK, number)
    desk["worker"].drain()
    first_window, other = window(clock), window(clock, days=2)
    desk["returns"].pickups.book(number, first_window, actor=DESK)
    first = rma_row(session_factory, number).pickup_id
    desk["returns"].pickups.book(number, other, actor=DESK)
    desk["worker"].drain()  # the first pickup is cancelled at EasyPost
    assert easypost.pickups[first]["status"] == "canceled"
    desk["returns"].pickups.book(number, first_window, actor=DESK)
    third = rma_row(session_factory, number).pickup_id
    assert third not in (None, first) and easypost.pickups[third]["status"] == "scheduled"
    assert easypost.pickup_purchases == 3
