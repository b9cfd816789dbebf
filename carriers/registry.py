"""Which adapters exist, built from configuration."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator, Mapping

import httpx

from carriers.adapters.aftership import AfterShipAdapter
from carriers.adapters.base import CarrierAdapter
from carriers.adapters.easypost import EasyPostAdapter
from carriers.adapters.sandbox import SandboxAdapter
from carriers.adapters.sfexpress import SFExpressAdapter
from carriers.adapters.shippo import ShippoAdapter

#: The secrets adapters read; an admin can set each on the administration page too.
SECRET_SETTINGS = {
    "SANDBOX_WEBHOOK_SECRET": "Sandbox carrier: webhook signing secret",
    "EASYPOST_WEBHOOK_SECRET": "EasyPost: webhook HMAC secret",
    "EASYPOST_API_KEY": "EasyPost: API key (tracker polling)",
    "AFTERSHIP_WEBHOOK_SECRET": "AfterShip: webhook HMAC secret",
    "SHIPPO_WEBHOOK_SECRET": "Shippo: webhook HMAC secret (if your account signs)",
    "SHIPPO_WEBHOOK_TOKEN": "Shippo: ?token= in the webhook URL",
    "SFEXPRESS_WEBHOOK_TOKEN": "SF Express: ?token= in the route-push URL",
}

ADAPTER_CLASSES = (
    SandboxAdapter,
    EasyPostAdapter,
    AfterShipAdapter,
    ShippoAdapter,
    SFExpressAdapter,
)


def build_adapters(
    settings: Mapping[str, object], http: httpx.Client | None = None
) -> dict[str, CarrierAdapter]:
    """One adapter per provider, keyed by the name used in ``/webhooks/carriers/<name>``."""
    client = http or httpx.Client(timeout=httpx.Timeout(10.0, connect=5.0))
    return {cls.name: cls(settings, http=client) for cls in ADAPTER_CLASSES}


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
        self.http = http or httpx.Client(timeout=httpx.Timeout(10.0, connect=5.0))
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
