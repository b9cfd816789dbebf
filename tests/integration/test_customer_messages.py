"""Customer e-mails at every step of a return, sent through a real SMTP server on loopback."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from carriers.services import CarrierService
from core.errors import Conflict, InvalidInput
from core.mail import SmtpMailer, SmtpSettings
from core.outbox import OutboxWorker
from inventory.services import InventoryService
from inventory.status import LocationKind
from returns.message_templates import MessageTemplates
from returns.messages import Messages
from returns.models import Notification, OutgoingEmail
from returns.policy import ReturnPolicy
from returns.refund_provider import StripeRefunds
from returns.rma import Rma
from returns.status import Channel, Disposition, Reason, Resolution, RmaStatus
from returns.status_links import StatusLinks, StatusLinkService
from tests.conftest import RETURN_ADDRESS
from tests.support import desk as builders
from tests.support.sandbox_webhooks import sandbox_adapter, sandbox_payload, signed_request

TODAY = date(2026, 11, 23)
CUSTOMER = {"name": "Mia Chen", "email": "mia@example.com", "phone": "+44 20 7946 0000"}
PUBLIC = "https://returns.example.com"


def build_desk(
    session_factory: Any,
    clock: Any,
    carrier_url: str,
    refunds_url: str,
    smtp_port: int,
    http: httpx.Client,
    address: dict[str, str] | None = None,
) -> dict[str, Any]:
    carriers = CarrierService(session_factory, clock, {"sandbox": sandbox_adapter(carrier_url)})
    carriers.adapters["sandbox"].http = http
    links = StatusLinks(PUBLIC)
    mailer = SmtpMailer(
        SmtpSettings(host="127.0.0.1", port=smtp_port, sender="Returns <returns@shop.example>")
    )
    messages = Messages(clock, mailer, links, carriers.get_label)
    returns = builders.wire_returns(
        session_factory,
        clock,
        ReturnPolicy(),
        carriers,
        StripeRefunds(refunds_url, "sk_test_returns", http),
        return_address=RETURN_ADDRESS if address is None else address,
        messages=messages,
    )
    worker = OutboxWorker(session_factory, clock, returns.outbox_handlers())
    status = StatusLinkService(session_factory, clock, links, 30, messages)
    return {"returns": returns, "carriers": carriers, "worker": worker, "links": status}


def status_link_in(text: str) -> str:
    [link] = re.findall(rf"{re.escape(PUBLIC)}/status/[A-Za-z0-9_-]+", text)
    return link


def opens(desk: dict[str, Any], link: str) -> str | None:
    """The RMA number the link opens (None: it opens nothing)."""
    return desk["links"].number(link.rsplit("/", 1)[1])


@pytest.fixture
def desk(
    stocked: InventoryService,
    session_factory: Any,
    clock: Any,
    refunds_sandbox: Any,
    carrier_sandbox: str,
    refunds_made: Any,
    smtp_sink: Any,
) -> Iterator[dict[str, Any]]:
    stocked.create_location(code="MAIN/RETURNS", kind=LocationKind.RETURNS)
    with httpx.Client(timeout=10) as http:
        yield build_desk(
            session_factory, clock, carrier_sandbox, refunds_sandbox[0], smtp_sink.port, http
        )


def open_rma(desk: dict[str, Any], **fields: Any) -> str:
    values = {
        "customer": CUSTOMER,
        "channel": Channel.EMAIL,
        "reason": Reason.DEFECTIVE,
        "resolution": Resolution.REFUND,
        "payment_reference": "pi_3OrderPaid",
        "purchase_date": TODAY - timedelta(days=10),
        "lines": [{"sku": "ABC-1", "qty": 2, "unit_price": Decimal("24.99"), "serial": "SN-77"}],
        **fields,
    }
    return builders.open_rma(desk["returns"], "desk@shop.example", **values).number


def drain(desk: dict[str, Any], clock: Any, rounds: int = 3) -> None:
    for _ in range(rounds):
        desk["worker"].drain()
        clock.advance(timedelta(seconds=1))


def sent(sink: Any, number: str) -> list[EmailMessage]:
    return [m for m in sink.messages if number in str(m["Subject"])]


def text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return part.get_content()


def html_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    assert part is not None
    return part.get_content()


def pickup(desk: dict[str, Any], clock: Any, tracking: str, status: str = "picked_up") -> None:
    body = sandbox_payload(tracking, status, clock.now())
    desk["carriers"].receive_webhook("sandbox", signed_request(body, clock.now()))


def test_the_authorisation_tells_the_customer_what_where_how_and_by_when(
    desk, clock, smtp_sink, session_factory
) -> None:
    number = open_rma(desk)
    builders.authorise(
        desk["returns"], "desk@shop.example", number, carrier="sandbox", tracking_number="OWN-1001"
    )
    drain(desk, clock)

    [message] = sent(smtp_sink, number)
    assert message["To"] == "mia@example.com"
    assert message["From"] == "Returns <returns@shop.example>"
    assert "authorised" in message["Subject"]
    text = text_of(message)
    assert "2 x ABC-1" in text and "serial SN-77" in text
    for value in RETURN_ADDRESS.values():  # the whole address, every field
        assert value in text
    assert "Hand the parcel to the carrier by 2026-12-07" in text  # 14 days after 2026-11-23
    assert "own carrier: sandbox OWN-1001" in text
    assert "sturdy box" in text
    assert "49.98 USD" in text  # 2 x 24.99, refunded on pickup
    link = status_link_in(text)
    assert link in html_of(message) and opens(desk, link) == number
    # The RMA number as a QR code, shown inside the HTML part.
    images = [p for p in message.walk() if p.get_content_type() == "image/png"]
    assert len(images) == 1 and images[0]["Content-ID"] == "<rma-qr>"
    assert images[0].get_content().startswith(b"\x89PNG")
    assert 'src="cid:rma-qr"' in html_of(message)
    with session_factory() as session:
        email = session.scalars(select(OutgoingEmail)).one()
        rma = session.scalars(select(Rma).where(Rma.number == number)).one()
        assert (email.kind, email.status, email.message_id) == (
            "authorised",
            "sent",
            message["Message-ID"],
        )
        timeline = session.scalars(rma.transitions.select()).all()
        assert any("sent to mia@example.com" in t.reason for t in timeline)


def test_a_prepaid_label_bought_for_the_return_is_attached_as_a_pdf(desk, clock, smtp_sink) -> None:
    number = open_rma(desk)
    builders.authorise(desk["returns"], "desk@shop.example", number)
    assert sent(smtp_sink, number) == []  # nothing until the label exists
    drain(desk, clock)

    [message] = sent(smtp_sink, number)
    [label] = [p for p in message.iter_attachments() if p.get_content_type() == "application/pdf"]
    rma = desk["returns"].get(number)
    assert label.get_filename() == f"return-label-{rma.return_tracking_number}.pdf"
    assert label.get_content().startswith(b"%PDF")
    assert f"prepaid sandbox label is attached ({rma.return_tracking_number})" in text_of(message)


def test_a_customer_who_writes_chinese_gets_chinese_messages(desk, clock, smtp_sink) -> None:
    number = open_rma(desk, customer={**CUSTOMER, "language": "zh-CN"})
    builders.authorise(
        desk["returns"], "desk@shop.example", number, carrier="sandbox", tracking_number="Z1"
    )
    drain(desk, clock)

    [message] = sent(smtp_sink, number)
    assert message["Subject"] == f"您的退货 {number} 已获批准：寄回说明"
    assert message["Content-Language"] == "zh-Hans"
    assert "寄回地址" in text_of(message) and "请在 2026-12-07 前将包裹交给快递公司" in text_of(
        message
    )
    assert '<html lang="zh-Hans">' in html_of(message)


def test_an_unknown_language_is_refused_at_intake(desk) -> None:
    with pytest.raises(InvalidInput) as refused:
        open_rma(desk, customer={**CUSTOMER, "language": "tlh"})
    assert refused.value.field == "customer.language"


def test_every_step_of_a_return_sends_its_message_once(desk, clock, smtp_sink) -> None:
    number = open_rma(desk)
    builders.authorise(
        desk["returns"], "desk@shop.example", number, carrier="sandbox", tracking_number="T-1"
    )
    pickup(desk, clock, "T-1")
    pickup(desk, clock, "T-1")  # the carrier repeats itself
    drain(desk, clock)
    builders.receive(
        desk["returns"],
        "warehouse@shop.example",
        number,
        lines=[{"sku": "ABC-1", "qty": 2, "serial": "SN-77"}],
    )
    builders.inspect(
        desk["returns"],
        "warehouse@shop.example",
        number,
        lines=[{"sku": "ABC-1", "disposition": Disposition.SCRAP}],
    )
    desk["returns"].closing.close("desk@shop.example", number)
    drain(desk, clock)

    subjects = [str(m["Subject"]) for m in sent(smtp_sink, number)]
    assert subjects == [
        f"Your return {number} is authorised: how to send it back",
        f"The carrier has your parcel for {number}",
        f"Refund of 49.98 USD released for {number}",
        f"We have received your parcel for {number}",
        f"Inspection result for {number}",
        f"Return {number} is complete: how did we do?",
    ]
    by_subject = {str(m["Subject"]): m for m in sent(smtp_sink, number)}
    refund = text_of(by_subject[f"Refund of 49.98 USD released for {number}"])
    assert "Amount: 49.98 USD" in refund and "back to the payment you used (card)" in refund
    assert "5 to 10 business days" in refund
    inspection = text_of(by_subject[f"Inspection result for {number}"])
    assert "2 x ABC-1: faulty, scrapped" in inspection
    closing = text_of(by_subject[f"Return {number} is complete: how did we do?"])
    assert "1 (poor) to 5 (excellent)" in closing
    assert opens(desk, status_link_in(closing)) == number


def test_a_shipped_replacement_gives_the_carrier_and_a_tracking_link(
    desk, clock, smtp_sink
) -> None:
    desk["returns"].ctx.addresses.tracking_urls["sandbox"] = "https://track.example/?n={number}"
    number = open_rma(desk, resolution=Resolution.REPLACEMENT, payment_reference=None)
    view = builders.authorise(
        desk["returns"], "desk@shop.example", number, carrier="sandbox", tracking_number="T-2"
    )
    builders.ship(
        desk["returns"],
        "warehouse@shop.example",
        view.replacements[0].id,
        carrier="sandbox",
        tracking_number="1Z9",
    )
    drain(desk, clock)

    [message] = [m for m in sent(smtp_sink, number) if "replacement" in str(m["Subject"])]
    text = text_of(message)
    assert "2 x ABC-1" in text and "Carrier: sandbox" in text and "Tracking number: 1Z9" in text
    assert "https://track.example/?n=1Z9" in text
    assert desk["returns"].get(number).resolved_at == clock.now() - timedelta(seconds=3)


def test_an_incomplete_return_address_blocks_authorisation(
    stocked, session_factory, clock, refunds_sandbox, carrier_sandbox, smtp_sink
) -> None:
    stocked.create_location(code="MAIN/RETURNS", kind=LocationKind.RETURNS)
    partial = {k: v for k, v in RETURN_ADDRESS.items() if k != "postcode"}
    with httpx.Client(timeout=10) as http:
        desk = build_desk(
            session_factory,
            clock,
            carrier_sandbox,
            refunds_sandbox[0],
            smtp_sink.port,
            http,
            address=partial,
        )
        number = open_rma(desk)
        with pytest.raises(Conflict) as refused:
            builders.authorise(desk["returns"], "desk@shop.example", number)
        assert refused.value.code == "return_address_incomplete"
        assert "missing: postcode" in refused.value.message
        assert desk["returns"].get(number).status is RmaStatus.REQUESTED
        drain(desk, clock)
    assert smtp_sink.messages == []


def test_a_mail_server_outage_is_retried_and_the_message_sent_once(
    desk, clock, smtp_sink, session_factory
) -> None:
    smtp_sink.fail_next = 1  # "451 try again later"
    number = open_rma(desk)
    builders.authorise(
        desk["returns"], "desk@shop.example", number, carrier="sandbox", tracking_number="T-3"
    )
    desk["worker"].drain()
    with session_factory() as session:
        assert session.scalars(select(OutgoingEmail.status)).one() == "queued"
    assert sent(smtp_sink, number) == []
    clock.advance(timedelta(minutes=1))  # past the backoff
    drain(desk, clock, rounds=5)
    assert len(sent(smtp_sink, number)) == 1
    with session_factory() as session:
        assert session.scalars(select(OutgoingEmail.status)).one() == "sent"


def test_a_refused_recipient_bounces_and_the_desk_is_told(
    desk, clock, smtp_sink, session_factory
) -> None:
    smtp_sink.refuse.add("mia@example.com")
    number = open_rma(desk)
    builders.authorise(
        desk["returns"], "desk@shop.example", number, carrier="sandbox", tracking_number="T-4"
    )
    drain(desk, clock)

    with session_factory() as session:
        email = session.scalars(select(OutgoingEmail)).one()
        assert email.status == "bounced" and "550" in (email.error or "")
        rma = session.scalars(select(Rma).where(Rma.number == number)).one()
        timeline = session.scalars(rma.transitions.select()).all()
        assert any("bounced" in t.reason for t in timeline if t.kind == "email")
        [alert] = session.scalars(select(Notification)).all()
        assert (alert.audience == "desk" and number in alert.message) or "mia@" in alert.message


def test_a_bounce_reported_later_is_matched_by_message_id(
    desk, clock, smtp_sink, session_factory
) -> None:
    number = open_rma(desk)
    builders.authorise(
        desk["returns"], "desk@shop.example", number, carrier="sandbox", tracking_number="T-5"
    )
    drain(desk, clock)
    [message] = sent(smtp_sink, number)
    messages = desk["returns"].ctx.messages
    with session_factory() as session, session.begin():
        messages.record_bounce(session, message["Message-ID"], "552 mailbox full")
    with session_factory() as session:
        email = session.scalars(select(OutgoingEmail)).one()
        assert (email.status, email.error) == ("bounced", "552 mailbox full")
    with session_factory() as session, session.begin(), pytest.raises(InvalidInput):
        messages.record_bounce(session, "<nobody@spareflow>", "x")


def test_a_customer_is_reminded_once_before_the_authorisation_expires(
    desk, clock, smtp_sink
) -> None:
    number = open_rma(desk)
    builders.authorise(
        desk["returns"], "desk@shop.example", number, carrier="sandbox", tracking_number="T-6"
    )
    clock.advance(timedelta(days=10))  # expires on day 14; reminders start 3 days before
    assert desk["returns"].authorisation.remind_expiring() == 0
    clock.advance(timedelta(days=1, minutes=1))
    assert desk["returns"].authorisation.remind_expiring() == 1
    assert desk["returns"].authorisation.remind_expiring() == 0  # once
    drain(desk, clock)

    [reminder] = [m for m in sent(smtp_sink, number) if "Reminder" in str(m["Subject"])]
    assert reminder["Subject"] == f"Reminder: please send return {number} by 2026-12-07"
    assert "sandbox T-6" in text_of(reminder)


def test_a_parcel_on_its_way_gets_no_reminder(desk, clock) -> None:
    number = open_rma(desk)
    builders.authorise(
        desk["returns"], "desk@shop.example", number, carrier="sandbox", tracking_number="T-7"
    )
    pickup(desk, clock, "T-7")
    clock.advance(timedelta(days=12))
    assert desk["returns"].authorisation.remind_expiring() == 0


def test_an_admins_edited_template_is_used_and_a_broken_one_refused(
    desk, clock, smtp_sink, session_factory
) -> None:
    templates = MessageTemplates(session_factory, clock)
    source = {
        "subject": "RMA {{ number }} approved",
        "text": "Dear {{ customer_name }}, ship by {{ deadline }}.",
        "html": "<p>Dear {{ customer_name }}</p>",
    }
    templates.save("admin@shop.example", "authorised", "en", source)
    with pytest.raises(InvalidInput) as broken:
        templates.save("admin@x", "authorised", "en", {**source, "text": "{{ nope }"})
    assert broken.value.field == "template"
    number = open_rma(desk)
    builders.authorise(
        desk["returns"], "desk@shop.example", number, carrier="sandbox", tracking_number="T-8"
    )
    drain(desk, clock)
    [message] = sent(smtp_sink, number)
    assert message["Subject"] == f"RMA {number} approved"
    assert text_of(message).strip() == "Dear Mia Chen, ship by 2026-12-07."


def test_status_links_are_random_and_only_their_hash_is_kept() -> None:
    from returns.status_links import token_hash

    links = StatusLinks(PUBLIC + "/")
    tokens = {links.new_token() for _ in range(100)}
    assert len(tokens) == 100 and all(len(token) >= 43 for token in tokens)
    token = tokens.pop()
    assert links.url(token) == f"{PUBLIC}/status/{token}"
    assert token_hash(token) == hashlib.sha256(token.encode()).hexdigest() != token


def test_nothing_is_queued_without_a_mail_server(
    stocked, session_factory, clock, refunds_sandbox, carrier_sandbox
) -> None:
    stocked.create_location(code="MAIN/RETURNS", kind=LocationKind.RETURNS)
    with httpx.Client(timeout=10) as http:
        carriers = CarrierService(
            session_factory, clock, {"sandbox": sandbox_adapter(carrier_sandbox)}
        )
        returns = builders.wire_returns(
            session_factory,
            clock,
            ReturnPolicy(),
            carriers,
            StripeRefunds(refunds_sandbox[0], "k", http),
            return_address=RETURN_ADDRESS,
        )
        number = open_rma({"returns": returns})
        builders.authorise(returns, "desk@x", number, carrier="sandbox", tracking_number="T-9")
    with session_factory() as session:
        assert session.scalars(select(OutgoingEmail)).all() == []
    assert datetime(2026, 11, 23, tzinfo=UTC) <= clock.now()


def test_an_enquiry_and_a_complaint_are_worded_as_such_not_as_a_return(
    desk, clock, smtp_sink
) -> None:
    """Out of hours the acknowledgement says "question" / "complaint" (and 咨询 in Chinese);
    the desk's reply too; a return still reads "return"."""
    from returns.cases import OpenCase
    from returns.commands import Customer
    from returns.status import CaseKind, RootCause

    clock.set(datetime(2026, 11, 22, 23, 0, tzinfo=UTC))  # Sunday night: the desk is closed
    cases = desk["returns"].cases

    def open_case(kind: CaseKind, language: str | None = None) -> str:
        return cases.open(
            "desk@shop.example",
            OpenCase(
                kind=kind,
                customer=Customer(name="Mia Chen", email="mia@example.com", language=language),
                channel=Channel.EMAIL,
                description="The fan rattles.",
                root_cause=RootCause.SERVICE if kind is CaseKind.COMPLAINT else None,
            ),
        ).number

    question, complaint = open_case(CaseKind.ENQUIRY), open_case(CaseKind.COMPLAINT)
    chinese = open_case(CaseKind.ENQUIRY, "zh-CN")
    a_return = open_rma(desk)
    desk["returns"].closing.reply("desk@shop.example", complaint, "We are sorry: a new one ships.")
    drain(desk, clock)
    [acknowledged] = sent(smtp_sink, question)
    assert acknowledged["Subject"] == f"We have your question {question}"
    assert "Follow your question" in html_of(acknowledged)
    assert "your return" not in text_of(acknowledged)
    assert "The service team" in text_of(acknowledged)
    subjects = [m["Subject"] for m in sent(smtp_sink, complaint)]
    assert subjects == [f"We have your complaint {complaint}", f"About your complaint {complaint}"]
    [zh] = sent(smtp_sink, chinese)
    assert zh["Subject"] == f"我们已收到您的咨询 {chinese}"
    assert "退货" not in text_of(zh) and "客户服务团队" in text_of(zh)
    assert [m["Subject"] for m in sent(smtp_sink, a_return)] == [
        f"We have your return request {a_return}"
    ]
