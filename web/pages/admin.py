"""Administration: users, their roles, and API tokens."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, IntegerField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from accounts.models import LANGUAGES, Role
from accounts.service import DEFAULT_TOKEN_DAYS, MAX_TOKEN_DAYS
from carriers.registry import SECRET_SETTINGS, sandbox_enabled
from core.errors import DomainError, InvalidInput
from core.settings import MIN_SECRET_LENGTH
from web.extensions import services
from web.i18n import LANGUAGE_NAMES, format_moment
from web.labels import label as readable
from web.labels import lazy_label
from web.pages.access import roles_required
from web.pages.account import error_text

bp = Blueprint("admin", __name__, url_prefix="/admin")

ROLE_CHOICES = [SelectChoice(role.value, lazy_label(role)) for role in Role]
LANGUAGE_CHOICES = [SelectChoice(code, LANGUAGE_NAMES[code]) for code in LANGUAGES]


class NewUserForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])
    name = StringField(_l("Name"), validators=[Optional(), Length(max=200)])
    role = SelectField(_l("Role"), choices=ROLE_CHOICES)
    language = SelectField(_l("Language"), choices=LANGUAGE_CHOICES, default="en")
    password = PasswordField(
        _l("Temporary password (changed at first sign-in)"),
        validators=[DataRequired(), Length(max=1024)],
    )


class ResetPasswordForm(FlaskForm):
    password = PasswordField(
        _l("New temporary password"), validators=[DataRequired(), Length(max=1024)]
    )


class UserForm(FlaskForm):
    role = SelectField(_l("Role"), choices=ROLE_CHOICES)
    # Checked by the service (an unknown language is refused there); absent: left as it is.
    language = SelectField(_l("Language"), choices=LANGUAGE_CHOICES, validate_choice=False)
    active = SelectField(
        _l("Access"),
        choices=[SelectChoice("1", _l("active")), SelectChoice("0", _l("switched off"))],
    )


class NewTokenForm(FlaskForm):
    email = EmailField(_l("For user"), validators=[DataRequired(), Length(max=254)])
    name = StringField(_l("What it is for"), validators=[Optional(), Length(max=100)])
    expires_days = IntegerField(
        _l("Expires after (days)"),
        default=DEFAULT_TOKEN_DAYS,
        validators=[Optional(), NumberRange(min=1, max=MAX_TOKEN_DAYS)],
    )
    never_expires = BooleanField(_l("Never expires"))


class PlainForm(FlaskForm):
    """A CSRF-protected button."""


@bp.get("")
@roles_required(Role.ADMIN)
def index() -> ResponseReturnValue:
    return _page()


def _page(new_secret: str | None = None, new_token: NewTokenForm | None = None) -> str:
    auth = services().auth
    return render_template(
        "admin.html",
        users=auth.list_users(),
        tokens=auth.list_tokens(),
        now=services().clock.now(),
        new_user=NewUserForm(formdata=None),
        user_form=UserForm(formdata=None),
        reset_form=ResetPasswordForm(formdata=None),
        new_token=new_token or NewTokenForm(formdata=None),
        plain=PlainForm(),
        new_secret=new_secret,
        secrets=_secret_rows(),
        min_secret_length=MIN_SECRET_LENGTH,
        can_store_secrets=services().settings.box is not None,
    )


@bp.post("/users")
@roles_required(Role.ADMIN)
def create_user() -> ResponseReturnValue:
    form = NewUserForm()
    if form.validate_on_submit():
        try:
            user = services().auth.create_user(
                form.email.data or "",
                form.role.data or "",
                form.password.data or "",
                name=form.name.data or "",
                language=form.language.data or None,
                actor=current_user.email,
                temporary_password=True,
            )
        except DomainError as error:
            flash(error_text(error), "error")
        else:
            flash(
                _(
                    "%(email)s can sign in now as %(role)s, and must then choose a new password.",
                    email=user.email,
                    role=readable(user.role),
                ),
                "success",
            )
    else:
        flash(_("Give an e-mail address and a password."), "error")
    return redirect(url_for("admin.index"))


@bp.post("/users/<int(max=2147483647):user_id>")
@roles_required(Role.ADMIN)
def update_user(user_id: int) -> ResponseReturnValue:
    form = UserForm()
    if form.validate_on_submit():
        try:
            user = services().auth.update_user(
                user_id,
                role=form.role.data,
                active=form.active.data == "1",
                language=form.language.data or None,
                acting_admin=current_user.id,
                actor=current_user.email,
            )
        except DomainError as error:
            flash(error.message, "error")
        else:
            flash(_("%(email)s updated.", email=user.email), "success")
    return redirect(url_for("admin.index"))


@bp.post("/users/<int(max=2147483647):user_id>/password")
@roles_required(Role.ADMIN)
def reset_password(user_id: int) -> ResponseReturnValue:
    """A temporary password for someone who forgot theirs; they must change it at sign-in."""
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            user = services().auth.reset_password(
                user_id, form.password.data or "", actor=current_user.email
            )
        except DomainError as error:
            flash(error_text(error), "error")
        else:
            flash(
                _(
                    "%(email)s has a temporary password now and is signed out everywhere.",
                    email=user.email,
                ),
                "success",
            )
    return redirect(url_for("admin.index"))


@bp.post("/users/<int(max=2147483647):user_id>/two-factor/reset")
@roles_required(Role.ADMIN)
def reset_two_factor(user_id: int) -> ResponseReturnValue:
    """For someone who lost their phone and recovery codes: sign-in by password alone again."""
    if user_id == current_user.id:
        # One's own goes through the account page, which asks for the password.
        flash(_("Turn your own two-factor sign-in off on your account page."), "error")
    elif PlainForm().validate_on_submit():
        try:
            services().auth.disable_two_factor(user_id, None, actor=current_user.email)
        except DomainError as error:
            flash(error_text(error), "error")
        else:
            flash(_("Two-factor sign-in turned off for that user."), "success")
    return redirect(url_for("admin.index"))


@bp.post("/tokens")
@roles_required(Role.ADMIN)
def create_token() -> ResponseReturnValue:
    form = NewTokenForm()
    if form.validate_on_submit():
        try:
            _token, secret = services().auth.create_token(
                form.email.data or "",
                form.name.data or "",
                actor=current_user.email,
                expires_days=None
                if form.never_expires.data
                else (form.expires_days.data or DEFAULT_TOKEN_DAYS),
            )
        except DomainError as error:
            flash(error.message, "error")
        else:
            # Shown once, on this response only; only its hash is stored.
            return _page(new_secret=secret)
    else:
        flash(
            _("A token expires after 1 to %(days)d days, or never.", days=MAX_TOKEN_DAYS),
            "error",
        )
    return redirect(url_for("admin.index"))


@bp.post("/tokens/<int(max=2147483647):token_id>/revoke")
@roles_required(Role.ADMIN)
def revoke_token(token_id: int) -> ResponseReturnValue:
    if PlainForm().validate_on_submit():
        try:
            token = services().auth.revoke_token(token_id, actor=current_user.email)
        except DomainError as error:
            flash(error.message, "error")
        else:
            flash(
                _("Token %(prefix)s… revoked; it stops working at once.", prefix=token.prefix),
                "success",
            )
    return redirect(url_for("admin.index"))


def _secret_rows() -> list[dict[str, object]]:
    stored = services().settings.describe()
    rows = []
    sandbox = sandbox_enabled(current_app.config)
    for name, label in SECRET_SETTINGS.items():
        if name.startswith("SANDBOX_") and not sandbox and name not in stored:
            continue  # the sandbox carrier exists only in the demo and tests
        if name in stored:
            who, when = stored[name]
            source = _("set here by %(who)s, %(when)s UTC", who=who, when=format_moment(when))
        elif current_app.config.get(name):
            source = _("from the configuration (%(setting)s)", setting="SPAREFLOW_" + name)
        else:
            source = _("not set: webhooks from this provider are refused")
        rows.append({"name": name, "label": label, "source": source, "stored": name in stored})
    return rows


@bp.post("/carrier-secrets")
@roles_required(Role.ADMIN)
def carrier_secrets() -> ResponseReturnValue:
    """Set or clear carrier secrets; values are never shown back, only where they come from."""
    if not PlainForm().validate_on_submit():
        return redirect(url_for("admin.index"))
    store = services().settings
    changed, refused = [], []
    for name in SECRET_SETTINGS:
        value = (request.form.get(name) or "").strip()
        try:
            if request.form.get(f"clear-{name}") == "1":
                store.set(name, None, current_user.email)
                changed.append(name)
            elif value:
                store.set(name, value, current_user.email)
                changed.append(name)
        except InvalidInput as error:
            refused.append(name)
            if error.code == "secret_too_short":
                flash(
                    _(
                        "%(name)s not changed: a secret must be at least %(count)d characters.",
                        name=name,
                        count=MIN_SECRET_LENGTH,
                    ),
                    "error",
                )
            elif error.code == "no_encryption_key":
                flash(
                    _(
                        "%(name)s not changed: secrets are stored encrypted, and no key is "
                        "configured (SPAREFLOW_ENCRYPTION_KEYS).",
                        name=name,
                    ),
                    "error",
                )
            else:
                flash(error.message, "error")
    if changed:
        flash(_("Updated: %(names)s.", names=", ".join(changed)), "success")
    elif not refused:
        flash(_("Nothing changed."), "success")
    return redirect(url_for("admin.index") + "#carrier-secrets")
