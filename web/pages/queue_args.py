"""The desk queue's filters and search, read from the query string (the page and its live poll)."""

from __future__ import annotations

import enum
from typing import TypeVar

from flask import request
from flask_login import current_user

from returns.queue_filter import MAX_SEARCH, QueueFilter
from returns.status import CaseKind, Channel, Priority, RmaStatus

E = TypeVar("E", bound=enum.Enum)


def _choice(enum_type: type[E], name: str) -> E | None:
    """The query argument ``name`` as a member of ``enum_type``; None when absent or unknown."""
    value = request.args.get(name) or ""
    return next((member for member in enum_type if member.value == value), None)


def queue_filter() -> QueueFilter:
    """The queue's filters from the query string (the page's and its live poll's)."""
    return QueueFilter(
        kind=_choice(CaseKind, "kind"),
        status=_choice(RmaStatus, "state"),
        priority=_choice(Priority, "priority"),
        channel=_choice(Channel, "channel"),
        search=(request.args.get("q") or "").strip()[:MAX_SEARCH],
        owner_user_id=current_user.id if request.args.get("owner") == "mine" else None,
    )


def filter_args(wanted: QueueFilter) -> dict[str, str]:
    """The query string that asks for the same filters again."""
    values = {
        "kind": wanted.kind,
        "state": wanted.status,
        "priority": wanted.priority,
        "channel": wanted.channel,
        "q": wanted.search,
    }
    args = {name: str(getattr(v, "value", v)) for name, v in values.items() if v}
    if wanted.owner_user_id is not None:
        args["owner"] = "mine"
    return args
