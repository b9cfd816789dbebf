"""The stock commands refuse, by field, quantities the ledger's tables would refuse."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import FrozenInstanceError, fields
from typing import Any

import pytest

from core.errors import InvalidInput
from inventory import ledger, reserving
from inventory.commands import (
    AdjustStock,
    IssueReservedStock,
    IssueStock,
    ReceiveStock,
    ReserveStock,
    TransferStock,
)

MOVES_OF: dict[str, Callable[[int], Any]] = {
    "receive": lambda qty: ReceiveStock("FAN-80", "MAIN/A-01-01", qty),
    "issue": lambda qty: IssueStock("FAN-80", "MAIN/A-01-01", qty),
    "issue reserved": lambda qty: IssueReservedStock(7, qty=qty),
    "transfer": lambda qty: TransferStock("FAN-80", "MAIN/A-01-01", "MAIN/A-01-02", qty),
    "reserve": lambda qty: ReserveStock("FAN-80", qty),
}


@pytest.mark.parametrize("qty", [0, -1])
@pytest.mark.parametrize("operation", sorted(MOVES_OF))
def test_a_move_of_no_or_negative_units_is_refused_naming_qty(operation: str, qty: int) -> None:
    with pytest.raises(InvalidInput) as refused:
        MOVES_OF[operation](qty)
    assert (refused.value.field, refused.value.code) == ("qty", "invalid_qty")


@pytest.mark.parametrize("operation", sorted(MOVES_OF))
def test_one_unit_is_a_move(operation: str) -> None:
    assert MOVES_OF[operation](1).qty == 1


def test_issuing_a_reservation_needs_no_quantity_but_a_given_one_is_checked() -> None:
    assert IssueReservedStock(7).qty is None
    with pytest.raises(InvalidInput):
        IssueReservedStock(7, qty=0)


def test_a_count_of_zero_is_a_count_and_a_negative_one_is_refused() -> None:
    assert AdjustStock("FAN-80", "MAIN/A-01-01", 0).counted_qty == 0
    with pytest.raises(InvalidInput) as refused:
        AdjustStock("FAN-80", "MAIN/A-01-01", -1)
    assert refused.value.field == "counted_qty"


def test_commands_default_to_no_reference_and_no_reason() -> None:
    command = ReceiveStock("FAN-80", "MAIN/A-01-01", 3)
    assert (command.reference, command.reason) == (None, "")
    assert ReserveStock("FAN-80", 1).location is None


def test_a_command_cannot_be_changed_once_made() -> None:
    command = ReceiveStock("FAN-80", "MAIN/A-01-01", 3)
    with pytest.raises(FrozenInstanceError):
        command.qty = 4  # type: ignore[misc]


@pytest.mark.parametrize(
    ("command", "operation"),
    [
        (ReceiveStock, ledger.receive),
        (IssueStock, ledger.issue),
        (IssueReservedStock, ledger.issue_reserved),
        (TransferStock, ledger.transfer),
        (AdjustStock, ledger.adjust),
        (ReserveStock, reserving.reserve),
        (ReserveStock, reserving.reserve_after_reading),
    ],
)
def test_a_command_names_exactly_what_its_ledger_operation_takes(
    command: type, operation: Callable[..., Any]
) -> None:
    # The service passes a command to the ledger field by field, by name.
    parameters = list(inspect.signature(operation).parameters)[2:]  # after session and who
    assert [field.name for field in fields(command)] == parameters
