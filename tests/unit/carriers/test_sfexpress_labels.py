"""SF Express labels and door pickup against a loopback SF gateway (tests/support/fake_sfexpress.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from carriers.label_providers.sfexpress import (
    SfExpressLabels,
    from_settings,
    java_url_encode,
    msg_digest,
    send_start_time,
    split_city,
)
from carriers.labels import (
    Address,
    LabelProviderUnavailable,
    LabelRefused,
    LabelRequest,
    Parcel,
    PickupWindow,
    RefundOutcome,
)
from carriers.models import Direction
from carriers.registry import SECRET_SETTINGS
from tests.support.fake_sfexpress import FakeSfExpress, fake_sfexpress, fixture

# Address(name, street, city, postcode, country, ...): Chinese addresses as the desk enters them
CUSTOMER = Address(
    "张三", "科技南十二路2号", "深圳市 南山区", "518057", "CN", street2="金蝶软件园A座"
)
CUSTOMER = replace(CUSTOMER, state="广东省", phone="13800138000")
WAREHOUSE = replace(
    Address("退货仓", "黄埔区骏业路255号", "广州市黄埔区", "510000", "cn", state="广东省"),
    company="Spareflow 华南仓",
    phone="02088886666",
)


def return_label(key: str = "label-RMA-1001-1", *, door_pickup: bool = True) -> LabelRequest:
    return LabelRequest(
        reference="RMA-1001",
        direction=Direction.INBOUND,
        from_address=CUSTOMER,
        to_address=WAREHOUSE,
        parcel=Parcel(weight_grams=1250),
        idempotency_key=key,
        door_pickup=door_pickup,
    )


@pytest.fixture
def fake() -> Iterator[FakeSfExpress]:
    with fake_sfexpress() as server:
        yield server


def provider(fake: FakeSfExpress, *, timeout: float = 5.0, **overrides: str) -> SfExpressLabels:
    settings = {
        "SFEXPRESS_PARTNER_ID": fake.partner_id,
        "SFEXPRESS_CHECK_WORD": fake.check_word,
        "SFEXPRESS_API_BASE": f"{fake.base_url}/std/service",
        "SFEXPRESS_MONTHLY_CARD": "7551234567",
        **overrides,
    }
    labels = from_settings(settings, http=httpx.Client(timeout=timeout))
    assert labels is not None
    return labels


# --- signature ---------------------------------------------------------------------------


def test_signature_matches_sfs_worked_example() -> None:
    vector = fixture("signature_vector.json")
    digest = msg_digest(vector["msgData"], vector["timestamp"], vector["checkWord"])
    assert digest == vector["msgDigest"]


def test_url_encoding_is_javas_urlencoder() -> None:
    assert java_url_encode("a b*~+中") == "a+b*%7E%2B%E4%B8%AD"


def test_wrong_check_word_is_refused_for_a_person_to_fix(fake: FakeSfExpress) -> None:
    labels = provider(fake, SFEXPRESS_CHECK_WORD="not-the-check-word")
    with pytest.raises(LabelRefused) as refused:
        labels.buy_label(return_label())
    assert refused.value.code == "sf_A1006"
    assert fake.rejected_signatures == 1 and fake.orders == {}


# --- the order, the waybill, the label ---------------------------------------------------


def test_return_label_with_door_pickup(fake: FakeSfExpress) -> None:
    label = provider(fake).buy_label(return_label())

    service, order = fake.calls[0]
    assert service == "EXP_RECE_CREATE_ORDER"
    assert order["orderId"] == "label-RMA-1001-1"
    assert order["custReferenceNo"] == "RMA-1001"
    assert order["isDocall"] == 1
    assert order["monthlyCard"] == "7551234567"
    assert order["payMethod"] == 1 and order["expressTypeId"] == 1
    sender, receiver = order["contactInfoList"]
    assert sender["contactType"] == 1 and receiver["contactType"] == 2
    # Chinese addresses survive in UTF-8: province from state, city and district split
    assert (sender["contact"], sender["province"], sender["city"], sender["county"]) == (
        "张三",
        "广东省",
        "深圳市",
        "南山区",
    )
    assert sender["address"] == "科技南十二路2号 金蝶软件园A座"
    assert (receiver["city"], receiver["county"], receiver["country"]) == ("广州市", "黄埔区", "CN")
    assert receiver["company"] == "Spareflow 华南仓"
    assert order["cargoDetails"][0]["weight"] == 1.25

    assert fake.calls[1][0] == "COM_RECE_CLOUD_PRINT_WAYBILLS"
    assert fake.calls[1][1]["documents"] == [{"masterWaybillNo": label.tracking_number}]
    assert label.tracking_number == fake.orders["label-RMA-1001-1"].waybill
    assert label.provider == "sfexpress" and label.carrier == "sfexpress"
    assert label.provider_label_id == "label-RMA-1001-1"
    assert (label.cost_minor, label.currency) == (0, "cny")
    assert label.document.startswith(b"%PDF") and label.tracking_number.encode() in label.document


def test_without_door_pickup_the_customer_drops_it_off(fake: FakeSfExpress) -> None:
    provider(fake).buy_label(return_label(door_pickup=False))
    assert fake.calls[0][1]["isDocall"] == 0


def test_the_raw_request_is_utf8_form_data(fake: FakeSfExpress) -> None:
    provider(fake).buy_label(return_label())
    assert "深圳市" in json.dumps(fake.calls[0][1], ensure_ascii=False)


# --- idempotency ------------------------------------------------------------------------


def test_a_crash_after_sf_created_the_order_creates_no_second_one(fake: FakeSfExpress) -> None:
    fake.lose_next_create = True
    impatient = provider(fake, timeout=0.3)
    with pytest.raises(LabelProviderUnavailable):
        impatient.buy_label(return_label())
    assert len(fake.orders) == 1  # SF has it; we never saw the answer

    labels = provider(fake)
    found = labels.find_label(return_label())
    assert found is not None
    assert found.tracking_number == fake.orders["label-RMA-1001-1"].waybill

    again = labels.buy_label(return_label())  # SF says 8016; the order is read back
    assert again.tracking_number == found.tracking_number
    assert len(fake.orders) == 1


def test_a_reused_order_id_answered_with_the_first_waybill(fake: FakeSfExpress) -> None:
    fake.answer_duplicate_with_waybill = True
    labels = provider(fake)
    first = labels.buy_label(return_label())
    second = labels.buy_label(return_label())
    assert second.tracking_number == first.tracking_number and len(fake.orders) == 1


def test_find_label_for_an_unknown_key_is_none(fake: FakeSfExpress) -> None:
    assert provider(fake).find_label(return_label("never-bought")) is None


def test_two_labels_for_one_rma_are_two_orders(fake: FakeSfExpress) -> None:
    labels = provider(fake)
    first = labels.buy_label(return_label("label-RMA-1001-1"))
    second = labels.buy_label(return_label("label-RMA-1001-2"))
    assert first.tracking_number != second.tracking_number and len(fake.orders) == 2


# --- cancellation (the "refund") ----------------------------------------------------------


def test_cancelling_an_uncollected_order_refunds_it(fake: FakeSfExpress) -> None:
    labels = provider(fake)
    label = labels.buy_label(return_label())
    assert labels.refund_label(label) is RefundOutcome.REFUNDED
    assert fake.calls[-1] == (
        "EXP_RECE_UPDATE_ORDER",
        {"orderId": label.provider_label_id, "dealType": 2},
    )
    assert fake.orders[label.provider_label_id].cancelled


def test_cancelling_what_sf_refuses_is_refused(fake: FakeSfExpress) -> None:
    labels = provider(fake)
    label = labels.buy_label(return_label())
    fake.orders.clear()
    assert labels.refund_label(label) is RefundOutcome.REFUSED


# --- errors -------------------------------------------------------------------------------


def test_an_address_out_of_range_is_refused(fake: FakeSfExpress) -> None:
    fake.out_of_range_cities = {"深圳市"}
    with pytest.raises(LabelRefused) as refused:
        provider(fake).buy_label(return_label())
    assert refused.value.code == "out_of_service_area"
    assert "派方超范围" in refused.value.message


def test_a_500_is_retried_later(fake: FakeSfExpress) -> None:
    fake.fail_next = 1
    labels = provider(fake)
    with pytest.raises(LabelProviderUnavailable):
        labels.buy_label(return_label())
    assert labels.buy_label(return_label()).tracking_number


def test_an_unreachable_gateway_is_retried_later() -> None:
    labels = SfExpressLabels(
        partner_id="p", check_word="c", api_base="http://127.0.0.1:9/std/service"
    )
    with pytest.raises(LabelProviderUnavailable):
        labels.buy_label(return_label())


def test_a_separate_pickup_booking_is_not_offered(fake: FakeSfExpress) -> None:
    labels = provider(fake)
    label = labels.buy_label(return_label())
    start = datetime(2026, 12, 7, 9, tzinfo=UTC)
    with pytest.raises(LabelRefused) as refused:
        labels.book_pickup(label, CUSTOMER, PickupWindow(start, start + timedelta(hours=3)))
    assert refused.value.code == "pickup_not_supported"
    assert SfExpressLabels.books_pickups is False


def test_the_pickup_start_reaches_sf_as_send_start_tm_in_china_time(fake: FakeSfExpress) -> None:
    labels = provider(fake)
    # 01:30 UTC is 09:30 in China (UTC+8); SF's own sample time, written as its format says.
    start = datetime(2012, 7, 30, 1, 30, tzinfo=UTC)
    labels.buy_label(replace(return_label(), pickup_starts_at=start))
    service, order = fake.calls[0]
    assert service == "EXP_RECE_CREATE_ORDER" and order["isDocall"] == 1
    assert order["sendStartTm"] == "2012-07-30 09:30:00"
    assert (
        order["sendStartTm"] == fixture("create_order_with_pickup_time_request.json")["sendStartTm"]
    )
    # Without a window, none is sent: SF's default is "within the hour".
    labels.buy_label(return_label("label-RMA-1001-2"))
    assert "sendStartTm" not in fake.calls[-2][1]


def test_send_start_time_needs_an_offset_and_crosses_midnight_correctly() -> None:
    assert send_start_time(datetime(2026, 12, 7, 20, 15, tzinfo=UTC)) == "2026-12-08 04:15:00"
    with pytest.raises(ValueError):
        send_start_time(datetime(2026, 12, 7, 20, 15))


def test_a_pickup_cannot_be_cancelled_apart_from_its_order(fake: FakeSfExpress) -> None:
    labels = provider(fake)
    with pytest.raises(LabelRefused) as refused:
        labels.cancel_pickup("SF-order-1")
    assert refused.value.code == "pickup_cancel_not_supported"
    assert SfExpressLabels.cancels_pickups is False and fake.calls == []


# --- settings ----------------------------------------------------------------------------


def test_settings() -> None:
    assert from_settings({}) is None
    assert from_settings({"SFEXPRESS_PARTNER_ID": "X"}) is None
    labels = from_settings({"SFEXPRESS_PARTNER_ID": 123, "SFEXPRESS_CHECK_WORD": "w"})
    assert labels is not None
    assert labels.api_base == "https://bspgw.sf-express.com/std/service"
    assert labels.template_code == "fm_150_standard_123"
    assert "SFEXPRESS_CHECK_WORD" in SECRET_SETTINGS


def test_split_city() -> None:
    assert split_city("深圳市 南山区") == ("深圳市", "南山区")
    assert split_city("广州市黄埔区") == ("广州市", "黄埔区")
    assert split_city("北京市") == ("北京市", "")
