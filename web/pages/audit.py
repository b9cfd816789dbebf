"""Admin > Audit log: who did what, filtered, paged, and exported as xlsx."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, Field, StringField
from wtforms.validators import Length, Optional, ValidationError

from accounts.models import Role
from core.audit_log import KNOWN_ACTIONS, AuditFilter, AuditLog, write_audit_workbook
from web.downloads import xlsx_download
from web.extensions import services
from web.pages.access import roles_required

bp = Blueprint("audit_pages", __name__, url_prefix="/admin")

PAGE_SIZE = 50


def _no_nul(form: FlaskForm, field: Field) -> None:
    if "\x00" in (field.data or ""):
        raise ValidationError(_l("Contains a NUL character."))


class AuditFilterForm(FlaskForm):
    """The filters, read from the query string (a GET form: no CSRF token needed)."""

    class Meta:
        csrf = False

    actor = StringField(_l("Who"), validators=[Optional(), Length(max=254), _no_nul])
    action = StringField(_l("What"), validators=[Optional(), Length(max=64), _no_nul])
    target = StringField(_l("Which"), validators=[Optional(), Length(max=254), _no_nul])
    date_from = DateField(_l("From"), validators=[Optional()])
    date_to = DateField(_l("To (included)"), validators=[Optional()])


def _filters() -> tuple[AuditFilterForm, AuditFilter | None]:
    """The form and its filter; None when the filter is invalid (then nothing is shown)."""
    form = AuditFilterForm(request.args)
    if not form.validate():
        return form, None
    return form, AuditFilter(
        actor=form.actor.data or None,
        action=form.action.data or None,
        target=form.target.data or None,
        date_from=form.date_from.data,
        date_to=form.date_to.data,
    )


def _log() -> AuditLog:
    return AuditLog(services().session_factory)


@bp.get("/audit")
@roles_required(Role.ADMIN)
def index() -> ResponseReturnValue:
    form, filters = _filters()
    before = request.args.get("before", type=int)
    if before is not None and not 0 < before < 2**63:
        before = None
    rows = _log().search(filters, before_id=before, limit=PAGE_SIZE) if filters else []
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    query = {k: v for k, v in request.args.items() if k != "before" and v}
    return render_template(
        "admin_audit.html",
        form=form,
        rows=rows,
        actions=KNOWN_ACTIONS,
        next_query={**query, "before": rows[-1].id} if more else None,
        first_query=query if before is not None else None,
        export_query=query,
    ), (200 if not form.errors else 422)


@bp.get("/audit.xlsx")
@roles_required(Role.ADMIN)
def export() -> ResponseReturnValue:
    form, filters = _filters()
    if filters is None:
        return {"error": {"code": "validation_error", "message": str(form.errors)}}, 422
    rows = _log().export(filters)
    return xlsx_download(lambda stream: write_audit_workbook(stream, rows), "audit-log.xlsx")
