"""The customer's status page: no account, an unguessable link, nothing but their own return.

The link carries a random token of its own (``returns.status_links``: only its hash is kept).
A wrong, revoked or expired link is a plain 404, the same as a page that never existed. The
page shows the state, the parcels' carrier scans, the refund and the replacement, the printable
return sheet, the conversation with the desk (the customer writes, the desk's replies; also
e-mail replies, returns/inbound_email.py) and, once the return is closed, the follow-up
question. No staff names, no
internal notes, no other RMA. Where the prepaid label's provider books carrier collections
(returns/pickups.py), the customer books or changes the pickup window here. Rate-limited per
client address.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import force_locale, gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, RadioField, TextAreaField, TimeField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from core.errors import DomainError, NotFound
from returns.commands import BookPickup, RecordFollowup
from returns.conversation import MAX_CUSTOMER_MESSAGE, conversation
from returns.status import CaseKind, RmaStatus
from returns.status_vocabulary import CASE_STEPS, STEPS, case_step_index, status_view
from returns.views import RmaDetail
from web.extensions import limiter, services
from web.pages.access import public
from web.printing import return_sheet
from web.status_words import CASE_STEP_WORDS, STEP_WORDS

bp = Blueprint("status", __name__, url_prefix="/status")

#: Why the customer's status page needs no sign-in.
STATUS_LINK = "reached only through the RMA's own unguessable link, rate-limited per address"

CUSTOMER = "customer (status page)"
ENDED = {
    RmaStatus.REJECTED: _l("This return was not accepted. Our reply by e-mail explains why."),
    RmaStatus.CANCELLED: _l("This return was cancelled."),
    RmaStatus.EXPIRED: _l("This authorisation expired before the parcel reached the carrier."),
    RmaStatus.DISPUTED: _l(
        "We found a problem with the returned parcel; our desk will contact you."
    ),
}


class FeedbackForm(FlaskForm):
    satisfaction = RadioField(
        _l("How satisfied are you with how we handled your return?"),
        choices=[SelectChoice(str(n), str(n)) for n in range(5, 0, -1)],
        validators=[DataRequired(message=_l("Choose a score from 1 to 5."))],
    )
    confirmed_fixed = BooleanField(_l("My problem is solved"))
    comment = TextAreaField(_l("Anything to tell us?"), validators=[Optional(), Length(max=2000)])


class MessageForm(FlaskForm):
    message = TextAreaField(
        _l("Write to our desk"),
        validators=[
            DataRequired(message=_l("Write your message.")),
            Length(
                max=MAX_CUSTOMER_MESSAGE,
                message=_l("Keep the message under 2,000 characters."),
            ),
        ],
    )


class PickupForm(FlaskForm):
    """The carrier's collection window; the rules (future, at most 14 days ahead, 2 to 10
    hours long) are the domain's (returns/pickups.py), so its refusals are shown as they are."""

    day = DateField(_l("Date"), validators=[DataRequired(message=_l("Choose a date."))])
    starts = TimeField(
        _l("From (UTC)"), validators=[DataRequired(message=_l("Choose when the window starts."))]
    )
    ends = TimeField(
        _l("To (UTC)"), validators=[DataRequired(message=_l("Choose when the window ends."))]
    )


def _pickup_form(rma: RmaDetail) -> PickupForm:
    """The form, showing the booked window when there is one (to change it)."""
    form = PickupForm()
    if rma.pickup_starts_at and rma.pickup_ends_at and not form.is_submitted():
        starts, ends = rma.pickup_starts_at.astimezone(UTC), rma.pickup_ends_at.astimezone(UTC)
        form.day.data, form.starts.data, form.ends.data = starts.date(), starts.time(), ends.time()
    return form


def _rate_limit() -> str:
    return str(current_app.config["STATUS_PAGE_RATE_LIMIT"])


def _rma_or_404(token: str) -> RmaDetail:
    # Unknown, revoked, or the return ended more than STATUS_PAGE_GRACE_DAYS ago: all one 404.
    number = services().status_links.number(token)
    if number is None:
        abort(404)
    try:
        return services().rma_queries.get(number)
    except NotFound:
        abort(404)


