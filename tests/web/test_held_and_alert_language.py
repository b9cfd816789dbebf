# ruff: noqa: F811 (the shop and refunds fixtures come from the status page tests)
"""Issue #21, the rest: why a refund is held (on the RMA page and its timeline), the "why" of a
refund released by an admin's scan entered by hand, the desk's alerts, a portal return's lines
and timeline rows written with templates since reworded read in the reader's language. Real
flows through the services where they are cheap, then the pages in Chinese (none of the English,
its Chinese instead) and in English, word for word."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest

from accounts.models import Role
from carriers.status import TrackingStatus
from core.db import UnitOfWork
from core.errors import InvalidInput, Text, filled
from returns.alert_texts import ALERTS, alert_text
from returns.context import load_rma
from returns.conversation import record_customer_message
from returns.escalation import WARNING
from returns.labels import GAVE_UP, NO_INSTRUCTIONS_ALERT
from returns.notifications import notify
from returns.portal import PortalLine, description_of
from returns.rma import RmaTransition
from returns.shifts import zone
from returns.status import Channel, Reason, Resolution
from returns.timeline_texts import LEGACY
from tests.support import desk as builders
from tests.web.test_pages import PASSWORD, sign_in
from tests.web.test_status_page import (  # noqa: F401
    STAFF,
    carrier_scan,
    refunds_url,
    shop,
    status_page_config,
)
from tests.web.test_timeline_language import _timeline, _unescaped

ADMIN = "boss@shop.example"
FLAGGED = "flagged@example.com"


@pytest.fixture
def app_config(smtp_sink: Any, refunds_url: str) -> dict[str, Any]:
    return status_page_config(smtp_sink, refunds_url) | {
        "RETURNS_FLAGGED_CUSTOMERS": [FLAGGED],
        "RETURNS_AUTO_REFUND_LIMIT_MINOR": 5_000,
    }


def _reader(app: Any, email: str, language: str, role: Role = Role.SERVICE_DESK) -> Any:
    services = app.extensions["spareflow"]
    if services.auth.find_user(email) is None:
        services.auth.create_user(email, role, PASSWORD, language=language)
    client = app.test_client()
    assert sign_in(client, email, PASSWORD).status_code == 302
    return client


def _opened(shop: Any, price: str = "24.99", **fields: Any) -> str:
    """A return opened by the desk, for a refund to the card ``pi_123``."""
    command = {
        "customer": {"name": "Mia Chen", "email": "mia@example.com"},
        "channel": Channel.WEB,
        "reason": Reason.DEFECTIVE,
        "resolution": Resolution.REFUND,
        "payment_reference": "pi_123",
        "lines": [{"sku": "FAN-80", "qty": 1, "unit_price": Decimal(price)}],
    }
    return str(builders.open_rma(shop.returns, STAFF, **(command | fields)).number)


def _return(
    shop: Any, tracking: str, *, email: str = "mia@example.com", price: str = "24.99"
) -> str:
    """A return authorised with the customer's own parcel (``tracking``)."""
    number = _opened(shop, price, customer={"name": "Mia Chen", "email": email})
    builders.authorise(shop.returns, STAFF, number, carrier="sandbox", tracking_number=tracking)
    return number


def _by_hand(shop: Any, who: str, tracking: str, reason: str, supervisor: bool = False) -> None:
    """The parcel's pickup, entered by hand by ``who``."""
    shop.carriers.record_event(
        who,
        tracking_number=tracking,
        status=TrackingStatus.PICKED_UP,
        occurred_at=None,
        reason=reason,
        supervisor=supervisor,
    )


def _page(client: Any, number: str) -> str:
    return _unescaped(client.get(f"/returns/{number}").get_data(as_text=True))


def _held(page: str) -> str:
    found = re.search(r'<dd id="refund-hold">(.*?)</dd>', page, re.DOTALL)
    assert found, page[:3000]
    return found.group(1)


