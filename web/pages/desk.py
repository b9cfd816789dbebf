"""The returns desk: the RMA queue, the intake form, and an RMA's page with its actions."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    EmailField,
    FieldList,
    Form,
    FormField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp

from accounts.models import Role
from carriers.labels import LabelFormat
from carriers.status import TrackingStatus
from core.addresses import address_problems
from core.errors import DomainError, InvalidInput
from returns.commands import (
    Customer,
    CustomerAddress,
    OpenRma,
    RecordFollowup,
    RetryRefund,
    ReturnLine,
)
from returns.errors import CustomerAddressRequired
from returns.labels import customer_address_problems
from returns.service_levels import format_left, sla_clock
from returns.status import (
    TERMINAL,
    TRANSITIONS,
    CaseKind,
    Channel,
    Priority,
    Reason,
    RefundStatus,
    Resolution,
    RmaStatus,
)
from web.downloads import label_download
from web.extensions import services
from web.i18n import current_language
from web.labels import lazy_label
from web.pages.access import roles_required
from web.pages.address_fields import (
    ADDRESS_FIELD_NAMES,
    ADDRESS_FORM_FIELDS,
    ADDRESS_MESSAGES,
    country_choices,
)
from web.pages.desk_queue import queue_page
from web.pages.loans import LendForm
from web.pages.repairs import repair_page_context
from web.pages.rma_page import (
    ACTIONS,
    DESTRUCTIVE,
    authorise_command,
    confirm_page,
    done_message,
    page_context,
)
from web.printing import return_sheet

bp = Blueprint("desk", __name__, url_prefix="/returns")

DESK = (Role.SERVICE_DESK, Role.ADMIN)
LINE_ROWS = 3


def _choices(enum: Any) -> list[SelectChoice]:
    return [SelectChoice(member.value, lazy_label(member, capitalize=True)) for member in enum]


class LineForm(Form):
    sku = StringField(_l("SKU"), validators=[Optional(), Length(max=64)])
    qty = IntegerField(_l("Qty"), validators=[Optional(), NumberRange(min=1, max=100_000)])
    serial = StringField(_l("Serial"), validators=[Optional(), Length(max=100)])
    unit_price = DecimalField(
        _l("Unit price paid"), places=2, validators=[Optional(), NumberRange(min=0)]
    )


class IntakeForm(FlaskForm):
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
    # The customer's address (optional; a prepaid label needs it). For a Chinese address the
    # form asks province / city / district / street; district is stored with the city.
    address_country = SelectField(_l("Country"), choices=[], validators=[Optional()])
    address_state = StringField(_l("State / province"), validators=[Optional(), Length(max=100)])
    address_city = StringField(_l("City"), validators=[Optional(), Length(max=60)])
    address_district = StringField(_l("District"), validators=[Optional(), Length(max=39)])
    address_street = StringField(_l("Street address"), validators=[Optional(), Length(max=200)])
    address_street2 = StringField(
        _l("Address line 2 (building, floor, room)"), validators=[Optional(), Length(max=200)]
    )
    address_postcode = StringField(_l("Postcode"), validators=[Optional(), Length(max=20)])
    address_company = StringField(_l("Company"), validators=[Optional(), Length(max=200)])
    order_number = StringField(_l("Order number"), validators=[Optional(), Length(max=100)])
    payment_reference = StringField(
        _l("Payment to refund (e.g. pi_...)"), validators=[Optional(), Length(max=100)]
    )
    purchase_date = DateField(_l("Purchase date"), validators=[Optional()])
    channel = SelectField(_l("Channel"), choices=_choices(Channel))
    reason = SelectField(_l("Reason"), choices=_choices(Reason))
    resolution = SelectField(_l("The customer wants"), choices=_choices(Resolution))
    priority = SelectField(
        _l("Priority"), choices=_choices(Priority), default=Priority.MEDIUM.value
    )
    description = TextAreaField(_l("Fault description"), validators=[Optional(), Length(max=5000)])
    lines = FieldList(FormField(LineForm), min_entries=LINE_ROWS, max_entries=LINE_ROWS)
    override_reason = TextAreaField(
        _l("Supervisor override: why accept outside the policy"),
        validators=[Optional(), Length(max=1000)],
    )


class AuthoriseForm(FlaskForm):
    carrier = SelectField(_l("How the parcel comes back"), choices=[], validators=[Optional()])
    tracking_number = StringField(
        _l("The customer's tracking number (own carrier only)"),
        validators=[Optional(), Length(max=64)],
    )


class ReasonForm(FlaskForm):
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=1000)])


class ApproveLabelForm(FlaskForm):
    amount = DecimalField(
        _l("Up to"), places=2, validators=[DataRequired(), NumberRange(min=Decimal("0.01"))]
    )
    reason = TextAreaField(_l("Why"), validators=[DataRequired(), Length(max=1000)])


class ReplyForm(FlaskForm):
    message = TextAreaField(
        _l("Reply to the customer (sent by e-mail)"),
        validators=[DataRequired(), Length(max=5000)],
    )


class FollowUpForm(FlaskForm):
    satisfaction = SelectField(
        _l("Satisfaction"), choices=[SelectChoice(str(n), str(n)) for n in range(5, 0, -1)]
    )
    confirmed_fixed = BooleanField(_l("Customer confirms it is resolved"))
    comment = TextAreaField(_l("Comment"), validators=[Optional(), Length(max=2000)])


def _actor() -> str:
    return current_user.email


def _supervisor() -> bool:
    return current_user.role is Role.ADMIN


@bp.get("")
@roles_required(*DESK)
def queue() -> ResponseReturnValue:
    """Every kind of case still open, those needing action first; filters and a search box
    (web/pages/desk_queue.py)."""
    return queue_page(_supervisor())


@bp.post("/alerts/read")
@roles_required(*DESK)
def alerts_read() -> ResponseReturnValue:
    """Mark the desk's alerts read (supervisors also theirs)."""
    if FlaskForm().validate_on_submit():
        ids = [int(v) for v in request.form.getlist("id") if v.isdigit()][:200]
        audiences = ["desk", "supervisors"] if _supervisor() else ["desk"]
        done = services().service_levels.mark_read(_actor(), ids, audiences)
        flash(
            ngettext("%(num)d alert marked read.", "%(num)d alerts marked read.", done),
            "success",
        )
    else:
        flash(_("The form expired; try again."), "error")
    return redirect(url_for("desk.queue"))


