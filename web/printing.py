"""Printable sheets: QR codes drawn as inline SVG (works offline, prints sharp)."""

from __future__ import annotations

from typing import Any

import segno
from flask import render_template
from markupsafe import Markup

from web.extensions import services


def qr_svg(text: str, scale: int = 4) -> Markup:
    # segno escapes nothing user-controlled into markup: the SVG holds only path data.
    return Markup(segno.make(text, error="m").svg_inline(scale=scale, title=text))  # noqa: S704


def return_sheet(view: Any) -> str:
    """The printable return sheet of an RMA (``RmaView``): for the desk and for the customer."""
    return render_template(
        "rma_sheet.html",
        rma=view.rma,
        shipments=view.shipments,
        qr=qr_svg(view.rma.number),
        address=services().returns.ctx.addresses.receiving(),
    )
