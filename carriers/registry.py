"""Which adapters exist, built from configuration."""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from carriers.adapters.aftership import AfterShipAdapter
from carriers.adapters.base import CarrierAdapter
from carriers.adapters.easypost import EasyPostAdapter
from carriers.adapters.sandbox import SandboxAdapter
from carriers.adapters.sfexpress import SFExpressAdapter
from carriers.adapters.shippo import ShippoAdapter

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
