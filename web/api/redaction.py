"""The redacted view of an RMA: what a role without a need for the customer's personal data
(the buyer) sees.

Buyers read returns for what they say about parts and suppliers: states, lines, reasons,
refund amounts, parcels, claims. They never get the customer's name, e-mail, phone, address or
payment reference, nor the provider's refund id, nor the list of e-mails sent. Free text that
people or spareflow wrote (the customer's description, timeline notes, refund notes, carrier
scan descriptions) keeps its words, with the customer's own details and anything shaped like an
e-mail address or an international phone number replaced by ``[redacted]``.

This module is the one place that decides: the RMA schemas call :func:`redact_rma` and
:func:`redact_summary` after dumping, and the returns list refuses a buyer's search by customer
(it would tell whether a given person has returns).
"""

from __future__ import annotations

from typing import Any

from accounts.models import Role
from returns.personal_data import known_details, scrub
from web.api.auth import current_api_user

#: Roles that see the customer's personal data (the desk, the warehouse that ships to them).
SEES_PERSONAL_DATA = frozenset({Role.ADMIN, Role.SERVICE_DESK, Role.WAREHOUSE})


def sees_personal_data() -> bool:
    return current_api_user().role in SEES_PERSONAL_DATA


def redact_summary(data: dict[str, Any]) -> dict[str, Any]:
    data["customer_name"] = None
    data["customer_email"] = None
    return data


def redact_rma(data: dict[str, Any], rma: Any) -> dict[str, Any]:
    known = known_details(rma)
    data["customer"] = {
        "name": None,
        "email": None,
        "phone": None,
        "vip": data["customer"]["vip"],
        "language": data["customer"]["language"],
        "address": None,
    }
    data["payment_reference"] = None
    data["emails"] = []
    for key in ("description", "policy_override_reason", "needs_recovery", "needs_chase"):
        data[key] = scrub(data[key], known)
    refund = data["refund"]
    refund["reference"] = None
    refund["hold_reason"] = scrub(refund["hold_reason"], known)
    refund["error"] = scrub(refund["error"], known)
    for entry in data["timeline"]:
        entry["reason"] = scrub(entry["reason"], known)
    for claim in data["supplier_claims"]:
        claim["fault"] = scrub(claim["fault"], known)
    for shipment in data["shipments"]:
        for event in shipment["events"]:
            event["description"] = scrub(event["description"], known)
            event["location"] = scrub(event["location"], known)
    return data
