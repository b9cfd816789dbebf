"""Sign-in and sign-out."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length

from web.extensions import limiter, login_manager, services
from web.pages.access import public, signed_in

bp = Blueprint("session", __name__)


class SignInForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)])


@login_manager.user_loader
def load_user(user_id: str):  # type: ignore[no-untyped-def]
    return services().auth.load_user(int(user_id)) if user_id.isdigit() else None


def safe_next(target: str | None) -> str:
    """``target`` when it is a local path, else the parts page.

    Only local paths: an attacker's link must not bounce a fresh sign-in to another site."""
    if (
        target
        and target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target  # browsers read "/\\host" as "//host"
        and not urlsplit(target).netloc
    ):
        return target
    return url_for("inventory.parts")


@bp.route("/sign-in", methods=["GET", "POST"])
@public("signing in is how a visitor proves who they are; rate-limited per address")
@limiter.limit(lambda: current_app.config["SIGN_IN_RATE_LIMIT"], methods=["POST"])
def sign_in() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(url_for("inventory.parts"))
    form = SignInForm()
    status = 200
    if form.is_submitted():
        status = 422
        if form.validate():
            user = services().auth.check_password(form.email.data or "", form.password.data or "")
            if user is not None:
                login_user(user)
                return redirect(safe_next(request.args.get("next")))
            flash(_("That e-mail and password do not match an active account."), "error")
            status = 401
    return render_template("sign_in.html", form=form), status


@bp.post("/sign-out")
@signed_in
def sign_out() -> ResponseReturnValue:
    logout_user()
    return redirect(url_for("session.sign_in"))
