# ruff: noqa: F811 (the shop, refunds and carrier fixtures come from the pickup and status tests)
"""Issue #21: what spareflow writes on an RMA (its timeline, the recovery and chase warnings,
the refund's error) reads in the reader's language. Real flows through the services (a pickup
booked and changed, the parcel picked up and refunded, the refund refused then sent again, the
parcel sent back, a complaint taken, handed over and turned into a return, a follow-up call, a
repair shipped back, a replacement never returned), then the pages in Chinese: none of the
English sentences, their Chinese instead; and the same page in English, word for word."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from typing import Any

from accounts.models import Role
from core.db import UnitOfWork
from returns.cases import ConvertComplaint, OpenCase
from returns.commands import BookPickup, Customer, ReturnLine
from returns.context import load_rma
from returns.followups import FollowUpOutcome, RecordCall
from returns.repairs import ShipRepair
from returns.status import (
    CaseKind,
    Channel,
    Reason,
    Resolution,
    RootCause,
)
from tests.support import desk as builders
from tests.web.test_pages import PASSWORD, sign_in
from tests.web.test_pickups_http import app_config, labelled  # noqa: F401
from tests.web.test_repair_labels import TECH, repair_ready_to_ship
from tests.web.test_status_page import (  # noqa: F401
    STAFF,
    carrier_scan,
    open_return,
    refunds_url,
    shop,
)

ADMIN = "boss@shop.example"


def _reader(app: Any, email: str, language: str) -> Any:
    """A desk member signed in, reading the pages in ``language``."""
    services = app.extensions["spareflow"]
    if services.auth.find_user(email) is None:
        services.auth.create_user(email, Role.SERVICE_DESK, PASSWORD, language=language)
    client = app.test_client()
    assert sign_in(client, email, PASSWORD).status_code == 302
    return client


def _user_id(shop: Any, email: str) -> int:
    user = shop.auth.find_user(email)
    assert user is not None
    return int(user.id)


def _timeline(html: str) -> str:
    start = html.index('id="timeline"')
    return html[start : html.index("</ol>", start)]


def _unescaped(html: str) -> str:
    return html.replace("&#39;", "'").replace("&#34;", '"').replace("&amp;", "&")


def _case(shop: Any, kind: CaseKind, description: str, cause: RootCause | None = None) -> str:
    customer = Customer(name="Mia Chen", email="mia@example.com")
    case = OpenCase(kind, customer, Channel.PHONE, description, root_cause=cause)
    return str(shop.returns.cases.open(STAFF, case).number)


def _window(shop: Any, day: int, hour: int) -> BookPickup:
    starts = (shop.clock.now() + timedelta(days=day)).replace(hour=hour, minute=0, second=0)
    return BookPickup(starts, starts + timedelta(hours=4))


def test_a_refunded_return_reads_in_chinese_from_pickup_to_the_refund_sent_again(
    app, shop, sandbox, clock, client
) -> None:
    number = labelled(shop)
    tracking = shop.returns.get(number).return_tracking_number
    # A pickup booked, then moved (the first one called off by the outbox).
    shop.returns.pickups.book(number, _window(shop, 1, 9), actor=STAFF)
    shop.returns.pickups.book(number, _window(shop, 2, 13), actor=STAFF)
    shop.outbox.drain()
    # Picked up: the refund goes out and is made.
    carrier_scan(client, clock, tracking, "picked_up")
    shop.outbox.drain()
    # The provider later refuses it; a supervisor sends it again; it is made.
    with UnitOfWork(shop.session_factory) as uow:
        rma = load_rma(uow.session, number, lock=True)
        shop.returns.refund_outcomes.provider_says(uow.session, rma, "failed", "expired_card")
        uow.commit()
    refused = shop.returns.get(number)
    assert refused.refund_error == "The payment provider reports the refund failed: expired_card"
    english = _reader(app, "en@shop.example", "en")
    chinese = _reader(app, "zh@shop.example", "zh_Hans")
    error_in_chinese = chinese.get(f"/returns/{number}").get_data(as_text=True)
    assert "支付服务商报告退款失败：expired_card" in error_in_chinese
    assert "The payment provider reports the refund" not in error_in_chinese
    builders.retry_refund(shop.returns, ADMIN, number, "new card", supervisor=True)
    shop.outbox.drain()
    # Then the carrier sends the parcel back: the desk must recover the refund.
    carrier_scan(client, clock, tracking, "returned")
    view = shop.returns.get(number)
    assert view.needs_recovery == "Refunded, but the parcel was returned to sender"

    english_sentences = [
        "Pickup booked with sandbox for ",
        "; replaces pickup ",
        "Carrier has the parcel (sandbox ",
        "Refund of ",
        "at the provider, desk alerted: expired_card (after it had succeeded: tell the customer)",
        "Refund sent again to the corrected payment pi_123: new card",
        "Refunded, but the parcel was returned to sender",
    ]
    reasons = " | ".join(entry.reason for entry in view.timeline)
    for sentence in english_sentences:  # the English is as it was written
        assert sentence in reasons, sentence
    page = _unescaped(english.get(f"/returns/{number}").get_data(as_text=True))
    for sentence in english_sentences:
        assert sentence in page, sentence

    page = _unescaped(chinese.get(f"/returns/{number}").get_data(as_text=True))
    timeline = _timeline(page)
    for sentence in [*english_sentences, "picked up", "returned_to_sender", "returned to sender"]:
        assert sentence not in timeline, sentence
    for chinese_text in (
        "已向 sandbox 预约上门取件，时间",
        "；取代上门取件",
        "承运商已收到包裹（sandbox",
        "已向 支付服务商 发送",  # the provider named in Chinese too
        "（承运商揽收）",
        "已通知客服台：expired_card（此前已成功：请告知客户）",
        "退款已重新发送至更正后的付款 pi_123：new card",
        "已退款，但包裹",
    ):
        assert chinese_text in timeline, chinese_text
    # The recovery warning above the page, in Chinese.
    warning = re.search(r'<p class="flash flash-error">([^<]*)</p>', page)
    assert warning and warning.group(1).startswith("已退款，但包裹"), page[:2000]
    assert "Refunded, but" not in warning.group(1)


def test_cases_follow_ups_repairs_and_a_replacement_never_returned_read_in_chinese(
    app, shop, clock
) -> None:
    for email, language in (("zh@shop.example", "zh_Hans"), ("en@shop.example", "en")):
        shop.auth.create_user(email, Role.SERVICE_DESK, PASSWORD, language=language)
    # A complaint taken, handed over, answered and turned into a return.
    number = _case(shop, CaseKind.COMPLAINT, "The fan rattles again", RootCause.PRODUCT_DEFECT)
    shop.ownership.take(_user_id(shop, "zh@shop.example"), number)
    shop.ownership.hand_over(STAFF, number, user_id=_user_id(shop, "en@shop.example"))
    shop.returns.closing.reply(STAFF, number, "We are looking into it.")
    converted = shop.returns.cases.convert(
        STAFF,
        number,
        ConvertComplaint(
            lines=(ReturnLine(sku="FAN-80", qty=1, unit_price=Decimal("24.99")),),
            reason=Reason.DEFECTIVE,
            resolution=Resolution.REFUND,
            payment_reference="pi_9",
        ),
    )
    # An enquiry resolved, closed and followed up: nobody answers, then the customer does.
    enquiry = _case(shop, CaseKind.ENQUIRY, "How do I fit the fan?")
    shop.returns.cases.move(STAFF, enquiry, "resolve")
    shop.returns.closing.close(STAFF, enquiry)
    [due] = shop.returns.followups.queue()
    shop.returns.followups.record(STAFF, due.id, RecordCall(FollowUpOutcome.NO_ANSWER))
    shop.returns.followups.record(
        STAFF, due.id, RecordCall(FollowUpOutcome.REACHED, 4, "Fan fitted fine")
    )
    # A repair shipped back by hand.
    repaired = repair_ready_to_ship(shop)
    shop.returns.repairs.ship(TECH, repaired, ShipRepair("sandbox", "SBX-OUT-9"))
    # An advance replacement shipped, and the return never came.
    exchange = open_return(shop, Resolution.REPLACEMENT)
    authorised = builders.authorise(
        shop.returns, STAFF, exchange, carrier="sandbox", tracking_number="SBX-NEVER"
    )
    [replacement] = authorised.replacements
    builders.ship(shop.returns, TECH, replacement.id, carrier="sandbox", tracking_number="SBX-R1")
    clock.advance(timedelta(days=60))
    assert shop.returns.authorisation.expire_overdue() >= 1
    assert shop.returns.get(exchange).needs_chase

    chinese = _reader(app, "zh@shop.example", "zh_Hans")
    english = _reader(app, "en@shop.example", "en")
    written = {
        number: [
            "Taken by zh@shop.example",
            "Handed over to en@shop.example",
            "Replied to the customer: We are looking into it.",
            "Answered the customer",
            f"Turned into return {converted.number}",
        ],
        converted.number: [f"Opened from complaint {number}"],
        enquiry: ["Follow-up call 1: no answer", "Follow-up call 1: reached, satisfaction 4/5"],
        repaired: ["Repair test passed: Runs quiet", "Repaired unit shipped back"],
        exchange: ["Advance replacement shipped, return never came: charge or chase"],
    }
    translated = {
        number: ["由 zh@shop.example 接手", "已移交给 en@shop.example", "已回复客户：We are"],
        converted.number: [f"由投诉 {number} 创建"],
        enquiry: ["第 1 次回访电话：无人接听", "满意度 4/5：Fan fitted fine"],
        repaired: ["维修测试通过：Runs quiet", "维修设备已寄回"],
        exchange: ["预先补发的替换件已寄出，但退货始终未到：请收费或催促"],
    }
    for rma, sentences in written.items():
        page = _unescaped(
            english.get(f"/returns/{rma}", follow_redirects=True).get_data(as_text=True)
        )
        for sentence in sentences:
            assert sentence in page, (rma, sentence)
        page = _unescaped(
            chinese.get(f"/returns/{rma}", follow_redirects=True).get_data(as_text=True)
        )
        timeline = _timeline(page)
        for sentence in sentences:
            assert sentence not in timeline, (rma, sentence)
        for chinese_text in translated[rma]:
            assert chinese_text in timeline, (rma, chinese_text)
        assert "已答复客户" in timeline or rma != number
        assert "Turned into return" not in timeline and "no answer" not in timeline
    chase = _unescaped(chinese.get(f"/returns/{exchange}").get_data(as_text=True))
    assert '<p class="flash flash-error">预先补发的替换件已寄出' in chase
