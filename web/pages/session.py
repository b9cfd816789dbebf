"""Sign-in (password, then a code when two-factor sign-in is on), sign-out, and the checks
every signed-in request passes: the session is current, not idle too long, not too old.

A session is the signed cookie Flask keeps; what ends it everywhere at once is the user's
``session_version`` in the database, copied into the cookie at sign-in and compared on each
request. Sign-out, deactivation, a new role, a new password or two-factor change raise it, so
every copy of an older cookie (another browser, a stolen copy) is refused from then on.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Length

from accounts.models import User
from accounts.service import SignInStep
from web.extensions import limiter, login_manager, services
from web.pages.access import public, signed_in
from web.pages.home import home_url

bp = Blueprint("session", __name__)

#: Keys of the session cookie: the user's session version, when they signed in, when they
#: were last seen (epoch seconds, from the app's clock), and a half-finished sign-in.
VERSION, SIGNED_IN_AT, SEEN_AT, PENDING = "_sv", "_signed_in_at", "_seen_at", "_2fa"
#: Time to type the code after the password was accepted.
CODE_STEP_SECONDS = 300
#: The last-seen time is rewritten at most this often (each rewrite is a new cookie).
SEEN_RESOLUTION = 60


class SignInForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)])


class CodeForm(FlaskForm):
    code = StringField(
        _l("Code from the authenticator app, or a recovery code"),
        validators=[DataRequired(), Length(max=40)],
    )


def _now() -> float:
    return services().clock.now().timestamp()


def client_address() -> str:
    return request.remote_addr or ""


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    user = services().auth.load_user(int(user_id)) if user_id.isdigit() else None
    if user is None or not user.active or not _session_is_current(user):
        # Cleared, so the browser's cookie is replaced by an empty one.
        session.clear()
        return None
    return user


def _session_is_current(user: User) -> bool:
    now = _now()
    signed_in_at, seen_at = session.get(SIGNED_IN_AT), session.get(SEEN_AT)
    if session.get(VERSION) != user.session_version or signed_in_at is None or seen_at is None:
        return False
    config = current_app.config
    if now - signed_in_at > config["SESSION_ABSOLUTE_TIMEOUT"]:
        return False
    if now - seen_at > config["SESSION_IDLE_TIMEOUT"]:
        return False
    if now - seen_at >= SEEN_RESOLUTION:
        session[SEEN_AT] = now
    return True


def start_session(user: User) -> None:
    """Sign ``user`` in in this browser: a fresh cookie bound to their session version."""
    session.clear()
    login_user(user)
    keep_session(user.session_version)
    session[SIGNED_IN_AT] = session[SEEN_AT] = _now()


def keep_session(session_version: int) -> None:
    """After the user's own change that ended their sessions: keep this browser's one."""
    session[VERSION] = session_version


def safe_next(target: str | None, user: User | None = None) -> str:
    """``target`` when it is a local path other than ``/``, else ``user``'s own start page
    (web/pages/home.py; the parts page without a user).

    Only local paths: an attacker's link must not bounce a fresh sign-in to another site."""
    if (
        target
        and target.startswith("/")
        and target.rstrip("?") != "/"  # the bare address: no page in particular was asked for
        and not target.startswith("//")
        and "\\" not in target  # browsers read "/\\host" as "//host"
        and not urlsplit(target).netloc
    ):
        return target
    return home_url(user) if user is not None else url_for("inventory.parts")


def _rate_limit() -> str:
    return str(current_app.config["SIGN_IN_RATE_LIMIT"])


@bp.route("/sign-in", methods=["GET", "POST"])
@public("signing in is how a visitor proves who they are; rate-limited per address")
@limiter.limit(_rate_limit, methods=["POST"])
def sign_in() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(home_url())
    form = SignInForm()
    status = 200
    if form.is_submitted():
        status = 422
        session.pop(PENDING, None)  # a new attempt voids a half-finished one
        if form.validate():
            result = services().auth.sign_in(
                form.email.data or "", form.password.data or "", ip=client_address()
            )
            if result.step is SignInStep.SIGNED_IN and result.user is not None:
                start_session(result.user)
                return redirect(safe_next(request.args.get("next"), result.user))
            if result.step is SignInStep.NEEDS_CODE and result.user is not None:
                # Half signed in: this grants no page; only the code form reads it.
                session.clear()
                session[PENDING] = {
                    "user": result.user.id,
                    "version": result.user.session_version,
                    "at": _now(),
                    "next": safe_next(request.args.get("next"), result.user),
                }
                return redirect(url_for("session.sign_in_code"))
            flash(_("That e-mail and password do not match an active account."), "error")
            status = 401
    return render_template("sign_in.html", form=form), status


def _pending_sign_in() -> dict[str, Any] | None:
    pending = session.get(PENDING)
    if not isinstance(pending, dict) or _now() - pending.get("at", 0) > CODE_STEP_SECONDS:
        session.pop(PENDING, None)
        return None
    return pending


@bp.route("/sign-in/code", methods=["GET", "POST"])
@public("the second step of signing in; it needs the password step done in this browser")
@limiter.limit(_rate_limit, methods=["POST"])
def sign_in_code() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(home_url())
    pending = _pending_sign_in()
    if pending is None:
        flash(_("Sign in with your e-mail and password first."), "error")
        return redirect(url_for("session.sign_in"))
    form = CodeForm()
    status = 200
    if form.is_submitted():
        status = 422
        if form.validate():
            user = services().auth.sign_in_code(
                pending["user"], pending["version"], form.code.data or "", ip=client_address()
            )
            if user is not None:
                start_session(user)
                return redirect(safe_next(pending.get("next")))
            flash(_("That code is not right, or was used already."), "error")
            status = 401
    return render_template("sign_in_code.html", form=form), status


@bp.post("/sign-out")
@signed_in
def sign_out() -> ResponseReturnValue:
    """Ends every session of the user, including copies of this browser's cookie."""
    services().auth.sign_out(current_user.id, ip=client_address())
    logout_user()
    session.clear()
    return redirect(url_for("session.sign_in"))


# --- steps a signed-in user must take before anything else ------------------------------

#: Reachable whatever step is due: signing out, static files, and what is not a page.
_ALWAYS = frozenset({"static", "session.sign_out", "session.sign_in", "session.sign_in_code"})
_NOT_PAGES = ("/api/", "/webhooks/", "/status/", "/healthz", "/readyz", "/internal/")
_PASSWORD_STEP = frozenset({"account.password", "account.change_password"})
_TWO_FACTOR_STEP = frozenset(
    {"account.two_factor", "account.two_factor_start", "account.two_factor_confirm"}
)


@bp.before_app_request
def due_account_steps() -> ResponseReturnValue | None:
    """A temporary password is changed, and a required second factor set up, first."""
    if request.endpoint in _ALWAYS or request.path.startswith(_NOT_PAGES):
        return None
    if not current_user.is_authenticated:
        return None
    if current_user.must_change_password:
        if request.endpoint not in _PASSWORD_STEP:
            flash(_("Choose a new password of your own before you continue."), "error")
            return redirect(url_for("account.password"))
        return None
    if (
        services().auth.two_factor_required(current_user)
        and request.endpoint not in _TWO_FACTOR_STEP
    ):
        flash(_("Admins must set up two-factor sign-in before they continue."), "error")
        return redirect(url_for("account.two_factor"))
    return None
