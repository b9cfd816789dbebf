"""The returns portal page (no account): find the order, choose what comes back, get the
decision at once.

Three steps on one URL, each a plain form (CSRF-protected, no script needed): the order
number with the e-mail or postcode; the returnable lines (quantities up to what can come
back, lines outside their window and warranty shown greyed with why), the reason, the
description, photos and refund or exchange; then the decision: authorised with the label
(or the instructions), QR code and return address, or received with the first-response
deadline. The rules are the portal service's (returns/portal.py), the same as the public API's.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import force_locale, gettext

from accounts.models import DEFAULT_LANGUAGE, LANGUAGES
from core.errors import DomainError, InvalidInput, NotFound
from returns.photos import MAX_PHOTO_BYTES, MAX_PHOTOS
from returns.portal import CustomerProof, PortalLine, PortalOrder, PortalReturn
from returns.rma import WARRANTY_REASONS
from returns.status import Reason, Resolution
from web.api.public_returns import PORTAL, per_client, per_order
from web.extensions import services
from web.i18n import current_language
from web.pages.access import public
from web.printing import qr_svg

bp = Blueprint("portal", __name__, url_prefix="/returns-portal")

REASONS = list(Reason)
STATUS_LINK = "reached only through the RMA's own unguessable link, rate-limited per address"


def _language() -> str:
    """?lang= or the form's lang (the switcher), else the browser's Accept-Language."""
    chosen = request.values.get("lang", "")
    return chosen if chosen in LANGUAGES else current_language() or DEFAULT_LANGUAGE


def _render(step: int, **context: Any) -> str:
    return render_template(
        "portal.html",
        step=step,
        lang=_language(),
        max_photos=MAX_PHOTOS,
        max_photo_mb=MAX_PHOTO_BYTES // (1024 * 1024),
        # After the window only these are offered: the warranty covers them.
        warranty_reasons={reason.value for reason in WARRANTY_REASONS},
        **context,
    )


def _proof() -> CustomerProof:
    form = request.form
    return CustomerProof(
        form.get("order_number", "").strip()[:64],
        form.get("email", "").strip()[:254] or None,
        form.get("postcode", "").strip()[:20] or None,
    )


@bp.get("")
@public(PORTAL)
@per_client()
def start() -> ResponseReturnValue:
    with force_locale(_language()):
        return _render(1, proof=CustomerProof(""))


@bp.post("/order")
@public(PORTAL)
@per_client()
@per_order()
def order() -> ResponseReturnValue:
    proof = _proof()
    with force_locale(_language()):
        if not proof.order_number or not (proof.email or proof.postcode):
            missing = gettext("Give the order number and its e-mail address or postcode.")
            return _render(1, proof=proof, error=missing), 422
        try:
            found = services().portal.lookup(proof)
        except NotFound:
            return _render(1, proof=proof, error=_not_found()), 404
        return _render(2, proof=proof, order=found, reasons=REASONS)


def _not_found() -> str:
    return gettext("We found no order with that number and e-mail address or postcode.")


@bp.post("/return")
@public(PORTAL)
@per_client()
@per_order()
def open_return() -> ResponseReturnValue:
    proof = _proof()
    with force_locale(_language()):
        try:
            found = services().portal.lookup(proof)
        except NotFound:
            return _render(1, proof=proof, error=_not_found()), 404
        try:
            command = _command(proof, found)
            outcome = services().portal.open(command)
        except DomainError as error:
            status = 422 if isinstance(error, InvalidInput) else 409
            return _render(
                2, proof=proof, order=found, reasons=REASONS, error=_message(error)
            ), status
        emailed = services().returns.ctx.messages is not None
        return _render(3, outcome=outcome, qr=qr_svg(outcome.rma_number), emailed=emailed)


def _command(proof: CustomerProof, found: PortalOrder) -> PortalReturn:
    form = request.form
    lines = []
    for index, line in enumerate(found.lines):
        raw = form.get(f"qty-{index}", "0").strip() or "0"
        if not raw.isdigit() or int(raw) == 0:
            continue
        reason = form.get(f"reason-{index}", "")
        if reason not in {r.value for r in Reason}:
            raise InvalidInput(f"lines.{index}.reason", gettext("Choose a reason."))
        lines.append(
            PortalLine(
                sku=line.sku,
                qty=min(int(raw), 1_000_000),
                reason=Reason(reason),
                description=form.get(f"description-{index}", "")[:2000],
            )
        )
    if not lines:
        raise InvalidInput("lines", gettext("Choose at least one part to return."))
    resolution = form.get("resolution", "")
    if resolution not in {r.value for r in found.resolutions}:
        raise InvalidInput("resolution", gettext("Choose a refund or an exchange."))
    photos = tuple(
        (upload.filename or "photo", upload.read(MAX_PHOTO_BYTES + 1))
        for upload in request.files.getlist("photos")
        if upload and upload.filename
    )
    return PortalReturn(proof, tuple(lines), Resolution(resolution), photos, _language())


def _message(error: DomainError) -> str:
    """The customer's words for the portal's refusals (the service's messages are English)."""
    texts = {
        "photo_not_image": gettext("Send photos as JPEG or PNG."),
        "photo_too_large": gettext("A photo is too large."),
        "too_many_photos": gettext("Too many photos."),
        "qty_above_returnable": gettext("More than can still be returned on this order."),
        "return_window_expired": gettext("The return window for this part has ended."),
        "warranty_expired": gettext("The warranty for this part has ended."),
        "resolution_not_offered": gettext(
            "This order cannot be refunded here; choose an exchange."
        ),
    }
    return texts.get(error.code, error.message)


@bp.get("/label/<token>")
@public(STATUS_LINK)
@per_client()
def label(token: str) -> ResponseReturnValue:
    """The prepaid label, reached with the status link's token (as the status page is)."""
    number = services().status_links.number(token)
    if number is None:
        abort(404)
    rma = services().rma_queries.get(number)
    try:
        if not rma.return_tracking_number:
            raise NotFound("No label yet.", code="no_label")
        data, media_type = services().carriers.get_label(rma.return_tracking_number)
    except NotFound:
        with force_locale(rma.customer_language):
            return _render(4, number=number, token=token)
    return Response(
        data,
        mimetype=media_type,
        headers={"Content-Disposition": f'inline; filename="{number}-label.pdf"'},
    )
