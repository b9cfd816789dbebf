"""Which label provider sells a label: ``label_provider(name, settings)``.

The sandbox is here only where ``CARRIERS_SANDBOX`` is on (as its tracking adapter is). The
real providers are imported by module path when first asked for, so a build without one of
them still starts and says which provider is missing.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import cast

import httpx

from carriers.label_providers.sandbox import SandboxLabels
from carriers.labels import LabelProvider
from carriers.registry import sandbox_enabled
from core.errors import NotFound

#: ``module:Class.factory`` of each real provider; the factory takes the settings mapping.
PROVIDERS = {
    "easypost": "carriers.label_providers.easypost:EasyPostLabels.from_settings",
    "shippo": "carriers.label_providers.shippo:ShippoLabels.from_settings",
    "sfexpress": "carriers.label_providers.sfexpress:SfExpressLabels.from_settings",
}
NAMES = ("sandbox", *PROVIDERS)


def _factory(path: str) -> Callable[[Mapping[str, object]], LabelProvider] | None:
    module_name, _, attribute = path.partition(":")
    try:
        target: object = importlib.import_module(module_name)
    except ImportError:
        return None
    for part in attribute.split("."):
        target = getattr(target, part, None)
        if target is None:
            return None
    return cast(Callable[[Mapping[str, object]], LabelProvider], target)


def label_provider(
    name: str, settings: Mapping[str, object], http: httpx.Client | None = None
) -> LabelProvider:
    """The provider ``name`` (``sandbox``, ``easypost``, ``shippo``, ``sfexpress``), built
    from ``settings`` (API keys decrypted from the settings store by the caller's mapping).
    Raises NotFound for an unknown provider, one not in this build, or the sandbox when it
    is off."""
    key = (name or "").strip().lower()
    if not key:
        raise NotFound(
            "No label provider is configured for this (set SPAREFLOW_RETURNS_CARRIER).",
            code="unknown_label_provider",
        )
    if key == SandboxLabels.name and sandbox_enabled(settings):
        return SandboxLabels.from_settings(settings, http)
    factory = _factory(PROVIDERS[key]) if key in PROVIDERS else None
    if factory is None:
        available = [n for n in NAMES if n != "sandbox" or sandbox_enabled(settings)]
        raise NotFound(
            f"No label provider named {name!r} in this build (there are: {', '.join(available)}).",
            code="unknown_label_provider",
        )
    return factory(settings)


class LabelProviders:
    """``label_provider`` over one settings mapping (stored settings follow admin changes)."""

    def __init__(self, settings: Mapping[str, object], http: httpx.Client | None = None):
        self.settings = settings
        self.http = http or httpx.Client(timeout=httpx.Timeout(30.0, connect=5.0))

    def __call__(self, name: str) -> LabelProvider:
        return label_provider(name, self.settings, self.http)
