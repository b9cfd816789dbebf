"""The loan pool page: loaners out and overdue with their due dates, and their actions
(returned, returned damaged into quarantine; charge or write off for supervisors). The lend
form lives on the RMA page and posts here.

Desk, warehouse and admins; charge and write-off are admins' (checked by the service too).
Every form posts with a CSRF token.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField
from wtforms.validators import Length, Optional

from accounts.models import Role
from core.errors import Conflict, InvalidInput, NotFound
from returns.loans import LendLoaner, LoanView
from web.extensions import services
from web.pages.access import roles_required

bp = Blueprint("loans_pages", __name__, url_prefix="/loans")

LENDERS = (Role.ADMIN, Role.SERVICE_DESK, Role.WAREHOUSE)
SHOWN = ("out", "overdue", "returned", "charged", "written_off")
ACTIONS = ("return", "charge", "write-off")


class LendForm(FlaskForm):
    sku = StringField(_l("Part (SKU)"), validators=[Length(min=1, max=64)])
    pool = StringField(_l("Loan pool (optional)"), validators=[Optional(), Length(max=64)])
    serial = StringField(_l("Serial (optional)"), validators=[Optional(), Length(max=100)])
    due = StringField(_l("Due back (YYYY-MM-DD)"), validators=[Optional(), Length(max=10)])


class LoanActionForm(FlaskForm):
    damaged = BooleanField(_l("Damaged: into quarantine"))
    quarantine = StringField(_l("Quarantine location"), validators=[Optional(), Length(max=64)])
    amount = StringField(_l("Amount charged"), validators=[Optional(), Length(max=20)])
    reason = StringField(_l("Reason"), validators=[Optional(), Length(max=2000)])


@bp.get("")
@roles_required(*LENDERS)
def pool() -> ResponseReturnValue:
    status = request.args.get("status") or "out"
    if status not in SHOWN:
        status = "out"
    return render_template(
        "loans.html",
        loans=services().returns.loans.listing(status),
        status=status,
        statuses=SHOWN,
        form=LoanActionForm(),
        supervisor=current_user.role is Role.ADMIN,
    )


def _due(raw: str | None) -> datetime | None:
    text = (raw or "").strip()
    if not text:
        return None
    try:
        return datetime.combine(date.fromisoformat(text), time(17, 0), tzinfo=UTC)
    except ValueError:
        raise InvalidInput("due_at", _("Give the due date as YYYY-MM-DD.")) from None


@bp.post("/lend/<number>")
@roles_required(*LENDERS)
def lend(number: str) -> ResponseReturnValue:
    form = LendForm()
    back = redirect(url_for("desk.detail", number=number))
    if not form.validate_on_submit():
        flash(_("Give the part's SKU; the form may have expired."), "error")
        return back
    try:
        loan = services().returns.loans.lend(
            current_user.email,
            number,
            LendLoaner(
                sku=form.sku.data or "",
                pool=(form.pool.data or "").strip() or None,
                serial=form.serial.data or "",
                due_at=_due(form.due.data),
            ),
        )
    except (InvalidInput, Conflict, NotFound) as problem:
        flash(problem.message, "error")
        return back
    flash(
        _("Loaner %(sku)s lent, due %(due)s.", sku=loan.sku, due=f"{loan.due_at:%Y-%m-%d}"),
        "info",
    )
    return back


def _amount(raw: str | None) -> Decimal:
    try:
        return Decimal((raw or "").strip().replace(",", ""))
    except InvalidOperation:
        raise InvalidInput("amount", _("Give the amount charged as a number.")) from None


def _apply(action: str, loan_id: int, form: LoanActionForm) -> LoanView:
    loans, actor = services().returns.loans, current_user.email
    supervisor = current_user.role is Role.ADMIN
    reason = (form.reason.data or "").strip()
    if action == "return":
        return loans.return_loaner(
            actor,
            loan_id,
            damaged=bool(form.damaged.data),
            quarantine=(form.quarantine.data or "").strip(),
            note=reason[:500],
        )
    if action == "charge":
        return loans.charge(
            actor, loan_id, _amount(form.amount.data), reason, supervisor=supervisor
        )
    return loans.write_off(actor, loan_id, reason, supervisor=supervisor)


@bp.post("/<int(max=2147483647):loan_id>/<action>")
@roles_required(*LENDERS)
def act(loan_id: int, action: str) -> ResponseReturnValue:
    if action not in ACTIONS:
        abort(404)
    form = LoanActionForm()
    back = redirect(url_for(".pool"))
    if not form.validate_on_submit():
        flash(_("The form expired or a field is too long; try again."), "error")
        return back
    try:
        view = _apply(action, loan_id, form)
    except (InvalidInput, Conflict, NotFound) as problem:
        flash(problem.message, "error")
        return back
    flash(_("Loan %(id)s (%(sku)s) is now %(state)s.", id=view.id, sku=view.sku,
            state=_(view.status.replace("_", " "))), "info")  # fmt: skip
    return back
