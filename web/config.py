"""Configuration: defaults, then an instance file, then the environment, then the caller.

- ``DATABASE_URL``, ``SECRET_KEY``: the usual names.
- ``SPAREFLOW_<NAME>``: any other setting, e.g. ``SPAREFLOW_LOG_LEVEL=DEBUG``; values are
  parsed as JSON where they can be (``SPAREFLOW_SESSION_COOKIE_SECURE=true``).
- The instance file: ``$SPAREFLOW_CONFIG`` or ``<instance>/spareflow.cfg`` (Python syntax).
"""

from __future__ import annotations

import logging
import os
import secrets
import time
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask

DEFAULTS: dict[str, Any] = {
    "DATABASE_URL": None,  # None: SQLite in the instance folder
    "SQLALCHEMY_ECHO": False,
    "MAX_CONTENT_LENGTH": 16 * 1024 * 1024,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_SECURE": False,  # forced on when PUBLIC_URL is https://
    # A signed-in session ends after this long without a request, and this long after signing
    # in whatever happens (seconds, or a timedelta in the instance file).
    "SESSION_IDLE_TIMEOUT": 8 * 3600,
    "SESSION_ABSOLUTE_TIMEOUT": 7 * 24 * 3600,
    # Admins must set up two-factor sign-in (TOTP) before they can do anything else.
    "REQUIRE_2FA_FOR_ADMINS": False,
    "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session
    "SIGN_IN_RATE_LIMIT": "10 per minute",  # per client address, on top of account lockout
    "RATELIMIT_STORAGE_URI": "memory://",
    "RATELIMIT_HEADERS_ENABLED": True,
    "PROXY_HOPS": 0,  # reverse proxies in front of the app whose X-Forwarded-* to trust
    "LOG_LEVEL": "INFO",
    # Where people reach this app: links in e-mails (status pages, the desk's RMA pages).
    "PUBLIC_URL": "http://127.0.0.1:5000",
    # The public status page of a finished RMA stays open this many days after it ends.
    "STATUS_PAGE_GRACE_DAYS": 30,
    "STATUS_PAGE_RATE_LIMIT": "30 per minute",
    # When a carrier webhook's events are applied: "on_receipt" (in the request, right after
    # they are stored) or "worker" (by the scheduler's apply_carrier_events job, in batches:
    # short webhook requests for busy sites that run `spareflow scheduler`).
    "CARRIER_EVENTS_APPLY": "on_receipt",
    # Fernet keys (comma-separated, newest first) that encrypt secrets stored in the database.
    "ENCRYPTION_KEYS": None,
    # Tests and the demo only: derive that key from SECRET_KEY (logged as such).
    "ENCRYPTION_KEY_FROM_SECRET_KEY": False,
    # The local sandbox carrier is an adapter only when this is on (the demo, tests).
    "CARRIERS_SANDBOX": False,
    # The carrier that sells return labels (none by default: see docs/carriers.md).
    "RETURNS_CARRIER": None,
    # Logs are deleted after so many days by the prune job (`spareflow prune`).
    "RETENTION_WEBHOOK_DELIVERIES_DAYS": 90,
    "RETENTION_OUTBOX_DONE_DAYS": 30,
}

log = logging.getLogger(__name__)


def load_config(app: Flask, overrides: Mapping[str, Any] | None) -> None:
    app.config.update(DEFAULTS)
    explicit_file = os.environ.get("SPAREFLOW_CONFIG")
    if explicit_file:
        app.config.from_pyfile(os.path.abspath(explicit_file))  # a named file must exist
    else:
        app.config.from_pyfile(str(Path(app.instance_path) / "spareflow.cfg"), silent=True)
    for name in ("DATABASE_URL", "SECRET_KEY"):
        if os.environ.get(name):
            app.config[name] = os.environ[name]
    app.config.from_prefixed_env("SPAREFLOW")
    if overrides:
        app.config.update(overrides)
    if not app.config.get("DATABASE_URL"):
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
        app.config["DATABASE_URL"] = f"sqlite:///{Path(app.instance_path) / 'spareflow.db'}"
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
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret_key(Path(app.instance_path))


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


def _instance_secret_key(instance: Path) -> str:
    """A random key kept in the instance folder, so a local install works without set-up.

    Production should set ``SECRET_KEY`` explicitly (one value shared by every web process).
    """
    key_file = instance / "secret_key"
    instance.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL: when several workers start at once, exactly one writes the key.
        descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(50):  # the writer may not have finished yet
            key = key_file.read_text().strip()
            if key:
                return key
            time.sleep(0.02)
        raise RuntimeError(f"{key_file} is empty: delete it or set SECRET_KEY") from None
    key = secrets.token_hex(32)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(key)
    log.warning("SECRET_KEY not set: generated one in %s", key_file)
    return key
