"""The desk's and the buyers' alerts as a page shows them, in its reader's language.

An alert (``notifications.message``) keeps only the English sentence, and the alerts page
reads in its reader's language: the sentence is recognised as the template it was written with
(each writer's ``N_`` constant, below), with the parameters it holds; an alert that quotes a
timeline line (``%(text)s``) is recognised only with that line. Anything else (an alert from
before a sentence was reworded) shows as it is. The e-mails that go with some alerts stay as
they were.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from core.errors import Text as Message
from core.errors import recognised
from purchasing.late_lines import LATE
from returns.conversation import CUSTOMER_WROTE
from returns.escalation import BREACH, WARNING
from returns.followup_desk import OVERDUE
from returns.inbound_email import UNMATCHED
from returns.labels import (
    ABOVE_CEILING,
    GAVE_UP,
    NO_INSTRUCTIONS_ALERT,
    REFUSED,
    REPAIR_NOT_SHIPPED_ALERT,
    REPLACEMENT_LABEL_KEPT_ALERT,
    REPLACEMENT_NOT_SHIPPED_ALERT,
)
from returns.messages import EMAIL_BOUNCED, EMAIL_FAILED
from returns.ops_alerts import OPS_ALERTS
from returns.outbound_labels import REPAIR_LABEL_FAILED, REPLACEMENT_LABEL_FAILED, SERIALS_MOVED
from returns.pickups import CANCEL_FAILED_ALERT, NOT_CANCELLED, STILL_BOOKED
from returns.refund_outcomes import (
    NO_REASON,
    NO_REASON_AFTER_SUCCESS,
    REFUND_FAILED_ALERT,
    REFUSED_AFTER_SUCCESS,
)
from returns.refund_outcomes import REFUSED as REFUND_REFUSED

#: Each alert's templates, with the templates of the timeline line it quotes (``text``); the
#: one that quotes any refund line (``%(number)s: %(text)s``) last.
ALERTS: tuple[tuple[tuple[Message, ...], Mapping[str, Iterable[Message]]], ...] = (
    ((NO_INSTRUCTIONS_ALERT,), {"text": (ABOVE_CEILING, GAVE_UP, REFUSED)}),
    ((REPLACEMENT_LABEL_KEPT_ALERT,), {"text": (SERIALS_MOVED,)}),
    ((REPAIR_NOT_SHIPPED_ALERT,), {"text": (REPAIR_LABEL_FAILED,)}),
    ((REPLACEMENT_NOT_SHIPPED_ALERT,), {"text": (REPLACEMENT_LABEL_FAILED,)}),
    ((CANCEL_FAILED_ALERT,), {"text": (STILL_BOOKED, NOT_CANCELLED)}),
    (
        (
            BREACH,
            WARNING,
            CUSTOMER_WROTE,
            OVERDUE,
            EMAIL_BOUNCED,
            EMAIL_FAILED,
            UNMATCHED,
            LATE,
            *OPS_ALERTS,
        ),
        {},
    ),
    (
        (REFUND_FAILED_ALERT,),
        {"text": (NO_REASON_AFTER_SUCCESS, NO_REASON, REFUSED_AFTER_SUCCESS, REFUND_REFUSED)},
    ),
)
#: The time left as returns/service_levels.py ``format_left`` writes it: "2 h 05 min", "-15 min".
_LEFT = re.compile(r"(?P<sign>-?)(?:(?P<hours>\d+) h )?(?P<minutes>\d+) min")


def alert_text(message: str) -> str:
    """An alert's sentence, as its template and parameters where spareflow wrote it."""
    for templates, within in ALERTS:
        found = recognised(message, templates, within)
        if isinstance(found, Message):
            return _with_minutes(found)
    return message


def _with_minutes(text: Message) -> Message:
    """An SLA warning's time left with its minutes beside it (``left_minutes``), so a page
    shows it in its own units, as on the timeline."""
    left = _LEFT.fullmatch(str(text.params.get("left", "")))
    if text.template != WARNING.template or left is None:
        return text
    minutes = int(left["hours"] or 0) * 60 + int(left["minutes"])
    return Message(
        text.template, {**text.params, "left_minutes": -minutes if left["sign"] else minutes}
    )
