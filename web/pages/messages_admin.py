"""Admin > Messages: the customer and staff e-mail templates, edited, previewed and reset."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from accounts.models import Role
from core.errors import InvalidInput
from returns.message_templates import MessageTemplates
from returns.messages import KINDS, LANGUAGES
from web.extensions import services
from web.pages.access import roles_required

bp = Blueprint("messages_admin", __name__, url_prefix="/admin/messages")

#: The e-mail's HTML, framed by the edit page: e-mails need inline styles, so this one answer
#: allows them, inside a sandbox (no script at all, an origin of its own), framed only by us.
PREVIEW_POLICY = "; ".join(
    (
        "default-src 'none'",
        "style-src 'unsafe-inline'",
        "img-src data:",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'self'",
        "sandbox",
    )
)


class TemplateForm(FlaskForm):
    subject = StringField(_l("Subject"), validators=[DataRequired(), Length(max=300)])
    text = TextAreaField(_l("Plain text"), validators=[DataRequired(), Length(max=20000)])
    html = TextAreaField(_l("HTML body"), validators=[DataRequired(), Length(max=40000)])


def _templates() -> MessageTemplates:
    return MessageTemplates(services().session_factory, services().clock)


@bp.get("")
@roles_required(Role.ADMIN)
def index() -> ResponseReturnValue:
    return render_template(
        "admin_messages.html",
        rows=_templates().overview(),
        languages=LANGUAGES,
        mail_enabled=services().returns.ctx.messages is not None,
    )


@bp.get("/inbound")
@roles_required(Role.ADMIN)
def inbound() -> ResponseReturnValue:
    """E-mails that came in (Mailgun) and matched no return: a forged or old reply address."""
    return render_template(
        "admin_inbound_emails.html", emails=services().inbound_email.recent_unmatched()
    )


@bp.route("/<kind>/<language>", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def edit(kind: str, language: str) -> ResponseReturnValue:
    if kind not in KINDS or language not in LANGUAGES:
        abort(404)
    templates = _templates()
    form = TemplateForm(data=templates.source(kind, language) if request.method == "GET" else None)
    preview, status = None, 200
    if form.validate_on_submit():
        source = {"subject": form.subject.data, "text": form.text.data, "html": form.html.data}
        try:
            if request.form.get("action") == "save":
                templates.save(current_user.email, kind, language, source)
                flash(_("Template saved."), "success")
                return redirect(url_for("messages_admin.edit", kind=kind, language=language))
            preview = templates.preview(kind, language, source)
        except InvalidInput as error:
            getattr(form, error.field, form.html).errors = [error.message]
            status = 422
    elif form.is_submitted():
        status = 422
    else:
        preview = templates.preview(kind, language, templates.source(kind, language))
    return render_template(
        "admin_message_edit.html",
        form=form,
        kind=kind,
        when=KINDS[kind],
        language=language,
        language_name=LANGUAGES[language],
        preview=preview,
    ), status


@bp.post("/<kind>/<language>/reset")
@roles_required(Role.ADMIN)
def reset(kind: str, language: str) -> ResponseReturnValue:
    if not FlaskForm().validate_on_submit():
        abort(400)
    _templates().reset(kind, language, current_user.email)
    flash(_("The template is back to the shipped text."), "success")
    return redirect(url_for("messages_admin.edit", kind=kind, language=language))


@bp.post("/<kind>/<language>/preview")
@roles_required(Role.ADMIN)
def preview_html(kind: str, language: str) -> ResponseReturnValue:
    """The HTML part of a previewed template, for the edit page's sandboxed frame."""
    if kind not in KINDS or language not in LANGUAGES:
        abort(404)
    form = TemplateForm()
    if not form.validate_on_submit():
        abort(400)
    source = {"subject": form.subject.data, "text": form.text.data, "html": form.html.data}
    try:
        rendered = _templates().preview(kind, language, source)
    except InvalidInput as error:
        return Response(error.message, status=422, mimetype="text/plain")
    response = Response(rendered.html, mimetype="text/html")
    response.headers["Content-Security-Policy"] = PREVIEW_POLICY  # kept by security_headers
    return response