def _address(form: IntakeForm) -> CustomerAddress | None:
    """The address typed into the form, or None when no country is chosen."""
    if not form.address_country.data:
        return None
    city = " ".join(
        part
        for part in (form.address_city.data, form.address_district.data)
        if part and part.strip()
    )
    return CustomerAddress(
        name=form.customer_name.data or "",
        phone=form.customer_phone.data or "",
        city=city.strip(),
        **{
            name: (getattr(form, f"address_{name}").data or "").strip()
            for name in ADDRESS_FORM_FIELDS
            if name != "city"
        },
    )


def _check_address(form: IntakeForm) -> bool:
    """The address is complete, or absent; each problem shown at its field."""
    address = _address(form)
    if address is None:
        typed = [name for name in ADDRESS_FORM_FIELDS if getattr(form, f"address_{name}").data]
        if typed or form.address_district.data:
            form.address_country.errors = [_("Choose the country of the address.")]
            return False
        return True
    problems = address_problems(address.as_mapping())
    for name, code in problems.items():
        field = getattr(form, f"address_{name}", None) or (
            form.customer_phone if name == "phone" else form.customer_name
        )
        field.errors = [*field.errors, ADDRESS_MESSAGES[code]]
    return not problems


def _filled_lines(form: IntakeForm) -> list[Any]:
    return [row for row in form.lines if row.sku.data and row.sku.data.strip()]


