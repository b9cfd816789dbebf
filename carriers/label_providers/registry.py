"""Which label provider sells a label: ``label_provider(name, settings)``.

The sandbox is here only where ``CARRIERS_SANDBOX`` is on (as its tracking adapter is). A real
provider without its settings (API key, or SF Express's partner ID and check word) is refused
with the settings it needs, so the desk's alert says what an admin must set.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import httpx

from carriers.label_providers import easypost, sfexpress, shippo
from carriers.label_providers.sandbox import SandboxLabels
from carriers.labels import LabelProvider
from carriers.registry import sandbox_enabled
from core.errors import NotFound
from core.http import http_client

Factory = Callable[[Mapping[str, object], httpx.Client | None], LabelProvider | None]

#: Each real provider: how it is built from the settings, and what it needs to be.
PROVIDERS: dict[str, tuple[Factory, str]] = {
    "easypost": (
        lambda settings, http: easypost.EasyPostLabels.from_settings(settings),
        "SPAREFLOW_EASYPOST_API_KEY",
    ),
    "shippo": (shippo.from_settings, "SPAREFLOW_SHIPPO_API_KEY"),
    "sfexpress": (
        sfexpress.from_settings,
        "SPAREFLOW_SFEXPRESS_PARTNER_ID and SPAREFLOW_SFEXPRESS_CHECK_WORD",
    ),
}
NAMES = ("sandbox", *PROVIDERS)


def label_provider(
    name: str, settings: Mapping[str, object], http: httpx.Client | None = None
) -> LabelProvider:
    """The provider ``name`` (``sandbox``, ``easypost``, ``shippo``, ``sfexpress``), built
    from ``settings`` (API keys decrypted from the settings store by the caller's mapping).
    Raises NotFound for an unknown provider, one not configured, or the sandbox when it is
    off."""
    key = (name or "").strip().lower()
    if not key:
        raise NotFound(
            "No label provider is configured for this (set SPAREFLOW_RETURNS_CARRIER).",
            code="unknown_label_provider",
        )
    if key == SandboxLabels.name and sandbox_enabled(settings):
        return SandboxLabels.from_settings(settings, http)
    if key not in PROVIDERS:
        available = [n for n in NAMES if n != "sandbox" or sandbox_enabled(settings)]
        raise NotFound(
            f"No label provider named {name!r} (there are: {', '.join(available)}).",
            code="unknown_label_provider",
        )
    factory, needs = PROVIDERS[key]
    provider = factory(settings, http)
    if provider is None:
        raise NotFound(
            f"The label provider {key} is not configured: set {needs}.",
            code="label_provider_not_configured",
        )
    return provider


class LabelProviders:
    """``label_provider`` over one settings mapping (stored settings follow admin changes)."""

    def __init__(self, settings: Mapping[str, object], http: httpx.Client | None = None):
        self.settings = settings
        self.http = http or http_client(timeout=httpx.Timeout(30.0, connect=5.0))

    def __call__(self, name: str) -> LabelProvider:
        return label_provider(name, self.settings, self.http)
