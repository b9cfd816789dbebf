"""SF Express adapter: opCode table, both push modes, China time, token, XML safety."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import defusedxml.ElementTree as SafeET
import httpx
import pytest

from carriers.adapters.base import CarrierAdapter
from carriers.adapters.sfexpress import OPCODE_MAP, SFExpressAdapter
from carriers.events import (
    CarrierEvent,
    LabelsNotSupported,
    MalformedWebhook,
    PollingNotSupported,
    WebhookRejected,
    WebhookRequest,
)
from carriers.status import TrackingStatus

FIXTURES = Path(__file__).parents[2] / "fixtures" / "carriers" / "sfexpress"
TOKEN = "sf-push-token-7f3a"
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
T = TrackingStatus
FORM = "application/x-www-form-urlencoded; charset=UTF-8"
JSON_TYPE = "application/json;charset=UTF-8"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def form_body(xml: str | bytes) -> bytes:
    """How SF sends the XML mode: the XML, URL-encoded (UTF-8), in the form field content."""
    text = xml.decode("utf-8") if isinstance(xml, bytes) else xml
    return ("content=" + quote_plus(text)).encode("ascii")


def xml_push(xml: str | bytes, **kwargs: Any) -> WebhookRequest:
    return WebhookRequest(
        body=form_body(xml),
        headers={},
        query={"token": TOKEN},
        content_type=kwargs.get("content_type", FORM),
    )


def json_push(payload: Any, content_type: str = JSON_TYPE) -> WebhookRequest:
    body = (
        payload if isinstance(payload, bytes) else json.dumps(payload, ensure_ascii=False).encode()
    )
    return WebhookRequest(body=body, headers={}, query={"token": TOKEN}, content_type=content_type)


@pytest.fixture
def adapter() -> SFExpressAdapter:
    return SFExpressAdapter({"SFEXPRESS_WEBHOOK_TOKEN": TOKEN})


def route(**fields: Any) -> dict[str, Any]:
    base = {
        "mailno": "SF7444400031887",
        "acceptAddress": "深圳市",
        "reasonName": "",
        "orderid": "202003225d33322239ddW1df5t3",
        "acceptTime": "2020-05-11 16:56:54",
        "remark": "顺丰速运 已收取快件",
        "opCode": "50",
        "id": "158918741444476",
        "reasonCode": "",
    }
    return {**base, **fields}


def routes(*items: dict[str, Any]) -> dict[str, Any]:
    return {"Body": {"WaybillRoute": list(items)}}


# --- the opCode table --------------------------------------------------------------------

EXPECTED_OPCODES = {
    "50": T.PICKED_UP,
    "54": T.PICKED_UP,
    "501": T.IN_TRANSIT,
    "407": T.IN_TRANSIT,
    "30": T.IN_TRANSIT,
    "36": T.IN_TRANSIT,
    "31": T.IN_TRANSIT,
    "130": T.IN_TRANSIT,
    "44": T.OUT_FOR_DELIVERY,
    "204": T.OUT_FOR_DELIVERY,
    "630": T.OUT_FOR_DELIVERY,
    "80": T.DELIVERED,
    "8000": T.DELIVERED,
    "631": T.RETURNED_TO_SENDER,
}


def test_the_table_holds_exactly_the_sourced_opcodes() -> None:
    assert set(OPCODE_MAP) == set(EXPECTED_OPCODES)


@pytest.mark.parametrize(("op_code", "expected"), sorted(EXPECTED_OPCODES.items()))
def test_each_opcode_maps_to_its_normalised_status(
    adapter: SFExpressAdapter, op_code: str, expected: TrackingStatus
) -> None:
    [event] = adapter.parse_webhook(json_push(routes(route(opCode=op_code))))
    assert (event.status, event.raw_status) == (expected, op_code)


@pytest.mark.parametrize("op_code", ["648", "99", "70", "33", "123456"])
def test_an_unsourced_opcode_becomes_unknown_and_keeps_its_raw_value(
    adapter: SFExpressAdapter, op_code: str
) -> None:
    [event] = adapter.parse_webhook(json_push(routes(route(opCode=op_code))))
    assert (event.status, event.raw_status) == (T.UNKNOWN, op_code)


# --- published payloads, both modes --------------------------------------------------------

PUBLISHED = [
    CarrierEvent(
        carrier="sfexpress",
        tracking_number="SF7444400031887",
        status=T.PICKED_UP,
        raw_status="50",
        occurred_at=datetime(2020, 5, 11, 8, 56, 54, tzinfo=UTC),  # 16:56:54 in Beijing
        description="顺丰速运 已收取快件",
        location="深圳市",
        provider_event_id="158918741444476",
    ),
    CarrierEvent(
        carrier="sfexpress",
        tracking_number="SF7444400031887",
        status=T.IN_TRANSIT,
        raw_status="31",
        occurred_at=datetime(2020, 5, 11, 8, 56, 54, tzinfo=UTC),
        description="快件到达 【郑州园博中转场】",
        location="郑州市",
        provider_event_id="158918741457126",
    ),
]


def test_the_published_json_push_is_read_with_china_time_converted_to_utc(
    adapter: SFExpressAdapter,
) -> None:
    assert adapter.parse_webhook(json_push(fixture("route_push.json"))) == PUBLISHED


def test_the_published_xml_push_in_the_content_form_field_gives_the_same_events(
    adapter: SFExpressAdapter,
) -> None:
    assert adapter.parse_webhook(xml_push(fixture("route_push.xml"))) == PUBLISHED


def test_percent_encoded_spaces_in_the_form_are_read_as_well(adapter: SFExpressAdapter) -> None:
    body = ("content=" + quote(fixture("route_push.xml").decode())).encode()
    request = WebhookRequest(body, {}, query={"token": TOKEN}, content_type=FORM)
    assert adapter.parse_webhook(request) == PUBLISHED


def test_the_legacy_xml_push_is_read(adapter: SFExpressAdapter) -> None:
    assert adapter.parse_webhook(xml_push(fixture("route_push_legacy.xml"))) == [
        CarrierEvent(
            carrier="sfexpress",
            tracking_number="444010263979",
            status=T.DELIVERED,
            raw_status="80",
            occurred_at=datetime(2019, 2, 12, 10, 11, 30, tzinfo=UTC),
            description="备注",
            location="深圳市",
            provider_event_id="865038",
        )
    ]


def test_without_a_content_type_the_mode_is_recognised_from_the_body(
    adapter: SFExpressAdapter,
) -> None:
    as_json = WebhookRequest(fixture("route_push.json"), {}, query={"token": TOKEN})
    as_form = WebhookRequest(form_body(fixture("route_push.xml")), {}, query={"token": TOKEN})
    assert adapter.parse_webhook(as_json) == adapter.parse_webhook(as_form) == PUBLISHED


def test_numbers_for_opcode_and_id_are_accepted_in_json(adapter: SFExpressAdapter) -> None:
    [event] = adapter.parse_webhook(json_push(routes(route(opCode=80, id=865038))))
    assert (event.status, event.raw_status, event.provider_event_id) == (
        T.DELIVERED,
        "80",
        "865038",
    )


def test_a_single_route_object_is_read_like_a_list_of_one(adapter: SFExpressAdapter) -> None:
    events = adapter.parse_webhook(json_push({"Body": {"WaybillRoute": route()}}))
    assert events == PUBLISHED[:1]


def test_an_exception_reason_is_kept_in_the_description(adapter: SFExpressAdapter) -> None:
    [event] = adapter.parse_webhook(
        json_push(routes(route(opCode="70", remark="派件不成功", reasonName="客户不在")))
    )
    assert event.description == "派件不成功 (客户不在)"


def test_an_empty_address_gives_no_location(adapter: SFExpressAdapter) -> None:
    [event] = adapter.parse_webhook(json_push(routes(route(acceptAddress=""))))
    assert event.location is None


def test_acceptance_at_midnight_in_beijing_is_the_previous_day_in_utc(
    adapter: SFExpressAdapter,
) -> None:
    [event] = adapter.parse_webhook(json_push(routes(route(acceptTime="2024-01-01 00:30:00"))))
    assert event.occurred_at == datetime(2023, 12, 31, 16, 30, tzinfo=UTC)


# --- acknowledgements --------------------------------------------------------------------


def test_a_json_push_is_answered_with_return_code_0000(adapter: SFExpressAdapter) -> None:
    request = json_push(fixture("route_push.json"))
    ack = adapter.acknowledge(adapter.parse_webhook(request), request=request)
    assert ack.status == 200
    assert ack.content_type.startswith("application/json")
    assert json.loads(ack.body.decode("utf-8")) == {"return_code": "0000", "return_msg": "成功"}


def test_a_form_push_is_answered_with_the_xml_ok_response(adapter: SFExpressAdapter) -> None:
    request = xml_push(fixture("route_push.xml"))
    ack = adapter.acknowledge(adapter.parse_webhook(request), request=request)
    assert ack.body == b'<Response service="RoutePushService"><Head>OK</Head></Response>'
    assert "xml" in ack.content_type
    root = SafeET.fromstring(ack.body)
    assert (root.tag, root.get("service"), root.findtext("Head")) == (
        "Response",
        "RoutePushService",
        "OK",
    )


def test_without_the_request_the_configured_push_mode_decides_the_answer() -> None:
    json_mode = SFExpressAdapter({"SFEXPRESS_WEBHOOK_TOKEN": TOKEN})
    form_mode = SFExpressAdapter({"SFEXPRESS_WEBHOOK_TOKEN": TOKEN, "SFEXPRESS_PUSH_MODE": "form"})
    assert json.loads(json_mode.acknowledge([]).body)["return_code"] == "0000"
    assert form_mode.acknowledge([]).body.startswith(b"<Response")


# --- the token ---------------------------------------------------------------------------


def test_the_right_token_is_accepted(adapter: SFExpressAdapter) -> None:
    adapter.verify_webhook(json_push(fixture("route_push.json")), NOW)


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"token": ""},
        {"token": "wrong"},
        {"token": TOKEN[:-1]},
        {"token": TOKEN.upper()},
        {"Token": TOKEN},
    ],
)
def test_a_missing_or_wrong_token_is_rejected(
    adapter: SFExpressAdapter, query: dict[str, str]
) -> None:
    request = WebhookRequest(fixture("route_push.json"), {}, query=query, content_type=JSON_TYPE)
    with pytest.raises(WebhookRejected):
        adapter.verify_webhook(request, NOW)


@pytest.mark.parametrize("settings", [{}, {"SFEXPRESS_WEBHOOK_TOKEN": ""}])
def test_without_a_configured_token_every_push_is_rejected(settings: dict[str, object]) -> None:
    with pytest.raises(WebhookRejected):
        SFExpressAdapter(settings).verify_webhook(json_push(fixture("route_push.json")), NOW)


# --- hostile and malformed bodies ----------------------------------------------------------

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<Request service="RoutePushService"><Body><WaybillRoute mailno="&lol2;" opCode="50"
acceptTime="2020-05-11 16:56:54"/></Body></Request>"""