def _intake_command(form: IntakeForm) -> OpenRma:
    """The form as the intake stage takes it (call only when every filled line is complete)."""
    return OpenRma(
        customer=Customer(
            name=form.customer_name.data,
            email=form.customer_email.data,
            phone=form.customer_phone.data or None,
            vip=bool(form.vip.data),
            address=_address(form),
        ),
        order_number=form.order_number.data or None,
        payment_reference=form.payment_reference.data or None,
        purchase_date=form.purchase_date.data,
        channel=Channel(form.channel.data),
        reason=Reason(form.reason.data),
        resolution=Resolution(form.resolution.data),
        priority=Priority(form.priority.data),
        description=form.description.data or "",
        lines=tuple(
            ReturnLine(
                sku=row.sku.data.strip(),
                qty=row.qty.data,
                serial=row.serial.data or None,
                unit_price=row.unit_price.data,
            )
            for row in _filled_lines(form)
        ),
        override_reason=form.override_reason.data or None,
    )


def _attach_error(form: IntakeForm, error: InvalidInput) -> None:
    """Show a domain error next to the field it names (``lines.1.sku`` → row 2, SKU)."""
    parts = error.field.split(".")
    if parts[:2] == ["customer", "address"] and len(parts) == 3:
        parts = [f"address_{parts[2]}" if hasattr(form, f"address_{parts[2]}") else "customer_name"]
    if parts[0] == "lines" and len(parts) == 3 and parts[1].isdigit():
        filled = _filled_lines(form)
        index = int(parts[1])
        if index < len(filled) and hasattr(filled[index], parts[2]):
            getattr(filled[index], parts[2]).errors = [error.message]
            return
    field = getattr(form, parts[0], None)
    if field is not None and hasattr(field, "errors"):
        field.errors = [*field.errors, error.message]
    else:
        flash(error.message, "error")


@bp.route("/new", methods=["GET", "POST"])
@roles_required(*DESK)
def new() -> ResponseReturnValue:
    form = IntakeForm()
    form.address_country.choices = country_choices()
    lookup = (request.args.get("order") or "").strip()[:100]
    if lookup and not form.is_submitted():
        # The "Look up" step: a stored order opens the return from the order instead.
        if services().orders.find(lookup) is not None:
            return redirect(url_for("orders_pages.new_return", number=lookup))
        flash(_("No stored order %(number)s: type the return in.", number=lookup), "error")
        form.order_number.data = lookup
    if not form.is_submitted() and current_language() == "zh_Hans":
        form.address_country.data = "CN"
    # ``&``, not ``and``: the address's problems show even while another field has one.
    if form.validate_on_submit() & _check_address(form):
        filled = _filled_lines(form)
        missing = [
            i for i, row in enumerate(filled) if not row.qty.data or row.unit_price.data is None
        ]
        if not filled:
            form.lines.errors = [_("Add at least one line: the SKU, quantity and price paid.")]
        elif missing:
            form.lines.errors = [
                _("Line %(num)d needs a quantity and the price paid.", num=missing[0] + 1)
            ]
        else:
            try:
                command = _intake_command(form)
                view = services().returns.intake.open(_actor(), command, supervisor=_supervisor())
            except InvalidInput as error:
                _attach_error(form, error)
            else:
                flash(_("%(number)s opened.", number=view.number), "success")
                return redirect(url_for("desk.detail", number=view.number))
    status = 422 if form.is_submitted() else 200
    return render_template("desk_new.html", form=form, supervisor=_supervisor()), status


def _action_forms(number: str) -> dict[str, FlaskForm]:
    authorise = AuthoriseForm()
    authorise.carrier.choices = [SelectChoice("", _("We buy a prepaid return label"))] + [
        SelectChoice(name, _("The customer ships with %(carrier)s", carrier=name))
        for name in sorted(services().carriers.adapters)
    ]
    return {
        "authorise": authorise,
        "reason": ReasonForm(),
        "followup": FollowUpForm(),
        "reply": ReplyForm(),
        "approve_label": ApproveLabelForm(),
    }


