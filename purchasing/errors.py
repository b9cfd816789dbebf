"""Errors of reorder and purchasing, each with a stable ``code``."""

from __future__ import annotations

from core.errors import N_, Conflict, InvalidInput, NotFound, Text


class PurchaseOrderNotFound(NotFound):
    code = "purchase_order_not_found"

    def __init__(self, number: str):
        super().__init__(N_("No purchase order %(number)s.", number=repr(number)), number=number)


class IllegalTransition(Conflict):
    code = "illegal_transition"

    def __init__(self, number: str, current: str, wanted: str, allowed: list[str]):
        super().__init__(
            cannot_become(N_("Purchase order %(number)s", number=number), current, wanted, allowed),
            number=number,
            status=current,
            wanted=wanted,
            allowed=allowed,
        )


class NotOnOrder(InvalidInput):
    code = "not_on_order"

    def __init__(self, number: str, sku: str, field: str):
        super().__init__(
            field,
            N_("Purchase order %(number)s has no line for %(sku)s.", number=number, sku=repr(sku)),
            sku=sku,
        )


class OverReceipt(Conflict):
    code = "over_receipt"

    def __init__(self, number: str, sku: str, requested: int, outstanding: int):
        super().__init__(
            N_(
                "Only %(outstanding)s of %(sku)s are still expected on %(number)s; %(requested)s "
                "received. Receive the surplus separately (POST /stock/receipts) if it is really "
                "there.",
                outstanding=outstanding,
                sku=sku,
                number=number,
                requested=requested,
            ),
            number=number,
            sku=sku,
            requested=requested,
            outstanding=outstanding,
        )


def cannot_become(subject: Text, current: str, wanted: str, allowed: list[str]) -> Text:
    """``subject`` (an order, a claim) refusing a status change, naming where it can go."""
    if not allowed:
        return N_(
            "%(subject)s is %(status)s; it cannot become %(wanted)s (from %(status)s it can "
            "become nothing: it is closed).",
            subject=subject,
            status=current,
            wanted=wanted,
        )
    return N_(
        "%(subject)s is %(status)s; it cannot become %(wanted)s (from %(status)s it can become "
        "%(options)s).",
        subject=subject,
        status=current,
        wanted=wanted,
        options=", ".join(allowed),
    )
