"""The buyer-side services (reorder, purchase orders, workbooks), built from the app's settings."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from core.clock import Clock
from core.spreadsheets import UploadLimits
from inventory.count_sheets import CountSheetService
from purchasing.claim_lifecycle import ClaimService, ShipmentRegistrar
from purchasing.late_lines import BuyerNotifier, LateLineMonitor
from purchasing.reorder.formulas import ReorderSettings
from purchasing.reorder.suggestions import ReturnSupply
from purchasing.services import CatalogueSheetService, PurchasingService, ReorderService

#: Settings (``SPAREFLOW_<NAME>``) and their defaults; see docs/configuration.md.
DEFAULTS: dict[str, Any] = {
    "REORDER_WINDOW_DAYS": 90,
    "REORDER_SERVICE_LEVEL": "0.95",
    "REORDER_ORDER_CYCLE_DAYS": 30,
    "REORDER_DEFAULT_LEAD_TIME_DAYS": 14,
    "PLANNING_ENABLED": True,
    "PLANNING_DEFAULT_FILL_RATE": "0.95",
    "PLANNING_FLOOR_UNITS": 1,
    "PLANNING_FLOOR_MONTHS": 12,
    "SPREADSHEET_MAX_BYTES": 16 * 1024 * 1024,
    "SPREADSHEET_MAX_UNCOMPRESSED_BYTES": 256 * 1024 * 1024,
    "SPREADSHEET_MAX_ROWS": 100_000,
}


@dataclass
class BuyingServices:
    reorder: ReorderService
    purchasing: PurchasingService
    catalogue: CatalogueSheetService
    counts: CountSheetService
    claims: ClaimService
    late_lines: LateLineMonitor


def _setting(config: Mapping[str, Any], name: str) -> Any:
    value = config.get(name)
    return DEFAULTS[name] if value is None else value


def reorder_settings(config: Mapping[str, Any]) -> ReorderSettings:
    return ReorderSettings(
        window_days=int(_setting(config, "REORDER_WINDOW_DAYS")),
        # str() first: a JSON environment value arrives as a float.
        service_level=Decimal(str(_setting(config, "REORDER_SERVICE_LEVEL"))),
        order_cycle_days=int(_setting(config, "REORDER_ORDER_CYCLE_DAYS")),
        default_lead_time_days=int(_setting(config, "REORDER_DEFAULT_LEAD_TIME_DAYS")),
        planning=_flag(_setting(config, "PLANNING_ENABLED")),
        planning_target=Decimal(str(_setting(config, "PLANNING_DEFAULT_FILL_RATE"))),
        planning_floor=int(_setting(config, "PLANNING_FLOOR_UNITS")),
        planning_floor_months=int(_setting(config, "PLANNING_FLOOR_MONTHS")),
    )


def _flag(value: Any) -> bool:
    """A boolean setting: a JSON environment value, or text such as "0"/"false"."""
    if isinstance(value, str):
        return value.strip().lower() not in ("", "0", "false", "no", "off")
    return bool(value)


def upload_limits(config: Mapping[str, Any]) -> UploadLimits:
    return UploadLimits(
        max_bytes=int(_setting(config, "SPREADSHEET_MAX_BYTES")),
        max_uncompressed_bytes=int(_setting(config, "SPREADSHEET_MAX_UNCOMPRESSED_BYTES")),
        max_rows=int(_setting(config, "SPREADSHEET_MAX_ROWS")),
    )


def build_buying_services(
    config: Mapping[str, Any],
    session_factory: Callable[[], Session],
    clock: Clock,
    returns: ReturnSupply | None = None,
    *,
    register_shipment: ShipmentRegistrar | None = None,
    notify_buyers: BuyerNotifier | None = None,
) -> BuyingServices:
    """``returns`` supplies incoming returns to the suggestions (None: none are counted);
    ``register_shipment`` registers a claim's parcel to its vendor with the carriers (None:
    only kept on the claim); ``notify_buyers`` raises the buyers' alerts (None: none)."""
    settings, limits = reorder_settings(config), upload_limits(config)
    return BuyingServices(
        reorder=ReorderService(session_factory, clock, settings, limits, returns=returns),
        purchasing=PurchasingService(session_factory, clock, settings, limits),
        catalogue=CatalogueSheetService(session_factory, clock, settings, limits),
        counts=CountSheetService(session_factory, clock, limits),
        claims=ClaimService(session_factory, clock, register_shipment),
        late_lines=LateLineMonitor(session_factory, clock, notify_buyers or _no_alerts),
    )


def _no_alerts(session: Session, key: str, kind: str, message: str, now: datetime) -> bool:
    return False
