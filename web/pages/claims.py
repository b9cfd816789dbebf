"""The buyer's supplier-claim pages: claims per supplier and state, one claim with its
actions (ship to the vendor, acknowledged, credited, rejected, cancel), the claims workbook.

Buyers and admins only, checked on the server. Every form posts with a CSRF token.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import Length, Optional

from accounts.models import Role
from core.errors import Conflict, InvalidInput
from purchasing.claim_lifecycle import ClaimFilters, ClaimView
from purchasing.claims import ClaimStatus
from web.downloads import xlsx_download
from web.extensions import services
from web.labels import label
from web.pages.access import roles_required

bp = Blueprint("claims_pages", __name__, url_prefix="/buying/claims")

BUYERS = (Role.ADMIN, Role.BUYER)
PAGE_SIZE = 100
ACTIONS = ("ship", "acknowledge", "credit", "reject", "cancel")


class ClaimActionForm(FlaskForm):
    """Every action's fields; the service says which one an action needs."""

    carrier = StringField(_l("Carrier"), validators=[Optional(), Length(max=32)])
    tracking_number = StringField(_l("Tracking number"), validators=[Optional(), Length(max=64)])
    vendor_rma = StringField(_l("Vendor's RMA number"), validators=[Optional(), Length(max=64)])
    amount = StringField(_l("Amount credited"), validators=[Optional(), Length(max=20)])
    currency = StringField(_l("Currency"), validators=[Optional(), Length(max=3)])
    credit_note = StringField(_l("Credit note number"), validators=[Optional(), Length(max=64)])
    reason = StringField(_l("Reason"), validators=[Optional(), Length(max=2000)])


def _filters() -> ClaimFilters:
    status = request.args.get("status") or None
    return ClaimFilters(
        supplier=(request.args.get("supplier") or "").strip()[:32] or None,
        status=ClaimStatus(status) if status in {s.value for s in ClaimStatus} else None,
    )


def _filter_args(filters: ClaimFilters) -> dict[str, str]:
    values = {
        "supplier": filters.supplier,
        "status": filters.status.value if filters.status else None,
    }
    return {key: value for key, value in values.items() if value}


@bp.get("")
@roles_required(*BUYERS)
def claims() -> ResponseReturnValue:
    filters = _filters()
    before = request.args.get("before", type=int)
    rows = services().buying.claims.list_claims(filters, before=before, limit=PAGE_SIZE + 1)
    next_before = rows[PAGE_SIZE - 1].id if len(rows) > PAGE_SIZE else None
    return render_template(
        "buying_claims.html",
        claims=rows[:PAGE_SIZE],
        filters=filters,
        filter_args=_filter_args(filters),
        statuses=list(ClaimStatus),
        suppliers=services().inventory.list_suppliers(limit=500),
        next_before=next_before,
    )


@bp.get("/export.xlsx")
@roles_required(*BUYERS)
def export() -> ResponseReturnValue:
    filters, actor = _filters(), current_user.email
    today = services().clock.now().date().isoformat()
    return xlsx_download(
        lambda stream: services().buying.claims.export(stream, actor, filters),
        f"supplier-claims-{today}.xlsx",
    )


@bp.get("/<int(max=2147483647):claim_id>")
@roles_required(*BUYERS)
def claim(claim_id: int) -> ResponseReturnValue:
    view = services().buying.claims.get(claim_id)
    return render_template("buying_claim.html", claim=view, form=ClaimActionForm())


def _amount(raw: str | None) -> Decimal:
    try:
        return Decimal((raw or "").strip().replace(",", ""))
    except InvalidOperation:
        raise InvalidInput("amount", _("Give the amount credited as a number.")) from None


def _apply(action: str, claim_id: int, form: ClaimActionForm) -> ClaimView:
    claims, actor = services().buying.claims, current_user.email
    text = {
        name: (getattr(form, name).data or "").strip() for name in form.data if name != "csrf_token"
    }
    if action == "ship":
        return claims.ship(
            actor, claim_id, text["carrier"], text["tracking_number"], text["reason"]
        )
    if action == "acknowledge":
        return claims.acknowledge(actor, claim_id, text["vendor_rma"], text["reason"][:200])
    if action == "credit":
        return claims.credit(
            actor,
            claim_id,
            _amount(text["amount"]),
            text["currency"],
            text["credit_note"],
            text["reason"][:200],
        )
    if action == "reject":
        return claims.reject(actor, claim_id, text["reason"])
    return claims.cancel(actor, claim_id, text["reason"][:200])


@bp.post("/<int(max=2147483647):claim_id>/<action>")
@roles_required(*BUYERS)
def act(claim_id: int, action: str) -> ResponseReturnValue:
    if action not in ACTIONS:
        abort(404)
    form = ClaimActionForm()
    if not form.validate_on_submit():
        flash(_("The form expired or a field is too long; try again."), "error")
        return redirect(url_for(".claim", claim_id=claim_id))
    try:
        view = _apply(action, claim_id, form)
    except (InvalidInput, Conflict) as problem:
        flash(problem.message, "error")
        return redirect(url_for(".claim", claim_id=claim_id))
    flash(_("%(number)s is now %(state)s.", number=view.number, state=label(view.status)), "info")
    return redirect(url_for(".claim", claim_id=claim_id))
