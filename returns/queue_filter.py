"""What the desk queue shows: its filters (kind, state, priority, channel) and its search box
(RMA number, customer name or e-mail, order number, tracking number)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import exists, func, or_
from sqlalchemy.sql.elements import ColumnElement

from returns.rma import Replacement, Rma
from returns.status import OPEN, CaseKind, Channel, Priority, RmaStatus

#: The longest search the queue takes (longer text is cut).
MAX_SEARCH = 100


def _like(text: str) -> str:
    """``text`` as a LIKE pattern that matches it anywhere, its wildcards taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


@dataclass(frozen=True)
class QueueFilter:
    """None: any. Without a state, the cases still open (any kind)."""

    kind: CaseKind | None = None
    status: RmaStatus | None = None
    priority: Priority | None = None
    channel: Channel | None = None
    search: str = ""
    #: Only the cases this person owns (the queue's "Mine").
    owner_user_id: int | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        wanted: list[ColumnElement[bool]] = [
            Rma.status == self.status if self.status else Rma.status.in_(OPEN)
        ]
        if self.kind:
            wanted.append(Rma.kind == self.kind)
        if self.priority:
            wanted.append(Rma.priority == self.priority)
        if self.channel:
            wanted.append(Rma.channel == self.channel)
        if self.owner_user_id is not None:
            wanted.append(Rma.owner_user_id == self.owner_user_id)
        text = self.search.strip()[:MAX_SEARCH]
        if text:
            wanted.append(matching(text))
        return wanted


def matching(text: str) -> ColumnElement[bool]:
    """Cases whose number, customer name or e-mail, order number, or a tracking number (the
    return parcel's or a replacement's) contains ``text``, whatever its case."""
    pattern = _like(text.casefold())

    def has(column: ColumnElement[str | None] | object) -> ColumnElement[bool]:
        return func.lower(column).like(pattern, escape="\\")

    replacement_tracking = exists().where(
        Replacement.rma_id == Rma.id, has(Replacement.tracking_number)
    )
    return or_(
        has(Rma.number),
        has(Rma.customer_name),
        has(Rma.customer_email),
        has(Rma.order_number),
        has(Rma.return_tracking_number),
        replacement_tracking,
    )
