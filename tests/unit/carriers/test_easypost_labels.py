"""EasyPost labels and pickups against a loopback EasyPost speaking its documented API."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from carriers.label_providers.easypost import EasyPostLabels, minor_units, reference_for
from carriers.labels import (
    Address,
    LabelFormat,
    LabelProviderUnavailable,
    LabelRefused,
    LabelRequest,
    Parcel,
    PickupCancelOutcome,
    PickupWindow,
    PurchasedLabel,
    RatePreference,
    RefundOutcome,
)
from carriers.models import Direction
from tests.support.fake_easypost import PDF, ZPL, FakeEasyPost, fake_easypost

CUSTOMER = Address(
    "Dr. Steve Brule",
    "179 N Harbor Dr",
    "Redondo Beach",
    "90277",
    "US",
    state="CA",
    phone="8573875756",
)
WAREHOUSE = Address(
    "Spareflow Returns",
    "417 Montgomery Street",
    "San Francisco",
    "94104",
    "us",
    state="CA",
    street2="5th Floor",
)


def request(key: str = "label-1", **changes: object) -> LabelRequest:
    values: dict[str, object] = {
        "reference": "RMA-2026-0001/R7",
        "direction": Direction.INBOUND,
        "from_address": CUSTOMER,
        "to_address": WAREHOUSE,
        "parcel": Parcel(weight_grams=1000, length_mm=300, width_mm=200, height_mm=150),
        "idempotency_key": key,
    }
    values.update(changes)
    return LabelRequest(**values)  # type: ignore[arg-type]


class Outbox:
    """What ``returns.labels.Labels.remember`` does with the outbox message, in memory: the
    first shipment id remembered for a key is the one every later attempt gets."""

    def __init__(self) -> None:
        self.records: dict[str, str] = {}

    def request(self, key: str = "label-1", **changes: object) -> LabelRequest:
        return request(
            key,
            provider_record=self.records.get(key),
            remember=lambda record: self.records.setdefault(key, record),
            **changes,
        )


@pytest.fixture
def outbox() -> Outbox:
    return Outbox()


class Bookings:
    """What ``returns.pickups.Pickups.remember`` does with the booking record, in memory: the
    pickup id remembered per label and window; a new id replaces only the one the attempt
    started from (a pickup cancelled since), else the one already there wins."""

    def __init__(self) -> None:
        self.records: dict[tuple[str, PickupWindow], str] = {}

    def book(self, labels: EasyPostLabels, label: PurchasedLabel, window: PickupWindow) -> Any:
        key = (label.provider_label_id, window)
        started_from = self.records.get(key)

        def remember(created: str) -> str:
            if self.records.get(key) not in (None, started_from):
                return self.records[key]
            self.records[key] = created
            return created

        return labels.book_pickup(
            label, CUSTOMER, window, provider_record=started_from, remember=remember
        )


@pytest.fixture
def bookings() -> Bookings:
    return Bookings()


@pytest.fixture
def fake() -> Iterator[FakeEasyPost]:
    with fake_easypost() as server:
        yield server


@pytest.fixture
def labels(fake: FakeEasyPost) -> Iterator[EasyPostLabels]:
    with httpx.Client(timeout=5.0) as http:
        yield EasyPostLabels(fake.api_key, fake.url + "/v2", http=http)


def test_the_cheapest_label_is_bought_with_the_documented_request(
    fake: FakeEasyPost, labels: EasyPostLabels
) -> None:
    label = labels.buy_label(request())
    assert (label.carrier, label.service, label.cost_minor, label.currency) == (
        "USPS",
        "GroundAdvantage",
        758,
        "usd",
    )
    assert label.document == PDF and label.media_type == "application/pdf" and label.zpl is None
    assert label.tracking_number and label.provider_label_id.startswith("shp_")
    assert fake.purchases == 1
    _, _, body = next(r for r in fake.requests if r[:2] == ("POST", "/v2/shipments"))
    sent = body["shipment"]
    assert sent["reference"] == reference_for("label-1")
    assert sent["options"]["label_format"] == "PDF"
    assert sent["options"]["print_custom_1"] == "RMA-2026-0001/R7"
    assert sent["from_address"]["street1"] == "179 N Harbor Dr"
    assert sent["to_address"]["zip"] == "94104" and sent["to_address"]["country"] == "US"
    # 1000 g = 35.27 oz, 300 x 200 x 150 mm = 11.82 x 7.88 x 5.91 in, rounded up to a tenth
    assert sent["parcel"] == {"weight": 35.3, "length": 11.9, "width": 7.9, "height": 6.0}


def test_the_fastest_label_is_bought_when_asked_and_never_above_the_ceiling(
    fake: FakeEasyPost, labels: EasyPostLabels
) -> None:
    assert labels.buy_label(request("a", preference=RatePreference.FASTEST)).service == "Express"
    capped = labels.buy_label(request("b", preference=RatePreference.FASTEST, ceiling_minor=2000))
    assert capped.service == "Priority" and capped.cost_minor == 1127
    with pytest.raises(LabelRefused) as refused:
        labels.buy_label(request("c", ceiling_minor=500))
    assert refused.value.code == "above_ceiling"
    assert fake.purchases == 2


def test_a_zpl_label_comes_with_its_pdf(fake: FakeEasyPost, labels: EasyPostLabels) -> None:
    label = labels.buy_label(request(label_format=LabelFormat.ZPL))
    assert label.zpl == ZPL and label.document == PDF
    assert ("GET", f"/v2/shipments/{label.provider_label_id}/label", None) in fake.requests


def test_a_zpl_label_comes_with_its_pdf_converted(
    fake: FakeEasyPost, labels: EasyPostLabels
) -> None:
    label = labels.buy_label(request(label_format=LabelFormat.ZPL))
    assert fake.conversions == ["pdf"]  # bought as ZPL: only the PDF is converted
    assert label.media_type == "application/pdf"


def test_a_pdf_label_found_when_zpl_is_wanted_is_converted_to_zpl(
    fake: FakeEasyPost, labels: EasyPostLabels, outbox: Outbox
) -> None:
    """A label bought as PDF (before SPAREFLOW_LABEL_FORMAT became zpl) and found again by a
    ZPL request: EasyPost converts it (GET .../label?file_format=ZPL), nothing is bought."""
    bought = labels.buy_label(outbox.request())
    found = labels.find_label(outbox.request(label_format=LabelFormat.ZPL))
    assert found is not None and found.tracking_number == bought.tracking_number
    assert (found.document, found.zpl) == (PDF, ZPL)
    assert fake.conversions == ["zpl"] and fake.purchases == 1


def test_a_pdf_label_keeps_the_zpl_easypost_already_has(
    fake: FakeEasyPost, labels: EasyPostLabels, outbox: Outbox
) -> None:
    bought = labels.buy_label(outbox.request())
    postage = fake.shipments[bought.provider_label_id]["postage_label"]
    postage["label_zpl_url"] = f"{fake.url}/files/{bought.provider_label_id}.zpl"
    again = labels.buy_label(outbox.request())
    assert (again.document, again.zpl) == (PDF, ZPL) and fake.conversions == []


def test_the_same_key_never_buys_twice_and_find_label_returns_it(
    fake: FakeEasyPost, labels: EasyPostLabels, outbox: Outbox
) -> None:
    assert labels.find_label(outbox.request()) is None
    first = labels.buy_label(outbox.request())
    assert outbox.records == {"label-1": first.provider_label_id}
    again = labels.buy_label(outbox.request())
    assert again.tracking_number == first.tracking_number and fake.purchases == 1
    found = labels.find_label(outbox.request())
    assert found is not None and found.provider_label_id == first.provider_label_id
    assert len(fake.shipments) == 1


def test_the_shipment_id_is_remembered_before_anything_is_bought(
    fake: FakeEasyPost, labels: EasyPostLabels
) -> None:
    seen: list[tuple[str, int]] = []

    def remember(record: str) -> str:
        seen.append((record, fake.purchases))
        return record

    label = labels.buy_label(request(remember=remember))
    assert seen == [(label.provider_label_id, 0)] and fake.purchases == 1


def test_a_failing_remember_buys_nothing(fake: FakeEasyPost, labels: EasyPostLabels) -> None:
    def remember(record: str) -> str:
        raise RuntimeError("database gone")

    with pytest.raises(RuntimeError):
        labels.buy_label(request(remember=remember))
    assert fake.purchases == 0


def test_an_attempt_that_remembered_second_goes_on_with_the_first_shipment(
    fake: FakeEasyPost, labels: EasyPostLabels, outbox: Outbox
) -> None:
    stale = outbox.request()  # claimed before the other attempt remembered its shipment
    first = labels.buy_label(outbox.request())
    second = labels.buy_label(stale)
    assert second.provider_label_id == first.provider_label_id and fake.purchases == 1


def test_shipments_are_never_looked_up_by_reference(
    fake: FakeEasyPost, labels: EasyPostLabels, outbox: Outbox
) -> None:
    labels.buy_label(outbox.request())
    labels.buy_label(outbox.request())
    ids = set(fake.shipments)
    for method, path, _ in fake.requests:
        if method == "GET" and path.startswith("/v2/shipments/"):
            assert path.split("/")[3] in ids, path
    sid = next(iter(ids))
    assert (
        fake.handle("GET", f"/v2/shipments/{fake.shipments[sid]['reference']}", {}, None)[0] == 404
    )


def test_a_buy_whose_answer_was_lost_is_found_on_retry_and_not_bought_again(
    fake: FakeEasyPost, labels: EasyPostLabels, outbox: Outbox
) -> None:
    fake.drop_answer_after_next("buy")
    with pytest.raises(LabelProviderUnavailable) as lost:
        labels.buy_label(outbox.request())
    assert lost.value.code == "unreachable" and fake.purchases == 1
    found = labels.find_label(outbox.request())
    label = labels.buy_label(outbox.request())
    assert found is not None and found.tracking_number == label.tracking_number
    assert fake.purchases == 1 and len(fake.shipments) == 1
    assert label.tracking_number == next(iter(fake.shipments.values()))["tracking_code"]


def test_a_shipment_created_before_a_crash_is_rerated_and_bought_not_created_again(
    fake: FakeEasyPost, labels: EasyPostLabels, outbox: Outbox
) -> None:
    fake.fail_next("buy", 500, "error_internal.json")
    with pytest.raises(LabelProviderUnavailable) as down:
        labels.buy_label(outbox.request())
    assert down.value.code == "provider_error"
    fake.expire_rates()
    label = labels.buy_label(outbox.request())
    assert fake.purchases == 1 and len(fake.shipments) == 1
    assert any(r[1].endswith("/rerate") for r in fake.requests) and label.cost_minor == 758


@pytest.mark.parametrize(
    ("operation", "status", "body", "kind", "code"),
    [
        ("create", 422, "error_address.json", LabelRefused, "bad_address"),
        ("buy", 402, "error_payment.json", LabelRefused, "insufficient_funds"),
        ("buy", 422, "error_postage_funds.json", LabelRefused, "insufficient_funds"),
        ("buy", 422, "error_rate_unavailable.json", LabelProviderUnavailable, "rate_expired"),
        ("create", 500, "error_internal.json", LabelProviderUnavailable, "provider_error"),
        ("create", 503, "error_internal.json", LabelProviderUnavailable, "provider_error"),
        (
            "buy",
            429,
            {"error": {"code": "RATE_LIMITED", "message": "Too many requests"}},
            LabelProviderUnavailable,
            "rate_limited",
        ),
    ],
)
def test_each_documented_error_says_whether_trying_again_can_help(
    fake: FakeEasyPost,
    labels: EasyPostLabels,
    operation: str,
    status: int,
    body: str | dict[str, object],
    kind: type[Exception],
    code: str,
) -> None:
    fake.fail_next(operation, status, body)  # type: ignore[arg-type]
    with pytest.raises(kind) as failed:
        labels.buy_label(request())
    assert failed.value.code == code  # type: ignore[attr-defined]
    assert fake.purchases == 0
    if kind is LabelProviderUnavailable:
        labels.buy_label(request())  # the retry succeeds, once
        assert fake.purchases == 1


def test_the_address_refusal_names_the_fields(fake: FakeEasyPost, labels: EasyPostLabels) -> None:
    fake.fail_next("create", 422, "error_address.json")
    with pytest.raises(LabelRefused) as refused:
        labels.buy_label(request())
    assert "House number is missing" in refused.value.message
    assert refused.value.details["easypost_code"] == "ADDRESS.VERIFY.FAILURE"


def test_a_wrong_key_is_refused_and_a_silent_server_is_unavailable(fake: FakeEasyPost) -> None:
    with httpx.Client(timeout=5.0) as http:
        wrong = EasyPostLabels("EZAK_wrong", fake.url + "/v2", http=http)
        with pytest.raises(LabelRefused) as refused:
            wrong.buy_label(request())
        assert refused.value.code == "not_authorised"
    with httpx.Client(timeout=1.0) as http:
        nowhere = EasyPostLabels("EZTK_x", "http://127.0.0.1:9/v2", http=http)
        with pytest.raises(LabelProviderUnavailable):
            nowhere.buy_label(request())


@pytest.mark.parametrize(
    ("refund_status", "outcome"),
    [
        ("submitted", RefundOutcome.SUBMITTED),
        ("refunded", RefundOutcome.REFUNDED),
        ("rejected", RefundOutcome.REFUSED),
        ("not_applicable", RefundOutcome.REFUSED),
    ],
)
def test_refunds_map_easyposts_refund_status(
    fake: FakeEasyPost, labels: EasyPostLabels, refund_status: str, outcome: RefundOutcome
) -> None:
    label = labels.buy_label(request())
    fake.refund_status = refund_status
    assert labels.refund_label(label) is outcome
    assert ("POST", f"/v2/shipments/{label.provider_label_id}/refund", None) in fake.requests


def test_a_refund_easypost_will_not_take_is_refused(
    fake: FakeEasyPost, labels: EasyPostLabels
) -> None:
    label = labels.buy_label(request())
    fake.fail_next("refund", 422, "error_refund_unavailable.json")
    assert labels.refund_label(label) is RefundOutcome.REFUSED


def test_a_pickup_is_booked_at_the_cheapest_pickup_rate_once(
    fake: FakeEasyPost, labels: EasyPostLabels, bookings: Bookings
) -> None:
    label = labels.buy_label(request())
    window = PickupWindow(
        datetime(2026, 12, 7, 9, tzinfo=UTC), datetime(2026, 12, 7, 17, tzinfo=UTC)
    )
    booked = bookings.book(labels, label, window)
    assert booked.confirmation and booked.provider_pickup_id.startswith("pickup_")
    pickup = fake.pickups[booked.provider_pickup_id]
    assert pickup["bought"] == {"carrier": "USPS", "service": "NextDay"}
    assert (pickup["min_datetime"], pickup["max_datetime"]) == (
        "2026-12-07T09:00:00Z",
        "2026-12-07T17:00:00Z",
    )
    assert pickup["shipment_id"] == label.provider_label_id
    assert bookings.records == {(label.provider_label_id, window): booked.provider_pickup_id}
    again = bookings.book(labels, label, window)
    assert again.provider_pickup_id == booked.provider_pickup_id and fake.pickup_purchases == 1
    assert list(fake.pickups) == [booked.provider_pickup_id]


WINDOW = PickupWindow(datetime(2026, 12, 7, 9, tzinfo=UTC), datetime(2026, 12, 7, 17, tzinfo=UTC))


def test_a_pickup_is_cancelled_and_a_second_cancel_is_still_success(
    fake: FakeEasyPost, labels: EasyPostLabels
) -> None:
    booked = labels.book_pickup(labels.buy_label(request()), CUSTOMER, WINDOW)
    assert labels.cancel_pickup(booked.provider_pickup_id) is PickupCancelOutcome.CANCELLED
    assert fake.pickups[booked.provider_pickup_id]["status"] == "canceled"
    # A retry: EasyPost refuses the second cancel; the pickup itself says it is cancelled.
    assert labels.cancel_pickup(booked.provider_pickup_id) is PickupCancelOutcome.CANCELLED
    assert fake.pickup_cancels == [booked.provider_pickup_id] * 2
    assert labels.cancels_pickups


def test_cancelling_an_unknown_pickup_says_so_and_errors_keep_their_meaning(
    fake: FakeEasyPost, labels: EasyPostLabels
) -> None:
    assert labels.cancel_pickup("pickup_unknown") is PickupCancelOutcome.UNKNOWN
    booked = labels.book_pickup(labels.buy_label(request()), CUSTOMER, WINDOW)
    fake.fail_next("pickup_cancel", 500, "error_internal.json")
    with pytest.raises(LabelProviderUnavailable):
        labels.cancel_pickup(booked.provider_pickup_id)
    fake.fail_next("pickup_cancel", 422, "error_pickup_cancel.json")  # too late: still booked
    with pytest.raises(LabelRefused) as refused:
        labels.cancel_pickup(booked.provider_pickup_id)
    assert refused.value.code == "pickup_cancel_refused"
    assert fake.pickups[booked.provider_pickup_id]["status"] == "scheduled"


def test_a_window_booked_again_after_its_cancel_gets_a_new_pickup(
    fake: FakeEasyPost, labels: EasyPostLabels, bookings: Bookings
) -> None:
    label = labels.buy_label(request())
    first = bookings.book(labels, label, WINDOW)
    labels.cancel_pickup(first.provider_pickup_id)
    again = bookings.book(labels, label, WINDOW)
    assert again.provider_pickup_id != first.provider_pickup_id
    assert fake.pickups[again.provider_pickup_id]["status"] == "scheduled"
    assert bookings.records[(label.provider_label_id, WINDOW)] == again.provider_pickup_id
    # ...and a retry of that booking finds it, buying nothing more.
    assert bookings.book(labels, label, WINDOW).provider_pickup_id == again.provider_pickup_id
    assert fake.pickup_purchases == 2


def test_a_pickup_whose_bought_answer_was_lost_is_retrieved_by_id_not_bought_again(
    fake: FakeEasyPost, labels: EasyPostLabels, bookings: Bookings
) -> None:
    label = labels.buy_label(request())
    fake.drop_answer_after_next("pickup_buy")
    with pytest.raises(LabelProviderUnavailable):
        bookings.book(labels, label, WINDOW)
    [pickup_id] = fake.pickups
    assert fake.pickup_purchases == 1 and fake.pickups[pickup_id]["status"] == "scheduled"
    assert bookings.records[(label.provider_label_id, WINDOW)] == pickup_id  # kept before buy
    again = bookings.book(labels, label, WINDOW)
    assert again.provider_pickup_id == pickup_id
    assert again.confirmation == fake.pickups[pickup_id]["confirmation"]
    assert (fake.pickup_purchases, list(fake.pickups)) == (1, [pickup_id])
    assert ("GET", f"/v2/pickups/{pickup_id}", None) in fake.requests


def test_a_remembered_pickup_that_was_not_bought_is_bought_on_retry(
    fake: FakeEasyPost, labels: EasyPostLabels, bookings: Bookings
) -> None:
    label = labels.buy_label(request())
    fake.fail_next("pickup_buy", 500, "error_internal.json")
    with pytest.raises(LabelProviderUnavailable):
        bookings.book(labels, label, WINDOW)
    [pickup_id] = fake.pickups
    assert fake.pickups[pickup_id]["status"] == "unknown"  # created, not bought
    assert bookings.book(labels, label, WINDOW).provider_pickup_id == pickup_id
    assert (fake.pickup_purchases, list(fake.pickups)) == (1, [pickup_id])


def test_a_lost_create_answer_costs_an_unbought_pickup_and_nothing_more(
    fake: FakeEasyPost, labels: EasyPostLabels, bookings: Bookings
) -> None:
    label = labels.buy_label(request())
    fake.drop_answer_after_next("pickup_create")
    with pytest.raises(LabelProviderUnavailable):
        bookings.book(labels, label, WINDOW)
    assert bookings.records == {} and fake.pickup_purchases == 0
    booked = bookings.book(labels, label, WINDOW)
    statuses = sorted(p["status"] for p in fake.pickups.values())
    assert statuses == ["scheduled", "unknown"] and fake.pickup_purchases == 1
    assert fake.pickups[booked.provider_pickup_id]["status"] == "scheduled"


def test_an_attempt_that_remembered_second_books_the_first_attempts_pickup(
    fake: FakeEasyPost, labels: EasyPostLabels
) -> None:
    label = labels.buy_label(request())
    first = labels.book_pickup(label, CUSTOMER, WINDOW)
    second = labels.book_pickup(
        label, CUSTOMER, WINDOW, remember=lambda _: first.provider_pickup_id
    )
    assert second.provider_pickup_id == first.provider_pickup_id and fake.pickup_purchases == 1


def test_pickups_are_never_looked_up_by_reference(
    fake: FakeEasyPost, labels: EasyPostLabels, bookings: Bookings
) -> None:
    label = labels.buy_label(request())
    bookings.book(labels, label, WINDOW)
    bookings.book(labels, label, WINDOW)
    for method, path, body in fake.requests:
        if method == "GET" and path.startswith("/v2/pickups/"):
            assert path.split("/")[3] in fake.pickups, path
        if method == "POST" and path == "/v2/pickups":
            assert "reference" not in body["pickup"]
    # As EasyPost documents it, the fake retrieves a pickup by its id only.
    status, created = fake.handle(
        "POST",
        "/v2/pickups",
        {},
        {"pickup": {"reference": "sf-pickup-x", "shipment": {"id": label.provider_label_id}}},
    )
    assert status == 201 and fake.handle("GET", "/v2/pickups/sf-pickup-x", {}, None)[0] == 404
    assert fake.handle("GET", f"/v2/pickups/{created['id']}", {}, None)[0] == 200


def test_settings_build_the_provider_only_with_a_key() -> None:
    assert EasyPostLabels.from_settings({}) is None
    assert EasyPostLabels.from_settings({"EASYPOST_API_KEY": ""}) is None
    made = EasyPostLabels.from_settings(
        {"EASYPOST_API_KEY": "EZTK_abc", "EASYPOST_API_BASE": "http://127.0.0.1:1/v2"}
    )
    assert made is not None and made.test_mode
    live = EasyPostLabels.from_settings({"EASYPOST_API_KEY": "EZAK_abc"})
    assert live is not None and not live.test_mode


def test_prices_become_minor_units() -> None:
    assert minor_units("7.58", "USD") == 758
    assert minor_units("12", "usd") == 1200
    assert minor_units("1500", "JPY") == 1500
    assert minor_units("0.005", "USD") == 1
