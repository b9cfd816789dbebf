"""The desk queue page: every kind of case, filtered by kind, state, priority and channel, and
searched by RMA number, customer, order or tracking number; those needing action first."""

from __future__ import annotations

import enum
from typing import TypeVar

from flask import render_template, request
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm

from returns.queue_filter import MAX_SEARCH, QueueFilter
from returns.service_levels import format_left
from returns.status import CaseKind, Channel, Priority, RefundStatus, RmaStatus
from web.extensions import services

E = TypeVar("E", bound=enum.Enum)


def _choice(enum_type: type[E], name: str) -> E | None:
    """The query argument ``name`` as a member of ``enum_type``; None when absent or unknown."""
    value = request.args.get(name) or ""
    return next((member for member in enum_type if member.value == value), None)


def queue_filter() -> QueueFilter:
    return QueueFilter(
        kind=_choice(CaseKind, "kind"),
        status=_choice(RmaStatus, "state"),
        priority=_choice(Priority, "priority"),
        channel=_choice(Channel, "channel"),
        search=(request.args.get("q") or "").strip()[:MAX_SEARCH],
    )


def queue_page(supervisor: bool) -> ResponseReturnValue:
    wanted = queue_filter()
    rows = services().rma_queries.desk_queue(wanted)
    held = [rma for rma in rows if rma.refund_status in (RefundStatus.HELD, RefundStatus.FAILED)]
    audiences = ["desk", "supervisors"] if supervisor else ["desk"]
    return render_template(
        "desk_queue.html",
        rows=rows,
        wanted=wanted,
        state=wanted.status.value if wanted.status else None,
        states=list(RmaStatus),
        kinds=list(CaseKind),
        priorities=list(Priority),
        channels=list(Channel),
        filtered=wanted != QueueFilter(),
        held=held,
        format_left=format_left,
        alerts=services().service_levels.unread(audiences),
        alerts_form=FlaskForm(),
    )
