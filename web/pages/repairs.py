"""The repair order section of an RMA's page: the technician's forms (open, use a part, retry
waiting parts, book labour, record the test, ship back by hand or on a label bought from the
outbound carrier). Each posts here, calls one use case of returns/repairs.py (the label:
returns/outbound_labels.py) and goes back to the RMA page."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from accounts.models import Role
from core.errors import DomainError, InvalidInput
from returns.repairs import OpenRepair, RecordLabour, RecordRepairTest, ShipRepair, UseRepairPart
from web.extensions import services
from web.pages.access import roles_required

bp = Blueprint("repairs", __name__, url_prefix="/returns")

#: Who repairs: the warehouse (technicians) and admins; the desk sees the section read-only.
TECHNICIANS = (Role.WAREHOUSE, Role.ADMIN)


class OpenRepairForm(FlaskForm):
    diagnosis = TextAreaField(_l("Diagnosis"), validators=[DataRequired(), Length(max=5000)])
    technician = StringField(_l("Technician"), validators=[Optional(), Length(max=254)])


class UsePartForm(FlaskForm):
    sku = StringField(_l("Part (SKU)"), validators=[DataRequired(), Length(max=64)])
    qty = IntegerField(_l("Qty"), default=1, validators=[DataRequired(), NumberRange(1, 10_000)])
    location = StringField(_l("From bin (empty: any)"), validators=[Optional(), Length(max=64)])


class LabourForm(FlaskForm):
    minutes = IntegerField(_l("Minutes"), validators=[DataRequired(), NumberRange(1, 10_000)])
    technician = StringField(_l("Technician"), validators=[Optional(), Length(max=254)])


class TestForm(FlaskForm):
    outcome = SelectField(
        _l("Result"),
        choices=[SelectChoice("passed", _l("Passed")), SelectChoice("failed", _l("Failed"))],
    )
    result = TextAreaField(
        _l("What the test showed"), validators=[DataRequired(), Length(max=5000)]
    )


class ShipRepairForm(FlaskForm):
    carrier = StringField(_l("Carrier"), validators=[DataRequired(), Length(max=32)])
    tracking_number = StringField(
        _l("Tracking number"), validators=[DataRequired(), Length(max=64)]
    )


def repair_forms() -> dict[str, FlaskForm]:
    return {
        "open": OpenRepairForm(prefix="open"),
        "part": UsePartForm(prefix="part"),
        "labour": LabourForm(prefix="labour"),
        "test": TestForm(prefix="test"),
        "ship": ShipRepairForm(prefix="ship"),
    }


def repair_page_context() -> dict[str, Any]:
    """What the RMA page's repair section needs besides the repair order itself."""
    return {
        "repair_forms": repair_forms(),
        "can_repair": current_user.role in TECHNICIANS,
        # Set: the "Ship back" form also offers to buy the label (SPAREFLOW_OUTBOUND_CARRIER).
        "outbound_carrier": services().returns.ctx.labels.outbound_carrier,
    }


#: Each action and how the success message names it.
ACTION_NAMES = {
    "open": _l("repair order opened"),
    "part": _l("part used"),
    "retry": _l("waiting parts retried"),
    "labour": _l("labour booked"),
    "test": _l("test recorded"),
    "ship": _l("repaired unit shipped"),
    "label": _l(
        "label ordered from the outbound carrier: the unit ships and the return closes once "
        "it is bought"
    ),
}


@bp.post("/<number>/repair/<action>")
@roles_required(*TECHNICIANS)
def act(number: str, action: str) -> ResponseReturnValue:
    if action not in ACTION_NAMES:
        return redirect(url_for("desk.detail", number=number, _anchor="repair"))
    forms = repair_forms()
    repairs = services().returns.repairs
    actor = current_user.email
    try:
        if action in ("retry", "label"):
            if not FlaskForm().validate_on_submit():
                raise InvalidInput("csrf_token", _("The form expired; try again."))
            if action == "retry":
                repairs.retry_parts(actor, number)
            else:  # bought by the outbox worker (returns/outbound_labels.py)
                services().returns.outbound_labels.order_for_repair(actor, number)
        else:
            form = forms[action]
            if not form.validate_on_submit():
                raise InvalidInput(action, _("Check the fields of the form."))
            data = form.data
            if action == "open":
                repairs.open(
                    actor, number, OpenRepair(data["diagnosis"], data["technician"] or None)
                )
            elif action == "part":
                command = UseRepairPart(data["sku"], data["qty"], data["location"] or None)
                repairs.use_part(actor, number, command)
            elif action == "labour":
                repairs.record_labour(
                    actor, number, RecordLabour(data["minutes"], data["technician"] or None)
                )
            elif action == "test":
                passed = data["outcome"] == "passed"
                repairs.record_test(actor, number, RecordRepairTest(passed, data["result"]))
            else:
                repairs.ship(actor, number, ShipRepair(data["carrier"], data["tracking_number"]))
    except DomainError as error:
        flash(error.message, "error")
    else:
        flash(_("%(number)s: %(action)s.", number=number, action=ACTION_NAMES[action]), "success")
    return redirect(url_for("desk.detail", number=number, _anchor="repair"))
