"""Errors of reorder and purchasing, each with a stable ``code``."""

from __future__ import annotations

from core.errors import Conflict, InvalidInput, NotFound


class PurchaseOrderNotFound(NotFound):
    code = "purchase_order_not_found"

    def __init__(self, number: str):
        super().__init__(f"No purchase order {number!r}.", number=number)


class IllegalTransition(Conflict):
    code = "illegal_transition"

    def __init__(self, number: str, current: str, wanted: str, allowed: list[str]):
        options = ", ".join(allowed) if allowed else "nothing: it is closed"
        super().__init__(
            f"Purchase order {number} is {current}; it cannot become {wanted} "
            f"(from {current} it can become {options}).",
            number=number,
            status=current,
            wanted=wanted,
            allowed=allowed,
        )


class NotOnOrder(InvalidInput):
    code = "not_on_order"

    def __init__(self, number: str, sku: str, field: str):
        super().__init__(field, f"Purchase order {number} has no line for {sku!r}.", sku=sku)


class OverReceipt(Conflict):
    code = "over_receipt"

    def __init__(self, number: str, sku: str, requested: int, outstanding: int):
        super().__init__(
            f"Only {outstanding} of {sku} are still expected on {number}; {requested} received. "
            "Receive the surplus separately (POST /stock/receipts) if it is really there.",
            number=number,
            sku=sku,
            requested=requested,
            outstanding=outstanding,
        )
