"""The customer's personal data in free text: found and replaced by ``[redacted]``.

Used wherever words a customer wrote travel to someone who must not learn who the customer is:
a buyer reading returns (web/api/redaction.py) and a supplier claim sent to the vendor.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

REDACTED = "[redacted]"
EMAIL = re.compile(r"[^\s@<>()\[\],;:\"']+@[^\s@<>()\[\],;:\"']+\.[A-Za-z]{2,}")
PHONE = re.compile(r"\+\d[\d\s().-]{5,}\d")


def scrub(text: str | None, known: Iterable[str]) -> str | None:
    """``text`` without the customer's known details, e-mail addresses and phone numbers."""
    if not text:
        return text
    for value in sorted((v for v in known if v and len(v) >= 3), key=len, reverse=True):
        text = re.sub(re.escape(value), REDACTED, text, flags=re.IGNORECASE)
    return PHONE.sub(REDACTED, EMAIL.sub(REDACTED, text))


def known_details(rma: Any) -> list[str]:
    """What names the customer of ``rma`` (an Rma row or a view with the same fields)."""
    phones = [rma.customer_phone or "", rma.address_phone or ""]
    values = [
        rma.customer_name,
        rma.customer_email,
        *phones,
        *(re.sub(r"\D", "", phone) for phone in phones),
        rma.payment_reference or "",
        rma.refund_reference or "",
        # The address's own name and street (a city or postcode alone names nobody, and
        # carrier scans name cities).
        rma.address_name or "",
        rma.address_company or "",
        rma.address_street or "",
        rma.address_street2 or "",
    ]
    return [str(v) for v in values if v]
