"""Extensions, created unbound and bound to an app in ``create_app``."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from flask import Flask, current_app
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf import CSRFProtect
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session, sessionmaker

from carriers.registry import (
    SECRET_SETTINGS,
    LiveAdapters,
    configured_providers,
    sandbox_enabled,
)
from carriers.retention import prune_webhook_deliveries
from carriers.services import CarrierService
from core.clock import Clock, SystemClock
from core.crypto import NO_KEY_FOR_TWO_FACTOR, SecretBox, SecretsError
from core.db import make_engine, make_session_factory
from core.mail import SmtpMailer, SmtpSettings
from core.outbox import OutboxWorker
from core.retention import Pruner, PruneStep, Retention, scrub_sent_emails
from core.settings import LayeredSettings, SettingsStore
from inventory.services import InventoryService
from returns.addresses import ReturnAddresses
from returns.context import ReturnsContext
from returns.escalation import ServiceLevelMonitor
from returns.messages import EMAIL_TOPIC, Messages
from returns.metrics import MetricsService
from returns.policy import ReturnPolicy
from returns.queries import RmaQueries
from returns.refund_provider import StripeRefunds
from returns.service_levels import ServiceLevels
from returns.stages import Returns, build_returns
from returns.status_links import StatusLinks, StatusLinkService
from returns.stripe_webhooks import StripeRefundWebhooks
from returns.supply import RmaReturnSupply
from web.auth.models import User
from web.auth.service import AuthService
from web.buying import BuyingServices, build_buying_services

log = logging.getLogger(__name__)

babel = Babel()
login_manager = LoginManager()
csrf = CSRFProtect()
#: Per client address; storage from RATELIMIT_STORAGE_URI (memory:// by default, use
#: redis://... when several web processes must share the counts).
limiter = Limiter(key_func=get_remote_address)


@dataclass
class Services:
    """What one app instance talks to: its engine, its clock and the domain services."""

    engine: Engine
    session_factory: sessionmaker[Session]
    clock: Clock
    inventory: InventoryService
    auth: AuthService
    carriers: CarrierService
    settings: SettingsStore
    returns: Returns
    rma_queries: RmaQueries
    metrics: MetricsService
    service_levels: ServiceLevelMonitor
    status_links: StatusLinkService
    outbox: OutboxWorker
    buying: BuyingServices
    refund_webhooks: StripeRefundWebhooks
    pruner: Pruner

    def ping_database(self) -> None:
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))


def init_services(app: Flask, clock: Clock | None = None) -> Services:
    apply_mode = app.config["CARRIER_EVENTS_APPLY"]
    if apply_mode not in ("on_receipt", "worker"):
        raise ValueError(f"CARRIER_EVENTS_APPLY is 'on_receipt' or 'worker', not {apply_mode!r}")
    retention = Retention.from_settings(app.config)  # a bad value stops here, before any engine
    engine = make_engine(app.config["DATABASE_URL"], echo=app.config["SQLALCHEMY_ECHO"])
    session_factory = make_session_factory(engine)
    clock = clock or app.config.get("CLOCK") or SystemClock()
    settings = SettingsStore(
        session_factory, clock, SecretBox.from_settings(app.config), secret_names=SECRET_SETTINGS
    )
    if app.config.get("CHECK_SECRETS_AT_START", True):
        # Stored secrets that cannot be read (no key, written before encryption) stop the
        # start. The CLI checks only in the commands that serve or work (`serve`, `scheduler`,
        # `outbox drain`, `carriers apply-events`), so `db upgrade` and `secrets rotate` can
        # repair what this refuses.
        try:
            settings.check_readable()
        except SecretsError:
            engine.dispose()
            raise
    if app.config.get("REQUIRE_2FA_FOR_ADMINS") and settings.box is None:
        engine.dispose()
        # Admins would be sent to set up two-factor sign-in that cannot be stored.
        raise SecretsError("REQUIRE_2FA_FOR_ADMINS is on: " + NO_KEY_FOR_TWO_FACTOR)
    layered = LayeredSettings(app.config, settings)
    adapters = LiveAdapters(layered, version=lambda: tuple(sorted(settings.values().items())))
    sandbox = sandbox_enabled(app.config)
    carriers = CarrierService(
        session_factory, clock, adapters, apply_on_receipt=apply_mode == "on_receipt"
    )
    public_url = str(app.config["PUBLIC_URL"]).rstrip("/")
    status_links = StatusLinks(public_url)
    smtp = SmtpSettings.from_settings(app.config)
    # Without an SMTP server nothing is queued: customers are then told by the desk itself.
    messages = (
        Messages(clock, SmtpMailer(smtp), status_links, carriers.get_label) if smtp.host else None
    )
    levels = ServiceLevels.from_settings(app.config)
    policy = ReturnPolicy.from_settings(app.config)
    returns = build_returns(
        ReturnsContext(
            session_factory=session_factory,
            clock=clock,
            policy=policy,
            carriers=carriers,
            refund_provider=StripeRefunds.from_settings(app.config),
            addresses=ReturnAddresses(
                policy.returns_location,
                return_address=app.config.get("RETURNS_ADDRESS"),
                warehouse_addresses=app.config.get("WAREHOUSE_ADDRESSES"),
                tracking_urls=app.config.get("CARRIER_TRACKING_URLS"),
            ),
            # No default outside the demo: without a carrier that sells labels, authorising
            # without a tracking number fails the label loudly (the desk is told).
            default_return_carrier=app.config.get("RETURNS_CARRIER")
            or ("sandbox" if sandbox else ""),
            levels=levels,
            messages=messages,
        )
    )
    services = Services(
        engine=engine,
        session_factory=session_factory,
        clock=clock,
        inventory=InventoryService(session_factory, clock),
        auth=AuthService(
            session_factory,
            clock,
            hasher=_password_hasher(app),
            # Read on each use, so the setting can change without a restart.
            require_2fa_for_admins=lambda: bool(app.config.get("REQUIRE_2FA_FOR_ADMINS")),
            box=settings.box,  # TOTP secrets are sealed like the carriers' secrets
        ),
        carriers=carriers,
        settings=settings,
        returns=returns,
        rma_queries=RmaQueries(session_factory, clock, policy, levels),
        metrics=MetricsService(session_factory, clock),
        service_levels=ServiceLevelMonitor(
            session_factory,
            clock,
            levels,
            messages,
            _staff_directory,
            lambda number: f"{public_url}/returns/{number}",
        ),
        status_links=StatusLinkService(
            session_factory,
            clock,
            status_links,
            int(app.config["STATUS_PAGE_GRACE_DAYS"]),
            messages,
        ),
        outbox=OutboxWorker(
            session_factory,
            clock,
            returns.outbox_handlers(),
            lease=timedelta(seconds=float(app.config.get("OUTBOX_LEASE_SECONDS", 120))),
        ),
        buying=build_buying_services(app.config, session_factory, clock, returns=RmaReturnSupply()),
        refund_webhooks=StripeRefundWebhooks(
            session_factory,
            clock,
            returns.refund_outcomes,
            str(app.config.get("STRIPE_WEBHOOK_SECRET") or ""),
        ),
        pruner=_pruner(retention, session_factory, clock),
    )
    app.extensions["spareflow"] = services
    # One-shot CLI commands (db upgrade, demo-data, users) turn this off; what serves or
    # works (gunicorn, `serve`, `scheduler`, the workers) says what is missing.
    if app.config.get("WARN_ABOUT_PROVIDERS", True):
        warn_about_providers(app)
    return services


def _pruner(retention: Retention, session_factory: sessionmaker[Session], clock: Clock) -> Pruner:
    """What is pruned and when (core/retention.py says why these, and nothing else)."""
    return Pruner(
        session_factory,
        clock,
        [
            PruneStep(
                "webhook_deliveries", retention.webhook_deliveries_days, prune_webhook_deliveries
            ),
            PruneStep("sent_emails", retention.outbox_done_days, scrub_sent_emails([EMAIL_TOPIC])),
        ],
    )


def warn_about_providers(app: Flask) -> None:
    """Say loudly at start-up when refunds or carriers would not work for real."""
    services: Services = app.extensions["spareflow"]
    if services.returns.ctx.refund_provider is None:
        log.warning(
            "NO REFUND PROVIDER CONFIGURED (SPAREFLOW_REFUNDS_API_BASE, SPAREFLOW_REFUNDS_API_KEY):"
            " every refund will be HELD with the reason 'no refund provider configured' until "
            "one is set. See docs/configuration.md."
        )
    _warn_about_carriers(app, services.settings.names(), sandbox_enabled(app.config))


def _warn_about_carriers(app: Flask, stored: set[str], sandbox: bool) -> None:
    """Say loudly at start-up when no real carrier can reach spareflow, or the sandbox is on."""
    if sandbox:
        if not app.config.get("TESTING"):
            log.warning(
                "CARRIERS_SANDBOX is on: labels and tracking come from the LOCAL SANDBOX "
                "carrier. For the demo only; never in production."
            )
        return
    if not configured_providers({**app.config, **dict.fromkeys(stored, "stored")}):
        log.warning(
            "NO CARRIER IS CONFIGURED: no provider secret or API key is set (SPAREFLOW_"
            "EASYPOST_WEBHOOK_SECRET, ... or the admin page), so no carrier event can reach "
            "spareflow and no return is ever picked up. See docs/carriers.md."
        )
    if not app.config.get("RETURNS_CARRIER"):
        log.warning(
            "RETURNS_CARRIER is not set: return labels cannot be bought; authorise returns "
            "with the tracking number of a label bought elsewhere."
        )


def _staff_directory(session: Session, role: str) -> list[tuple[str, str]]:
    """Addresses and languages of the active users with ``role`` (for deadline e-mails)."""
    rows = session.execute(
        select(User.email, User.language).where(User.role == role, User.active.is_(True))
    ).all()
    return [(row.email, row.language) for row in rows]


def _password_hasher(app: Flask) -> PasswordHasher:
    if app.config.get("TESTING"):
        # Tests create many accounts; the real work factor would only slow them down.
        return PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    return PasswordHasher()


def services() -> Services:
    return current_app.extensions["spareflow"]