XXE = """<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<Request service="RoutePushService"><Body><WaybillRoute mailno="&xxe;" opCode="50"
acceptTime="2020-05-11 16:56:54"/></Body></Request>"""


def xml_route(**attrs: str) -> str:
    fields = {"mailno": "SF1", "opCode": "50", "acceptTime": "2020-05-11 16:56:54", **attrs}
    rendered = " ".join(f'{key}="{value}"' for key, value in fields.items())
    return f'<Request service="RoutePushService"><Body><WaybillRoute {rendered}/></Body></Request>'


MALFORMED_FORM = {
    "billion laughs": form_body(BILLION_LAUGHS),
    "external entity": form_body(XXE),
    "not xml": form_body("hello"),
    "truncated xml": form_body('<Request service="RoutePushService"><Body>'),
    "another service": form_body(xml_route().replace("RoutePushService", "OrderService")),
    "another root": form_body('<Response service="RoutePushService"/>'),
    "no body": form_body('<Request service="RoutePushService"/>'),
    "no routes": form_body('<Request service="RoutePushService"><Body/></Request>'),
    "eleven routes": form_body(
        '<Request service="RoutePushService"><Body>'
        + '<WaybillRoute mailno="SF1" opCode="50" acceptTime="2020-05-11 16:56:54"/>' * 11
        + "</Body></Request>"
    ),
    "no mailno": form_body(xml_route(mailno="")),
    "no opCode": form_body(xml_route(opCode="")),
    "acceptTime with a slash": form_body(xml_route(acceptTime="2020/05/11 16:56:54")),
    "acceptTime with a zone": form_body(xml_route(acceptTime="2020-05-11T16:56:54+08:00")),
    "acceptTime in year 0": form_body(xml_route(acceptTime="0000-05-11 16:56:54")),
    "no content field": b"data=" + quote_plus(xml_route()).encode(),
    "two content fields": form_body(xml_route()) + b"&" + form_body(xml_route()),
    "empty content": b"content=",
    "empty body": b"",
    "not utf-8": b"content=\xff\xfe" + quote_plus(xml_route()).encode(),
    "percent-encoded non-utf-8": b"content=%FF%FE",
    "too many fields": b"&".join(b"f%d=1" % i for i in range(100)),
}


