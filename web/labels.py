"""Names of states, kinds and choices as people read them, in the page's language.

Enum values stay as they are in data, URLs, CSS classes and the API; pages show
``value|label``: the value with spaces for underscores (English) or its translation.
"""

from __future__ import annotations

import enum

from flask import Flask
from flask_babel import LazyString, gettext

from web.i18n import N_

#: Every enum value a page shows, marked for extraction (``awaiting_pickup`` → "awaiting pickup").
SHOWN_VALUES = (
    # roles
    N_("admin"), N_("warehouse"), N_("buyer"), N_("service desk"),
    # RMA states
    N_("requested"), N_("authorised"), N_("awaiting pickup"), N_("picked up"), N_("in transit"),
    N_("received"), N_("inspected"), N_("closed"), N_("rejected"), N_("cancelled"),
    N_("expired"), N_("disputed"),
    # refunds
    N_("none"), N_("held"), N_("pending"), N_("processing"), N_("released"), N_("failed"),
    # replacements, timeline notes, supplier claims
    N_("queued"), N_("backordered"), N_("shipped"),
    N_("status"), N_("followup"), N_("return label"), N_("open"),
    # priorities, resolutions, reasons, channels, dispositions
    N_("urgent"), N_("high"), N_("medium"), N_("low"),
    N_("refund"), N_("replacement"), N_("repair"),
    N_("defective"), N_("wrong item"), N_("missing item"), N_("damaged in transit"),
    N_("not as described"), N_("no longer needed"),
    N_("phone"), N_("email"), N_("web"), N_("chat"), N_("marketplace"), N_("portal"),
    N_("restock"), N_("refurbish"), N_("quarantine"), N_("scrap"), N_("return to vendor"),
    # carriers' tracking states and parcel directions
    N_("pre transit"), N_("out for delivery"), N_("available for pickup"), N_("delivered"),
    N_("exception"), N_("returned to sender"), N_("unknown"), N_("inbound"), N_("outbound"),
    # stock: location kinds, movements, reservations
    N_("storage"), N_("receiving"), N_("returns"), N_("loan pool"), N_("on loan"),
    N_("receipt"), N_("issue"), N_("transfer"), N_("adjustment"), N_("reserve"), N_("release"),
    N_("reserved issue"), N_("active"), N_("issued"),
    # repair orders (returns/repair_orders.py)
    N_("waiting for parts"), N_("in repair"), N_("tested ok"), N_("failed test"), N_("waiting"),
    # purchase orders and reorder urgency
    N_("draft"), N_("sent"), N_("partially received"),
    N_("short"), N_("below safety stock"), N_("below point"),
    # supplier claims (open, acknowledged, rejected, cancelled are above)
    N_("shipped to vendor"), N_("credited"),
    # service levels and e-mails (timeline kinds too)
    N_("first response"), N_("resolution"), N_("bounced"), N_("sla"), N_("reply"),
    N_("supplier claim"), N_("customer message"), N_("inbound unmatched"),
    # the messages spareflow sends (Admin > Messages)
    N_("acknowledged"), N_("reminder"), N_("refunded"), N_("replacement shipped"),
    N_("sla warning"), N_("sla breach"),
    # the returns portal: its channel, and the timeline note of the customer's photos
    N_("portal"), N_("attachment"),
    # cases that are not returns: kinds, states, complaints' root causes, follow-up calls
    N_("return"), N_("enquiry"), N_("complaint"), N_("case"),
    N_("waiting for customer"), N_("answered"), N_("resolved"),
    N_("product defect"), N_("wrong item sent"), N_("late delivery"), N_("service"),
    N_("communication"), N_("billing"), N_("policy"), N_("other"),
    N_("reached"), N_("no answer"), N_("voicemail"), N_("wrong number"), N_("declined"),
    N_("answered online"), N_("due"), N_("done"), N_("followup overdue"),
    # timeline notes besides those above
    N_("owner"), N_("customer"), N_("pickup"), N_("loan"), N_("authorisation"),
    N_("status link"),
    # the refund provider's own words for a refund (Stripe's ``status``)
    N_("requires action"), N_("canceled"), N_("succeeded"),
    # address fields named on the timeline ("Customer address changed (street, city)")
    N_("name"), N_("company"), N_("street"), N_("street2"), N_("city"), N_("state"),
    N_("postcode"), N_("country"),
    # how a part's reorder point is set
    N_("manual"), N_("computed"), N_("planned"),
    # where a serialised unit is, and spareflow's workbooks (both named in errors)
    N_("in stock"), N_("with customer"), N_("scrapped"),
    N_("reorder"), N_("catalogue"), N_("cycle count"),
)  # fmt: skip


def label(value: object) -> str:
    """The readable, translated name of an enum member or value."""
    text = str(value.value if isinstance(value, enum.Enum) else value).replace("_", " ")
    return gettext(text) if text else text


def lazy_label(value: object, *, capitalize: bool = False) -> LazyString:
    """``label`` for choices built at import time (form classes): resolved when shown."""
    if capitalize:
        return LazyString(lambda: _capitalize(label(value)))
    return LazyString(label, value)


def _capitalize(text: str) -> str:
    return text[:1].upper() + text[1:]


def init_app(app: Flask) -> None:
    app.add_template_filter(label, "label")
