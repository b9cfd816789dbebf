# ruff: noqa: F811 (the desk fixture comes from test_returns.py)
"""A prepaid label needs the customer's address: refused up front (authorising, automatic
authorisation at intake, trying a label again), and the desk corrects the address on the RMA
while no label exists. And EasyPost's exactly-once purchase through the outbox: the shipment
id is remembered on the outbox message before buying, so a lost answer buys no second label."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from carriers.adapters.easypost import EasyPostAdapter
from carriers.label_providers.easypost import EasyPostLabels
from core.audit import AuditEntry
from core.errors import Conflict, InvalidInput
from core.outbox import OutboxMessage, OutboxStatus
from returns.commands import CustomerAddress
from returns.errors import CustomerAddressRequired
from returns.policy import ReturnPolicy
from returns.status import RmaStatus
from tests.integration.test_returns import CUSTOMER, desk, open_rma  # noqa: F401
from tests.support import desk as builders
from tests.support.fake_easypost import FakeEasyPost, fake_easypost

DESK = "desk@x.example"
LONDON = CustomerAddress(
    name="Mia Chen",
    street="1 Long Acre",
    city="London",
    postcode="WC2E 9LH",
    country="GB",
    phone="+44 20 7946 0000",
)
WAREHOUSE = {
    "name": "Spareflow Returns",
    "street": "417 Montgomery Street",
    "city": "San Francisco",
    "state": "CA",
    "postcode": "94104",
    "country": "US",
}


@pytest.fixture
def easypost(desk: dict[str, Any]) -> Iterator[FakeEasyPost]:
    """Prepaid labels from EasyPost (a loopback fake speaking its documented API)."""
    with fake_easypost() as fake, httpx.Client(timeout=5.0) as http:
        provider = EasyPostLabels(fake.api_key, fake.url + "/v2", http=http)
        ctx = desk["returns"].ctx
        ctx.default_return_carrier = "easypost"
        ctx.label_providers = lambda name: provider
        ctx.addresses.warehouse_addresses[ctx.addresses.warehouse] = WAREHOUSE
        # USPS labels bought on EasyPost are followed through EasyPost's tracking adapter.
        settings = {"EASYPOST_API_KEY": fake.api_key, "EASYPOST_API_BASE": fake.url + "/v2"}
        desk["carriers"].adapters["easypost"] = EasyPostAdapter(settings, http)
        yield fake


def customer_with(address: CustomerAddress | None) -> dict[str, Any]:
    return {**CUSTOMER, "address": address}


def label_orders(session_factory: Any) -> list[OutboxMessage]:
    with session_factory() as session:
        return list(
            session.scalars(select(OutboxMessage).where(OutboxMessage.topic == "return_label.buy"))
        )


def test_authorising_for_a_label_without_an_address_is_refused_up_front(
    desk, easypost, session_factory
) -> None:
    number = open_rma(desk).number
    with pytest.raises(CustomerAddressRequired) as refused:
        builders.authorise(desk["returns"], DESK, number)
    error = refused.value
    assert (error.code, error.details["provider"]) == ("customer_address_required", "easypost")
    assert error.details["missing"] == ["name", "street", "city", "country"]
    assert desk["returns"].get(number).status is RmaStatus.REQUESTED
    assert label_orders(session_factory) == []
    # The customer's own parcel needs no address.
    done = builders.authorise(
        desk["returns"], DESK, number, carrier="sandbox", tracking_number="SBX7001"
    )
    assert done.status is RmaStatus.AWAITING_PICKUP


def test_sf_express_also_needs_a_phone_and_the_sandbox_needs_nothing(desk) -> None:
    ctx = desk["returns"].ctx
    no_phone = open_rma(
        desk, customer=customer_with(CustomerAddress(**{**LONDON.as_mapping(), "phone": ""}))
    )
    ctx.default_return_carrier = "sfexpress"
    with pytest.raises(CustomerAddressRequired) as refused:
        builders.authorise(desk["returns"], DESK, no_phone.number)
    assert refused.value.details["missing"] == ["phone"]
    ctx.default_return_carrier = "sandbox"  # the demo's carrier takes any address
    assert builders.authorise(desk["returns"], DESK, no_phone.number).status in (
        RmaStatus.AUTHORISED,
        RmaStatus.AWAITING_PICKUP,
    )


def test_automatic_authorisation_leaves_an_rma_without_an_address_for_the_desk(
    desk, easypost, session_factory
) -> None:
    desk["returns"].ctx.policy = ReturnPolicy(auto_authorise_limit_minor=100_000)
    waiting = open_rma(desk)
    assert waiting.status is RmaStatus.REQUESTED
    [note] = [t for t in waiting.timeline if t.kind == "authorisation"]
    assert "Not authorised automatically" in note.reason and "easypost" in note.reason
    assert "street" in note.reason
    assert label_orders(session_factory) == []
    addressed = open_rma(desk, customer=customer_with(LONDON))
    assert addressed.status is RmaStatus.AUTHORISED  # its label is being bought
    assert [m.key for m in label_orders(session_factory)] == [f"return-label:{addressed.number}"]


def test_the_desk_completes_the_address_then_authorises(desk, easypost, session_factory) -> None:
    number = open_rma(desk).number
    changed = desk["returns"].customer_addresses.change(DESK, number, LONDON, "Phoned the customer")
    assert changed.customer_address == LONDON
    [note] = [t for t in changed.timeline if t.kind == "customer"]
    assert note.actor == DESK
    assert note.reason == (
        "Customer address changed (name, street, city, postcode, country, phone): "
        "Phoned the customer"
    )
    with session_factory() as session:
        [entry] = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "rma.customer_address_changed")
        ).all()
    assert (entry.actor, entry.target, entry.reason) == (DESK, number, "Phoned the customer")
    assert entry.details == {"fields": ["name", "street", "city", "postcode", "country", "phone"]}
    # The same address again changes nothing (no second timeline line).
    again = desk["returns"].customer_addresses.change(DESK, number, LONDON)
    assert len(again.timeline) == len(changed.timeline)
    builders.authorise(desk["returns"], DESK, number)
    desk["worker"].drain()
    rma = desk["returns"].get(number)
    assert rma.status is RmaStatus.AWAITING_PICKUP and easypost.purchases == 1
    [shipment] = easypost.shipments.values()
    assert shipment["from_address"]["street1"] == "1 Long Acre"


def test_an_address_is_checked_by_the_intake_rules(desk) -> None:
    number = open_rma(desk).number
    bad = CustomerAddress(name="Mia", street="1 Long Acre", city="London", country="GB")
    with pytest.raises(InvalidInput) as refused:
        desk["returns"].customer_addresses.change(DESK, number, bad)
    assert (refused.value.field, refused.value.code) == ("address.postcode", "postcode_required")


def test_the_address_cannot_change_under_a_label_or_after_the_end(
    desk, easypost, session_factory, clock
) -> None:
    change = desk["returns"].customer_addresses.change
    moved = CustomerAddress(**{**LONDON.as_mapping(), "street": "2 Long Acre"})
    number = open_rma(desk, customer=customer_with(LONDON)).number
    builders.authorise(desk["returns"], DESK, number)
    with pytest.raises(Conflict) as pending:
        change(DESK, number, moved)
    assert pending.value.code == "return_label_pending"
    desk["worker"].drain()
    with pytest.raises(Conflict) as labelled:
        change(DESK, number, moved)
    assert labelled.value.code == "return_label_exists"
    ended = open_rma(desk).number
    desk["returns"].authorisation.cancel(DESK, ended, "Customer changed their mind")
    with pytest.raises(Conflict) as over:
        change(DESK, ended, moved)
    assert over.value.code == "rma_ended"
    assert desk["returns"].get(number).customer_address == LONDON


def test_after_a_refused_label_the_corrected_address_is_used_again(
    desk, easypost, session_factory, clock
) -> None:
    number = open_rma(desk, customer=customer_with(LONDON)).number
    easypost.fail_next("create", 422, "error_address.json")
    builders.authorise(desk["returns"], DESK, number)
    desk["worker"].drain()
    assert desk["returns"].label_desk.failure(number).code == "bad_address"
    moved = CustomerAddress(**{**LONDON.as_mapping(), "street": "2 Long Acre"})
    desk["returns"].customer_addresses.change(DESK, number, moved, "Typo in the street")
    desk["returns"].label_desk.retry_label(DESK, number)
    desk["worker"].drain()
    assert desk["returns"].get(number).status is RmaStatus.AWAITING_PICKUP
    [shipment] = [s for s in easypost.shipments.values() if s["postage_label"]]
    assert shipment["from_address"]["street1"] == "2 Long Acre"


def test_an_easypost_label_whose_answer_was_lost_is_not_bought_twice(
    desk, easypost, session_factory, clock
) -> None:
    """The worker heard nothing after EasyPost bought the label (as if killed before its
    commit): the shipment id it remembered first leads the next attempt to that label."""
    number = open_rma(desk, customer=customer_with(LONDON)).number
    builders.authorise(desk["returns"], DESK, number)
    easypost.drop_answer_after_next("buy")
    desk["worker"].drain()
    key = f"return-label:{number}"
    [message] = label_orders(session_factory)
    assert (message.status, message.attempts, easypost.purchases) == (OutboxStatus.PENDING, 1, 1)
    [shipment_id] = easypost.shipments
    assert message.payload["provider_record"] == shipment_id
    clock.advance(timedelta(minutes=5))
    desk["worker"].drain()
    [message] = label_orders(session_factory)
    assert (message.key, message.status, message.attempts) == (key, OutboxStatus.DONE, 2)
    assert easypost.purchases == 1 and list(easypost.shipments) == [shipment_id]
    rma = desk["returns"].get(number)
    assert rma.status is RmaStatus.AWAITING_PICKUP
    assert rma.return_tracking_number == easypost.shipments[shipment_id]["tracking_code"]
