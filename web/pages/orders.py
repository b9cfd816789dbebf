"""The desk's orders: find an order, see what of it came back, and open a return from it."""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import (
    FieldList,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import Length, NumberRange, Optional

from accounts.models import Role
from core.errors import InvalidInput
from returns.from_orders import OpenRmaFromOrder, OrderReturnLine, ReturnableOrder
from returns.queries import RmaFilter
from returns.status import Channel, Priority, Reason, Resolution
from sales.orders import OrderSearch
from web.extensions import services
from web.pages.access import roles_required
from web.pages.desk import DESK, _choices

bp = Blueprint("orders_pages", __name__, url_prefix="/orders")

PAGE_SIZE = 50


class PickLineForm(Form):
    sku = HiddenField()
    qty = IntegerField(
        _l("Qty to return"), validators=[Optional(), NumberRange(min=0, max=100_000)]
    )
    serials = StringField(_l("Serials sent back"), validators=[Optional(), Length(max=2000)])


class ReturnFromOrderForm(FlaskForm):
    channel = SelectField(_l("Channel"), choices=_choices(Channel))
    reason = SelectField(_l("Reason"), choices=_choices(Reason))
    resolution = SelectField(_l("The customer wants"), choices=_choices(Resolution))
    priority = SelectField(
        _l("Priority"), choices=_choices(Priority), default=Priority.MEDIUM.value
    )
    description = TextAreaField(_l("Fault description"), validators=[Optional(), Length(max=5000)])
    lines = FieldList(FormField(PickLineForm), max_entries=500)
    override_reason = TextAreaField(
        _l("Supervisor override: why accept outside the policy"),
        validators=[Optional(), Length(max=1000)],
    )


def _supervisor() -> bool:
    return current_user.role is Role.ADMIN


@bp.get("")
@roles_required(*DESK)
def index() -> ResponseReturnValue:
    """Orders newest first; the search finds part of a number, a name or an e-mail."""
    q = (request.args.get("q") or "").strip()[:200]
    after = request.args.get("after", "")
    rows = services().orders.search(
        OrderSearch(
            text=q or None,
            after=int(after) if after.isdigit() and len(after) < 19 else None,
            limit=PAGE_SIZE + 1,
        )
    )
    older = rows[PAGE_SIZE - 1].id if len(rows) > PAGE_SIZE else None
    return render_template("orders.html", rows=rows[:PAGE_SIZE], q=q, older=older)


@bp.get("/<number>")
@roles_required(*DESK)
def detail(number: str) -> ResponseReturnValue:
    """An order's lines, what came back of each SKU, and the RMAs made from it."""
    returnable = services().returns.from_orders.returnable(number)
    rmas = services().rma_queries.matching(
        RmaFilter(order_number=returnable.order.number, limit=200)
    )
    return render_template(
        "order.html",
        returnable=returnable,
        rmas=rmas,
        form=None,
        today=services().clock.now().date(),
    )


@bp.route("/<number>/return", methods=["GET", "POST"])
@roles_required(*DESK)
def new_return(number: str) -> ResponseReturnValue:
    """Open a return from the order: pick the quantities; prices and customer are the order's."""
    returnable = services().returns.from_orders.returnable(number)
    form = ReturnFromOrderForm(
        data=None
        if request.method == "POST"
        else {"lines": [{"sku": line.sku, "qty": 0} for line in returnable.lines]}
    )
    if form.validate_on_submit():
        picked = [(i, row) for i, row in enumerate(form.lines) if row.qty.data]
        if not picked:
            form.lines.errors = [_("Choose how many of at least one line come back.")]
        else:
            try:
                view = services().returns.from_orders.open(
                    current_user.email, _command(form, returnable, picked), supervisor=_supervisor()
                )
            except InvalidInput as error:
                _attach_error(form, error, [i for i, _row in picked])
            else:
                flash(_("%(number)s opened.", number=view.number), "success")
                return redirect(url_for("desk.detail", number=view.number))
    status = 422 if form.is_submitted() else 200
    rows = list(zip(form.lines, returnable.lines, strict=False))
    return (
        render_template(
            "order_return.html",
            form=form,
            returnable=returnable,
            rows=rows,
            today=services().clock.now().date(),
            supervisor=_supervisor(),
        ),
        status,
    )


def _command(
    form: ReturnFromOrderForm, returnable: ReturnableOrder, picked: list[tuple[int, Any]]
) -> OpenRmaFromOrder:
    return OpenRmaFromOrder(
        order_number=returnable.order.number,
        lines=tuple(
            OrderReturnLine(
                sku=row.sku.data or "",
                qty=row.qty.data,
                serials=tuple(s for s in re.split(r"[\s,]+", row.serials.data or "") if s),
            )
            for _i, row in picked
        ),
        reason=Reason(form.reason.data),
        resolution=Resolution(form.resolution.data),
        channel=Channel(form.channel.data),
        priority=Priority(form.priority.data),
        description=form.description.data or "",
        override_reason=form.override_reason.data or None,
    )


def _attach_error(form: ReturnFromOrderForm, error: InvalidInput, rows: list[int]) -> None:
    """``lines.1.qty`` is the second line picked: shown at its row of the form."""
    parts = error.field.split(".")
    if parts[0] == "lines" and len(parts) == 3 and parts[1].isdigit() and int(parts[1]) < len(rows):
        row = form.lines[rows[int(parts[1])]]
        field = getattr(row, "serials" if parts[2] == "serials" else "qty")
        field.errors = [*field.errors, error.message]
        return
    flash(error.message, "error")