@bp.get("/<number>")
@roles_required(*DESK, Role.WAREHOUSE)
def detail(number: str) -> ResponseReturnValue:
    rma = services().rma_queries.get(number)
    if rma.kind is not CaseKind.RETURN:  # an enquiry or a complaint has a page of its own
        return redirect(url_for("cases.detail", number=rma.number))
    returns = services().returns
    label_failure = (
        returns.label_desk.failure(number)
        if returns.label_desk.waiting_for_label(rma.status, rma.return_tracking_number)
        else None
    )
    return render_template(
        "desk_rma.html",
        **page_context(rma, label_failed=label_failure is not None, supervisor=_supervisor()),
        rma=rma,
        clock=sla_clock(returns.ctx.levels, rma, services().clock.now()),
        format_left=format_left,
        mail_enabled=returns.ctx.messages is not None,
        allowed=TRANSITIONS[rma.status],
        forms=_action_forms(number),
        supervisor=_supervisor(),
        can_act=current_user.role in DESK,
        manual_events=MANUAL_EVENTS,
        RmaStatus=RmaStatus,
        RefundStatus=RefundStatus,
        address_needed=_address_needed(rma),
        address_editable=rma.status not in TERMINAL and not rma.return_label_provider,
        label_failure=label_failure,
        minor_units=returns.ctx.policy.minor_units,
        photos=services().attachments.of(rma.number),
        repair=returns.repairs.find(number) if rma.resolution is Resolution.REPAIR else None,
        **repair_page_context(),
        loans=returns.loans.listing("all", rma.number),
        lend_form=LendForm(),
        terminal_states=TERMINAL,
    )


@bp.get("/<number>/photos/<int:attachment_id>")
@roles_required(*DESK, Role.WAREHOUSE)
def photo(number: str, attachment_id: int) -> ResponseReturnValue:
    """A photo the customer sent on the portal (its metadata stripped when it came in)."""
    filename, media_type, data = services().attachments.get(number, attachment_id)
    return Response(
        data,
        mimetype=media_type,
        headers={"Content-Disposition": f'inline; filename="{filename}"'},
    )


@bp.get("/parcels/<tracking_number>/label")
@roles_required(*DESK, Role.WAREHOUSE)
def parcel_label(tracking_number: str) -> ResponseReturnValue:
    """A parcel's label as the API serves it: the PDF, or ``?format=zpl`` for a thermal
    printer (by default the PDF when there is one)."""
    label_format = {f.value: f for f in LabelFormat}.get(request.args.get("format") or "")
    document = services().carriers.get_label(tracking_number, label_format)
    return label_download(document, f"label-{tracking_number}")


def _address_needed(rma: Any) -> dict[str, str] | None:
    """While the RMA can still be authorised for a prepaid label: the provider and the address
    fields it would refuse (the rules ``Authorisation`` applies), or None."""
    if RmaStatus.AUTHORISED not in TRANSITIONS[rma.status] and not (
        rma.status is RmaStatus.AUTHORISED and not rma.return_tracking_number
    ):
        return None
    provider = services().returns.ctx.default_return_carrier
    problems = customer_address_problems(rma, provider)
    if not problems:
        return None
    return {
        "provider": provider,
        "fields": ", ".join(str(ADDRESS_FIELD_NAMES.get(n, n)) for n in problems),
    }


@bp.get("/<number>/sheet")
@roles_required(*DESK, Role.WAREHOUSE)
def sheet(number: str) -> ResponseReturnValue:
    """The return sheet the customer puts in the parcel (and the desk can e-mail or print)."""
    return return_sheet(services().rma_queries.get(number))


#: What the desk may record by hand when the carrier confirms by phone or e-mail.
MANUAL_EVENTS = (
    TrackingStatus.PICKED_UP,
    TrackingStatus.IN_TRANSIT,
    TrackingStatus.DELIVERED,
    TrackingStatus.EXCEPTION,
)


