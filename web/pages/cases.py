"""Enquiries and complaints on the desk: the intake form, a case's page and its moves, turning a
complaint into a return, and the follow-up calls to make (returns/cases.py, followups.py)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    FieldList,
    FormField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, Regexp

from core.errors import DomainError, InvalidInput
from returns.cases import MOVES, ConvertComplaint, OpenCase
from returns.commands import Customer, ReturnLine
from returns.followups import FollowUpOutcome, FollowUpStatus, RecordCall
from returns.service_levels import format_left, sla_clock
from returns.status import (
    TERMINAL,
    CaseKind,
    Channel,
    Priority,
    Reason,
    Resolution,
    RmaStatus,
    RootCause,
    transitions_for,
)
from web.extensions import services
from web.labels import lazy_label
from web.pages.access import roles_required
from web.pages.desk import DESK, LINE_ROWS, LineForm, ReasonForm, ReplyForm, _choices

bp = Blueprint("cases", __name__, url_prefix="/returns")

CASE_KINDS = [CaseKind.ENQUIRY, CaseKind.COMPLAINT]


class CaseForm(FlaskForm):
    kind = SelectField(
        _l("Kind"),
        choices=[SelectChoice(k.value, lazy_label(k, capitalize=True)) for k in CASE_KINDS],
    )
    customer_name = StringField(_l("Customer name"), validators=[DataRequired(), Length(max=200)])
    customer_email = EmailField(
        _l("E-mail"),
        validators=[
            DataRequired(),
            Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", message=_l("Not an e-mail address.")),
            Length(max=254),
        ],
    )
    customer_phone = StringField(_l("Phone"), validators=[Optional(), Length(max=50)])
    vip = BooleanField(_l("VIP / key account (raises the priority one step)"))
    channel = SelectField(_l("Channel"), choices=_choices(Channel))
    priority = SelectField(
        _l("Priority"), choices=_choices(Priority), default=Priority.MEDIUM.value
    )
    order_number = StringField(_l("Order number"), validators=[Optional(), Length(max=100)])
    root_cause = SelectField(
        _l("Root cause (complaints)"),
        choices=[SelectChoice("", "—"), *_choices(RootCause)],
        validators=[Optional()],
    )
    description = TextAreaField(
        _l("What the customer asks or complains about"),
        validators=[DataRequired(), Length(max=5000)],
    )


class ConvertForm(FlaskForm):
    reason = SelectField(_l("Reason"), choices=_choices(Reason))
    resolution = SelectField(_l("The customer wants"), choices=_choices(Resolution))
    payment_reference = StringField(
        _l("Payment to refund (e.g. pi_...)"), validators=[Optional(), Length(max=100)]
    )
    purchase_date = DateField(_l("Purchase date"), validators=[Optional()])
    lines = FieldList(FormField(LineForm), min_entries=LINE_ROWS, max_entries=LINE_ROWS)


class CallForm(FlaskForm):
    outcome = SelectField(_l("Outcome"), choices=_choices(FollowUpOutcome))
    satisfaction = SelectField(
        _l("Satisfaction (when reached)"),
        choices=[SelectChoice("", "—"), *(SelectChoice(str(n), str(n)) for n in range(5, 0, -1))],
        validators=[Optional()],
    )
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=2000)])


def _actor() -> str:
    return current_user.email


@bp.route("/cases/new", methods=["GET", "POST"])
@roles_required(*DESK)
def new() -> ResponseReturnValue:
    """Open an enquiry or a complaint (the same numbering, clocks and queue as returns)."""
    form = CaseForm()
    if request.method == "GET" and request.args.get("kind") in {k.value for k in CASE_KINDS}:
        form.kind.data = request.args["kind"]
    if form.validate_on_submit():
        try:
            view = services().returns.cases.open(_actor(), _command(form))
        except InvalidInput as error:
            getattr(form, error.field, form.description).errors.append(error.message)
        else:
            flash(_("%(number)s opened.", number=view.number), "success")
            return redirect(url_for("cases.detail", number=view.number))
    status = 422 if form.is_submitted() else 200
    return render_template("desk_case_new.html", form=form), status


def _command(form: CaseForm) -> OpenCase:
    return OpenCase(
        kind=CaseKind(form.kind.data),
        customer=Customer(
            name=form.customer_name.data or "",
            email=form.customer_email.data or "",
            phone=form.customer_phone.data or None,
            vip=bool(form.vip.data),
        ),
        channel=Channel(form.channel.data),
        priority=Priority(form.priority.data),
        description=form.description.data or "",
        order_number=form.order_number.data or None,
        root_cause=RootCause(form.root_cause.data) if form.root_cause.data else None,
    )


@bp.get("/cases/<number>")
@roles_required(*DESK)
def detail(number: str) -> ResponseReturnValue:
    rma = services().rma_queries.get(number)
    if rma.kind is CaseKind.RETURN:
        return redirect(url_for("desk.detail", number=rma.number))
    returns = services().returns
    allowed = transitions_for(rma.kind)[rma.status]
    return render_template(
        "desk_case.html",
        rma=rma,
        clock=sla_clock(returns.ctx.levels, rma, services().clock.now()),
        format_left=format_left,
        moves=[(name, to) for name, to in MOVES.items() if to in allowed],
        can_close=RmaStatus.CLOSED in allowed,
        can_convert=rma.kind is CaseKind.COMPLAINT and rma.status is not RmaStatus.CLOSED,
        mail_enabled=returns.ctx.messages is not None,
        reason_form=ReasonForm(),
        reply_form=ReplyForm(),
        followups=returns.followups.of_case(rma.number),
        call_form=CallForm(),
        can_act=True,  # the page is the desk's alone (the owner panel asks)
        terminal_states=TERMINAL,
    )


@bp.post("/cases/<number>/<move>")
@roles_required(*DESK)
def act(number: str, move: str) -> ResponseReturnValue:
    """wait, answer, resolve, reopen or close, with the reason on the timeline."""
    form = ReasonForm()
    reason = (form.reason.data or "").strip() if form.validate_on_submit() else ""
    try:
        if move == "close":
            services().returns.closing.close(_actor(), number, reason)
        elif move in MOVES:
            services().returns.cases.move(_actor(), number, move, reason)
        else:
            raise InvalidInput("move", _("No such step."))
    except DomainError as error:
        flash(error.message, "error")
    else:
        flash(_("%(number)s: done.", number=number.upper()), "success")
    return redirect(url_for("cases.detail", number=number))


@bp.route("/cases/<number>/convert", methods=["GET", "POST"])
@roles_required(*DESK)
def convert(number: str) -> ResponseReturnValue:
    """Turn a complaint into a return: what comes back, why, and what the customer wants."""
    complaint = services().rma_queries.get(number)
    form = ConvertForm()
    if form.validate_on_submit():
        lines = tuple(
            ReturnLine(
                sku=entry.sku.data.strip(),
                qty=entry.qty.data,
                unit_price=entry.unit_price.data,
                serial=entry.serial.data or None,
            )
            for entry in form.lines
            if entry.sku.data and entry.qty.data and entry.unit_price.data is not None
        )
        try:
            if not lines:
                raise InvalidInput("lines", _("Give at least one line: SKU, qty and price paid."))
            view = services().returns.cases.convert(
                _actor(),
                number,
                ConvertComplaint(
                    lines=lines,
                    reason=Reason(form.reason.data),
                    resolution=Resolution(form.resolution.data),
                    payment_reference=form.payment_reference.data or None,
                    purchase_date=form.purchase_date.data,
                ),
            )
        except DomainError as error:
            flash(error.message, "error")
        else:
            flash(_("%(number)s opened from the complaint.", number=view.number), "success")
            return redirect(url_for("desk.detail", number=view.number))
    status = 422 if form.is_submitted() else 200
    return render_template("desk_case_convert.html", rma=complaint, form=form), status


@bp.get("/followups")
@roles_required(*DESK)
def followups() -> ResponseReturnValue:
    """The follow-up calls to make, the most overdue first (or those already made)."""
    shown = FollowUpStatus.DONE if request.args.get("status") == "done" else FollowUpStatus.DUE
    return render_template(
        "desk_followups.html",
        rows=services().returns.followups.queue(shown),
        shown=shown,
        form=CallForm(),
    )


@bp.post("/followups/<int:followup_id>")
@roles_required(*DESK)
def record_call(followup_id: int) -> ResponseReturnValue:
    form = CallForm()
    try:
        if not form.validate_on_submit():
            raise InvalidInput("outcome", _("Choose the call's outcome."))
        score = int(form.satisfaction.data) if form.satisfaction.data else None
        row = services().returns.followups.record(
            _actor(),
            followup_id,
            RecordCall(FollowUpOutcome(form.outcome.data), score, form.notes.data or ""),
        )
    except DomainError as error:
        flash(error.message, "error")
    else:
        flash(_("%(number)s: call recorded.", number=row.number), "success")
    back = request.form.get("next") or ""
    # Only back to a page of ours (the case page or the queue), never elsewhere.
    return redirect(back if back.startswith("/returns/") else url_for("cases.followups"))
