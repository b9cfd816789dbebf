"""The serial look-up page: where is unit X and who has it, and the recall list download."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from accounts.models import Role
from core.errors import NotFound
from web.api.serials import recall_filename
from web.downloads import xlsx_download
from web.extensions import services
from web.pages.access import roles_required

bp = Blueprint("serial_pages", __name__, url_prefix="/serials")

#: As the API: staff who move units or talk to their customers; a recall lists customers.
LOOKERS = (Role.ADMIN, Role.WAREHOUSE, Role.SERVICE_DESK)
RECALLERS = (Role.ADMIN, Role.SERVICE_DESK)


def _arg(name: str, limit: int = 100) -> str:
    return request.args.get(name, "").strip()[:limit]


@bp.get("")
@roles_required(*LOOKERS)
def look_up() -> ResponseReturnValue:
    serial = _arg("serial")
    units = []
    if serial:
        try:
            units = services().inventory.serial(serial)
        except NotFound as missing:
            flash(missing.message, "error")
    return render_template("serials.html", serial=serial, units=units)


@bp.get("/recall.xlsx")
@roles_required(*RECALLERS)
def recall() -> ResponseReturnValue:
    sku, first, last = _arg("sku", 64), _arg("from"), _arg("to")
    if not (sku and first and last):
        flash(_("A recall list needs the SKU and the first and last serial."), "error")
        return redirect(url_for("serial_pages.look_up"))
    return xlsx_download(
        lambda stream: services().inventory.export_recall(stream, sku, first, last),
        recall_filename(sku, first, last),
    )
