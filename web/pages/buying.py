"""The buyer's pages: reorder suggestions, the reorder workbook, purchase orders, the catalogue.

Buyers and admins only, checked on the server (``roles_required``). Every form posts with
a CSRF token.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import StringField
from wtforms.validators import Length, Optional

from accounts.models import Role
from core.errors import N_, Conflict
from core.spreadsheets import Problem, SpreadsheetRejected
from purchasing.reorder.suggestions import SuggestionFilters
from purchasing.status import PurchaseOrderStatus, Urgency
from web.downloads import xlsx_download
from web.extensions import services
from web.labels import label
from web.pages.access import roles_required
from web.pages.planning import planning_context

bp = Blueprint("buying", __name__, url_prefix="/buying")

BUYERS = (Role.ADMIN, Role.BUYER)
PAGE_SIZE = 100
#: The audience of buyers' alerts (late purchase-order lines), beside the desk's.
BUYER_ALERTS = "buyers"


class UploadForm(FlaskForm):
    file = FileField(_l("Workbook (.xlsx)"), validators=[FileRequired(_l("Choose an .xlsx file."))])


class ActionForm(FlaskForm):
    """A button that changes something: CSRF token and an optional reason."""

    reason = StringField(_l("Reason"), validators=[Optional(), Length(max=200)])


def _filters() -> SuggestionFilters:
    urgency = request.args.get("urgency") or None
    return SuggestionFilters(
        supplier=(request.args.get("supplier") or "").strip()[:32] or None,
        category=(request.args.get("category") or "").strip()[:100] or None,
        urgency=Urgency(urgency) if urgency in {u.value for u in Urgency} else None,
    )


def _filter_args(filters: SuggestionFilters) -> dict[str, str]:
    values = {
        "supplier": filters.supplier,
        "category": filters.category,
        "urgency": filters.urgency.value if filters.urgency else None,
    }
    return {key: value for key, value in values.items() if value}


def _today() -> str:
    return services().clock.now().date().isoformat()


# --- reorder -----------------------------------------------------------------------------


@bp.get("/")
@roles_required(*BUYERS)
def reorder() -> ResponseReturnValue:
    filters = _filters()
    after = request.args.get("after") or None
    rows = services().buying.reorder.suggestions(filters, after=after, limit=PAGE_SIZE + 1)
    next_after = rows[PAGE_SIZE - 1].stock.sku_key if len(rows) > PAGE_SIZE else None
    return render_template(
        "buying_reorder.html",
        rows=rows[:PAGE_SIZE],
        filters=filters,
        filter_args=_filter_args(filters),
        next_after=next_after,
        suppliers=services().inventory.list_suppliers(limit=500),
        urgencies=list(Urgency),
        upload_form=UploadForm(),
        action_form=ActionForm(),
        **planning_context(),
    )


@bp.get("/reorder.xlsx")
@roles_required(*BUYERS)
def reorder_download() -> ResponseReturnValue:
    filters, actor = _filters(), current_user.email
    return xlsx_download(
        lambda stream: services().buying.reorder.export(stream, actor, filters),
        f"reorder-{_today()}.xlsx",
    )


NO_FILE = Problem("missing_file", N_("Choose the .xlsx file to upload."))


def _upload_failed(kind: str, problems: list[Problem]) -> ResponseReturnValue:
    return render_template("buying_import.html", kind=kind, problems=problems), 422


@bp.post("/reorder/import")
@roles_required(*BUYERS)
def reorder_import() -> ResponseReturnValue:
    form = UploadForm()
    if not form.validate_on_submit():
        return _upload_failed("reorder", [NO_FILE])
    upload = form.file.data
    try:
        result = services().buying.reorder.import_sheet(
            current_user.email, upload.read(), upload.filename or ""
        )
    except SpreadsheetRejected as rejected:
        return _upload_failed("reorder", rejected.problems)
    except Conflict as conflict:  # the same file again
        flash(conflict.message, "error")
        return redirect(url_for(".reorder"))
    return render_template("buying_import.html", kind="reorder", orders=result.orders)


@bp.post("/reorder/recompute")
@roles_required(*BUYERS)
def recompute() -> ResponseReturnValue:
    summary = services().buying.reorder.recompute()  # CSRF checked by CSRFProtect
    message = " ".join(
        (
            ngettext(
                "Recomputed the suggested reorder point of %(num)d part from %(days)d days of "
                "demand (%(with_demand)d with demand);",
                "Recomputed suggested reorder points of %(num)d parts from %(days)d days of "
                "demand (%(with_demand)d with demand);",
                summary.parts,
                days=summary.window_days,
                with_demand=summary.parts_with_demand,
            ),
            ngettext(
                "%(num)d computed point changed;",
                "%(num)d computed points changed;",
                summary.points_applied,
            ),
            ngettext(
                "%(num)d part at or below its point (%(new)d new).",
                "%(num)d parts at or below their point (%(new)d new).",
                summary.flagged,
                new=summary.newly_flagged,
            ),
        )
    )
    flash(message, "info")
    return redirect(url_for(".reorder"))


# --- purchase orders ---------------------------------------------------------------------


@bp.get("/purchase-orders")
@roles_required(*BUYERS)
def purchase_orders() -> ResponseReturnValue:
    supplier = (request.args.get("supplier") or "").strip()[:32] or None
    status_value = request.args.get("status") or None
    status = (
        PurchaseOrderStatus(status_value)
        if status_value in {s.value for s in PurchaseOrderStatus}
        else None
    )
    before = request.args.get("before", type=int)
    orders = services().buying.purchasing.list_orders(
        supplier=supplier, status=status, before=before, limit=PAGE_SIZE + 1
    )
    next_before = orders[PAGE_SIZE - 1].id if len(orders) > PAGE_SIZE else None
    return render_template(
        "buying_purchase_orders.html",
        orders=orders[:PAGE_SIZE],
        supplier=supplier or "",
        status=status.value if status else "",
        statuses=list(PurchaseOrderStatus),
        suppliers=services().inventory.list_suppliers(limit=500),
        next_before=next_before,
        alerts=services().service_levels.unread([BUYER_ALERTS]),
        alerts_form=FlaskForm(),
    )


@bp.post("/alerts/read")
@roles_required(*BUYERS)
def alerts_read() -> ResponseReturnValue:
    """Mark the buyers' alerts (late purchase-order lines) read."""
    if FlaskForm().validate_on_submit():
        ids = [int(v) for v in request.form.getlist("id") if v.isdigit()][:200]
        done = services().service_levels.mark_read(current_user.email, ids, [BUYER_ALERTS])
        flash(
            ngettext("%(num)d alert marked read.", "%(num)d alerts marked read.", done),
            "success",
        )
    else:
        flash(_("The form expired; try again."), "error")
    return redirect(url_for(".purchase_orders"))


