"""Wiring: settings in, every service out, for every process (web, CLI, scheduler, workers,
tests, benchmarks). Sits between ``web/`` and the domain packages; imports no Flask.

    from bootstrap import build_services, load_settings
    services = build_services(load_settings())
"""

from bootstrap.services import Services, build_services, warn_about_providers
from bootstrap.settings import load_settings

__all__ = ["Services", "build_services", "load_settings", "warn_about_providers"]
