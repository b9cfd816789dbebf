"""The customer's status page: no account, an unguessable link, nothing but their own return.

The link carries a random token of its own (``returns.status_links``: only its hash is kept).
A wrong, revoked or expired link is a plain 404, the same as a page that never existed. The
page shows the state, the parcels' carrier scans, the refund and the replacement, the printable
return sheet and, once the return is closed, the follow-up question. No staff names, no
internal notes, no other RMA. Rate-limited per client address.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import force_locale, gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from core.errors import DomainError, NotFound
from returns.commands import RecordFollowup
from returns.status import RmaStatus
from returns.views import RmaDetail
from web.extensions import limiter, services
from web.pages.access import public
from web.printing import return_sheet

bp = Blueprint("status", __name__, url_prefix="/status")

#: Why the customer's status page needs no sign-in.
STATUS_LINK = "reached only through the RMA's own unguessable link, rate-limited per address"

CUSTOMER = "customer (status page)"
#: The customer's words for our states.
STEPS = [
    ("requested", _l("Request received")),
    ("authorised", _l("Return authorised")),
    ("with_carrier", _l("Parcel with the carrier")),
    ("received", _l("Parcel at our warehouse")),
    ("inspected", _l("Parts inspected")),
    ("closed", _l("Complete")),
]
STEP_OF = {
    RmaStatus.REQUESTED: "requested",
    RmaStatus.AUTHORISED: "authorised",
    RmaStatus.AWAITING_PICKUP: "authorised",
    RmaStatus.PICKED_UP: "with_carrier",
    RmaStatus.IN_TRANSIT: "with_carrier",
    RmaStatus.RECEIVED: "received",
    RmaStatus.INSPECTED: "inspected",
    RmaStatus.DISPUTED: "inspected",
    RmaStatus.CLOSED: "closed",
}
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
    current = STEP_OF.get(rma.status)
    reached = [key for key, _label in STEPS].index(current) if current else -1
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
        steps=STEPS,
        reached=reached,
        ended=ENDED.get(rma.status),
        form=FeedbackForm(),
        ask_feedback=rma.status is RmaStatus.CLOSED and rma.satisfaction is None,
        tracking_url=services().returns.ctx.addresses.tracking_url,
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
        for errors in form.errors.values():
            for message in errors:
                flash(str(message), "error")
