"""The RMA page's actions and live updates (the page itself is web/pages/desk.py's ``detail``).

- ``next_action``: the one action the desk should take next, chosen from the RMA's state; the
  page shows it first, above the fold, with the primary button.
- ``done_message``: what the flash says after an action, in plain words.
- Reject and Cancel are destructive: ``desk.act`` runs them only with ``confirmed=yes``; without
  it, it answers the confirmation page here (so the confirm step works without JavaScript; with
  it, a dialog sets the field).
- Live updates: the RMA page and the desk queue poll a fragment every few seconds (htmx,
  vendored in web/static/vendor/htmx/). The fragment's version is a hash of what it shows;
  a poll that carries the current version gets ``204 No Content`` and nothing is swapped.
"""

from __future__ import annotations

import hashlib
from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import LazyString
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from accounts.models import Role
from carriers.tracking_formats import Problem
from carriers.tracking_formats import problem as tracking_problem
from core.errors import InvalidInput
from returns.commands import AuthoriseRma
from returns.queue_filter import QueueFilter
from returns.service_levels import format_left
from returns.status import RefundStatus, RmaStatus
from returns.status_vocabulary import status_view
from web.extensions import services
from web.pages.access import roles_required
from web.pages.queue_args import filter_args, queue_filter

bp = Blueprint("rma_page", __name__, url_prefix="/returns")

DESK = (Role.SERVICE_DESK, Role.ADMIN)

#: Every action of the RMA page and the flash it ends with (``%(number)s`` is the RMA).
DONE: dict[str, LazyString] = {
    "authorise": _l("Return %(number)s authorised."),
    "reject": _l("Return %(number)s rejected."),
    "cancel": _l("Return %(number)s cancelled."),
    "close": _l("Return %(number)s closed."),
    "release-refund": _l("The refund for %(number)s is released."),
    "follow-up": _l("The follow-up on %(number)s is recorded."),
    "carrier-event": _l("What the carrier told you is recorded on %(number)s."),
    "reply": _l("Your reply on %(number)s is on its way to the customer."),
    "retry-refund": _l("The refund for %(number)s is sent again."),
    "status-link": _l("A new status page link for %(number)s is made."),
    "retry-label": _l("A new prepaid label for %(number)s is being bought."),
    "approve-label": _l("The dearer label for %(number)s is approved."),
}
ACTIONS = frozenset(DONE)
#: Run only once confirmed: the customer is told and there is no way back.
DESTRUCTIVE = frozenset({"reject", "cancel"})
#: The order of the action cards below the next one.
CARD_ORDER = (
    "authorise",
    "retry-label",
    "approve-label",
    "release-refund",
    "retry-refund",
    "carrier-event",
    "close",
    "follow-up",
    "reply",
    "reject",
    "cancel",
)


def done_message(action: str, number: str) -> str:
    return str(DONE[action]) % {"number": number}


def next_action(rma: Any, *, label_failed: bool, supervisor: bool) -> str | None:
    """The action the desk should take next on ``rma`` (an ``RmaDetail``), or None when the
    return waits for someone else (the customer, the carrier, the warehouse)."""
    if label_failed:
        return "retry-label"
    if rma.status is RmaStatus.REQUESTED:
        return "authorise"
    if supervisor and rma.refund_status is RefundStatus.FAILED:
        return "retry-refund"
    if (
        supervisor
        and rma.refund_status is RefundStatus.HELD
        and rma.status not in (RmaStatus.REJECTED, RmaStatus.CANCELLED)
    ):
        return "release-refund"
    if rma.status in (RmaStatus.INSPECTED, RmaStatus.DISPUTED):
        return "close"
    if rma.status is RmaStatus.CLOSED and rma.satisfaction is None:
        return "follow-up"
    return None


#: Why a typed tracking number looks wrong (carriers/tracking_formats.py).
TRACKING_PROBLEMS: dict[Problem, LazyString] = {
    Problem.TOO_SHORT: _l("it is too short"),
    Problem.NOT_LETTERS_AND_DIGITS: _l("a tracking number has only letters, digits and hyphens"),
    Problem.NO_DIGITS: _l("it has no digits"),
    Problem.UPS_SHAPE: _l("UPS numbers are 1Z and 16 more letters and digits"),
    Problem.UPS_CHECK_DIGIT: _l("its last digit is not the UPS check digit"),
    Problem.USPS_CHECK_DIGIT: _l("its last digit is not the USPS check digit"),
    Problem.SF_SHAPE: _l("SF Express numbers are SF and 12 or 13 digits"),
}


