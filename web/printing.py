"""Printable sheets: QR codes drawn as inline SVG (works offline, prints sharp)."""

from __future__ import annotations

import segno
from markupsafe import Markup


def qr_svg(text: str, scale: int = 4) -> Markup:
    # segno escapes nothing user-controlled into markup: the SVG holds only path data.
    return Markup(segno.make(text, error="m").svg_inline(scale=scale, title=text))  # noqa: S704
