"""Tracking numbers a person types: known formats and check digits (carriers/tracking_formats.py)."""

from __future__ import annotations

import pytest

from carriers.tracking_formats import Problem, normalise, problem


@pytest.mark.parametrize(
    ("carrier", "number"),
    [
        ("aftership", "1Z999AA10123456784"),  # UPS's own sample, check digit 4
        ("easypost", "1Z 999 AA1 0123 4567 84"),  # as printed, with spaces
        ("shippo", "9405516902697649303570"),  # USPS IMpb, check digit 0
        ("sfexpress", "SF7444400031887"),
        ("sandbox", "SBX77"),  # an unknown format passes
        ("easypost", "EZ1000000001"),
    ],
)
def test_numbers_a_carrier_would_issue_pass(carrier: str, number: str) -> None:
    assert problem(carrier, number) is None


@pytest.mark.parametrize(
    ("carrier", "number", "found"),
    [
        ("aftership", "1Z999AA10123456785", Problem.UPS_CHECK_DIGIT),
        ("aftership", "1Z999", Problem.UPS_SHAPE),
        ("shippo", "9405516902697649303571", Problem.USPS_CHECK_DIGIT),
        ("sfexpress", "SF123", Problem.SF_SHAPE),
        ("sfexpress", "7444400031887", Problem.SF_SHAPE),
        ("sandbox", "X1", Problem.TOO_SHORT),
        ("sandbox", "asdf!!", Problem.NOT_LETTERS_AND_DIGITS),
        ("sandbox", "NOPE", Problem.NO_DIGITS),
    ],
)
def test_made_up_numbers_are_caught(carrier: str, number: str, found: Problem) -> None:
    assert problem(carrier, number) is found


def test_numbers_are_read_as_carriers_print_them() -> None:
    assert normalise(" 1z 999aa1 ") == "1Z999AA1"