@pytest.mark.parametrize("body", MALFORMED_FORM.values(), ids=MALFORMED_FORM.keys())
def test_unreadable_or_hostile_form_pushes_raise_malformed_webhook_only(
    adapter: SFExpressAdapter, body: bytes
) -> None:
    request = WebhookRequest(body, {}, query={"token": TOKEN}, content_type=FORM)
    with pytest.raises(MalformedWebhook):
        adapter.parse_webhook(request)


MALFORMED_JSON = {
    "not json": b"{Body",
    "not utf-8": b'{"Body": "\xff"}',
    "a list": b"[]",
    "no Body": b'{"WaybillRoute": []}',
    "Body a string": b'{"Body": "x"}',
    "routes a string": b'{"Body": {"WaybillRoute": "SF1"}}',
    "routes of strings": b'{"Body": {"WaybillRoute": ["SF1"]}}',
    "no routes": b'{"Body": {"WaybillRoute": []}}',
    "opCode a bool": json.dumps(routes(route(opCode=True))).encode(),
    "opCode a list": json.dumps(routes(route(opCode=[50]))).encode(),
    "mailno missing": json.dumps(routes(route(mailno=None))).encode(),
    "acceptTime a number": json.dumps(routes(route(acceptTime=1589187414))).encode(),
    "huge integer": b'{"Body": {"WaybillRoute": [{"opCode": ' + b"5" * 5000 + b"}]}}",
    "huge float": json.dumps(routes(route(opCode=1e308))).encode().replace(b"1e+308", b"1e999"),
    "deeply nested": b'{"Body": ' + b"[" * 50_000 + b"]" * 50_000 + b"}",
}