@bp.get("/<token>")
@public(STATUS_LINK)
@limiter.limit(_rate_limit)
def page(token: str) -> ResponseReturnValue:
    rma = _rma_or_404(token)
    reached = (
        status_view(rma).step_index
        if rma.kind is CaseKind.RETURN
        else case_step_index(status_view(rma).shown)
    )
    # The page speaks the customer's language, whatever the browser or a staff sign-in says.
    with force_locale(rma.customer_language):
        return _render_page(token, rma, reached)


def _render_page(token: str, rma: RmaDetail, reached: int) -> str:
    return render_template(
        "status_page.html",
        html_lang="zh-Hans" if rma.customer_language == "zh_Hans" else "en",
        token=token,
        rma=rma,
        shipments=rma.shipments,
        steps=[(step.value, STEP_WORDS[step]) for step in STEPS]
        if rma.kind is CaseKind.RETURN
        else [(step.value, CASE_STEP_WORDS[step]) for step in CASE_STEPS],
        sv=status_view(rma),
        reached=reached,
        ended=ENDED.get(rma.status),
        form=FeedbackForm(),
        pickup_form=_pickup_form(rma),
        books_pickups=services().returns.pickups.bookable(rma),
        ask_feedback=rma.status is RmaStatus.CLOSED and rma.satisfaction is None,
        tracking_url=services().returns.ctx.addresses.tracking_url,
        conversation=conversation(rma.timeline),
        message_form=MessageForm(),
        max_message=MAX_CUSTOMER_MESSAGE,
    )


@bp.get("/<token>/sheet")
@public(STATUS_LINK)
@limiter.limit(_rate_limit)
def sheet(token: str) -> ResponseReturnValue:
    rma = _rma_or_404(token)
    with force_locale(rma.customer_language):
        return return_sheet(rma)


@bp.post("/<token>/feedback")
@public(STATUS_LINK)
@limiter.limit(_rate_limit)
def feedback(token: str) -> ResponseReturnValue:
    rma = _rma_or_404(token)
    with force_locale(rma.customer_language):
        _record_feedback(rma)
    return redirect(url_for("status.page", token=token))


def _record_feedback(rma: RmaDetail) -> None:
    form = FeedbackForm()
    if form.validate_on_submit():
        try:
            services().returns.closing.record_followup(
                CUSTOMER,
                rma.number,
                RecordFollowup(
                    satisfaction=int(form.satisfaction.data),
                    comment=form.comment.data or "",
                    confirmed_fixed=form.confirmed_fixed.data,
                ),
            )
        except DomainError as error:
            flash(error.message, "error")
        else:
            flash(gettext("Thank you for your feedback."), "success")
    else:
        _flash_errors(form)


@bp.post("/<token>/message")
@public(STATUS_LINK)
@limiter.limit(_rate_limit)
def message(token: str) -> ResponseReturnValue:
    rma = _rma_or_404(token)  # an expired or revoked link writes nothing
    with force_locale(rma.customer_language):
        _write_message(rma)
    return redirect(url_for("status.page", token=token, _anchor="conversation"))


def _write_message(rma: RmaDetail) -> None:
    form = MessageForm()
    if not form.validate_on_submit():
        _flash_errors(form)
        return
    try:
        services().conversation.write(CUSTOMER, rma.number, form.message.data or "")
    except DomainError as error:
        flash(error.message, "error")
    else:
        flash(gettext("Your message has been sent to our desk."), "success")


@bp.post("/<token>/pickup")
@public(STATUS_LINK)
@limiter.limit(_rate_limit)
def pickup(token: str) -> ResponseReturnValue:
    rma = _rma_or_404(token)
    with force_locale(rma.customer_language):
        _book_pickup(rma)
    return redirect(url_for("status.page", token=token))


def _book_pickup(rma: RmaDetail) -> None:
    form = PickupForm()
    if not form.validate_on_submit():
        _flash_errors(form)
        return
    starts = datetime.combine(form.day.data, form.starts.data, tzinfo=UTC)
    ends = datetime.combine(form.day.data, form.ends.data, tzinfo=UTC)
    had_one = rma.pickup_starts_at is not None
    try:
        services().returns.pickups.book(rma.number, BookPickup(starts, ends), actor=CUSTOMER)
    except DomainError as error:
        flash(error.message, "error")
    else:
        flash(
            gettext("Your pickup has been changed.")
            if had_one
            else gettext("Your pickup has been booked."),
            "success",
        )


def _flash_errors(form: FlaskForm) -> None:
    for errors in form.errors.values():
        for message in errors:
            flash(str(message), "error")