def test_why_a_refund_is_held_or_released_reads_in_chinese(app, shop, clock, client) -> None:
    flagged = _return(shop, "SBX-FLAG", email=FLAGGED)
    carrier_scan(client, clock, "SBX-FLAG", "picked_up")
    dear = _return(shop, "SBX-DEAR", price="99.00")
    carrier_scan(client, clock, "SBX-DEAR", "picked_up")
    by_desk = _return(shop, "SBX-DESK")
    _by_hand(shop, STAFF, "SBX-DESK", "Courier phoned")
    booked_in = _return(shop, "SBX-BOOK")
    builders.receive(shop.returns, STAFF, booked_in, lines=[{"sku": "FAN-80", "qty": 1}])
    by_admin = _return(shop, "SBX-ADMIN")
    _by_hand(shop, ADMIN, "SBX-ADMIN", "Depot confirmed collection", supervisor=True)

    held = {
        flagged: ("the customer is flagged for review", "客户被标记为需审核"),
        dear: ("99.00 USD is above the automatic limit", "99.00 USD 超出自动退款限额"),
        by_desk: (
            f"picked up entered by hand by {STAFF} (Courier phoned); "
            "waits for a supervisor or the carrier's own scan",
            f"已揽收 由 {STAFF} 手工录入（Courier phoned）；等待主管或承运商自己的扫描",
        ),
        booked_in: (
            f"parcel booked in by {STAFF} before any carrier scan; "
            "waits for a supervisor or the carrier's own scan",
            f"包裹在承运商任何扫描之前由 {STAFF} 入库；等待主管或承运商自己的扫描",
        ),
    }
    english = _reader(app, "en@shop.example", "en")
    chinese = _reader(app, "zh@shop.example", "zh_Hans")
    for number, (words, chinese_words) in held.items():
        assert shop.returns.get(number).refund_hold_reason == words  # the API's English
        page = _page(english, number)
        assert _held(page).startswith(words), (number, _held(page))
        assert f"Refund held for a supervisor: {words}" in _timeline(page)
        page = _page(chinese, number)
        assert _held(page).startswith(chinese_words), (number, _held(page))
        assert f"退款等待主管处理：{chinese_words}" in _timeline(page)
        assert words not in page and "Refund held" not in _timeline(page)

    # An admin's word releases it: the refund's line says whose, in the reader's language.
    released = f"(picked up entered by hand by {ADMIN}: Depot confirmed collection)"
    assert released in _page(english, by_admin)
    timeline = _timeline(_page(chinese, by_admin))
    assert f"（已揽收 由 {ADMIN} 手工录入：Depot confirmed collection）" in timeline
    assert "entered by hand" not in timeline


def test_the_desks_alerts_read_in_chinese(app, shop, clock, client) -> None:
    number = _return(shop, "SBX-ALERT")
    carrier_scan(client, clock, "SBX-ALERT", "picked_up")
    shop.outbox.drain()
    with UnitOfWork(shop.session_factory) as uow:
        session, now = uow.session, shop.clock.now()
        rma = load_rma(session, number, lock=True)
        shop.returns.refund_outcomes.provider_says(session, rma, "failed", "expired_card")
        record_customer_message(session, rma, "customer", "Where is my money?", now)
        failed = filled(GAVE_UP, attempts=5, last_error="timed out")
        shop.returns.labels.alert_desk(
            session, rma, "return_label", f"label-failed:{number}", failed, NO_INSTRUCTIONS_ALERT
        )
        warning = filled(
            WARNING,
            number=number,
            target="first response",
            due="2026-11-24 09:00",
            left="2 h 05 min",
        )
        notify(
            session,
            key="sla:test",
            rma_id=rma.id,
            kind="sla",
            audience="desk",
            message=warning,
            now=now,
        )
        uow.commit()

    english_alerts = [
        f"{number}: Refund ",
        " failed at the provider, desk alerted: expired_card (after it had succeeded: tell the "
        "customer)",
        f"{number}: the customer wrote: Where is my money?",
        f"{number}: Return label failed: the provider did not answer after 5 attempts (timed out): "
        "try the label again on the RMA page. The customer has no return instructions yet.",
        # the time left in the page's units, as on the timeline
        f"{number}: first response due 2026-11-24 09:00 UTC (2 hr 5 min of desk time left)",
    ]
    english = _unescaped(
        _reader(app, "en@shop.example", "en").get("/returns").get_data(as_text=True)
    )
    alerts = english[english.index('id="alerts"') :]
    for sentence in english_alerts:
        assert sentence in alerts, sentence
    chinese = _unescaped(
        _reader(app, "zh@shop.example", "zh_Hans").get("/returns").get_data(as_text=True)
    )
    alerts = chinese[
        chinese.index('id="alerts"') : chinese.index("</ul>", chinese.index('id="alerts"'))
    ]
    for sentence in english_alerts[1:]:
        assert sentence not in alerts, sentence
    for chinese_text in (
        "已通知客服台：expired_card（此前已成功：请告知客户）",
        f"{number}：客户来信：Where is my money?",
        "。客户尚未收到退货说明。",
        "（客服台工作时间剩余 2小时5分钟）",
    ):
        assert chinese_text in alerts, chinese_text
    assert "desk alerted" not in alerts and "Return label failed" not in alerts


def test_every_alert_is_recognised_with_the_words_it_holds() -> None:
    for templates, within in ALERTS:
        inner = within.get("text", ())
        for template in templates:
            texts = [filled(text, **_sample(text)) for text in inner] or [None]
            for text in texts:
                params = _sample(template) | ({"text": text} if text is not None else {})
                written = str(filled(template, **params))  # the column keeps the English
                found = alert_text(written)
                assert isinstance(found, Text) and found.template == template.template, written
                if text is not None:
                    assert found.params["text"].template == text.template, written
                assert str(found) == written
    assert alert_text("Something someone else wrote") == "Something someone else wrote"


