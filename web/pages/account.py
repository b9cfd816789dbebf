"""The signed-in user's own account: password, two-factor sign-in, language of the pages."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from accounts import two_factor
from accounts.models import LANGUAGES
from accounts.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from core.errors import DomainError
from web.extensions import services
from web.i18n import LANGUAGE_NAMES
from web.pages.access import signed_in
from web.pages.home import home_url
from web.pages.session import client_address, keep_session, safe_next

bp = Blueprint("account", __name__, url_prefix="/account")


class PasswordForm(FlaskForm):
    current_password = PasswordField(
        _l("Current password"), validators=[DataRequired(), Length(max=MAX_PASSWORD_LENGTH)]
    )
    new_password = PasswordField(
        _l("New password"), validators=[DataRequired(), Length(max=MAX_PASSWORD_LENGTH)]
    )
    repeat = PasswordField(
        _l("New password again"),
        validators=[
            DataRequired(),
            EqualTo("new_password", message=_l("The two new passwords differ.")),
        ],
    )


class ConfirmCodeForm(FlaskForm):
    code = StringField(_l("Code from the app"), validators=[DataRequired(), Length(max=10)])


class ConfirmPasswordForm(FlaskForm):
    password = PasswordField(
        _l("Password"), validators=[DataRequired(), Length(max=MAX_PASSWORD_LENGTH)]
    )


class PlainForm(FlaskForm):
    """A CSRF-protected button."""


def error_text(error: DomainError) -> str:
    """The service's refusal, in the page's language."""
    texts = {
        "password_too_short": _(
            "Passwords need at least %(count)d characters.", count=MIN_PASSWORD_LENGTH
        ),
        "password_too_long": _(
            "Passwords have at most %(count)d characters.", count=MAX_PASSWORD_LENGTH
        ),
        "password_too_common": _(
            "That password is one of the most common passwords, which attackers try first; "
            "choose another."
        ),
        "password_is_email": _("A password may not be the e-mail address or its name part."),
        "password_unchanged": _("The new password must differ from the current one."),
        "wrong_current_password": _("The current password is not right."),
        "wrong_code": _("That code is not right; check the phone's clock and try the next code."),
        "two_factor_required": _("Admins must keep two-factor sign-in on."),
        "two_factor_already_enabled": _("Two-factor sign-in is already on."),
        "two_factor_not_started": _("Start the set-up first."),
        "two_factor_not_enabled": _("Two-factor sign-in is off."),
    }
    return str(texts.get(error.code, error.message))


def _flash_form_errors(form: FlaskForm) -> None:
    for errors in form.errors.values():
        for message in errors:
            flash(str(message), "error")


@bp.get("/password")
@signed_in
def password() -> ResponseReturnValue:
    return render_template(
        "account_password.html", form=PasswordForm(), minimum=MIN_PASSWORD_LENGTH
    )


@bp.post("/password")
@signed_in
def change_password() -> ResponseReturnValue:
    form = PasswordForm()
    if not form.validate_on_submit():
        _flash_form_errors(form)
        return redirect(url_for("account.password"))
    try:
        version = services().auth.change_password(
            current_user.id,
            form.current_password.data or "",
            form.new_password.data or "",
            ip=client_address(),
        )
    except DomainError as error:
        flash(error_text(error), "error")
        return redirect(url_for("account.password"))
    keep_session(version)  # every other session of the user has ended
    flash(_("Password changed. Every other session of yours has been signed out."), "success")
    return redirect(home_url())


@bp.get("/two-factor", endpoint="two_factor")
@signed_in
def two_factor_page() -> ResponseReturnValue:
    auth = services().auth
    secret = (
        None if current_user.two_factor_enabled else auth.pending_two_factor_secret(current_user.id)
    )
    qr = None
    if secret:
        qr = two_factor.qr_svg(two_factor.provisioning_uri(secret, current_user.email))
    return render_template(
        "account_two_factor.html",
        secret=secret,
        qr=qr,
        codes_left=auth.recovery_codes_left(current_user.id),
        recovery_codes=None,
        confirm=ConfirmCodeForm(),
        with_password=ConfirmPasswordForm(),
        plain=PlainForm(),
    )


@bp.post("/two-factor/start")
@signed_in
def two_factor_start() -> ResponseReturnValue:
    if PlainForm().validate_on_submit():
        try:
            services().auth.start_two_factor(current_user.id)
        except DomainError as error:
            flash(error_text(error), "error")
    return redirect(url_for("account.two_factor"))


@bp.post("/two-factor/confirm")
@signed_in
def two_factor_confirm() -> ResponseReturnValue:
    form = ConfirmCodeForm()
    if not form.validate_on_submit():
        _flash_form_errors(form)
        return redirect(url_for("account.two_factor"))
    try:
        version, codes = services().auth.confirm_two_factor(
            current_user.id, form.code.data or "", ip=client_address()
        )
    except DomainError as error:
        flash(error_text(error), "error")
        return redirect(url_for("account.two_factor"))
    keep_session(version)
    flash(_("Two-factor sign-in is on."), "success")
    return _recovery_codes_page(codes)


def _recovery_codes_page(codes: list[str]) -> ResponseReturnValue:
    """The recovery codes, on this response only: they are stored hashed."""
    return render_template(
        "account_two_factor.html",
        secret=None,
        qr=None,
        codes_left=len(codes),
        recovery_codes=codes,
        confirm=ConfirmCodeForm(formdata=None),
        with_password=ConfirmPasswordForm(formdata=None),
        plain=PlainForm(),
    )


@bp.post("/two-factor/recovery-codes")
@signed_in
def two_factor_recovery_codes() -> ResponseReturnValue:
    form = ConfirmPasswordForm()
    if not form.validate_on_submit():
        _flash_form_errors(form)
        return redirect(url_for("account.two_factor"))
    try:
        codes = services().auth.new_recovery_codes(
            current_user.id, form.password.data or "", ip=client_address()
        )
    except DomainError as error:
        flash(error_text(error), "error")
        return redirect(url_for("account.two_factor"))
    flash(_("New recovery codes made; the old ones no longer work."), "success")
    return _recovery_codes_page(codes)


@bp.post("/two-factor/disable")
@signed_in
def two_factor_disable() -> ResponseReturnValue:
    form = ConfirmPasswordForm()
    if not form.validate_on_submit():
        _flash_form_errors(form)
        return redirect(url_for("account.two_factor"))
    try:
        version = services().auth.disable_two_factor(
            current_user.id, form.password.data or "", actor=current_user.email, ip=client_address()
        )
    except DomainError as error:
        flash(error_text(error), "error")
    else:
        keep_session(version)
        flash(_("Two-factor sign-in is off."), "success")
    return redirect(url_for("account.two_factor"))


@bp.post("/language")
@signed_in
def language() -> ResponseReturnValue:
    """Store the user's language (CSRF checked by CSRFProtect), then go back where they were."""
    chosen = (request.form.get("language") or "").strip()
    back = redirect(safe_next(request.form.get("next")))
    if chosen not in LANGUAGES:
        names = ", ".join(f"{LANGUAGE_NAMES[code]} ({code})" for code in LANGUAGES)
        flash(
            _(
                "Unknown language %(language)s; choose one of %(choices)s.",
                language=chosen[:20] or "—",
                choices=names,
            ),
            "error",
        )
        return back
    services().auth.set_language(current_user.id, chosen)
    return back
