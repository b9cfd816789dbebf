"""``build_services(settings)``: every service wired once, for every process.

The web app, the CLI, the scheduler, the workers, the tests and the benchmarks all build
their services here, from the same settings mapping (bootstrap/settings.py loads it). Nothing
here imports Flask: a worker needs no app and no app context.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session, sessionmaker

from accounts.models import User
from accounts.service import AuthService
from bootstrap.buying import BuyingServices, build_buying_services
from carriers.label_providers.registry import LabelProviders
from carriers.models import Direction
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
from core.http import outbound_client
from core.mail import SmtpMailer, SmtpSettings
from core.outbox import OutboxWorker
from core.retention import Pruner, PruneStep, Retention, scrub_sent_emails
from core.settings import LayeredSettings, SettingsStore
from inventory.services import InventoryService
from knowledge.service import KnowledgeBase, build_knowledge
from purchasing.claim_lifecycle import ShipmentRegistrar
from returns.addresses import ReturnAddresses
from returns.context import LabelSettings, ReturnsContext
from returns.conversation import Conversation
from returns.desk_setup import DeskSetup
from returns.escalation import ServiceLevelMonitor
from returns.followups import FollowUpSettings
from returns.inbound_email import MailgunInbound, ReplyAddresses
from returns.messages import EMAIL_TOPIC, Messages
from returns.metrics import MetricsService
from returns.notifications import notify
from returns.ops_alerts import OperationsWatch, Thresholds
from returns.ownership import Ownership
from returns.policy import ReturnPolicy
from returns.portal import Attachments, Portal
from returns.queries import RmaQueries
from returns.refund_provider import StripeRefunds
from returns.service_levels import ServiceLevels
from returns.shipped_units import link_shipped_serials
from returns.shopify_refunds import ShopifyRefunds
from returns.stages import Returns, build_returns
from returns.status_links import StatusLinks, StatusLinkService
from returns.stripe_webhooks import StripeRefundWebhooks
from returns.supply import RmaReturnSupply
from sales.order_webhooks import ShopifyOrderWebhooks
from sales.orders import Orders

log = logging.getLogger(__name__)


@dataclass
class Services:
    """What one process talks to: its engine, its clock and the domain services."""

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
    orders: Orders
    order_webhooks: ShopifyOrderWebhooks
    portal: Portal
    attachments: Attachments
    pruner: Pruner
    conversation: Conversation
    inbound_email: MailgunInbound
    ownership: Ownership
    desk_setup: DeskSetup
    knowledge: KnowledgeBase
    operations: OperationsWatch
    #: The read replica the metrics and reports read (``READ_DATABASE_URL``), if any.
    read_engine: Engine | None = None

    def ping_database(self) -> None:
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def close(self) -> None:
        """Close the engine's connections (a worker or a test that is done)."""
        self.engine.dispose()
        if self.read_engine is not None:
            self.read_engine.dispose()


