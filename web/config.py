"""The web app's configuration: the settings every process reads (bootstrap/settings.py:
defaults, instance file, environment, caller) plus the web's own, and the session cookie
rules that follow from them."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from flask import Flask

from bootstrap.settings import load_settings

#: The web app's own settings and their defaults (the services' are in bootstrap/settings.py).
DEFAULTS: dict[str, Any] = {
    "MAX_CONTENT_LENGTH": 16 * 1024 * 1024,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_SECURE": False,  # forced on when PUBLIC_URL is https://
    # A signed-in session ends after this long without a request, and this long after signing
    # in whatever happens (seconds, or a timedelta in the instance file).
    "SESSION_IDLE_TIMEOUT": 8 * 3600,
    "SESSION_ABSOLUTE_TIMEOUT": 7 * 24 * 3600,
    "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session
    "SIGN_IN_RATE_LIMIT": "10 per minute",  # per client address, on top of account lockout
    "RATELIMIT_STORAGE_URI": "memory://",
    "RATELIMIT_HEADERS_ENABLED": True,
    "PROXY_HOPS": 0,  # reverse proxies in front of the app whose X-Forwarded-* to trust
    "STATUS_PAGE_RATE_LIMIT": "30 per minute",
    # The returns portal (docs/portal.md): per client address, and per order number named.
    "PORTAL_RATE_LIMIT": "20 per minute",
    "PORTAL_ORDER_RATE_LIMIT": "10 per minute",
    # Demo mode only (spareflow demo sets it): the SMTP sink's Maildir the Demo mail page reads.
    "DEMO_MAIL_DIR": "",
}

log = logging.getLogger(__name__)


def load_config(app: Flask, overrides: Mapping[str, Any] | None) -> None:
    app.config.update(
        load_settings(overrides, instance=app.instance_path, base={**app.config, **DEFAULTS})
    )
    for name in ("SESSION_IDLE_TIMEOUT", "SESSION_ABSOLUTE_TIMEOUT"):
        app.config[name] = _seconds(name, app.config[name])
    if str(app.config["PUBLIC_URL"]).lower().startswith("https://"):
        # People reach the app over HTTPS: the session cookie must never travel in clear.
        app.config["SESSION_COOKIE_SECURE"] = True
    elif not app.config["SESSION_COOKIE_SECURE"]:
        log.warning(
            "PUBLIC_URL %s is not https: the session cookie is sent without the Secure flag. "
            "Serve spareflow over HTTPS and set SPAREFLOW_PUBLIC_URL=https://...",
            app.config["PUBLIC_URL"],
        )
    app.config["SESSION_COOKIE_HTTPONLY"] = True  # no script ever reads the session cookie
    if app.config["SESSION_COOKIE_SAMESITE"] not in ("Lax", "Strict"):
        app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    if app.config["SESSION_COOKIE_SECURE"] and app.config["SESSION_COOKIE_NAME"] == "session":
        # Over HTTPS the __Host- prefix binds the cookie to this exact host (no Domain, Path=/).
        app.config["SESSION_COOKIE_NAME"] = "__Host-spareflow"


def _seconds(name: str, value: Any) -> int:
    """A duration setting as whole seconds: a number of seconds or a ``timedelta``."""
    if isinstance(value, timedelta):
        value = value.total_seconds()
    try:
        seconds = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} is a number of seconds, not {value!r}") from None
    if seconds <= 0:
        raise ValueError(f"{name} must be more than 0 seconds, not {seconds}")
    return seconds
