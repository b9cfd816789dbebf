"""The spareflow web application: ``create_app()`` is also the WSGI entry (``web:create_app()``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask
from flask_babel import gettext
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

__all__ = ["create_app"]

#: The largest id a database column holds (PostgreSQL bigint; SQLite's INTEGER).
MAX_BIGINT = 2**63 - 1
#: The largest id of an ``integer`` column: routes to such tables say ``<int(max=...):id>``.
MAX_INT32 = 2**31 - 1


class DatabaseIdConverter(IntegerConverter):
    """``<int:...>`` in a path never exceeds what a database column can hold.

    A larger number can name no row, so it is a plain 404 instead of an overflow in the
    database driver (a 500).
    """

    def __init__(self, map: Any, *args: Any, max: int = MAX_BIGINT, **kwargs: Any) -> None:
        super().__init__(map, *args, max=min(max, MAX_BIGINT), **kwargs)


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build an app. Nothing is created at import time; the schema is a migration step."""
    from bootstrap.settings import instance_path
    from core import logs
    from web import (
        api,
        errors,
        i18n,
        input_guard,
        labels,
        monitoring,
        security_headers,
        status_words,
        webhooks,
    )
    from web.config import load_config
    from web.extensions import csrf, init_services, limiter, login_manager, services
    from web.pages import (
        account,
        admin,
        audit,
        buying,
        cases,
        claims,
        customer_address,
        demo_mail,
        desk,
        desk_admin,
        home,
        inventory,
        knowledge,
        loans,
        messages_admin,
        metrics,
        orders,
        owners,
        planning,
        portal,
        portal_knowledge,
        repairs,
        rma_page,
        serials,
        session,
        status,
        warehouse,
    )
    from web.pages.access import declare_public, public

    # The same folder a worker without Flask finds (bootstrap.settings.instance_path).
    app = Flask(__name__, instance_relative_config=True, instance_path=str(instance_path()))
    app.url_map.converters["int"] = DatabaseIdConverter  # before any route is added
    load_config(app, config)
    logs.configure(app.config["LOG_LEVEL"], app.config["LOG_FORMAT"])

    init_services(app)
    i18n.init_app(app)
    labels.init_app(app)
    status_words.init_app(app)
    home.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "session.sign_in"
    # The message is translated when it is flashed (a lazy string cannot go in the session).
    login_manager.login_message = i18n.N_("Please sign in to continue.")
    login_manager.localize_callback = gettext
    csrf.init_app(app)
    limiter.init_app(app)
    input_guard.init_app(app)
    api.init_app(app)
    # The API authenticates with bearer tokens, not cookies, so CSRF does not apply to it.
    for blueprint in api.BLUEPRINTS:
        csrf.exempt(blueprint)
    app.register_blueprint(webhooks.bp)
    csrf.exempt(webhooks.bp)  # providers authenticate by signature or token, not by cookie
    app.register_blueprint(session.bp)
    app.register_blueprint(inventory.bp)
    app.register_blueprint(buying.bp)
    app.register_blueprint(planning.bp)
    app.register_blueprint(claims.bp)
    app.register_blueprint(loans.bp)
    app.register_blueprint(knowledge.bp)
    app.register_blueprint(desk.bp)
    app.register_blueprint(rma_page.bp)
    app.register_blueprint(cases.bp)
    app.register_blueprint(customer_address.bp)
    app.register_blueprint(orders.bp)
    app.register_blueprint(repairs.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(audit.bp)
    app.register_blueprint(account.bp)
    app.register_blueprint(warehouse.bp)
    app.register_blueprint(status.bp)
    app.register_blueprint(portal.bp)
    app.register_blueprint(portal_knowledge.bp)
    app.register_blueprint(messages_admin.bp)
    app.register_blueprint(metrics.bp)
    app.register_blueprint(serials.bp)
    owners.init_app(app)
    app.register_blueprint(desk_admin.bp)
    demo_mail.init_app(app)
    errors.init_app(app)
    monitoring.init_app(app)  # request ids and metrics; /readyz, /internal/metrics
    security_headers.init_app(app)  # every response: pages, API, errors, static, webhooks

    if app.config["PROXY_HOPS"]:
        # Behind a reverse proxy: trust its X-Forwarded-* headers for scheme, host and client.
        hops = int(app.config["PROXY_HOPS"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]

    @app.get("/healthz")
    @public("for load balancers: says only whether the database answers")
    def healthz() -> dict[str, str]:
        """For load balancers: 200 when the database answers, else 503 (see web/errors.py)."""
        services().ping_database()
        return {"status": "ok", "database": "ok"}

    declare_public(app, "static", "the pages' own CSS, scripts and images, the same for everyone")
    return app