@bp.get("/purchase-orders/<number>")
@roles_required(*BUYERS)
def purchase_order(number: str) -> ResponseReturnValue:
    order = services().buying.purchasing.get_order(number)
    return render_template("buying_purchase_order.html", order=order, form=ActionForm())


def _transition(number: str, action: str) -> ResponseReturnValue:
    form = ActionForm()
    form.validate_on_submit()
    reason = (form.reason.data or "").strip()[:200]
    purchasing = services().buying.purchasing
    change = purchasing.send if action == "send" else purchasing.cancel
    try:
        order = change(current_user.email, number, reason)
    except Conflict as conflict:  # e.g. sending an order that is no longer a draft
        flash(conflict.message, "error")
        return redirect(url_for(".purchase_order", number=number))
    flash(_("%(number)s is now %(state)s.", number=order.number, state=label(order.status)), "info")
    return redirect(url_for(".purchase_order", number=order.number))


@bp.post("/purchase-orders/<number>/send")
@roles_required(*BUYERS)
def send(number: str) -> ResponseReturnValue:
    return _transition(number, "send")


@bp.post("/purchase-orders/<number>/cancel")
@roles_required(*BUYERS)
def cancel(number: str) -> ResponseReturnValue:
    return _transition(number, "cancel")


# --- catalogue ---------------------------------------------------------------------------


@bp.get("/catalogue.xlsx")
@roles_required(*BUYERS)
def catalogue_download() -> ResponseReturnValue:
    actor = current_user.email
    return xlsx_download(
        lambda stream: services().buying.catalogue.export_catalogue(stream, actor),
        f"catalogue-{_today()}.xlsx",
    )


@bp.post("/catalogue/import")
@roles_required(*BUYERS)
def catalogue_import() -> ResponseReturnValue:
    form = UploadForm()
    if not form.validate_on_submit():
        return _upload_failed("catalogue", [NO_FILE])
    upload = form.file.data
    try:
        result = services().buying.catalogue.import_catalogue(
            current_user.email, upload.read(), upload.filename or ""
        )
    except SpreadsheetRejected as rejected:
        return _upload_failed("catalogue", rejected.problems)
    except Conflict as conflict:
        flash(conflict.message, "error")
        return redirect(url_for(".reorder"))
    return render_template("buying_import.html", kind="catalogue", catalogue=result)