def _sample(text: Text) -> dict[str, str]:
    names = re.findall(r"%\((\w+)\)s", text.template)
    return {name: f"<{name}>" for name in names if name != "text"}


def test_a_portal_returns_lines_show_their_reason_by_its_label(app, shop) -> None:
    lines = (
        PortalLine(sku="FAN-80", qty=1, reason=Reason.WRONG_ITEM, description="Sent a PSU"),
        PortalLine(sku="FAN-80", qty=1, reason=Reason.NO_LONGER_NEEDED, description=""),
    )
    written = description_of(lines)
    assert written == "1 x FAN-80 (wrong_item): Sent a PSU\n1 x FAN-80 (no_longer_needed)"
    number = _opened(shop, channel=Channel.PORTAL, reason=Reason.WRONG_ITEM, description=written)
    english = _page(_reader(app, "en@shop.example", "en"), number)
    assert "1 x FAN-80 (wrong item): Sent a PSU\n1 x FAN-80 (no longer needed)" in english
    chinese = _page(_reader(app, "zh@shop.example", "zh_Hans"), number)
    assert "wrong_item" not in chinese and "no_longer_needed" not in chinese
    assert re.search(r"1 件 FAN-80（[^）a-z]+）：Sent a PSU\n1 件 FAN-80（[^）a-z]+）", chinese)


def test_timeline_rows_written_with_templates_since_reworded_read_in_chinese(app, shop) -> None:
    number = _return(shop, "SBX-OLD")
    old = {
        "Carrier has the parcel (%(carrier)s %(tracking_number)s: %(status)s)%(by_hand)s": {
            "carrier": "sandbox",
            "tracking_number": "SBX-OLD",
            "status": "picked_up",
            "by_hand": f"; entered by hand by {STAFF}: Courier phoned",
        },
        "Carrier: %(carrier)s %(tracking_number)s: %(status)s%(by_hand)s": {
            "carrier": "sandbox",
            "tracking_number": "SBX-OLD",
            "status": "in_transit",
            "by_hand": "",
        },
        "Not authorised automatically: a prepaid %(value)s label needs the customer's complete "
        "address (missing or wrong: %(missing)s). Complete it, then authorise.": {
            "value": "sandbox",
            "missing": "street, postcode",
        },
        "Refund %(what)s: %(value)s": {
            "what": "sent again to the corrected payment pi_9",
            "value": "new card",
        },
        "Refunded, but the parcel held %(what)s": {"what": "the wrong item (PSU-65)"},
        "Repair test %(verdict)s: %(test_result)s": {"verdict": "failed", "test_result": "Noisy"},
    }
    assert set(old) == {text.template for text in LEGACY}
    # One an old row could hold that today's templates cannot read: the old template's Chinese.
    odd = ("Refund %(what)s: %(value)s", {"what": "sent by pigeon", "value": "why not"})
    with UnitOfWork(shop.session_factory) as uow:
        rma = load_rma(uow.session, number, lock=True)
        for template, params in [*old.items(), odd]:
            row = RmaTransition(
                rma_id=rma.id,
                kind="status",
                from_status=rma.status,
                to_status=rma.status,
                actor=STAFF,
                reason=template % params,
                at=shop.clock.now(),
            )
            row.reason_template, row.reason_params = template, params  # as written back then
            uow.session.add(row)
        uow.commit()

    english = _timeline(_page(_reader(app, "en@shop.example", "en"), number))
    for template, params in [*old.items(), odd]:
        # As written, the carrier's word by its label (as any scan on the timeline).
        words = {**params, "status": params.get("status", "").replace("_", " ")}
        assert template % words in english, template % words
    chinese = _timeline(_page(_reader(app, "zh@shop.example", "zh_Hans"), number))
    for template, params in [*old.items(), odd]:
        assert template % params not in chinese
    for chinese_text in (
        f"承运商已收到包裹（sandbox SBX-OLD：已揽收）；由 {STAFF} 手工录入：Courier phoned",
        "承运商：sandbox SBX-OLD：运输中",
        "未自动授权：预付 sandbox 面单需要客户的完整地址（缺失或有误：",
        "退款已重新发送至更正后的付款 pi_9：new card",
        "已退款，但包裹里是错误的物品（PSU-65）",
        "维修测试未通过：Noisy",
        "退款 sent by pigeon：why not",
    ):
        assert chinese_text in chinese, chinese_text
    assert "street, postcode" not in chinese  # each field by its label


def test_the_desk_setups_errors_read_in_chinese(app) -> None:
    with pytest.raises(InvalidInput) as raised:
        zone("Mars/Olympus")
    assert str(raised.value) == "Unknown time zone 'Mars/Olympus'."  # logs and the API
    with app.test_request_context("/returns", headers={"Accept-Language": "zh-CN"}):
        assert raised.value.message == "未知时区 'Mars/Olympus'。"