@pytest.mark.parametrize("body", MALFORMED_JSON.values(), ids=MALFORMED_JSON.keys())
def test_unreadable_json_pushes_raise_malformed_webhook_only(
    adapter: SFExpressAdapter, body: bytes
) -> None:
    with pytest.raises(MalformedWebhook):
        adapter.parse_webhook(json_push(body))


def test_sf_express_neither_polls_nor_creates_labels(adapter: SFExpressAdapter) -> None:
    assert (SFExpressAdapter.polls, SFExpressAdapter.creates_labels) == (False, False)
    with pytest.raises(PollingNotSupported):
        adapter.fetch_tracking("SF7444400031887")
    with pytest.raises(LabelsNotSupported):
        adapter.create_label(
            reference="RMA-1", from_address={}, to_address={}, idempotency_key="k-1"
        )


def test_it_is_built_the_way_build_adapters_builds_every_adapter() -> None:
    with httpx.Client() as client:
        built: CarrierAdapter = SFExpressAdapter({}, http=client)
        assert built.name == "sfexpress"


def test_a_token_made_only_of_digits_still_authenticates() -> None:
    # Settings from the environment are parsed as JSON: "123456" arrives as the number 123456.
    adapter = SFExpressAdapter({"SFEXPRESS_WEBHOOK_TOKEN": 123456})
    adapter.verify_webhook(WebhookRequest(body=b"{}", headers={}, query={"token": "123456"}), NOW)
