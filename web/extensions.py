"""Extensions, created unbound and bound to an app in ``create_app``; the app's services."""

from __future__ import annotations

from flask import Flask, current_app
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf import CSRFProtect

from bootstrap.services import Services, build_services
from core.clock import Clock

babel = Babel()
login_manager = LoginManager()
csrf = CSRFProtect()
#: Per client address; storage from RATELIMIT_STORAGE_URI (memory:// by default, use
#: redis://... when several web processes must share the counts).
limiter = Limiter(key_func=get_remote_address)


def init_services(app: Flask, clock: Clock | None = None) -> Services:
    """The app's services, built from its config (the live mapping, not a copy)."""
    built = build_services(app.config, clock=clock)
    app.extensions["spareflow"] = built
    return built


def services() -> Services:
    return current_app.extensions["spareflow"]
