"""The texts spareflow writes on a return's refund and recovery: why a refund waits for a
supervisor, what the desk must recover or chase, a portal return's lines. ``N_`` templates:
the columns keep the English sentence, and the pages recognise these templates in it to show
it in the reader's language (``core.errors.recognised``)."""

from __future__ import annotations

from core.errors import N_

#: Why a refund waits for a supervisor (``refund_hold_reason``, and the timeline's line): the
#: column keeps the English sentence; the page recognises these templates in it.
#: The refund rule that holds every refund while no provider is configured.
NO_PROVIDER = N_("no refund provider configured")
FLAGGED = N_("the customer is flagged for review")
ABOVE_LIMIT = N_("%(amount)s is above the automatic limit")
CUSTOMER_LIMIT = N_("the customer's refunds over %(days)s days would pass the automatic limit")
#: A Shopify order's refund without Shopify set up, or without the order's id.
NO_SHOPIFY_PROVIDER = N_(
    "no Shopify refund provider configured (SPAREFLOW_SHOPIFY_SHOP_DOMAIN, "
    "SPAREFLOW_SHOPIFY_ACCESS_TOKEN) for this Shopify order"
)
NO_SHOPIFY_ORDER_ID = N_("the Shopify order's id is unknown, so Shopify cannot refund it")
#: The end of the hold reason of a pickup entered by hand: the carrier's own scan, or a
#: supervisor, lifts it.
HAND_HOLD = "waits for a supervisor or the carrier's own scan"
#: A carrier scan (``status``, in words) or a booking-in entered by hand by someone not a
#: supervisor: the refund waits.
SCAN_BY_HAND_HOLD = N_(
    "%(status)s entered by hand by %(who)s (%(reason)s); "
    "waits for a supervisor or the carrier's own scan"
)
BOOKED_IN_HOLD = N_(
    "parcel booked in by %(who)s before any carrier scan; "
    "waits for a supervisor or the carrier's own scan"
)
HOLD_REASONS = (
    NO_PROVIDER,
    FLAGGED,
    ABOVE_LIMIT,
    CUSTOMER_LIMIT,
    NO_SHOPIFY_PROVIDER,
    NO_SHOPIFY_ORDER_ID,
    SCAN_BY_HAND_HOLD,
    BOOKED_IN_HOLD,
)
#: The timeline's line for a held refund (its ``reason``: one of HOLD_REASONS).
REFUND_HELD = N_("Refund held for a supervisor: %(reason)s")
#: A refund released by an admin's carrier scan entered by hand (the ``why`` of the refund's
#: line): the scan in words, who, and the reason they typed.
SCAN_BY_HAND_RELEASE = N_("%(status)s entered by hand by %(who)s: %(reason)s")
#: What the desk must recover (``needs_recovery``) or chase (``needs_chase``): the columns keep
#: the English sentence; the page recognises these templates in it to show it translated.
NEVER_REACHED_CARRIER = N_("Refunded by hand, but the parcel never reached the carrier")
PARCEL_ENDED_BADLY = N_("Refunded, but the parcel was %(status)s")
CARRIER_PROBLEM = N_("Refunded, but the carrier reports a problem: %(exception)s")
NEEDS_RECOVERY = (NEVER_REACHED_CARRIER, PARCEL_ENDED_BADLY, CARRIER_PROBLEM)
NEVER_CAME_BACK = N_("Advance replacement shipped, return never came: charge or chase")
NEEDS_CHASE = (NEVER_CAME_BACK,)
#: A portal return's description: a line for each line returned, under its SKU and reason
#: (``return_reason``: the Reason's value; a page shows its label), with the customer's words.
PORTAL_LINE = N_("%(qty)s x %(sku)s (%(return_reason)s)")
PORTAL_LINE_SAID = N_("%(qty)s x %(sku)s (%(return_reason)s): %(text)s")
#: ``refund_error`` when the provider refused a refund (else the provider's own words).
REFUND_REFUSED = N_("The payment provider reports the refund %(status)s: %(failure_reason)s")
