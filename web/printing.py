"""Printable sheets: QR codes drawn as inline SVG (works offline, prints sharp)."""

from __future__ import annotations

import segno
from flask import render_template
from flask_babel import force_locale
from markupsafe import Markup

from returns.views import RmaDetail
from web.extensions import services


def qr_svg(text: str, scale: int = 4) -> Markup:
    # segno escapes nothing user-controlled into markup: the SVG holds only path data.
    return Markup(segno.make(text, error="m").svg_inline(scale=scale, title=text))  # noqa: S704


def return_sheet(rma: RmaDetail) -> str:
    """The printable return sheet of an RMA: for the desk and for the customer, always in the
    customer's language (it goes in the customer's parcel, whoever prints it)."""
    with force_locale(rma.customer_language):
        return render_template(
            "rma_sheet.html",
            rma=rma,
            shipments=rma.shipments,
            qr=qr_svg(rma.number),
            address=services().returns.ctx.addresses.receiving(),
        )
