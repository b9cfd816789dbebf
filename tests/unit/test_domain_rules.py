"""Domain rules that need no database."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from core.clock import FrozenClock
from core.errors import InvalidInput
from core.money import to_decimal
from inventory.catalog import LOCATION_CODE
from inventory.models import sku_key
from inventory.status import MOVE_EFFECTS, MoveKind
from web.api.pagination import decode_cursor, decode_typed_cursor, encode_cursor


def test_every_move_kind_has_its_effect_on_stock_defined() -> None:
    assert set(MOVE_EFFECTS) == set(MoveKind)


def on_hand_change(kind: MoveKind) -> int:
    return sum(effect.on_hand for effect in MOVE_EFFECTS[kind])


def test_transfers_and_reservations_never_create_or_destroy_stock() -> None:
    assert on_hand_change(MoveKind.TRANSFER) == 0
    assert on_hand_change(MoveKind.RESERVE) == 0
    assert on_hand_change(MoveKind.RELEASE) == 0


def test_receipts_add_and_issues_remove_stock() -> None:
    assert on_hand_change(MoveKind.RECEIPT) == 1
    assert on_hand_change(MoveKind.ISSUE) == -1
    assert on_hand_change(MoveKind.RESERVED_ISSUE) == -1


def test_a_reservation_that_is_issued_leaves_nothing_reserved() -> None:
    reserved = Counter()
    for kind in (MoveKind.RESERVE, MoveKind.RESERVED_ISSUE):
        for effect in MOVE_EFFECTS[kind]:
            reserved[effect.side] += effect.reserved
    assert reserved["from"] == 0


def test_skus_compare_without_case_or_surrounding_space() -> None:
    assert sku_key(" Abc-1 ") == sku_key("ABC-1") == "abc-1"


@pytest.mark.parametrize("code", ["MAIN/A-01-03", "WH2/QUARANTINE", "MAIN/R.1"])
def test_location_codes_are_warehouse_slash_bin(code: str) -> None:
    assert LOCATION_CODE.match(code)


@pytest.mark.parametrize("code", ["MAIN", "MAIN/", "/A", "MAIN/A/B", "MAIN/A 1", "-X/A"])
def test_malformed_location_codes_are_refused(code: str) -> None:
    assert LOCATION_CODE.match(code) is None


def test_money_is_rounded_half_up_to_four_places_and_never_a_float() -> None:
    assert to_decimal("0.00035") == Decimal("0.0004")
    assert to_decimal(3) == Decimal("3.0000")
    with pytest.raises(TypeError):
        to_decimal(0.1)
    with pytest.raises(ValueError):
        to_decimal("ten")


def test_the_frozen_clock_moves_only_when_told() -> None:
    clock = FrozenClock(datetime(2026, 1, 1, tzinfo=UTC))
    assert clock.now() == clock.now()
    clock.advance(timedelta(hours=2))
    assert clock.now() == datetime(2026, 1, 1, 2, tzinfo=UTC)


@pytest.mark.parametrize("key", ["abc-1", 12345, ["x", 1]])
def test_cursors_round_trip(key: object) -> None:
    assert decode_cursor(encode_cursor(key)) == key


def test_a_cursor_of_the_wrong_kind_is_refused() -> None:
    with pytest.raises(InvalidInput):
        decode_typed_cursor(encode_cursor("abc"), int)
    with pytest.raises(InvalidInput):
        decode_typed_cursor(encode_cursor(True), int)
    with pytest.raises(InvalidInput):
        decode_cursor("%%%")
