"""Money and other exact decimals. Never float."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Numeric, String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

#: Unit costs carry four decimal places: cheap parts (a 0.0035 resistor) need them.
COST_PLACES = Decimal("0.0001")


def to_decimal(value: object, places: Decimal = COST_PLACES) -> Decimal:
    """Convert ``value`` to a Decimal rounded half-up to ``places``; refuses floats."""
    if isinstance(value, float):
        raise TypeError("money must not be a float; pass a Decimal, int or string")
    try:
        return Decimal(str(value)).quantize(places, rounding=ROUND_HALF_UP)
    except InvalidOperation as exc:
        raise ValueError(f"not a decimal amount: {value!r}") from exc


class ExactDecimal(TypeDecorator[Decimal]):
    """NUMERIC on PostgreSQL; a canonical decimal string on SQLite.

    SQLite has no decimal type and would round-trip through binary floats, so there the
    value is kept as text and converted back to ``Decimal`` on the way out.
    """

    impl = Numeric
    cache_ok = True

    def __init__(self, precision: int = 14, scale: int = 4):
        super().__init__(precision=precision, scale=scale, asdecimal=True)
        self.places = Decimal(1).scaleb(-scale)

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(40))
        return dialect.type_descriptor(self.impl_instance)

    def process_bind_param(self, value: object, dialect: Dialect) -> object:
        if value is None:
            return None
        amount = to_decimal(value, self.places)
        return str(amount) if dialect.name == "sqlite" else amount

    def process_result_value(self, value: object, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return to_decimal(value, self.places)
