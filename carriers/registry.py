"""Which adapters exist, built from configuration.

The local sandbox carrier (``spareflow sandbox carrier``) is an adapter only where the demo or
a test turns it on (``CARRIERS_SANDBOX=true``): in production a label or a shipment can never
quietly go to it.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator, Mapping

import httpx

from carriers.adapters.aftership import AfterShipAdapter
from carriers.adapters.base import CarrierAdapter
from carriers.adapters.easypost import EasyPostAdapter
from carriers.adapters.sandbox import SandboxAdapter
from carriers.adapters.sfexpress import SFExpressAdapter
from carriers.adapters.shippo import ShippoAdapter
from core.http import http_client

#: The secrets adapters read; an admin can set each on the administration page too.
SECRET_SETTINGS = {
    "SANDBOX_WEBHOOK_SECRET": "Sandbox carrier: webhook signing secret",
    "EASYPOST_WEBHOOK_SECRET": "EasyPost: webhook HMAC secret",
    "EASYPOST_API_KEY": "EasyPost: API key (tracker polling, labels and pickups)",
    "AFTERSHIP_WEBHOOK_SECRET": "AfterShip: webhook HMAC secret",
    # Not a carrier's, but kept and sealed the same way (returns/inbound_email.py reads it).
    "MAILGUN_WEBHOOK_SIGNING_KEY": "Mailgun: webhook signing key (customers' e-mail replies)",
    "SHIPPO_WEBHOOK_SECRET": "Shippo: webhook HMAC secret (if your account signs)",
    "SHIPPO_WEBHOOK_TOKEN": "Shippo: ?token= in the webhook URL",
    "SHIPPO_API_KEY": "Shippo: API token (label purchase, refunds, pickups)",
    "SFEXPRESS_WEBHOOK_TOKEN": "SF Express: ?token= in the route-push URL",
    "SFEXPRESS_CHECK_WORD": "SF Express: check word (校验码) that signs label API calls",
    # Not a carrier's, but sealed and set the same way (returns/shopify_refunds.py).
    "SHOPIFY_ACCESS_TOKEN": "Shopify: Admin API access token (refunds of Shopify orders)",
}

#: Turns the local sandbox carrier on (``spareflow demo`` and tests set it).
SANDBOX_SETTING = "CARRIERS_SANDBOX"

#: The settings that make each real provider usable (any one of them is enough).
PROVIDER_SETTINGS = {
    "easypost": ("EASYPOST_WEBHOOK_SECRET", "EASYPOST_API_KEY"),
    "aftership": ("AFTERSHIP_WEBHOOK_SECRET",),
    "shippo": ("SHIPPO_WEBHOOK_SECRET", "SHIPPO_WEBHOOK_TOKEN", "SHIPPO_API_KEY"),
    "sfexpress": ("SFEXPRESS_WEBHOOK_TOKEN", "SFEXPRESS_CHECK_WORD"),
}

REAL_ADAPTER_CLASSES = (
    EasyPostAdapter,
    AfterShipAdapter,
    ShippoAdapter,
    SFExpressAdapter,
)
ADAPTER_CLASSES = (SandboxAdapter, *REAL_ADAPTER_CLASSES)


def sandbox_enabled(settings: Mapping[str, object]) -> bool:
    """Whether ``CARRIERS_SANDBOX`` is on (true, "true", "1", "yes")."""
    value = settings.get(SANDBOX_SETTING)
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def configured_providers(settings: Mapping[str, object]) -> list[str]:
    """The real providers that have a secret or key configured (stored or from the config)."""
    return [
        name
        for name, keys in PROVIDER_SETTINGS.items()
        if any(settings.get(key) not in (None, "") for key in keys)
    ]


def build_adapters(
    settings: Mapping[str, object], http: httpx.Client | None = None
) -> dict[str, CarrierAdapter]:
    """One adapter per provider, keyed by the name used in ``/webhooks/carriers/<name>``.

    The sandbox carrier is among them only when ``CARRIERS_SANDBOX`` is on.
    """
    client = http or http_client(timeout=httpx.Timeout(10.0, connect=5.0))
    classes = ADAPTER_CLASSES if sandbox_enabled(settings) else REAL_ADAPTER_CLASSES
    return {cls.name: cls(settings, http=client) for cls in classes}


class LiveAdapters(Mapping[str, CarrierAdapter]):
    """The adapters, rebuilt whenever the settings they read change (an admin set a secret)."""

    def __init__(
        self,
        settings: Mapping[str, object],
        version: Callable[[], Hashable],
        http: httpx.Client | None = None,
    ):
        self.settings = settings
        self.version = version
        self.http = http or http_client(timeout=httpx.Timeout(10.0, connect=5.0))
        self._built: tuple[Hashable, dict[str, CarrierAdapter]] | None = None

    def _current(self) -> dict[str, CarrierAdapter]:
        version = self.version()
        if self._built is None or self._built[0] != version:
            self._built = (version, build_adapters(self.settings, self.http))
        return self._built[1]

    def __getitem__(self, name: str) -> CarrierAdapter:
        return self._current()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._current())

    def __len__(self) -> int:
        return len(self._current())
