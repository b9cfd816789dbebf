"""The timeline's lines as a page shows them: the template a row kept, brought up to date.

A row keeps the template it was written with (``rma_transitions.reason_template``). Some of
spareflow's templates have since been reworded (issue #21: a parameter that held English words
became a template of its own); a row written before still shows in its reader's language: its
old template is read as today's where its parameters allow, and the old templates stay in the
catalogue (``LEGACY``, translated) for a row whose parameters do not. Parameters that hold a
sentence spareflow wrote (a held refund's reason, a release's "why") are recognised as their
templates, so they are translated too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from core.errors import N_, recognised
from core.errors import Text as Message
from returns.rma_texts import HOLD_REASONS, REFUND_HELD, SCAN_BY_HAND_RELEASE

#: Templates no longer written, as rows from before keep them (translated in the catalogue).
OLD_PICKED_UP = N_(
    "Carrier has the parcel (%(carrier)s %(tracking_number)s: %(status)s)%(by_hand)s"
)
OLD_SCAN = N_("Carrier: %(carrier)s %(tracking_number)s: %(status)s%(by_hand)s")
OLD_NOT_AUTHORISED = N_(
    "Not authorised automatically: a prepaid %(value)s label needs the customer's complete "
    "address (missing or wrong: %(missing)s). Complete it, then authorise."
)
OLD_REFUND_AGAIN = N_("Refund %(what)s: %(value)s")
OLD_PARCEL_HELD = N_("Refunded, but the parcel held %(what)s")
OLD_REPAIR_TEST = N_("Repair test %(verdict)s: %(test_result)s")
LEGACY = (
    OLD_PICKED_UP,
    OLD_SCAN,
    OLD_NOT_AUTHORISED,
    OLD_REFUND_AGAIN,
    OLD_PARCEL_HELD,
    OLD_REPAIR_TEST,
)

#: The words an old row's ``by_hand`` held (empty for the carrier's own scan).
_BY_HAND = re.compile(r"; entered by hand by (?P<who>.*?): (?P<reason>.*)", re.DOTALL)
#: What an old refund sent again said it was (``what``), as today's templates.
_SENT_AGAIN = (
    (
        Message("sent again with the same idempotency key"),
        "Refund sent again with the same idempotency key: %(value)s",
    ),
    (
        Message("sent again to Shopify (order %(order)s)"),
        "Refund sent again to Shopify (order %(order)s): %(value)s",
    ),
    (
        Message("sent again to the corrected payment %(payment)s"),
        "Refund sent again to the corrected payment %(payment)s: %(value)s",
    ),
)


def _upgraded(template: str, params: dict[str, str]) -> tuple[str, dict[str, str]]:
    """An old template and its parameters as today's, when the parameters say how; else as
    they are (the catalogue still has the old template)."""
    if template in (OLD_PICKED_UP.template, OLD_SCAN.template):
        by_hand = params.get("by_hand", "")
        now = template.replace("%(by_hand)s", "")
        rest = {name: value for name, value in params.items() if name != "by_hand"}
        if not by_hand:
            return now, rest
        hand = _BY_HAND.fullmatch(by_hand)
        if hand:
            return f"{now}; entered by hand by %(who)s: %(reason)s", {**rest, **hand.groupdict()}
    elif template == OLD_NOT_AUTHORISED.template and "missing" in params:
        rest = {name: value for name, value in params.items() if name != "missing"}
        return template.replace("%(missing)s", "%(fields)s"), {**rest, "fields": params["missing"]}
    elif template == OLD_REFUND_AGAIN.template:
        what = params.get("what", "")
        for said, now in _SENT_AGAIN:
            found = recognised(what, (said,))
            if isinstance(found, Message):
                return now, {**found.params, "value": params.get("value", "")}
    elif template == OLD_PARCEL_HELD.template:
        what = params.get("what", "")
        if what == "empty":
            return "Refunded, but the parcel held empty", {}
        wrong = re.fullmatch(r"the wrong item \((?P<skus>.*)\)", what, re.DOTALL)
        if wrong:
            return "Refunded, but the parcel held the wrong item (%(skus)s)", wrong.groupdict()
    elif template == OLD_REPAIR_TEST.template and params.get("verdict") in ("passed", "failed"):
        return f"Repair test {params['verdict']}: %(test_result)s", {
            "test_result": params.get("test_result", "")
        }
    return template, params


def _within(template: str) -> Mapping[str, Iterable[Message]]:
    """The parameters of ``template`` that hold a sentence spareflow wrote, and its templates."""
    if template == REFUND_HELD.template:
        return {"reason": HOLD_REASONS}
    return {"why": (SCAN_BY_HAND_RELEASE,)}


def timeline_text(template: str, params: Mapping[str, str] | None) -> Message:
    """A row's line from the template and parameters it kept, for a page to translate."""
    template, words = _upgraded(template, dict(params or {}))
    shown: dict[str, object] = dict(words)
    for name, templates in _within(template).items():
        if words.get(name):
            shown[name] = recognised(words[name], templates)
    return Message(template, shown)
