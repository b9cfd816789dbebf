"""Shippo labels against a loopback Shippo built from its API reference (fake_shippo)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime

import httpx
import pytest

from carriers.label_providers.shippo import ShippoLabels, from_settings, metadata_marker
from carriers.labels import (
    Address,
    LabelFormat,
    LabelProvider,
    LabelProviderUnavailable,
    LabelRefused,
    LabelRequest,
    Parcel,
    PickupWindow,
    RatePreference,
    RefundOutcome,
)
from carriers.models import Direction
from carriers.registry import SECRET_SETTINGS
from tests.support.fake_shippo import FakeShippoState, fake_shippo

KEY = "shippo_test_0123456789abcdef"
CUSTOMER = Address(
    name="Mr Hippo",
    street="965 Mission St.",
    city="San Francisco",
    state="CA",
    postcode="94105",
    country="US",
    phone="+1 555 341 9393",
)
WAREHOUSE = replace(
    CUSTOMER, name="Spareflow returns", street="215 Clayton St.", postcode="94117", phone=""
)
REQUEST = LabelRequest(
    reference="RMA-2026-0042",
    direction=Direction.INBOUND,
    from_address=CUSTOMER,
    to_address=WAREHOUSE,
    parcel=Parcel(weight_grams=1200),
    idempotency_key="label:rma-42:1",
)


@pytest.fixture
def shippo() -> Iterator[FakeShippoState]:
    with fake_shippo() as state:
        yield state


@pytest.fixture
def provider(shippo: FakeShippoState) -> Iterator[ShippoLabels]:
    with httpx.Client(timeout=5) as http:
        yield ShippoLabels(KEY, shippo.base_url, http=http, settle_pause=0)


def test_the_cheapest_rate_is_bought_as_a_4x6_pdf_with_our_marker(
    shippo: FakeShippoState, provider: ShippoLabels
) -> None:
    label = provider.buy_label(REQUEST)
    assert (label.provider, label.carrier, label.service) == ("shippo", "USPS", "Ground Advantage")
    assert (label.cost_minor, label.currency) == (550, "usd")
    assert label.tracking_number.startswith("9400")
    assert label.document.startswith(b"%PDF") and label.media_type == "application/pdf"
    assert label.zpl is None
    assert shippo.purchases == 1
    shipment = shippo.bodies("POST", "/shipments/")[0]
    assert shipment["async"] is False and shipment["metadata"] == "RMA-2026-0042"
    assert shipment["parcels"] == [
        {"length": "300", "width": "200", "height": "150", "distance_unit": "mm"}
        | {"weight": "1200", "mass_unit": "g"}
    ]
    assert shipment["address_from"]["street1"] == "965 Mission St."
    assert shipment["address_to"]["zip"] == "94117"
    purchase = shippo.bodies("POST", "/transactions/")[0]
    assert purchase["label_file_type"] == "PDF_4x6"
    assert purchase["metadata"] == "spareflow:label:rma-42:1" == metadata_marker(REQUEST)
    headers = next(h for m, p, _, h in shippo.requests if p == "/transactions/" and m == "POST")
    assert headers["Authorization"] == f"ShippoToken {KEY}"
    assert headers["SHIPPO-API-VERSION"] == "2018-02-08"
    label_fetch = next(h for _, p, _, h in shippo.requests if p.startswith("/labels/"))
    assert "Authorization" not in label_fetch  # the token never goes to the label's storage


def test_fastest_and_the_ceiling_choose_the_rate(
    shippo: FakeShippoState, provider: ShippoLabels
) -> None:
    fastest = provider.buy_label(
        replace(REQUEST, idempotency_key="k-fast", preference=RatePreference.FASTEST)
    )
    assert (fastest.carrier, fastest.service, fastest.cost_minor) == ("UPS", "Next Day Air", 4210)
    capped = provider.buy_label(
        replace(
            REQUEST, idempotency_key="k-cap", preference=RatePreference.FASTEST, ceiling_minor=1000
        )
    )
    assert (capped.service, capped.cost_minor) == ("Priority Mail", 925)
    with pytest.raises(LabelRefused) as refused:
        provider.buy_label(replace(REQUEST, idempotency_key="k-low", ceiling_minor=100))
    assert refused.value.code == "above_ceiling"
    assert shippo.purchases == 2


def test_a_zpl_label_is_bought_for_thermal_printers(
    shippo: FakeShippoState, provider: ShippoLabels
) -> None:
    label = provider.buy_label(replace(REQUEST, label_format=LabelFormat.ZPL))
    assert shippo.bodies("POST", "/transactions/")[0]["label_file_type"] == "ZPLII"
    assert label.document.startswith(b"^XA") and label.zpl == label.document
    assert label.media_type == "application/zpl"


def test_an_invalid_address_is_refused_and_nothing_is_bought(
    shippo: FakeShippoState, provider: ShippoLabels
) -> None:
    bad = replace(CUSTOMER, postcode="00000")
    with pytest.raises(LabelRefused) as refused:
        provider.buy_label(replace(REQUEST, from_address=bad))
    assert refused.value.code == "bad_address"
    assert "address" in refused.value.message
    assert shippo.purchases == 0


def test_a_declined_payment_is_refused(shippo: FakeShippoState, provider: ShippoLabels) -> None:
    shippo.no_funds = True
    with pytest.raises(LabelRefused) as refused:
        provider.buy_label(REQUEST)
    assert refused.value.code == "no_funds"
    # The ERROR transaction bought nothing: once paid up, the same key buys the label.
    shippo.no_funds = False
    assert provider.buy_label(REQUEST).tracking_number
    assert shippo.purchases == 1


@pytest.mark.parametrize("status", [500, 503, 429])
def test_server_trouble_and_rate_limits_are_retried_later(
    shippo: FakeShippoState, provider: ShippoLabels, status: int
) -> None:
    shippo.fail_next = status
    with pytest.raises(LabelProviderUnavailable):
        provider.buy_label(REQUEST)
    assert shippo.purchases == 0
    assert provider.buy_label(REQUEST).cost_minor == 550


def test_documented_4xx_bodies_are_refusals_that_say_why(
    shippo: FakeShippoState, provider: ShippoLabels
) -> None:
    with pytest.raises(LabelRefused) as refused:
        provider._call("POST", "/shipments/", body={"parcels": []})
    assert "address_to: This field is required." in refused.value.message
    wrong = ShippoLabels("shippo_live_nottherightone", shippo.base_url, settle_pause=0)
    with pytest.raises(LabelRefused) as unauthorised:
        wrong.buy_label(REQUEST)
    assert unauthorised.value.code == "provider_unauthorized"


def test_a_carrier_timeout_in_the_transaction_is_retried_later() -> None:
    from carriers.label_providers.shippo import refusal_from

    text = "UPS: UPS API did not respond. Please try again in a few minutes."
    assert isinstance(refusal_from(text, "the label"), LabelProviderUnavailable)


def test_a_purchase_whose_answer_was_lost_is_found_not_bought_again(
    shippo: FakeShippoState, provider: ShippoLabels
) -> None:
    shippo.lose_answer = True
    with pytest.raises(LabelProviderUnavailable):
        provider.buy_label(REQUEST)
    assert shippo.purchases == 1
    found = provider.find_label(REQUEST)
    assert found is not None
    again = provider.buy_label(REQUEST)
    assert again.provider_label_id == found.provider_label_id
    assert again.cost_minor == 550 and again.document.startswith(b"%PDF")
    assert shippo.purchases == 1
    assert len(shippo.bodies("POST", "/transactions/")) == 1
    # Another parcel's key is not mistaken for it.
    assert provider.find_label(replace(REQUEST, idempotency_key="label:rma-42:2")) is None


def test_a_queued_purchase_is_read_until_it_succeeds(
    shippo: FakeShippoState, provider: ShippoLabels
) -> None:
    shippo.queued = True
    label = provider.buy_label(REQUEST)
    assert label.tracking_number and label.document.startswith(b"%PDF")
    assert shippo.purchases == 1


def test_refunds_map_to_outcomes(shippo: FakeShippoState, provider: ShippoLabels) -> None:
    label = provider.buy_label(REQUEST)
    assert provider.refund_label(label) is RefundOutcome.REFUNDED
    assert shippo.bodies("POST", "/refunds/")[0] == {
        "transaction": label.provider_label_id,
        "async": False,
    }
    for status, outcome in [
        ("QUEUED", RefundOutcome.SUBMITTED),
        ("PENDING", RefundOutcome.SUBMITTED),
        ("ERROR", RefundOutcome.REFUSED),
    ]:
        shippo.refund_status = status
        assert provider.refund_label(label) is outcome


def test_a_pickup_is_booked_with_the_labels_carrier_account(
    shippo: FakeShippoState, provider: ShippoLabels
) -> None:
    label = provider.buy_label(REQUEST)
    window = PickupWindow(
        datetime(2026, 12, 7, 9, tzinfo=UTC), datetime(2026, 12, 7, 17, tzinfo=UTC)
    )
    booked = provider.book_pickup(label, CUSTOMER, window)
    assert booked.confirmation == "WTC28561748"
    assert booked.window == window
    sent = shippo.bodies("POST", "/pickups/")[0]
    assert sent["carrier_account"] == "078870331023437cb917f5187429b093"
    assert sent["transactions"] == [label.provider_label_id]
    assert sent["location"]["address"]["street1"] == "965 Mission St."


def test_an_unreachable_shippo_is_retried_later() -> None:
    with httpx.Client(timeout=0.5) as http:
        provider = ShippoLabels(KEY, "http://127.0.0.1:9", http=http)
        with pytest.raises(LabelProviderUnavailable):
            provider.buy_label(REQUEST)


def test_settings_build_the_provider_and_the_key_is_a_secret(shippo: FakeShippoState) -> None:
    assert "SHIPPO_API_KEY" in SECRET_SETTINGS
    assert from_settings({}) is None
    built = from_settings({"SHIPPO_API_KEY": KEY, "SHIPPO_API_BASE": shippo.base_url})
    assert built is not None
    typed: LabelProvider = built
    assert typed.name == "shippo" and typed.books_pickups
    # Shippo's API creates pickups but has no call to cancel one: a person must.
    assert not typed.cancels_pickups
    with pytest.raises(LabelRefused) as refused:
        typed.cancel_pickup("pickup_object_id")
    assert refused.value.code == "pickup_cancel_not_supported"