def build_services(settings: Mapping[str, Any], *, clock: Clock | None = None) -> Services:
    """Every service, built from ``settings`` (``load_settings()``, or a Flask app's config).

    ``settings`` is kept, not copied: settings read on each use (REQUIRE_2FA_FOR_ADMINS) follow
    changes to the mapping. ``CHECK_SECRETS_AT_START`` (default on) refuses stored secrets that
    cannot be read; ``WARN_ABOUT_PROVIDERS`` (default on) logs missing providers."""
    apply_mode = settings["CARRIER_EVENTS_APPLY"]
    if apply_mode not in ("on_receipt", "worker"):
        raise ValueError(f"CARRIER_EVENTS_APPLY is 'on_receipt' or 'worker', not {apply_mode!r}")
    retention = Retention.from_settings(settings)  # a bad value stops here, before any engine
    engine_options = {
        "echo": settings["SQLALCHEMY_ECHO"],
        "prepared_statements": settings["DATABASE_PREPARED_STATEMENTS"],
    }
    engine = make_engine(settings["DATABASE_URL"], **engine_options)
    session_factory = make_session_factory(engine)
    clock = clock or settings.get("CLOCK") or SystemClock()
    stored = SettingsStore(
        session_factory, clock, SecretBox.from_settings(settings), secret_names=SECRET_SETTINGS
    )
    if settings.get("CHECK_SECRETS_AT_START", True):
        # Stored secrets that cannot be read (no key, written before encryption) stop the
        # start. The CLI checks only in the commands that serve or work (`serve`, `scheduler`,
        # `outbox drain`, `carriers apply-events`), so `db upgrade` and `secrets rotate` can
        # repair what this refuses.
        try:
            stored.check_readable()
        except SecretsError:
            engine.dispose()
            raise
    if settings.get("REQUIRE_2FA_FOR_ADMINS") and stored.box is None:
        engine.dispose()
        # Admins would be sent to set up two-factor sign-in that cannot be stored.
        raise SecretsError("REQUIRE_2FA_FOR_ADMINS is on: " + NO_KEY_FOR_TWO_FACTOR)
    read_url = settings.get("READ_DATABASE_URL")
    read_engine = make_engine(read_url, **engine_options) if read_url else None
    layered = LayeredSettings(settings, stored)
    adapters = LiveAdapters(layered, version=lambda: tuple(sorted(stored.values().items())))
    batch = settings.get("CARRIER_EVENTS_BATCH", 100)
    if not isinstance(batch, int) or isinstance(batch, bool) or not 1 <= batch <= 10_000:
        raise ValueError(f"CARRIER_EVENTS_BATCH is a number from 1 to 10000, not {batch!r}")
    carriers = CarrierService(
        session_factory,
        clock,
        adapters,
        apply_on_receipt=apply_mode == "on_receipt",
        apply_batch=batch,
    )
    public_url = str(settings["PUBLIC_URL"]).rstrip("/")
    status_links = StatusLinks(public_url)
    smtp = SmtpSettings.from_settings(settings)
    # Without an SMTP server nothing is queued: customers are then told by the desk itself.
    replies = ReplyAddresses.from_settings(settings)
    messages = (
        Messages(clock, SmtpMailer(smtp), status_links, carriers.get_label, replies)
        if smtp.host
        else None
    )
    levels = ServiceLevels.from_settings(settings)
    policy = ReturnPolicy.from_settings(settings)
    returns = _build_returns(settings, policy, session_factory, clock, carriers, levels, messages)
    # Label providers read the layered settings on each use: a key an admin stores applies.
    returns.ctx.label_providers = LabelProviders(layered)
    # Likewise Shopify's refunds: an access token an admin stores (encrypted) applies at once.
    returns.ctx.shopify_refunds = _shopify_refunds(layered, policy.minor_units)
    services = Services(
        engine=engine,
        read_engine=read_engine,
        session_factory=session_factory,
        clock=clock,
        inventory=InventoryService(session_factory, clock),
        auth=AuthService(
            session_factory,
            clock,
            hasher=password_hasher(settings),
            # Read on each use, so the setting can change without a restart.
            require_2fa_for_admins=lambda: bool(settings.get("REQUIRE_2FA_FOR_ADMINS")),
            box=stored.box,  # TOTP secrets are sealed like the carriers' secrets
        ),
        carriers=carriers,
        settings=stored,
        returns=returns,
        rma_queries=RmaQueries(session_factory, clock, policy, levels),
        # Metrics and reports read a replica when READ_DATABASE_URL names one.
        metrics=MetricsService(
            make_session_factory(read_engine) if read_engine else session_factory, clock
        ),
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
            int(settings["STATUS_PAGE_GRACE_DAYS"]),
            messages,
        ),
        outbox=OutboxWorker(
            session_factory,
            clock,
            returns.outbox_handlers(),
            lease=timedelta(seconds=float(settings.get("OUTBOX_LEASE_SECONDS", 120))),
            outage_retry=timedelta(seconds=float(settings.get("OUTBOX_OUTAGE_RETRY_SECONDS", 300))),
        ),
        buying=build_buying_services(
            settings,
            session_factory,
            clock,
            returns=RmaReturnSupply(),
            register_shipment=_vendor_parcels(carriers),
            notify_buyers=_notify_buyers,
        ),
        refund_webhooks=StripeRefundWebhooks(
            session_factory,
            clock,
            returns.refund_outcomes,
            str(settings.get("STRIPE_WEBHOOK_SECRET") or ""),
        ),
        orders=Orders(session_factory, clock, link_shipped_serials),
        order_webhooks=ShopifyOrderWebhooks(
            session_factory,
            clock,
            str(settings.get("SHOPIFY_WEBHOOK_SECRET") or ""),
            link_shipped_serials,
        ),
        portal=Portal(returns.ctx, returns.from_orders, status_links),
        attachments=Attachments(session_factory),
        pruner=_pruner(retention, session_factory, clock),
        conversation=Conversation(session_factory, clock, int(settings["STATUS_PAGE_GRACE_DAYS"])),
        inbound_email=MailgunInbound(
            session_factory,
            clock,
            lambda: str(layered.get("MAILGUN_WEBHOOK_SIGNING_KEY") or ""),
            replies,
            returns.cases,
        ),
        ownership=Ownership(session_factory, clock),
        desk_setup=DeskSetup(session_factory, clock),
        knowledge=build_knowledge(session_factory, clock, returns.solved.end),
        operations=OperationsWatch(
            session_factory,
            engine,
            clock,
            Thresholds.from_settings(settings),
            messages,
            _staff_directory,
            f"{public_url}/returns",
        ),
    )
    # One-shot CLI commands (db upgrade, demo-data, users) turn this off; what serves or
    # works (gunicorn, `serve`, `scheduler`, the workers) says what is missing.
    if settings.get("WARN_ABOUT_PROVIDERS", True):
        warn_about_providers(settings, services)
    return services


