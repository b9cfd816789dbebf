"""The store's return policy, read from configuration (``SPAREFLOW_RETURNS_*``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from returns.status import Reason


@dataclass(frozen=True)
class ReturnPolicy:
    #: Days after purchase within which a return needs no reason to be accepted.
    return_window_days: int = 30
    #: Warranty when a part has none of its own; a defect claim after it needs an override.
    default_warranty_months: int = 12
    #: Per-SKU warranty months (``{"PSU-65": 24}``).
    warranty_months: Mapping[str, int] = field(default_factory=dict)
    #: Refunds up to this amount (minor units) per RMA go out automatically on pickup.
    auto_refund_limit_minor: int = 50_000
    #: ... and up to this much per customer over ``customer_limit_days``; above: supervisor.
    customer_refund_limit_minor: int = 150_000
    customer_limit_days: int = 30
    #: Restocking fee in percent by reason (only where the store charges one).
    restocking_fee_percent: Mapping[Reason, Decimal] = field(default_factory=dict)
    #: An authorisation with no pickup after this many days expires.
    authorisation_days: int = 14
    #: Customers are reminded this many days before their authorisation expires.
    reminder_days: int = 3
    #: Currency of refunds (ISO code); amounts are in its minor units (cents).
    currency: str = "usd"
    minor_units: int = 2
    #: Where received parcels are booked in, and where quarantined parts go.
    returns_location: str = "MAIN/RETURNS"
    quarantine_location: str = "MAIN/QUARANTINE"
    #: Auto-authorise in-policy RMAs up to this value (minor units); 0 turns it off.
    auto_authorise_limit_minor: int = 0
    followup_days: int = 3
    #: Customers (e-mail addresses) whose returns are never authorised or refunded automatically.
    flagged_customers: frozenset[str] = frozenset()

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> ReturnPolicy:
        def get(name: str, default: Any) -> Any:
            return settings.get(f"RETURNS_{name.upper()}", default)

        fees = {
            Reason(k): Decimal(str(v)) for k, v in dict(get("restocking_fee_percent", {})).items()
        }
        defaults = cls()
        return cls(
            return_window_days=int(get("return_window_days", defaults.return_window_days)),
            default_warranty_months=int(
                get("default_warranty_months", defaults.default_warranty_months)
            ),
            warranty_months={
                str(k).casefold(): int(v) for k, v in dict(get("warranty_months", {})).items()
            },
            auto_refund_limit_minor=int(
                get("auto_refund_limit_minor", defaults.auto_refund_limit_minor)
            ),
            customer_refund_limit_minor=int(
                get("customer_refund_limit_minor", defaults.customer_refund_limit_minor)
            ),
            customer_limit_days=int(get("customer_limit_days", defaults.customer_limit_days)),
            restocking_fee_percent=fees,
            authorisation_days=int(get("authorisation_days", defaults.authorisation_days)),
            reminder_days=int(get("reminder_days", defaults.reminder_days)),
            currency=str(get("currency", defaults.currency)).lower(),
            minor_units=int(get("minor_units", defaults.minor_units)),
            returns_location=str(get("location", defaults.returns_location)),
            quarantine_location=str(get("quarantine_location", defaults.quarantine_location)),
            auto_authorise_limit_minor=int(
                get("auto_authorise_limit_minor", defaults.auto_authorise_limit_minor)
            ),
            followup_days=int(get("followup_days", defaults.followup_days)),
            flagged_customers=frozenset(
                str(email).strip().lower() for email in get("flagged_customers", [])
            ),
        )

    def is_flagged(self, email: str) -> bool:
        return email.strip().lower() in self.flagged_customers

    def warranty_for(self, sku: str) -> int:
        return self.warranty_months.get(sku.casefold(), self.default_warranty_months)

    def to_minor(self, amount: Decimal) -> int:
        return int((amount * (10**self.minor_units)).to_integral_value())
