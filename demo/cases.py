"""The demo's enquiries and complaints, and follow-up calls due (some overdue, one VIP repeat)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal

from bootstrap.services import Services
from core.clock import FrozenClock
from returns.cases import Cases, ConvertComplaint, OpenCase
from returns.closing import Closing
from returns.commands import Customer, ReturnLine
from returns.followup_desk import FollowUps
from returns.followups import FollowUpOutcome, RecordCall
from returns.status import CaseKind, Channel, Priority, Reason, Resolution, RootCause

DESK = "desk@demo.spareflow"

MIA = Customer("Mia Chen", "mia.chen@example.com", "+44 113 496 0000")
JONAS = Customer("Jonas Keller", "jonas@keller-repair.example", "+49 30 901820", vip=True)
AIKO = Customer("田中 愛子", "aiko.t@example.com", "+86 755 8600 0000", language="zh_Hans")
PRIYA = Customer("Priya Raman", "priya@example.com", "+44 20 7946 0011")
HANNAH = Customer("Hannah Berg", "hannah@berg-electronics.example", "+49 40 555 0100", vip=True)


def _enquiry(customer: Customer, text: str, **fields: object) -> OpenCase:
    values: dict[str, object] = {
        "kind": CaseKind.ENQUIRY,
        "customer": customer,
        "channel": Channel.EMAIL,
        "description": text,
        **fields,
    }
    return OpenCase(**values)  # type: ignore[arg-type]


def _complaint(customer: Customer, text: str, cause: RootCause, **fields: object) -> OpenCase:
    return replace(_enquiry(customer, text, **fields), kind=CaseKind.COMPLAINT, root_cause=cause)


def load_demo_cases(services: Services) -> None:
    """Open cases of each kind and state, and closed ones whose follow-up calls are due."""
    returns = services.returns
    now = services.clock.now()
    sku = services.inventory.list_parts(limit=1)[0].part.sku
    cases = returns.cases
    # Open now, in each state of a case's lifecycle.
    cases.open(
        DESK,
        _enquiry(
            MIA,
            "Does the 80 mm fan fit the X200 chassis, and which screws does it need?",
            channel=Channel.CHAT,
        ),
    )
    answered = cases.open(
        DESK,
        _enquiry(AIKO, "请问电源适配器支持 110V 吗？", channel=Channel.EMAIL),  # noqa: RUF001
    ).number
    cases.move(DESK, answered, "answer", "Sent the datasheet: 100-240 V")
    waiting = cases.open(
        DESK,
        _enquiry(PRIYA, "The controller's LED blinks amber twice after the firmware update."),
    ).number
    cases.move(DESK, waiting, "wait", "Asked for the firmware version and a photo of the LED")
    cases.open(
        DESK,
        _complaint(
            HANNAH,
            "Third order in a row that arrived after the promised date.",
            RootCause.LATE_DELIVERY,
            channel=Channel.PHONE,
            priority=Priority.HIGH,
            order_number="SO-1003",
        ),
    )
    faulty = cases.open(
        DESK,
        _complaint(
            MIA,
            "The replacement fan rattles like the first one did.",
            RootCause.PRODUCT_DEFECT,
            order_number="SO-1001",
        ),
    ).number
    cases.convert(
        DESK,
        faulty,
        ConvertComplaint(
            lines=(ReturnLine(sku=sku, qty=1, unit_price=Decimal("19.90")),),
            reason=Reason.DEFECTIVE,
            resolution=Resolution.REPLACEMENT,
        ),
    )
    _closed_with_followups(services, now)


def _closed_with_followups(services: Services, now: datetime) -> None:
    """Cases closed days ago: follow-up calls overdue, one due soon, a call nobody answered,
    and a VIP reached whose repeat call is due in a month."""
    returns = services.returns
    for days_ago, opening, call in (
        (9, _enquiry(JONAS, "Which thermal paste for the PSU-65 heatsink?"), "reached"),
        (6, _complaint(PRIYA, "Refund took 9 days.", RootCause.BILLING), None),
        (
            0.5,
            _complaint(
                AIKO,
                "退货地址不清楚，包裹被退回。",  # noqa: RUF001
                RootCause.COMMUNICATION,
                priority=Priority.URGENT,
            ),
            None,
        ),
        (5, _enquiry(MIA, "How do I reset the controller to factory settings?"), "no_answer"),
    ):
        back_then = replace(returns.ctx, clock=FrozenClock(now - timedelta(days=days_ago)))
        number = Cases(back_then, returns.intake).open(DESK, opening).number
        Cases(back_then, returns.intake).move(DESK, number, "resolve", "Answered on the phone")
        Closing(back_then).close(DESK, number, "Resolved")
        if call is None:
            continue
        [due] = [f for f in returns.followups.queue() if f.number == number]
        later = replace(back_then, clock=FrozenClock(due.due_at + timedelta(hours=2)))
        if call == "reached":
            FollowUps(later).record(
                DESK, due.id, RecordCall(FollowUpOutcome.REACHED, 5, "Paste arrived, runs cool")
            )
        else:
            FollowUps(later).record(DESK, due.id, RecordCall(FollowUpOutcome.NO_ANSWER))
