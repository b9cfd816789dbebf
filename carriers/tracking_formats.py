"""Does a typed tracking number look like one? Formats and check digits where they are known.

A person typing the customer's tracking number (the desk's authorise form) gets a warning for a
number no carrier would issue: too short, stray characters, or a known format (UPS ``1Z``,
USPS IMpb, SF Express) whose shape or check digit is wrong. Unknown formats pass: carriers
issue many, and the aggregators (AfterShip, EasyPost, Shippo) carry hundreds of carriers.

Pure functions, no I/O; the words for each problem are the web layer's.
"""

from __future__ import annotations

import enum
import re


class Problem(enum.StrEnum):
    TOO_SHORT = "too_short"
    NOT_LETTERS_AND_DIGITS = "not_letters_and_digits"
    NO_DIGITS = "no_digits"
    UPS_SHAPE = "ups_shape"  # 1Z + 16 letters and digits
    UPS_CHECK_DIGIT = "ups_check_digit"
    USPS_CHECK_DIGIT = "usps_check_digit"
    SF_SHAPE = "sf_shape"  # SF + 12 or 13 digits


MIN_LENGTH = 4
_ALLOWED = re.compile(r"^[A-Z0-9-]+$")
_UPS = re.compile(r"^1Z[A-Z0-9]{16}$")
#: USPS Intelligent Mail package barcodes: 20 to 22 digits, starting 9 (9x00...).
_USPS = re.compile(r"^9[1-5]\d{18,20}$")
_SF = re.compile(r"^SF\d{12,13}$")


def normalise(tracking_number: str) -> str:
    """As carriers print it: upper case, without spaces."""
    return re.sub(r"\s+", "", tracking_number).upper()


def problem(carrier: str, tracking_number: str) -> Problem | None:
    """What is wrong with ``tracking_number`` for the adapter ``carrier`` (None: it may be
    right)."""
    number = normalise(tracking_number)
    if len(number) < MIN_LENGTH:
        return Problem.TOO_SHORT
    if not _ALLOWED.match(number):
        return Problem.NOT_LETTERS_AND_DIGITS
    if not any(c.isdigit() for c in number):
        return Problem.NO_DIGITS
    if carrier == "sfexpress":
        return None if _SF.match(number) else Problem.SF_SHAPE
    if number.startswith("1Z"):
        if not _UPS.match(number):
            return Problem.UPS_SHAPE
        return None if _ups_check_digit_ok(number) else Problem.UPS_CHECK_DIGIT
    if _USPS.match(number):
        return None if _mod10_ok(number) else Problem.USPS_CHECK_DIGIT
    return None


def _ups_check_digit_ok(number: str) -> bool:
    """UPS: characters 3-17 (letters as (ASCII - 63) mod 10), odd ones once and even ones
    twice; the 18th character makes the sum a multiple of ten."""
    total = 0
    for index, char in enumerate(number[2:17]):
        value = int(char) if char.isdigit() else (ord(char) - 63) % 10
        total += value * 2 if index % 2 else value
    return (10 - total % 10) % 10 == int(number[17]) if number[17].isdigit() else False


def _mod10_ok(number: str) -> bool:
    """USPS IMpb (GS1 mod 10): from the right, before the check digit, weights 3, 1, 3..."""
    digits = [int(c) for c in reversed(number[:-1])]
    total = sum(d * (3 if i % 2 == 0 else 1) for i, d in enumerate(digits))
    return (10 - total % 10) % 10 == int(number[-1])
