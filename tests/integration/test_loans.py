"""Loaners: lent from a loan pool on an RMA, returned, charged or written off, with every
move in the ledger (and ``stock verify`` agreeing), and the overdue reminder sent once."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from carriers.services import CarrierService
from core.audit import AuditEntry
from core.errors import Conflict, InvalidInput
from core.mail import SmtpMailer, SmtpSettings
from inventory.commands import ReceiveStock
from inventory.models import Location, StockLevel, StockMove
from inventory.services import InventoryService
from inventory.status import LocationKind, MoveKind
from returns.loans import LendLoaner, LoanerUnavailable
from returns.messages import Messages
from returns.models import OutgoingEmail
from returns.policy import ReturnPolicy
from returns.stages import Returns
from returns.status import Channel, Reason, Resolution
from returns.status_links import StatusLinks
from tests.conftest import RETURN_ADDRESS
from tests.support import desk as builders

SUPERVISOR = "boss@x.example"
CUSTOMER = {"name": "Mia Chen", "email": "mia@example.com", "phone": "+44 20 7946 0000"}


@pytest.fixture
def loans_desk(stocked: InventoryService, session_factory: Any, clock: Any) -> dict[str, Any]:
    stocked.create_location(code="MAIN/LOANERS", kind=LocationKind.LOAN_POOL)
    stocked.create_location(code="MAIN/QUARANTINE-L", kind=LocationKind.QUARANTINE)
    stocked.create_part(sku="PHONE-X", name="Handset X")
    stocked.receive("goods-in", ReceiveStock(sku="PHONE-X", location="MAIN/LOANERS", qty=1))
    # Messages are only queued here (outbox rows and e-mail records); nothing is sent.
    messages = Messages(
        clock,
        SmtpMailer(SmtpSettings(host="127.0.0.1", port=1, sender="r@shop.example")),
        StatusLinks("https://returns.example.com"),
        lambda number: None,  # type: ignore[arg-type,return-value]
    )
    returns = builders.wire_returns(
        session_factory,
        clock,
        ReturnPolicy(),
        CarrierService(session_factory, clock, {}),
        None,
        return_address=RETURN_ADDRESS,
        messages=messages,
    )
    rma = builders.open_rma(
        returns,
        customer=CUSTOMER,
        channel=Channel.PHONE,
        reason=Reason.DEFECTIVE,
        resolution=Resolution.REPAIR,
        lines=[{"sku": "PHONE-X", "qty": 1, "unit_price": "300.00"}],
    )
    return {"returns": returns, "rma": rma.number, "inventory": stocked}


def _on_hand(session_factory: Any, code: str) -> int:
    with session_factory() as session:
        return sum(
            level.on_hand
            for level in session.scalars(select(StockLevel)).all()
            if level.location.code == code
        )


def _moves(session_factory: Any, loan_id: int) -> list[tuple[str, str | None, str | None]]:
    with session_factory() as session:
        moves = session.scalars(
            select(StockMove).where(StockMove.reference == f"LOAN-{loan_id}").order_by(StockMove.id)
        ).all()
        return [
            (
                move.kind.value,
                move.from_location.code if move.from_location else None,
                move.to_location.code if move.to_location else None,
            )
            for move in moves
        ]


def _emails(session_factory: Any, kind: str) -> list[OutgoingEmail]:
    with session_factory() as session:
        return list(session.scalars(select(OutgoingEmail).where(OutgoingEmail.kind == kind)))


def test_a_loaner_goes_out_from_the_pool_and_comes_back_into_it(
    loans_desk: dict[str, Any], session_factory: Any
) -> None:
    returns: Returns = loans_desk["returns"]
    loan = returns.loans.lend(
        builders.DESK, loans_desk["rma"], LendLoaner(sku="phone-x", serial="LN-1")
    )
    assert (loan.status, loan.pool, loan.serial) == ("out", "MAIN/LOANERS", "LN-1")
    assert _on_hand(session_factory, "MAIN/LOANERS") == 0
    assert _on_hand(session_factory, "MAIN/ON-LOAN") == 1
    [sent] = _emails(session_factory, "loaner_sent")
    assert (sent.to_address, sent.outbox_key) == (
        "mia@example.com",
        f"email:{loans_desk['rma']}:loaner_sent:loan-{loan.id}",
    )

    with pytest.raises(LoanerUnavailable) as refused:
        returns.loans.lend(builders.DESK, loans_desk["rma"], LendLoaner(sku="PHONE-X"))
    assert refused.value.code == "loaner_unavailable"

    back = returns.loans.return_loaner(builders.DESK, loan.id)
    assert back.status == "returned" and back.returned_at is not None
    assert _on_hand(session_factory, "MAIN/LOANERS") == 1
    assert _moves(session_factory, loan.id) == [
        ("transfer", "MAIN/LOANERS", "MAIN/ON-LOAN"),
        ("transfer", "MAIN/ON-LOAN", "MAIN/LOANERS"),
    ]
    with pytest.raises(Conflict) as again:
        returns.loans.return_loaner(builders.DESK, loan.id)
    assert again.value.code == "loan_not_out"
    assert loans_desk["inventory"].verify_levels() == []


def test_a_damaged_loaner_goes_to_quarantine(
    loans_desk: dict[str, Any], session_factory: Any
) -> None:
    returns: Returns = loans_desk["returns"]
    loan = returns.loans.lend(builders.DESK, loans_desk["rma"], LendLoaner(sku="PHONE-X"))
    with pytest.raises(InvalidInput):
        returns.loans.return_loaner(builders.DESK, loan.id, damaged=True, quarantine="MAIN/A-01-01")
    returns.loans.return_loaner(
        builders.DESK, loan.id, damaged=True, quarantine="MAIN/QUARANTINE-L", note="cracked"
    )
    assert _on_hand(session_factory, "MAIN/QUARANTINE-L") == 1
    assert _on_hand(session_factory, "MAIN/LOANERS") == 0
    assert loans_desk["inventory"].verify_levels() == []


def test_an_overdue_loaner_is_listed_and_reminded_once(
    loans_desk: dict[str, Any], session_factory: Any, clock: Any
) -> None:
    returns: Returns = loans_desk["returns"]
    due = clock.now() + timedelta(days=3)
    loan = returns.loans.lend(builders.DESK, loans_desk["rma"], LendLoaner("PHONE-X", due_at=due))
    assert returns.loans.listing("overdue") == []
    assert returns.loans.remind_overdue() == 0

    clock.advance(timedelta(days=4))
    [overdue] = returns.loans.listing("overdue")
    assert overdue.id == loan.id and overdue.overdue
    assert returns.loans.remind_overdue() == 1
    clock.advance(timedelta(days=1))
    assert returns.loans.remind_overdue() == 0  # once per loan, however often the job runs
    [reminder] = _emails(session_factory, "loaner_overdue")
    assert reminder.outbox_key.endswith(f":loaner_overdue:loan-{loan.id}")


def test_a_supervisor_charges_for_a_loaner_kept_and_it_leaves_stock(
    loans_desk: dict[str, Any], session_factory: Any
) -> None:
    returns: Returns = loans_desk["returns"]
    loan = returns.loans.lend(builders.DESK, loans_desk["rma"], LendLoaner(sku="PHONE-X"))
    with pytest.raises(Conflict) as refused:
        returns.loans.charge(builders.DESK, loan.id, Decimal("80"), "kept", supervisor=False)
    assert refused.value.code == "supervisor_required"
    with pytest.raises(InvalidInput):
        returns.loans.charge(SUPERVISOR, loan.id, Decimal("80"), " ", supervisor=True)

    charged = returns.loans.charge(
        SUPERVISOR, loan.id, Decimal("80.00"), "customer kept it", supervisor=True
    )
    assert (charged.status, charged.charge_amount) == ("charged", Decimal("80.00"))
    assert _moves(session_factory, loan.id)[-1] == (MoveKind.ISSUE.value, "MAIN/ON-LOAN", None)
    assert _on_hand(session_factory, "MAIN/ON-LOAN") == 0
    with session_factory() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "loan.charged")).one()
        assert (entry.actor, entry.reason) == (SUPERVISOR, "customer kept it")
    assert loans_desk["inventory"].verify_levels() == []


def test_a_supervisor_writes_off_a_lost_loaner_by_an_adjustment(
    loans_desk: dict[str, Any], session_factory: Any
) -> None:
    returns: Returns = loans_desk["returns"]
    loan = returns.loans.lend(builders.DESK, loans_desk["rma"], LendLoaner(sku="PHONE-X"))
    with pytest.raises(Conflict):
        returns.loans.write_off(builders.DESK, loan.id, "lost", supervisor=False)
    gone = returns.loans.write_off(SUPERVISOR, loan.id, "lost in transit", supervisor=True)
    assert gone.status == "written_off" and gone.reason == "lost in transit"
    assert _moves(session_factory, loan.id)[-1] == ("adjustment", "MAIN/ON-LOAN", None)
    assert _on_hand(session_factory, "MAIN/ON-LOAN") == 0
    assert returns.loans.listing("out") == []
    assert [view.id for view in returns.loans.listing("written_off")] == [loan.id]
    assert loans_desk["inventory"].verify_levels() == []


def test_two_write_offs_at_once_each_take_one_unit_off(
    loans_desk: dict[str, Any], session_factory: Any
) -> None:
    returns: Returns = loans_desk["returns"]
    loans_desk["inventory"].receive(
        "goods-in", ReceiveStock(sku="PHONE-X", location="MAIN/LOANERS", qty=1)
    )
    first = returns.loans.lend(builders.DESK, loans_desk["rma"], LendLoaner(sku="PHONE-X"))
    second = returns.loans.lend(builders.DESK, loans_desk["rma"], LendLoaner(sku="PHONE-X"))
    barrier = threading.Barrier(2)
    failures: list[BaseException] = []

    def write_off(loan_id: int) -> None:
        barrier.wait()
        try:
            returns.loans.write_off(SUPERVISOR, loan_id, "lost", supervisor=True)
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=write_off, args=(i,)) for i in (first.id, second.id)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert failures == []
    assert _on_hand(session_factory, "MAIN/ON-LOAN") == 0
    assert loans_desk["inventory"].verify_levels() == []


def test_two_first_lends_at_once_share_one_new_on_loan_location(
    loans_desk: dict[str, Any], session_factory: Any
) -> None:
    """Neither finds ``MAIN/ON-LOAN`` yet, both create it: both lends go out, into one location."""
    returns: Returns = loans_desk["returns"]
    loans_desk["inventory"].receive(
        "goods-in", ReceiveStock(sku="PHONE-X", location="MAIN/LOANERS", qty=1)
    )
    other = builders.open_rma(
        returns,
        customer=CUSTOMER,
        channel=Channel.PHONE,
        reason=Reason.DEFECTIVE,
        resolution=Resolution.REPAIR,
        lines=[{"sku": "PHONE-X", "qty": 1, "unit_price": "300.00"}],
    )
    barrier = threading.Barrier(2)
    failures: list[BaseException] = []

    def lend(number: str) -> None:  # two RMAs: the lock on one RMA does not serialise them
        barrier.wait()
        try:
            returns.loans.lend(builders.DESK, number, LendLoaner(sku="PHONE-X"))
        except BaseException as error:
            failures.append(error)

    numbers = (loans_desk["rma"], other.number)
    threads = [threading.Thread(target=lend, args=(number,)) for number in numbers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert failures == []
    with session_factory() as session:
        codes = session.scalars(
            select(Location.code).where(Location.kind == LocationKind.ON_LOAN)
        ).all()
    assert codes == ["MAIN/ON-LOAN"]
    assert _on_hand(session_factory, "MAIN/ON-LOAN") == 2
    assert _on_hand(session_factory, "MAIN/LOANERS") == 0
    assert len(returns.loans.listing("out")) == 2
    assert loans_desk["inventory"].verify_levels() == []