@bp.post("/<number>/<action>")
@roles_required(*DESK)
def act(number: str, action: str) -> ResponseReturnValue:
    if action not in ACTIONS:
        return redirect(url_for("desk.detail", number=number))
    if action in DESTRUCTIVE and request.form.get("confirmed") != "yes":
        return confirm_page(number, action)
    forms = _action_forms(number)
    returns = services().returns
    try:
        if action == "status-link":
            return _new_status_link(number)
        if action == "retry-label":
            returns.label_desk.retry_label(_actor(), number)
        elif action == "approve-label":
            form = forms["approve_label"]
            if not form.validate_on_submit() or form.amount.data is None:
                raise InvalidInput("amount", _("Give the most the label may cost, and why."))
            returns.label_desk.approve_dearer_label(
                _actor(),
                number,
                returns.ctx.policy.to_minor(form.amount.data),
                form.reason.data or "",
                supervisor=_supervisor(),
            )
        elif action == "authorise":
            form = forms["authorise"]
            if not form.validate_on_submit():
                raise InvalidInput("carrier", _("Check the carrier and tracking number."))
            returns.authorisation.authorise(_actor(), number, authorise_command(form))
        elif action == "carrier-event":
            reason = (request.form.get("reason") or "").strip()
            status = request.form.get("status", "")
            if not forms["reason"].validate_on_submit() or status not in {
                s.value for s in MANUAL_EVENTS
            }:
                raise InvalidInput(
                    "reason", _("Choose what the carrier confirmed and say how you know.")
                )
            tracking = services().rma_queries.get(number).return_tracking_number
            if not tracking:
                raise InvalidInput("tracking_number", _("This return has no parcel yet."))
            services().carriers.record_event(
                _actor(),
                tracking_number=tracking,
                status=TrackingStatus(status),
                occurred_at=None,
                reason=reason,
                supervisor=_supervisor(),
            )
        elif action == "reply":
            form = forms["reply"]
            if not form.validate_on_submit():
                raise InvalidInput("message", _("Write the reply (up to 5,000 characters)."))
            returns.closing.reply(_actor(), number, form.message.data or "")
        elif action == "follow-up":
            form = forms["followup"]
            if not form.validate_on_submit():
                raise InvalidInput("satisfaction", _("Choose a satisfaction score."))
            returns.closing.record_followup(
                _actor(),
                number,
                RecordFollowup(
                    satisfaction=int(form.satisfaction.data),
                    comment=form.comment.data or "",
                    confirmed_fixed=form.confirmed_fixed.data,
                ),
            )
        else:
            form = forms["reason"]
            reason = (form.reason.data or "").strip() if form.validate_on_submit() else ""
            if action == "close":
                returns.closing.close(_actor(), number, reason)
            elif not reason:
                raise InvalidInput("reason", _("Say why: the reason goes on the timeline."))
            elif action == "reject":
                returns.authorisation.reject(_actor(), number, reason)
            elif action == "cancel":
                returns.authorisation.cancel(_actor(), number, reason)
            elif action == "retry-refund":
                corrected = (request.form.get("payment_reference") or "").strip() or None
                returns.refunds.retry(
                    _actor(),
                    number,
                    RetryRefund(reason, payment_reference=corrected),
                    supervisor=_supervisor(),
                )
            else:
                returns.refunds.release_by_supervisor(
                    _actor(), number, reason, supervisor=_supervisor()
                )
    except CustomerAddressRequired as error:
        flash(
            _(
                "A prepaid %(provider)s label needs the customer's complete address (missing or "
                "wrong: %(fields)s). Complete the address (Edit, beside it), or authorise with "
                "the customer's own carrier and tracking number.",
                provider=error.details["provider"],
                fields=", ".join(
                    str(ADDRESS_FIELD_NAMES.get(n, n)) for n in error.details["missing"]
                ),
            ),
            "error",
        )
    except DomainError as error:
        flash(error.message, "error")
    else:
        flash(done_message(action, number), "success")
    return redirect(url_for("desk.detail", number=number))


def _new_status_link(number: str) -> ResponseReturnValue:
    """Revoke the customer's status page links and make one new one (e-mailed if mail is on).

    The link is shown once, here: only its hash is kept, so nobody can show it again.
    """
    link = services().status_links.rotate(_actor(), number)
    if link.emailed:
        message = _(
            "%(number)s: a new status page link was e-mailed to the customer; earlier links "
            "no longer work. The new link: %(url)s",
            number=number,
            url=link.url,
        )
    else:
        message = _(
            "%(number)s: earlier status page links no longer work. Give the customer the new "
            "link (it is shown only now): %(url)s",
            number=number,
            url=link.url,
        )
    flash(message, "success")
    return redirect(url_for("desk.detail", number=number))