def _vendor_parcels(carriers: CarrierService) -> ShipmentRegistrar:
    """A supplier claim's parcel back to its vendor: an outbound shipment, tracked."""

    def register(session: Session, carrier: str, tracking_number: str, reference: str) -> str:
        shipment = carriers.add_shipment(
            session,
            direction=Direction.OUTBOUND,
            carrier=carrier,
            tracking_number=tracking_number,
            reference=reference,
        )
        carriers.apply_waiting_events(session, shipment)
        return shipment.tracking_number

    return register


def _notify_buyers(session: Session, key: str, kind: str, message: str, now: datetime) -> bool:
    """Buyers' alerts live beside the desk's (audience ``buyers``), one per key."""
    return notify(
        session, key=key, rma_id=None, kind=kind, audience="buyers", message=message, now=now
    )


def _build_returns(
    settings: Mapping[str, Any],
    policy: ReturnPolicy,
    session_factory: sessionmaker[Session],
    clock: Clock,
    carriers: CarrierService,
    levels: ServiceLevels,
    messages: Messages | None,
) -> Returns:
    """The returns stages, listening to the carriers (a pickup releases the refund)."""
    sandbox = sandbox_enabled(settings)
    return build_returns(
        ReturnsContext(
            session_factory=session_factory,
            clock=clock,
            policy=policy,
            carriers=carriers,
            refund_provider=StripeRefunds.from_settings(settings),
            addresses=ReturnAddresses(
                policy.returns_location,
                return_address=settings.get("RETURNS_ADDRESS"),
                warehouse_addresses=settings.get("WAREHOUSE_ADDRESSES"),
                tracking_urls=settings.get("CARRIER_TRACKING_URLS"),
            ),
            # No default outside the demo: without a carrier that sells labels, authorising
            # without a tracking number fails the label loudly (the desk is told).
            default_return_carrier=settings.get("RETURNS_CARRIER")
            or ("sandbox" if sandbox else ""),
            levels=levels,
            messages=messages,
            labels=LabelSettings.from_settings(settings),
            followups=FollowUpSettings.from_settings(settings, policy.followup_days),
        )
    )


def _shopify_refunds(
    settings: Mapping[str, Any], minor_units: int
) -> Callable[[], ShopifyRefunds | None]:
    """Shopify's refund adapter from the settings as they are now (one HTTP client kept)."""
    http = outbound_client(20.0, connect=5.0)
    return lambda: ShopifyRefunds.from_settings(settings, minor_units=minor_units, http=http)


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


def warn_about_providers(settings: Mapping[str, Any], services: Services) -> None:
    """Say loudly at start-up when refunds or carriers would not work for real."""
    if services.returns.ctx.refund_provider is None:
        log.warning(
            "NO REFUND PROVIDER CONFIGURED (SPAREFLOW_REFUNDS_API_BASE, SPAREFLOW_REFUNDS_API_KEY):"
            " every refund will be HELD with the reason 'no refund provider configured' until "
            "one is set. See docs/configuration.md."
        )
    _warn_about_carriers(settings, services.settings.names(), sandbox_enabled(settings))


def _warn_about_carriers(settings: Mapping[str, Any], stored: set[str], sandbox: bool) -> None:
    """Say loudly at start-up when no real carrier can reach spareflow, or the sandbox is on."""
    if sandbox:
        if not settings.get("TESTING"):
            log.warning(
                "CARRIERS_SANDBOX is on: labels and tracking come from the LOCAL SANDBOX "
                "carrier. For the demo only; never in production."
            )
        return
    if not configured_providers({**settings, **dict.fromkeys(stored, "stored")}):
        log.warning(
            "NO CARRIER IS CONFIGURED: no provider secret or API key is set (SPAREFLOW_"
            "EASYPOST_WEBHOOK_SECRET, ... or the admin page), so no carrier event can reach "
            "spareflow and no return is ever picked up. See docs/carriers.md."
        )
    if not settings.get("RETURNS_CARRIER"):
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


def password_hasher(settings: Mapping[str, Any]) -> PasswordHasher:
    if settings.get("TESTING"):
        # Tests create many accounts; the real work factor would only slow them down.
        return PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    return PasswordHasher()