def authorise_command(form: Any) -> AuthoriseRma:
    """The authorise form as a command. The customer's own tracking number must look like one
    (carriers/tracking_formats.py) unless the agent ticked that it is right."""
    carrier = form.carrier.data or None
    tracking_number = (form.tracking_number.data or "").strip() if carrier else ""
    if carrier and tracking_number and not request.form.get("tracking_confirmed"):
        found = tracking_problem(carrier, tracking_number)
        if found is not None:
            raise InvalidInput(
                "tracking_number",
                _(
                    "%(number)s does not look like a tracking number (%(why)s). Check it with "
                    "the customer; if it is right, tick “The number is right” and authorise "
                    "again.",
                    number=tracking_number,
                    why=TRACKING_PROBLEMS[found],
                ),
                code="tracking_number_unlikely",
            )
    return AuthoriseRma(carrier=carrier, tracking_number=tracking_number or None)


def confirm_page(number: str, action: str) -> ResponseReturnValue:
    """Ask before a destructive action (the answer when ``confirmed`` was not sent)."""
    reason = (request.form.get("reason") or "").strip()
    if not reason:
        flash(_("Say why: the reason goes on the timeline."), "error")
        return redirect(url_for("desk.detail", number=number))
    rma = services().rma_queries.get(number)
    return render_template("desk_confirm.html", rma=rma, action=action, reason=reason[:1000])


# --- live updates ------------------------------------------------------------------------


def _version(html: str) -> str:
    return hashlib.sha256(html.encode()).hexdigest()[:16]


def _live(template: str, poll_url: str, **context: Any) -> Response:
    """The changed parts (swapped in by id) and a new poller carrying their version, or
    ``204 No Content`` when the poll already shows this version (``v``)."""
    html = render_template(template, **context)
    version = _version(html)
    if request.args.get("v") == version:
        response = Response(status=204)
    else:
        poller = render_template("_live_poller.html", url=f"{poll_url}&v={version}")
        response = Response(poller + html, mimetype="text/html")
    response.set_etag(version)
    response.headers["Cache-Control"] = "no-store"
    return response


def live_version(template: str, **context: Any) -> str:
    """The version of what the page shows now (its first poll carries it)."""
    return _version(render_template(template, **context))


@bp.get("/<number>/live")
@roles_required(*DESK, Role.WAREHOUSE)
def rma_live(number: str) -> ResponseReturnValue:
    """The RMA page's state, notes, refund, parcels, e-mails and timeline."""
    rma = services().rma_queries.get(number)
    shown_at_load = request.args.get("s", "")
    url = url_for("rma_page.rma_live", number=number, s=shown_at_load)
    return _live("_rma_live.html", url, rma=rma, sv=status_view(rma), shown_at_load=shown_at_load)


@bp.get("/queue/live")
@roles_required(*DESK)
def queue_live() -> ResponseReturnValue:
    """The desk queue's table, with the page's filters and search."""
    wanted = queue_filter()
    rows = services().rma_queries.desk_queue(wanted)
    url = url_for("rma_page.queue_live", **filter_args(wanted))
    return _live("_desk_queue_live.html", url, rows=rows, format_left=format_left)


def page_context(rma: Any, *, label_failed: bool, supervisor: bool) -> dict[str, Any]:
    """What the RMA page adds for its actions and its live updates."""
    sv = status_view(rma)
    version = live_version("_rma_live.html", rma=rma, sv=sv, shown_at_load=sv.shown.value)
    return {
        "next_action": next_action(rma, label_failed=label_failed, supervisor=supervisor),
        "card_order": CARD_ORDER,
        "live_url": url_for("rma_page.rma_live", number=rma.number, s=sv.shown.value, v=version),
    }


def queue_live_url(wanted: QueueFilter, rows: list[Any]) -> str:
    """The desk queue's first poll, carrying the version of the rows it shows."""
    version = live_version("_desk_queue_live.html", rows=rows, format_left=format_left)
    return url_for("rma_page.queue_live", **filter_args(wanted), v=version)
