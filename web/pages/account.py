"""The signed-in user's own settings: the language of the pages."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from web.auth.models import LANGUAGES
from web.extensions import services
from web.i18n import LANGUAGE_NAMES
from web.pages.access import signed_in
from web.pages.session import safe_next

bp = Blueprint("account", __name__, url_prefix="/account")


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
