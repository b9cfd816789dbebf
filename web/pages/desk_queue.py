"""The desk queue page: every kind of case, filtered by kind, state, priority and channel, and
searched by RMA number, customer, order or tracking number; those needing action first."""

from __future__ import annotations

from flask import render_template
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm

from returns.queue_filter import QueueFilter
from returns.service_levels import format_left
from returns.status import CaseKind, Channel, Priority, RefundStatus, RmaStatus
from web.extensions import services
from web.pages.queue_args import queue_filter
from web.pages.rma_page import queue_live_url


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
        live_url=queue_live_url(wanted, rows),
    )
