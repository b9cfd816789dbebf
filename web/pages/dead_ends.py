"""Friendly dead ends for the warehouse: what went wrong and what to do next, in plain words.

- An RMA number nobody issued (a misread label, a parcel from another shop): a page that says
  so and offers the scan again, instead of a bare 404.
- A delivery booked against a purchase order that is still a draft: the buyer has not sent it,
  so nothing can be received against it yet.
"""

from __future__ import annotations

from flask import render_template
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from purchasing.status import PurchaseOrderStatus


def unknown_rma_page(number: str, scan_form: object) -> ResponseReturnValue:
    """The answer to a scan of an RMA number that does not exist (404, with a way on)."""
    return render_template("warehouse_unknown_rma.html", number=number, scan=scan_form), 404


def draft_order_message(number: str, status: PurchaseOrderStatus) -> str | None:
    """Why nothing can be booked against the order, or None when it can be."""
    if status is not PurchaseOrderStatus.DRAFT:
        return None
    return _(
        "Purchase order %(number)s is still a draft: the buyer has not sent it to the supplier, "
        "so nothing can be booked against it yet. Ask a buyer to send it, or book the goods "
        "with Receive stock.",
        number=number,
    )
