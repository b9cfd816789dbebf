"""Warehouse pages, made for a barcode scanner: the scan field has focus, Enter submits.

Receive, move and count stock; ship advance replacements from the pick queue; book in and
inspect returned parcels by scanning their RMA number.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import Field, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from accounts.models import Role
from carriers.labels import LabelFormat
from core.errors import DomainError, InvalidInput
from inventory.commands import AdjustStock, ReceiveStock, TransferStock
from inventory.serials import parse_serials
from purchasing.commands import ReceiptLine, ReceivePurchaseOrder
from purchasing.status import PurchaseOrderStatus
from returns.commands import (
    InspectedLine,
    InspectParcel,
    ReceivedLine,
    ReceiveParcel,
    ShipReplacement,
)
from returns.errors import RmaNotFound
from returns.status import TRANSITIONS, Disposition, RmaStatus
from web.downloads import label_download
from web.extensions import services
from web.labels import label
from web.pages.access import roles_required
from web.pages.dead_ends import draft_order_message, unknown_rma_page
from web.printing import qr_svg

bp = Blueprint("warehouse", __name__, url_prefix="/warehouse")

WAREHOUSE = (Role.WAREHOUSE, Role.ADMIN)
SCAN = [DataRequired(message=_l("Scan or type it.")), Length(max=64)]
QTY = [DataRequired(message=_l("How many?")), NumberRange(min=1, max=1_000_000)]
SERIALS_HELP = _l("Serials (serialised parts: scan one per line)")


def _serials_field() -> TextAreaField:
    # Out of the Tab order: a scanner that ends the last field with Tab, then Enter, submits
    # the form instead of writing a new line into the serials. A serialised part's units are
    # scanned after tapping into the box (each scan's Enter is then a line break, as wanted).
    return TextAreaField(
        SERIALS_HELP,
        validators=[Optional(), Length(max=20_000)],
        render_kw={"tabindex": "-1"},
    )


def _scanned_serials(field: Field) -> tuple[str, ...]:
    return parse_serials(field.data)


class ReceiveForm(FlaskForm):
    part = StringField(_l("Part (scan SKU or barcode)"), validators=SCAN)
    location = StringField(_l("Into bin"), validators=SCAN)
    qty = IntegerField(_l("Quantity"), validators=QTY)
    reference = StringField(
        _l("Reference (PO, delivery note)"), validators=[Optional(), Length(max=100)]
    )
    serials = _serials_field()


class MoveForm(FlaskForm):
    part = StringField(_l("Part (scan SKU or barcode)"), validators=SCAN)
    from_location = StringField(_l("From bin"), validators=SCAN)
    to_location = StringField(_l("To bin"), validators=SCAN)
    qty = IntegerField(_l("Quantity"), validators=QTY)
    serials = _serials_field()


class CountForm(FlaskForm):
    location = StringField(_l("Bin"), validators=SCAN)
    part = StringField(_l("Part (scan SKU or barcode)"), validators=SCAN)
    counted_qty = IntegerField(
        _l("Counted"), validators=[Optional(), NumberRange(min=0, max=1_000_000)]
    )


class ShipForm(FlaskForm):
    carrier = SelectField(_l("Carrier"), choices=[])
    tracking_number = StringField(_l("Tracking number (scan the label)"), validators=SCAN)
    serials = _serials_field()


class BuyLabelForm(FlaskForm):
    serials = _serials_field()


class ScanRmaForm(FlaskForm):
    rma = StringField(
        _l("Scan the RMA number on the parcel"), validators=[DataRequired(), Length(max=20)]
    )


def _actor() -> str:
    return current_user.email


def _show_error(form: FlaskForm, error: DomainError, fields: dict[str, str]) -> None:
    """Put a domain error beside the field it is about, keeping everything typed."""
    name = fields.get(getattr(error, "field", ""), "")
    field: Field | None = getattr(form, name, None) if name else None
    if field is not None:
        field.errors = [*field.errors, error.message]
    else:
        flash(error.message, "error")


@bp.get("")
@roles_required(*WAREHOUSE)
def index() -> ResponseReturnValue:
    return render_template(
        "warehouse_index.html",
        scan=ScanRmaForm(),
        queue=services().rma_queries.pick_queue(),
        carriers=sorted(services().carriers.adapters),
        outbound_carrier=services().returns.ctx.labels.outbound_carrier,
    )


def _stock_form(
    form_class: type[FlaskForm], template: str, title: str, act: Any, fields: dict[str, str]
) -> ResponseReturnValue:
    form = form_class()
    status = 200
    if form.validate_on_submit():
        try:
            sku = services().inventory.scanned_sku(form.part.data)
            message = act(form, sku)
        except DomainError as error:
            _show_error(form, error, {"sku": "part", **fields})
            status = 422
        else:
            flash(message, "success")
            return redirect(request.path)
    elif form.is_submitted():
        status = 422
    return render_template(template, form=form, title=title), status


@bp.route("/receive", methods=["GET", "POST"])
@roles_required(*WAREHOUSE)
def receive() -> ResponseReturnValue:
    def act(form: ReceiveForm, sku: str) -> str:
        move = services().inventory.receive(
            _actor(),
            ReceiveStock(
                sku=sku,
                location=form.location.data,
                qty=form.qty.data,
                reference=form.reference.data or None,
                reason="goods in",
                serials=_scanned_serials(form.serials),
            ),
        )
        return _(
            "Received %(qty)d x %(sku)s into %(bin)s.",
            qty=move.qty,
            sku=sku,
            bin=move.to_location.code,
        )

    return _stock_form(
        ReceiveForm, "warehouse_form.html", _("Receive stock"), act, {"location": "location"}
    )


@bp.route("/move", methods=["GET", "POST"])
@roles_required(*WAREHOUSE)
def move() -> ResponseReturnValue:
    def act(form: MoveForm, sku: str) -> str:
        moved = services().inventory.transfer(
            _actor(),
            TransferStock(
                sku=sku,
                from_location=form.from_location.data,
                to_location=form.to_location.data,
                qty=form.qty.data,
                serials=_scanned_serials(form.serials),
            ),
        )
        source, target = moved.from_location.code, moved.to_location.code
        return _(
            "Moved %(qty)d x %(sku)s from %(source)s to %(target)s.",
            qty=moved.qty,
            sku=sku,
            source=source,
            target=target,
        )

    return _stock_form(
        MoveForm,
        "warehouse_form.html",
        _("Move between bins"),
        act,
        {
            "from_location": "from_location",
            "to_location": "to_location",
            "location": "from_location",
        },
    )


@bp.route("/count", methods=["GET", "POST"])
@roles_required(*WAREHOUSE)
def count() -> ResponseReturnValue:
    def act(form: CountForm, sku: str) -> str:
        if form.counted_qty.data is None:
            raise InvalidInput(
                "counted_qty", _("Enter how many you counted (0 if the bin is empty).")
            )
        move = services().inventory.adjust(
            _actor(),
            AdjustStock(
                sku=sku,
                location=form.location.data,
                counted_qty=form.counted_qty.data,
                reason="cycle count",
            ),
        )
        difference = move.signed_difference or 0
        values = {"qty": move.counted_qty, "sku": sku, "bin": form.location.data.upper()}
        if not difference:
            return _("Counted %(qty)d x %(sku)s in %(bin)s: no difference.", **values)
        signed = f"{difference:+d}"
        return _(
            "Counted %(qty)d x %(sku)s in %(bin)s: difference %(difference)s.",
            difference=signed,
            **values,
        )

    return _stock_form(
        CountForm,
        "warehouse_form.html",
        _("Cycle count"),
        act,
        {"location": "location", "counted_qty": "counted_qty"},
    )


@bp.get("/pick-list")
@roles_required(*WAREHOUSE)
def pick_list() -> ResponseReturnValue:
    """A printable pick list: what to take from which bin, each with its RMA as a QR code."""
    queue = [
        item for item in services().rma_queries.pick_queue() if item.reservation_id is not None
    ]
    return render_template("pick_list.html", queue=queue, qr=qr_svg)


@bp.post("/picks/<int(max=2147483647):replacement_id>/ship")
@roles_required(*WAREHOUSE)
def ship(replacement_id: int) -> ResponseReturnValue:
    form = _ship_form()
    if form.validate_on_submit():
        try:
            view = services().returns.warehouse.ship_replacement(
                _actor(),
                replacement_id,
                ShipReplacement(
                    carrier=form.carrier.data,
                    tracking_number=form.tracking_number.data,
                    serials=_scanned_serials(form.serials),
                ),
            )
        except DomainError as error:
            flash(error.message, "error")
        else:
            flash(_("Replacement for %(number)s shipped.", number=view.number), "success")
    else:
        flash(_("Scan the tracking number of the parcel's label."), "error")
    return redirect(url_for("warehouse.index"))


@bp.post("/picks/<int(max=2147483647):replacement_id>/label")
@roles_required(*WAREHOUSE)
def buy_label(replacement_id: int) -> ResponseReturnValue:
    """Buy the outbound label (``SPAREFLOW_OUTBOUND_CARRIER``); it ships once bought."""
    form = BuyLabelForm()
    if form.validate_on_submit():
        try:
            view = services().returns.outbound_labels.order(
                _actor(), replacement_id, _scanned_serials(form.serials)
            )
        except DomainError as error:
            flash(error.message, "error")
        else:
            flash(
                _(
                    "Label for %(number)s ordered: it can be printed here once it is bought.",
                    number=view.number,
                ),
                "success",
            )
    return redirect(url_for("warehouse.index"))


@bp.get("/picks/<int(max=2147483647):replacement_id>/label")
@roles_required(*WAREHOUSE)
def print_label(replacement_id: int) -> ResponseReturnValue:
    """The bought outbound label, to print: the 4x6 PDF, or ``?format=zpl`` (a download for
    the thermal printer); by default the PDF when there is one."""
    label_format = {f.value: f for f in LabelFormat}.get(request.args.get("format") or "")
    document = services().returns.outbound_labels.label(replacement_id, label_format)
    return label_download(document, f"replacement-{replacement_id}")


def _ship_form() -> ShipForm:
    form = ShipForm()
    form.carrier.choices = [
        SelectChoice(name, name) for name in sorted(services().carriers.adapters)
    ]
    return form


class ScanPurchaseOrderForm(FlaskForm):
    number = StringField(
        _l("Scan the purchase order number"), validators=[DataRequired(), Length(max=30)]
    )


@bp.route("/purchase-orders", methods=["GET", "POST"])
@roles_required(*WAREHOUSE)
def scan_purchase_order() -> ResponseReturnValue:
    form = ScanPurchaseOrderForm()
    if form.validate_on_submit():
        number = (form.number.data or "").strip().upper()
        return redirect(url_for("warehouse.goods_in", number=number))
    purchasing = services().buying.purchasing
    # The deliveries the warehouse may book, soonest first: a tap instead of a scan.
    expected = [
        order
        for status in (PurchaseOrderStatus.SENT, PurchaseOrderStatus.PARTIALLY_RECEIVED)
        for order in purchasing.list_orders(status=status, limit=20)
    ]
    return render_template(
        "warehouse_form.html",
        form=form,
        title=_("Receive against a purchase order"),
        expected_orders=sorted(
            expected, key=lambda order: (order.expected_on is None, order.expected_on, order.number)
        ),
    )


@bp.route("/purchase-orders/<number>", methods=["GET", "POST"])
@roles_required(*WAREHOUSE)
def goods_in(number: str) -> ResponseReturnValue:
    """Book a delivery against its purchase order: one row per line, only what arrived."""
    purchasing = services().buying.purchasing
    order = purchasing.get_order(number)
    form = FlaskForm()
    draft = draft_order_message(order.number, order.status)
    if request.method == "POST" and form.validate_on_submit() and draft:
        flash(draft, "error")
        return redirect(request.path)
    if request.method == "POST" and form.validate_on_submit():
        location = (request.form.get("location") or "").strip()
        lines: list[ReceiptLine] = []
        for line in order.lines:
            raw = (request.form.get(f"qty-{line.id}") or "").strip()
            if raw:
                if not raw.isdigit():
                    flash(
                        _(
                            "%(sku)s: %(value)s is not a whole number.",
                            sku=line.sku,
                            value=repr(raw),
                        ),
                        "error",
                    )
                    return redirect(request.path)
                if int(raw) > 0:
                    serials = parse_serials(request.form.get(f"serials-{line.id}"))
                    lines.append(ReceiptLine(line.sku, int(raw), serials=serials))
        try:
            if not lines:
                raise InvalidInput(
                    "lines", _("Enter the quantity that arrived on at least one line.")
                )
            order, moves = purchasing.receive(
                _actor(),
                ReceivePurchaseOrder(number, tuple(lines), location=location, reason="goods in"),
            )
        except DomainError as error:
            flash(error.message, "error")
        else:
            received = sum(move.qty for move in moves)
            flash(
                ngettext(
                    "Received %(num)d unit against %(number)s; it is now %(state)s.",
                    "Received %(num)d units against %(number)s; it is now %(state)s.",
                    received,
                    number=order.number,
                    state=label(order.status),
                ),
                "success",
            )
        return redirect(request.path)
    return render_template("warehouse_goods_in.html", order=order, form=form, draft=draft)


@bp.post("/returns")
@roles_required(*WAREHOUSE)
def scan_rma() -> ResponseReturnValue:
    form = ScanRmaForm()
    number = (form.rma.data or "").strip().upper() if form.validate_on_submit() else ""
    return (
        redirect(url_for("warehouse.parcel", number=number))
        if number
        else redirect(url_for("warehouse.index"))
    )


@bp.route("/returns/<number>", methods=["GET", "POST"])
@roles_required(*WAREHOUSE)
def parcel(number: str) -> ResponseReturnValue:
    """Book a returned parcel in, then inspect it: one page per RMA, in the order of the work."""
    returns = services().returns
    try:
        rma = services().rma_queries.get(number)
    except RmaNotFound:
        return unknown_rma_page(number.strip().upper()[:40], ScanRmaForm())
    plain = FlaskForm()
    if request.method == "POST" and plain.validate_on_submit():
        try:
            if request.form.get("step") == "receive":
                lines = [
                    ReceivedLine(
                        sku=line.sku,
                        qty=int(request.form.get(f"qty-{line.id}") or 0),
                        condition=request.form.get(f"condition-{line.id}") or None,
                        serial=request.form.get(f"serial-{line.id}") or None,
                    )
                    for line in rma.lines
                ]
                parcel = ReceiveParcel(
                    lines=tuple(line for line in lines if line.qty > 0),
                    empty=request.form.get("empty") == "1",
                    note=request.form.get("note") or "",
                )
                returns.warehouse.receive(
                    _actor(), number, parcel, supervisor=current_user.role is Role.ADMIN
                )
                flash(_("%(number)s booked in.", number=number), "success")
            else:
                decisions = tuple(
                    InspectedLine(
                        sku=line.sku,
                        disposition=Disposition(request.form[f"disposition-{line.id}"]),
                        location=request.form.get(f"location-{line.id}") or None,
                    )
                    for line in rma.lines
                    if line.received_qty
                )
                returns.warehouse.inspect(_actor(), number, InspectParcel(decisions))
                flash(_("%(number)s inspected.", number=number), "success")
        except (DomainError, ValueError, KeyError) as error:
            flash(getattr(error, "message", _("Fill in every line.")), "error")
        return redirect(url_for("warehouse.parcel", number=number))
    can_receive = RmaStatus.RECEIVED in TRANSITIONS[rma.status]
    return render_template(
        "warehouse_parcel.html",
        rma=rma,
        form=plain,
        can_receive=can_receive,
        can_inspect=rma.status is RmaStatus.RECEIVED,
        dispositions=list(Disposition),
    )
