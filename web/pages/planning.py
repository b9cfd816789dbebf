"""The fill-rate plan on the reorder page: the catalogue's trade-off chart and the buyer's
targets per demand class and part category (docs/planning.md). Buyers and admins only."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import Blueprint, flash, redirect, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import DecimalField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, NumberRange, Optional

from accounts.models import Role
from core.errors import InvalidInput
from purchasing.reorder.targets import CLASSES, MAX_FILL_RATE, MIN_FILL_RATE
from web.charts import xy_chart
from web.extensions import services
from web.pages.access import roles_required

bp = Blueprint("planning_pages", __name__, url_prefix="/buying/planning")
BUYERS = (Role.ADMIN, Role.BUYER)


class TargetForm(FlaskForm):
    scope = SelectField(
        _l("For"),
        choices=[SelectChoice("default", _l("Default")),
                 SelectChoice("class", _l("Demand class")),
                 SelectChoice("category", _l("Category"))],
    )  # fmt: skip
    key = StringField(_l("Class or category"), validators=[Optional(), Length(max=100)])
    fill_rate = DecimalField(
        _l("Target fill rate (%)"),
        places=1,
        validators=[Optional(), NumberRange(min=float(MIN_FILL_RATE) * 100,
                                                 max=float(MAX_FILL_RATE) * 100)],
    )  # fmt: skip
    remove = StringField(validators=[Optional()])


def planning_context() -> dict[str, Any]:
    """What the reorder page shows of the plan: the trade-off chart, the targets, the form."""
    reorder = services().buying.reorder
    targets, points = reorder.plan_overview()
    chart = xy_chart(
        [
            (
                float(p.expected_fill_rate),
                float(p.stock_value),
                _("target %(t)s", t=f"{p.target:.0%}"),
            )
            for p in points
        ],
        _("Fill rate against stock value, targets 80 to 99 %"),
        _("Expected fill rate"),
        _("Stock value"),
    )
    return {
        "tradeoff_chart": chart,
        "tradeoff": points,
        "targets": targets,
        "target_default": reorder.settings.planning_target,
        "target_form": TargetForm(),
        "demand_classes": CLASSES,
    }


@bp.post("/targets")
@roles_required(*BUYERS)
def set_target() -> ResponseReturnValue:
    form = TargetForm()
    if not form.validate_on_submit():
        for field, problems in form.errors.items():
            flash(f"{getattr(form, field).label.text}: {'; '.join(problems)}", "error")
        return redirect(url_for("buying.reorder", _anchor="targets"))
    if not form.remove.data and form.fill_rate.data is None:
        flash(_("Give a target fill rate, or remove the target."), "error")
        return redirect(url_for("buying.reorder", _anchor="targets"))
    rate = None if form.remove.data else Decimal(form.fill_rate.data) / 100
    try:
        services().buying.reorder.set_target(
            current_user.email, form.scope.data, form.key.data or "", rate
        )
    except InvalidInput as error:
        flash(error.message, "error")
        return redirect(url_for("buying.reorder", _anchor="targets"))
    flash(_("Target saved; the next recompute plans with it."), "success")
    return redirect(url_for("buying.reorder", _anchor="targets"))
