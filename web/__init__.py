"""The spareflow web application: ``create_app()`` is also the WSGI entry (``web:create_app()``)."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

from flask import Flask

__all__ = ["create_app"]


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build an app. Nothing is created at import time; the schema is a migration step."""
    from web import api, errors
    from web.config import load_config
    from web.extensions import csrf, init_services, login_manager
    from web.pages import inventory, session

    instance_path = os.environ.get("SPAREFLOW_INSTANCE_PATH")
    app = Flask(
        __name__,
        instance_relative_config=True,
        instance_path=os.path.abspath(instance_path) if instance_path else None,
    )
    load_config(app, config)
    logging.basicConfig(level=app.config["LOG_LEVEL"])

    init_services(app)
    login_manager.init_app(app)
    login_manager.login_view = "session.sign_in"
    login_manager.login_message = "Please sign in to continue."
    csrf.init_app(app)
    api.init_app(app)
    # The API authenticates with bearer tokens, not cookies, so CSRF does not apply to it.
    for name in app.blueprints:
        if name in {"parts", "locations", "suppliers", "stock", "reservations", "api-docs"}:
            csrf.exempt(app.blueprints[name])
    app.register_blueprint(session.bp)
    app.register_blueprint(inventory.bp)
    errors.init_app(app)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
